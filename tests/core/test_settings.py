"""One place resolves settings: env, .env and bandmate.toml, and the folders under the home they name."""

from __future__ import annotations

import shutil

import pytest

from core.errors import SettingsError
from core.settings import get_settings
from tools.models.checkpoints import read_checkpoint


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("BANDMATE_HOME", "BANDMATE_CONFIG", "BANDMATE_OUTPUT_DIR", "BANDMATE_LLM_BACKEND", "BANDMATE_N_CTX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_home_from_bandmate_toml_alone_sets_every_folder(clean_env):
    (clean_env / "bandmate.toml").write_text(f'home = "{clean_env / "h"}"\n', encoding="utf-8")
    s = get_settings()
    assert s.home_dir == clean_env / "h"
    assert s.models_dir == clean_env / "h" / "models"
    assert s.outputs == clean_env / "h" / "outputs"
    assert s.cache_dir == clean_env / "h" / "cache"
    assert s.memory_db == clean_env / "h" / "memory.sqlite"


def test_the_environment_beats_the_toml_and_a_change_is_seen(clean_env, monkeypatch):
    (clean_env / "bandmate.toml").write_text(f'home = "{clean_env / "from-toml"}"\n', encoding="utf-8")
    assert get_settings().home_dir == clean_env / "from-toml"
    monkeypatch.setenv("BANDMATE_HOME", str(clean_env / "from-env"))
    assert get_settings().home_dir == clean_env / "from-env"


def test_checkpoints_are_read_from_the_configured_home_first(clean_env):
    (clean_env / "bandmate.toml").write_text(f'home = "{clean_env / "h"}"\n', encoding="utf-8")
    shipped = read_checkpoint("chords-rlhf", {"chords-rlhf": "chords-rlhf.pt"}, "ChordModel", "retrain")
    assert "tools/data" in shipped["path"]
    user = clean_env / "h" / "models" / "chords-rlhf.pt"
    user.parent.mkdir(parents=True)
    shutil.copy(shipped["path"], user)
    assert read_checkpoint("chords-rlhf", {"chords-rlhf": "chords-rlhf.pt"}, "ChordModel", "retrain")["path"] == str(user)


def test_a_toml_syntax_error_names_the_file_and_the_line(clean_env):
    (clean_env / "bandmate.toml").write_text('home = "/tmp/h"\nllm_backend = "local\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        get_settings()
    message = str(caught.value)
    assert message.startswith(f"{clean_env / 'bandmate.toml'} is not valid TOML") and "line 2" in message


def test_a_bad_chat_setting_names_its_source_value_and_choices_but_stops_only_the_chat_model(clean_env):
    config = clean_env / "bandmate.toml"
    config.write_text(f'home = "{clean_env / "h"}"\nllm_backend = "klingon"\n', encoding="utf-8")
    settings = get_settings()                       # commands that need no chat model still get their settings
    assert settings.home_dir == clean_env / "h" and settings.llm_backend == "local"
    assert settings.llm_problem == f"llm_backend in {config} is 'klingon', which is not allowed; use 'local' or 'openai'."


def test_a_bad_value_in_the_environment_names_the_variable(clean_env, monkeypatch):
    monkeypatch.setenv("BANDMATE_N_CTX", "lots")
    assert get_settings().llm_problem.startswith("The environment variable BANDMATE_N_CTX is 'lots', which is not valid")


def test_a_missing_config_file_is_an_error(clean_env, monkeypatch):
    monkeypatch.setenv("BANDMATE_CONFIG", str(clean_env / "nope.toml"))
    with pytest.raises(SettingsError, match=f"BANDMATE_CONFIG names {clean_env / 'nope.toml'}, which is not a file"):
        get_settings()
