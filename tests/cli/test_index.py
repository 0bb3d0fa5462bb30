"""`bandmate index add` as a real process: killed with SIGKILL it keeps every clip it had analysed, and says
nothing more; a failed file makes the exit code non-zero after the rest are indexed; a damaged store is named."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from index import ClipIndex
from tests.support.cli import run_bandmate, start_bandmate
from tests.support.clips import render_clip

SONGS = [(0, 70, False), (16, 150, True), (73, 104, False), (27, 140, True)]   # GM program, bpm, drums


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("songs")
    return [render_clip(folder / f"song{i}.wav", *song) for i, song in enumerate(SONGS)]


class Progress:
    """Reads a process's stderr as it comes: every tqdm count "indexing: N/M" with the time it was seen."""

    def __init__(self, stream) -> None:
        self.text, self.seen = b"", [(0.0, 0)]
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        while chunk := os.read(stream.fileno(), 4096):
            self.text += chunk
            counts = re.findall(rb"indexing:[^|]*\|[^|]*\| *(\d+)/\d+", self.text)
            if counts and int(counts[-1]) > self.seen[-1][1]:
                self.seen.append((time.monotonic(), int(counts[-1])))

    def analysed_before(self, moment: float) -> int:
        return max(count for at, count in self.seen if at <= moment)

    def finish(self) -> str:
        self._thread.join(timeout=60)
        return self.text.decode(errors="replace")


def test_a_killed_add_keeps_every_clip_analysed_a_second_before_and_prints_no_traceback(tmp_path, songs):
    folder = tmp_path / "many"
    folder.mkdir()
    copies = 6
    for i in range(copies):
        for song in songs:                               # distinct files: the copies differ by a trailing tag
            (folder / f"{song.stem}_{i}.wav").write_bytes(song.read_bytes() + f"LIST{i}".encode())
    total = copies * len(songs)
    home = tmp_path / "home"
    proc = start_bandmate("index", "add", str(folder), "--workers", "2", cwd=tmp_path, home=home)
    progress = Progress(proc.stderr)
    deadline = time.monotonic() + 240
    while progress.seen[-1][1] < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert progress.seen[-1][1] >= 3, progress.finish()
    time.sleep(1.2)
    killed_at = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stderr = progress.finish()
    kept = progress.analysed_before(killed_at - 1.0)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    committed = sqlite3.connect(home / "index" / "clips.sqlite").execute("SELECT COUNT(*) FROM clips").fetchone()[0]
    assert kept <= committed <= total
    index = ClipIndex(home)
    assert len(index.search("music", k=total)) == committed     # FAISS holds exactly what SQLite holds
    rerun = run_bandmate("index", "add", str(folder), cwd=tmp_path, home=home)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith(f"{total - committed} added, 0 updated, {committed} skipped, 0 failed")


def test_a_failed_file_makes_add_exit_non_zero_after_indexing_the_rest(tmp_path, songs):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.wav").write_bytes(songs[0].read_bytes())
    (folder / "notes.wav").write_text("this is not audio")
    os.mkfifo(folder / "pipe.wav")
    proc = run_bandmate("index", "add", str(folder), cwd=tmp_path, home=tmp_path / "home", timeout=240)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0].startswith("1 added, 0 updated, 1 skipped, 1 failed")
    assert f"  {folder / 'notes.wav'}: " in proc.stdout and "not an audio file" in proc.stdout
    assert [c.path for c in ClipIndex(tmp_path / "home").clips()] == [str(folder / "good.wav")]


def test_a_damaged_clip_table_is_named_with_the_fix(tmp_path):
    db = tmp_path / "home" / "index" / "clips.sqlite"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this was never a database" * 100)
    proc = run_bandmate("index", "stats", cwd=tmp_path, home=tmp_path / "home")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"error: {db} is not a SQLite database (the clip index file is damaged); "
                                   "move it aside and bandmate will start a new one.")
