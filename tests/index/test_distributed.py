"""Ingest on Ray Data: a local Ray with 2 workers analyses the clips, this process writes the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import ClipIndex

pytest.importorskip("ray.data")


def test_ray_ingest_matches_a_local_ingest(tmp_path):
    from tests.index.test_clip_index import write_midi
    from tools.rendering.synth import render_midi_to_wav

    for name, program, bpm, drums in (("a", 0, 90, False), ("b", 27, 140, True), ("c", 73, 110, False)):
        render_midi_to_wav(write_midi(tmp_path / f"{name}.mid", program, bpm, drums, seconds=3.0),
                           tmp_path / f"{name}.wav", sample_rate=22050)
    (tmp_path / "bad.wav").write_text("not audio")
    index = ClipIndex(tmp_path / "home")
    report = index.add([tmp_path], ray_workers=2, progress=False)
    assert sorted(Path(p).name for p in report.added) == ["a.wav", "b.wav", "c.wav"]
    assert [Path(o.path).name for o in report.failed] == ["bad.wav"]
    assert index.stats().clips == 3 and len(index.search("drums", k=3)) == 3
    assert index.add([tmp_path], ray_workers=2, progress=False).added == []   # nothing twice
