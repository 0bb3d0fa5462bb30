"""Finding files to index: a FIFO or a device among the audio files is left out with the reason, never read."""

from __future__ import annotations

import os

from index import ClipIndex
from index.ingest import find_audio_files
from tests.support.clips import render_clip


def test_a_fifo_is_skipped_with_a_reason_and_the_clip_beside_it_is_indexed(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    good = render_clip(folder / "good.wav", program=0, bpm=96)
    os.mkfifo(folder / "pipe.wav")                       # reading it would wait forever for a writer
    found = find_audio_files([folder, "/dev/null"])
    assert found.files == [good]
    assert {o.path: o.reason for o in found.skipped} == {
        str(folder / "pipe.wav"): "pipe.wav is a FIFO (named pipe), not a regular file; it was not read.",
        "/dev/null": "null is a device, not a regular file; it was not read."}
    report = ClipIndex(tmp_path / "home").add([folder], progress=False, workers=1)
    assert report.added == [str(good)] and report.failed == []
    assert [o.path for o in report.skipped] == [str(folder / "pipe.wav")]
