"""The `bandmate` command line, run as a user would: a real process, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from tests.support import SHARED_DATA


def bandmate(*args: str, tmp_path: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDMATE_", "OPENAI_"))}
    env.update({"BANDMATE_HOME": str(tmp_path / "home"), **env_extra})
    return subprocess.run([sys.executable, "-m", "cli.app", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_help_lists_every_capability(tmp_path):
    proc = bandmate("--help", tmp_path=tmp_path)
    assert proc.returncode == 0
    for command in ["ask", "chat", "compose", "render", "lyrics", "genre", "chords", "analyze", "caption", "qa", "config"]:
        assert command in proc.stdout


def test_render_chords_writes_audio(tmp_path):
    out = tmp_path / "out"
    proc = bandmate("render", "C G Am F", "--tempo", "90", "--instrument", "piano", "--out", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    wavs = list(out.rglob("*.wav"))
    assert len(wavs) == 1
    audio, sr = sf.read(wavs[0])
    assert len(audio) / sr > 5 and abs(audio).max() > 0.01
    assert str(wavs[0]) in proc.stdout


def test_compose_with_given_lyrics_needs_no_llm(tmp_path):
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_text("[Verse]\nI packed my bags at the break of day\nThe old road called me far away\n"
                      "[Chorus]\nGoodbye, goodbye, my little town\nI'll carry you when the sun goes down\n")
    out = tmp_path / "songs"
    proc = bandmate("compose", "leaving home", "--genre", "folk", "--mood", "sad", "--lyrics-file", str(lyrics),
                    "--seed", "4", "--out", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    suffixes = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert {".mid", ".wav", ".ogg", ".png", ".musicxml"} <= suffixes
    assert "Goodbye, goodbye" in proc.stdout and "folk" in proc.stdout


def test_bad_tempo_is_one_line_and_nonzero(tmp_path):
    proc = bandmate("render", "C G", "--tempo", "500", "--out", str(tmp_path / "o"), tmp_path=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "300" in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


def test_unwritable_output_folder_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # running as root: a file in the way makes the folder impossible
            target = tmp_path / "afile"
            target.write_text("x")
            out = target / "sub"
        else:
            out = locked / "sub"
        proc = bandmate("render", "C G", "--out", str(out), tmp_path=tmp_path)
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "folder" in proc.stderr


def test_config_hides_the_api_key(tmp_path):
    proc = bandmate("config", tmp_path=tmp_path, BANDMATE_API_KEY="sk-secret", BANDMATE_LLM_BACKEND="openai")
    assert proc.returncode == 0 and "sk-secret" not in proc.stdout and "openai" in proc.stdout


def test_a_home_set_only_in_bandmate_toml_is_where_training_writes_and_chords_read(tmp_path):
    nottingham = tmp_path / "data" / "nottingham"
    nottingham.mkdir(parents=True)
    tunes = (SHARED_DATA / "nottingham" / "ashover.abc").read_text(encoding="utf-8").split("\nX:")
    (nottingham / "few.abc").write_text("\nX:".join(tunes[:4]), encoding="utf-8")
    home = tmp_path / "toml-home"
    (tmp_path / "bandmate.toml").write_text(f'home = "{home}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDMATE_", "OPENAI_"))}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cli.app", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300)

    trained = run("train", "chords", "--tiny", "--data", str(tmp_path / "data"))
    assert trained.returncode == 0, trained.stderr
    checkpoint = home / "models" / "chords-supervised.pt"
    assert checkpoint.is_file()
    chords = run("chords", "--genre", "folk", "--json")
    assert chords.returncode == 0, chords.stderr
    assert str(checkpoint) in json.loads(chords.stdout)["result"]["generator"]
