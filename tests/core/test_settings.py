"""One place resolves settings: env, .env and bandmate.toml, and the folders under the home they name."""

from __future__ import annotations

import shutil

import pytest

from core.settings import get_settings
from tools.models.checkpoints import read_checkpoint


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("BANDMATE_HOME", "BANDMATE_CONFIG", "BANDMATE_OUTPUT_DIR"):
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
