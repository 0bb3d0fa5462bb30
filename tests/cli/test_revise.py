"""`bandmate revise`: edits the CLI thread's last song (or a folder), as a real process."""

from __future__ import annotations

import json

from tests.cli.test_app import bandmate
from tests.tools.song.test_revise import LYRICS


def test_compose_then_revise_then_undo(tmp_path):
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_text(LYRICS)
    made = bandmate("compose", "leaving home", "--genre", "folk", "--mood", "sad", "--lyrics-file", str(lyrics),
                    "--length", "30", "--seed", "3", "--json", tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)["result"]

    faster = bandmate("revise", "a bit faster", "--instrument", "piano", "--json", tmp_path=tmp_path)
    assert faster.returncode == 0, faster.stderr
    result = json.loads(faster.stdout)["result"]
    assert result["version"] == 2 and result["tempo"] == round(first["tempo"] * 1.07)
    assert result["instruments"] == ["piano"] and "lyrics" in " ".join(result["kept"])
    assert result["folder"] == first["folder"] + "-v2"

    too_fast = bandmate("revise", "--tempo", "1000", tmp_path=tmp_path)
    assert too_fast.returncode == 1 and "300" in too_fast.stderr and "Traceback" not in too_fast.stderr

    back = bandmate("revise", "--undo", tmp_path=tmp_path)
    assert back.returncode == 0 and "Back to version 1" in back.stdout
    again = bandmate("revise", "--key", "E minor", "--song", result["folder"], "--json", tmp_path=tmp_path)
    assert json.loads(again.stdout)["result"]["key"] == "E minor"


def test_revise_with_no_song_says_so(tmp_path):
    proc = bandmate("revise", "faster", tmp_path=tmp_path)
    assert proc.returncode == 1
    assert "There is no song in this conversation yet" in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
