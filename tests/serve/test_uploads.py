"""What the web app accepts: real audio and MIDI files pass, anything else gets one sentence."""

from __future__ import annotations

import mido
import pytest

from core.errors import ToolError
from serve.uploads import check_upload, keep_upload
from tests.support.bots.harness import tone_wav


def test_audio_and_midi_pass(tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(tone_wav(seconds=1.0))
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60), mido.Message("note_off", note=60, time=480)]))
    midi.save(tmp_path / "tune.mid")
    check_upload(clip, "clip.wav")
    check_upload(tmp_path / "tune.mid", "tune.mid")


@pytest.mark.parametrize("name, content, limit, says", [
    ("notes.txt", b"my notes", 2**20, "I can't use notes.txt: upload audio (WAV, FLAC, OGG or MP3) or MIDI/MusicXML."),
    ("notes.wav", b"my notes, renamed", 2**20, "notes.wav is not audio I can read; upload a WAV, FLAC, OGG or MP3 file."),
    ("long.wav", None, 2**20, "long.wav is 1.7 MB, over the 1 MB upload limit; upload a shorter clip or an OGG/MP3."),
    ("empty.ogg", b"", 2**20, "empty.ogg is empty; upload the file again."),
])
def test_a_file_that_cannot_be_used_is_one_sentence(tmp_path, name, content, limit, says):
    path = tmp_path / name
    path.write_bytes(tone_wav(seconds=40.0) if content is None else content)
    with pytest.raises(ToolError) as caught:
        check_upload(path, name, limit)
    assert str(caught.value) == says


def test_a_kept_upload_gets_a_safe_name_in_the_threads_folder(tmp_path):
    source = tmp_path / "my clip (final).wav"
    source.write_bytes(tone_wav(seconds=0.5))
    kept = keep_upload(source, source.name, tmp_path / "outputs" / "web_1" / "uploads")
    assert kept.parent == tmp_path / "outputs" / "web_1" / "uploads"
    assert kept.name.endswith("-my_clip_final_.wav") and kept.read_bytes() == source.read_bytes()
