"""`bandmate compose --lyrics-file`: a file that cannot be a song is refused in one line, before any work."""

from __future__ import annotations

from tests.cli.test_app import bandmate


def test_an_empty_lyrics_file_is_an_error_not_a_song_by_the_llm(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    out = tmp_path / "songs"
    proc = bandmate("compose", "leaving home", "--lyrics-file", str(empty), "--out", str(out), tmp_path=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "empty" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_lyrics_longer_than_a_song_name_the_limit(tmp_path):
    huge = tmp_path / "huge.txt"
    huge.write_text("[Verse]\nOh my, oh my, oh my\n" * 1500)
    proc = bandmate("compose", "leaving home", "--lyrics-file", str(huge), "--out", str(tmp_path / "o"),
                    tmp_path=tmp_path)
    assert proc.returncode == 1 and "12,000 characters" in proc.stderr and "Traceback" not in proc.stderr
