"""What a user sees when a command is stopped or cannot start: real `bandmate` processes, real signals, real files."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.cli import run_bandmate, start_bandmate

LONG_CHORDS = " ".join(["C", "G", "Am", "F"] * 16)       # 64 bars at 60 BPM: over four minutes of audio to render


def _staging_folders(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.name.startswith(".")] if out.exists() else []


@pytest.mark.parametrize("sig, code, said", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_a_render_stopped_by_a_signal_leaves_no_staging_folder(tmp_path, sig, code, said):
    out = tmp_path / "out"
    proc = start_bandmate("render", LONG_CHORDS, "--tempo", "60", "--out", str(out), cwd=tmp_path, home=tmp_path / "home")
    deadline = time.time() + 180
    while not _staging_folders(out) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert _staging_folders(out), "the render never started"
    time.sleep(0.5)                                      # fluidsynth is writing into the staging folder now
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert stderr.decode().strip() == f"error: {said}"
    assert list(out.iterdir()) == []                     # no hidden half-render left behind


def test_a_toml_syntax_error_names_the_file(tmp_path):
    (tmp_path / "bandmate.toml").write_text('home = "x"\nllm_backend = "local\n', encoding="utf-8")
    proc = run_bandmate("render", "C G", cwd=tmp_path, home=tmp_path / "home")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'bandmate.toml'} is not valid TOML (Illegal character '\\n' (at line 2, column 21)); "
        "fix that line or move the file aside."]


def test_a_bad_chat_setting_stops_ask_with_its_source_but_not_render(tmp_path):
    (tmp_path / "bandmate.toml").write_text('llm_backend = "klingon"\n', encoding="utf-8")
    home = tmp_path / "home"
    rendered = run_bandmate("render", "C G", "--out", str(tmp_path / "out"), cwd=tmp_path, home=home)
    assert rendered.returncode == 0, rendered.stderr
    assert list((tmp_path / "out").rglob("song.wav"))
    asked = run_bandmate("ask", "hello", cwd=tmp_path, home=home)
    assert asked.returncode == 1
    assert asked.stderr.strip() == (f"error: llm_backend in {tmp_path / 'bandmate.toml'} is 'klingon', which is not "
                                    "allowed; use 'local' or 'openai'.")


def test_a_missing_config_file_is_an_error(tmp_path):
    proc = run_bandmate("render", "C G", cwd=tmp_path, home=tmp_path / "home", BANDMATE_CONFIG=str(tmp_path / "no.toml"))
    assert proc.returncode == 1 and f"BANDMATE_CONFIG names {tmp_path / 'no.toml'}, which is not a file" in proc.stderr


def test_a_damaged_memory_file_is_named_with_the_fix(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "memory.sqlite").write_bytes(b"garbage, not a database" * 100)
    proc = run_bandmate("render", "C G", "--out", str(tmp_path / "out"), cwd=tmp_path, home=home)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (f"error: {home / 'memory.sqlite'} is not a SQLite database (the conversation memory "
                                   "file is damaged); move it aside and bandmate will start a new one.")


def test_an_unwritable_output_folder_is_found_before_the_analysis(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")                             # a file where the folder should be: unwritable even for root
    not_audio = tmp_path / "clip.wav"
    not_audio.write_text("not audio: analysing it would fail, so failing on the folder shows it came first")
    proc = run_bandmate("analyze", str(not_audio), "--out", str(blocker / "out"), cwd=tmp_path, home=tmp_path / "home")
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(f"error: Cannot create the output folder {blocker / 'out'}")
