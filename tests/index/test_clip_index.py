"""The clip index on real renders: add, search, similar, incremental updates, bad files, crashes, locks, CLI.

Clips are small MIDI songs (known instrument, tempo, drums) rendered with fluidsynth; they are
indexed once per module and each test that changes the index works on a copy of it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from cli.index import register
from core.errors import ToolError
from index import ClipIndex
from tests.support import REPO
from tests.support.clips import write_midi
from tests.support.fakes import ScriptedTextGenerator

ROOT = REPO
# name: (GM program, bpm, drums)
SONGS = {"piano_slow": (0, 70, False), "organ_fast_drums": (16, 150, True), "flute_medium": (73, 104, False),
         "guitar_fast_drums": (27, 140, True), "marimba_slow": (12, 66, False)}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """A folder of five rendered songs plus four files that can't be indexed."""
    from tools.rendering.synth import render_midi_to_wav

    folder = tmp_path_factory.mktemp("clips")
    (folder / "sub").mkdir()
    for i, (name, (program, bpm, drums)) in enumerate(SONGS.items()):
        midi = write_midi(folder / f"{name}.mid", program, bpm, drums)
        render_midi_to_wav(midi, (folder / "sub" if i % 2 else folder) / f"{name}.wav", sample_rate=22050)
        midi.unlink()
    (folder / "notes.wav").write_text("this is not audio")
    (folder / "empty.flac").write_bytes(b"")
    good = (folder / "piano_slow.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(good[: len(good) // 3])
    import soundfile as sf
    sf.write(folder / "silence.wav", np.zeros(22050 * 2, np.float32), 22050)
    return folder


@pytest.fixture(scope="module")
def indexed(clips, tmp_path_factory):
    """(home, AddReport) of the clip folder indexed once."""
    home = tmp_path_factory.mktemp("home")
    with ClipIndex(home) as index:
        report = index.add([clips], progress=False, workers=1)
    return home, report


@pytest.fixture
def home_copy(indexed, tmp_path) -> Path:
    shutil.copytree(indexed[0], tmp_path / "home")
    return tmp_path / "home"


def wav(clips: Path, name: str) -> Path:
    return next(clips.rglob(f"{name}.wav"))


def test_add_indexes_good_files_and_lists_bad_ones_with_reasons(indexed, clips):
    home, report = indexed
    assert sorted(Path(p).stem for p in report.added) == sorted(SONGS)
    reasons = {Path(o.path).name: o.reason for o in report.failed}
    assert set(reasons) == {"notes.wav", "empty.flac", "truncated.wav", "silence.wav"}
    assert "not an audio file" in reasons["notes.wav"] and "empty" in reasons["empty.flac"]
    assert "truncated" in reasons["truncated.wav"] and "silent" in reasons["silence.wav"]
    index = ClipIndex(home)
    stats = index.stats()
    assert stats.clips == 5 and stats.text_index == "flat" and stats.total_seconds > 20
    assert (home / "index" / "vectors.json").exists() and list((home / "index").glob("text-*.faiss"))
    row = sqlite3.connect(home / "index" / "clips.sqlite").execute(
        "SELECT path, content_hash, duration, tags, caption, analysis, added_at FROM clips LIMIT 1").fetchone()
    assert all(row) and '"tempo_bpm"' in row[5]


def test_search_and_similar_find_the_right_clips_after_reopening(indexed, clips, tmp_path):
    index = ClipIndex(indexed[0])                              # a new process would do the same: load from disk
    hits = index.search("drums", k=5)
    assert len(hits) == 5 and hits[0].score >= hits[-1].score
    assert {Path(h.path).stem for h in hits[:2]} == {"organ_fast_drums", "guitar_fast_drums"}
    assert hits[0].caption and hits[0].tags and hits[0].duration > 4
    similar = index.similar(wav(clips, "organ_fast_drums"), k=3)
    assert len(similar) == 3 and all(Path(h.path).stem != "organ_fast_drums" for h in similar)  # not itself
    outside = tmp_path / "outside.wav"                         # an unindexed file: analysed on the fly
    outside.write_bytes(wav(clips, "guitar_fast_drums").read_bytes() + b"LIST")
    assert Path(index.similar(outside, k=1)[0].path).stem == "guitar_fast_drums"
    with pytest.raises(ToolError, match="empty"):
        index.search("  ")


def test_unchanged_moved_changed_and_deleted_files(home_copy, clips, tmp_path):
    mine = tmp_path / "mine"
    shutil.copytree(clips, mine)
    index = ClipIndex(home_copy)
    first = index.add([mine], progress=False, workers=1)        # same audio as the indexed clips
    assert not first.added and all("same audio as" in o.reason for o in first.skipped)
    assert index.remove([clips]).removed and index.stats().clips == 0
    index.add([mine], progress=False, workers=1)
    assert index.add([mine], progress=False).skipped and index.stats().clips == 5
    moved = mine / "moved.wav"
    wav(mine, "flute_medium").rename(moved)
    report = index.add([mine], progress=False)
    assert [(Path(o.path).name, o.reason.startswith("moved from")) for o in report.updated] == [("moved.wav", True)]
    wav(mine, "piano_slow").write_bytes(wav(clips, "marimba_slow").read_bytes() + b"LIST")  # new content, known path
    report = index.add([wav(mine, "piano_slow")], progress=False)
    assert [o.reason for o in report.updated] == ["content changed, analysed again"]
    wav(mine, "organ_fast_drums").unlink()
    assert [Path(p).name for p in index.prune().removed] == ["organ_fast_drums.wav"]
    assert index.stats().clips == 4 and len({h.path for h in index.search("music", k=10)}) == 4


def test_llm_captions_are_stored_and_searched(tmp_path, clips):
    llm = ScriptedTextGenerator(["A gentle solo flute melody drifting over soft chords."])
    index = ClipIndex(tmp_path / "home")
    index.add([wav(clips, "flute_medium")], llm=llm, progress=False)
    hit = index.search("gentle flute", k=1)[0]
    assert hit.caption == "A gentle solo flute melody drifting over soft chords." and len(llm.calls) == 1


def test_index_type_is_chosen_by_size_and_can_be_fixed(home_copy):
    from index.vectors import FLAT_MAX, VectorIndex, choose_spec

    assert choose_spec(1000, 384).kind == "flat" and choose_spec(FLAT_MAX, 384).kind == "ivf"
    assert choose_spec(1_000_000, 384).nlist == 2048 and choose_spec(10, 384, "ivf").kind == "flat"
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(50, 64))
    x = centers[rng.integers(0, 50, 20000)] + 0.3 * rng.normal(size=(20000, 64))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    ivf = VectorIndex.build(choose_spec(20000, 64, "ivf"), np.arange(20000) + 1, x)
    exact = VectorIndex.build(choose_spec(20000, 64, "flat"), np.arange(20000) + 1, x)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ivf.search(x[:50], 10)[1], exact.search(x[:50], 10)[1])])
    assert ivf.spec.kind == "ivf" and recall >= 0.9
    index = ClipIndex(home_copy)
    assert index.rebuild("hnsw").text_index == "hnsw"
    index.remove([index.clips()[0].id])                       # HNSW can't delete: the index is rebuilt
    reopened = ClipIndex(home_copy)
    assert reopened.stats().text_index == "hnsw" and reopened.stats().clips == 4
    assert len(reopened.search("drums", k=10)) == 4


def test_a_killed_add_leaves_a_consistent_index_that_resumes(tmp_path, clips):
    """Kill a real ``add`` mid-way: what it committed opens and searches; the rerun adds the rest, once each."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3):
        for name in SONGS:                                    # 15 distinct files: the copies differ by a tag byte
            data = bytearray(wav(clips, name).read_bytes()) + f"LIST{i}".encode()
            (folder / f"{name}_{i}.wav").write_bytes(bytes(data))
    home = tmp_path / "home"
    script = textwrap.dedent(f"""
        import index.clip_index as ci
        ci.SAVE_EVERY = 2
        ci.ClipIndex({str(home)!r}).add([{str(folder)!r}], progress=False, workers=1)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    db = home / "index" / "clips.sqlite"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        try:
            if sqlite3.connect(db).execute("SELECT COUNT(*) FROM clips").fetchone()[0] >= 5:
                break
        except sqlite3.OperationalError:                       # not created yet
            pass
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    index = ClipIndex(home)
    committed = index.stats().clips
    assert 5 <= committed < 15
    assert len(index.search("drums", k=20)) == committed       # FAISS holds exactly what SQLite holds
    report = index.add([folder], progress=False, workers=1)
    assert len(report.added) == 15 - committed and index.stats().clips == 15
    assert len({c.content_hash for c in index.clips()}) == 15


def test_a_second_writer_gets_a_clear_message(home_copy, clips):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from index import ClipIndex
        with ClipIndex({str(home_copy)!r})._writing():
            print("locked", flush=True); time.sleep(60)
    """)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ToolError, match="Another bandmate process is changing the clip index"):
            ClipIndex(home_copy).add([clips], progress=False)
        assert len(ClipIndex(home_copy).search("piano", k=3)) == 3  # readers are not blocked
    finally:
        holder.kill()
        holder.wait()


def test_cli_verbs_and_one_line_errors(home_copy, tmp_path, clips):
    app = typer.Typer()
    homes = {"home": tmp_path / "empty"}
    register(app, lambda: homes["home"], lambda: None)
    runner = CliRunner()
    result = runner.invoke(app, ["index", "search", "calm piano"])
    assert result.exit_code == 1 and "empty" in result.output and "Traceback" not in result.output
    homes["home"] = home_copy
    result = runner.invoke(app, ["index", "search", "fast drums", "-k", "2"])
    assert result.exit_code == 0 and result.output.count(".wav") == 2
    result = runner.invoke(app, ["index", "similar", str(wav(clips, "piano_slow")), "-k", "1"])
    assert result.exit_code == 0 and ".wav" in result.output
    result = runner.invoke(app, ["index", "similar", str(clips / "notes.wav")])
    assert result.exit_code == 1 and "not an audio file" in result.output
    result = runner.invoke(app, ["index", "stats"])
    assert result.exit_code == 0 and "5 clips" in result.output
    result = runner.invoke(app, ["index", "remove", "999"])
    assert result.exit_code == 0 and "not in the index: 999" in result.output
    assert runner.invoke(app, ["index", "rebuild", "--index-type", "nope"]).exit_code == 1


def test_an_index_from_an_older_version_says_to_add_the_clips_again(home_copy):
    """Sound vectors of another size (an index made before the music tagger joined them) are named, not crashed on."""
    db = home_copy / "index" / "clips.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE clips SET audio_vec = ?", (np.zeros(64, np.float32).tobytes(),))
    for saved in (home_copy / "index").glob("*.faiss"):
        saved.unlink()
    (home_copy / "index" / "vectors.json").unlink(missing_ok=True)
    with ClipIndex(home_copy) as idx, pytest.raises(ToolError, match="older bandmate.*bandmate index add"):
        idx.search("calm piano")
