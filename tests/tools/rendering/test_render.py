"""Rendering on the real fluidsynth and FluidR3 soundfont: files, lengths, tempo, and failures."""

import mido
import numpy as np
import pytest
import soundfile as sf

from core.errors import ToolError
from tools.music.harmony import parse_chord
from tools.rendering.render import parse_chord_chart, render_any


def _tempo_of_midi(path):
    return mido.tempo2bpm(next(m.tempo for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "set_tempo"))


def _programs(path):
    return {m.program for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "program_change"}


@pytest.fixture(scope="module")
def chord_render(tmp_path_factory):
    return render_any("C G Am F", tmp_path_factory.mktemp("out"), tempo=90, instrument="strings")


def test_chord_string_renders_to_every_file(chord_render):
    names = sorted(f.path.name for f in chord_render.files)
    assert names == ["chords.txt", "lead-sheet-1.png", "lead-sheet-1.svg", "lead-sheet.musicxml", "piano-roll.png",
                     "song.mid", "song.ogg", "song.wav"]
    assert all(f.path.is_file() and f.path.stat().st_size > 0 for f in chord_render.files)
    assert {f.path.name: f.kind for f in chord_render.files}["song.ogg"] == "audio"


def test_chord_string_plays_at_the_tempo_and_instrument_asked(chord_render):
    midi = chord_render.folder / "song.mid"
    assert _tempo_of_midi(midi) == pytest.approx(90)
    assert _programs(midi) == {48}  # strings
    audio, rate = sf.read(str(chord_render.folder / "song.wav"))
    assert np.abs(audio).max() > 0.05
    score_seconds = 4 * 4 * 60 / 90
    assert abs(len(audio) / rate - score_seconds) <= 1.0
    chart = (chord_render.folder / "chords.txt").read_text()
    assert [[parse_chord(c).symbol for c in bar] for bar in parse_chord_chart(chart)] == [["C"], ["G"], ["Am"], ["F"]]


def test_ogg_is_small_enough_for_a_chat_upload(chord_render):
    ogg = chord_render.folder / "song.ogg"
    seconds = sf.info(str(ogg)).duration
    assert ogg.stat().st_size / seconds * 180 < 8_000_000  # a 3-minute song stays under 8 MB


def test_ogg_encoded_while_rendering_is_the_wav(tmp_path):
    """Long enough that most of the OGG is encoded on its own thread before the end is known."""
    result = render_any(" ".join(["C G Am F"] * 4), tmp_path, tempo=120, instrument="piano")
    wav, rate = sf.read(str(result.folder / "song.wav"))
    ogg, ogg_rate = sf.read(str(result.folder / "song.ogg"))
    assert rate == ogg_rate and len(wav) / rate > 20 and len(ogg) == len(wav)
    assert np.corrcoef(wav[:, 0], ogg[:, 0])[0, 1] > 0.95
    assert np.abs(ogg[-10:]).max() < 0.01  # the faded end, not a cut mid-note


def test_midi_file_renders_at_a_new_tempo(chord_render, tmp_path):
    result = render_any(chord_render.folder / "song.mid", tmp_path, tempo=180, instrument="piano")
    assert result.tempo == pytest.approx(180)
    assert _tempo_of_midi(result.folder / "song.mid") == pytest.approx(180, rel=1e-3)
    assert _programs(result.folder / "song.mid") == {0}
    assert abs(result.duration_seconds - chord_render.duration_seconds / 2) <= 1.0  # twice as fast


def test_musicxml_lead_sheet_renders(tmp_path):
    from music21 import chord, meter, note, stream

    part = stream.Part([meter.TimeSignature("4/4")] + [note.Note(p, quarterLength=1) for p in ("C4", "E4", "G4", "C5")]
                       + [chord.Chord(["C4", "E4", "G4"], quarterLength=4)])
    xml = tmp_path / "tune.musicxml"
    stream.Score([part]).write("musicxml", fp=str(xml))
    result = render_any(xml, tmp_path / "out", tempo=120)
    audio, rate = sf.read(str(result.folder / "song.wav"))
    assert np.abs(audio).max() > 0.05 and abs(len(audio) / rate - 4.0) <= 1.0


@pytest.mark.parametrize("source, kwargs, message", [
    ("C G Am F", {"tempo": 20}, "between 30 and 300"),
    ("C G Am F", {"tempo": 301}, "between 30 and 300"),
    ("C H Am", {}, "'H'"),
    ("no/such/song.mid", {}, "does not exist"),
    ("C G", {"instrument": "zzzzophone"}, "instrument"),
])
def test_bad_input_is_a_one_sentence_tool_error(tmp_path, source, kwargs, message):
    with pytest.raises(ToolError, match=message):
        render_any(source, tmp_path, **kwargs)


def test_unreadable_midi_is_a_tool_error(tmp_path):
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"this is not a MIDI file")
    with pytest.raises(ToolError, match="not a readable MIDI file"):
        render_any(broken, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_missing_soundfont_names_the_package_and_leaves_nothing_behind(tmp_path):
    with pytest.raises(ToolError, match="fluid-soundfont-gm"):
        render_any("C G", tmp_path, soundfont=tmp_path / "missing.sf2")
    assert list(tmp_path.iterdir()) == []


def test_missing_fluidsynth_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match="Debian package fluidsynth"):
        render_any("C G", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_unwritable_output_folder_is_a_tool_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ToolError, match="output folder"):
        render_any("C G", blocker / "songs")


def test_midi_without_a_tempo_plays_at_120_and_says_so(tmp_path):
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for pitch in (60, 64, 67, 72):
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=midi.ticks_per_beat))
    midi.save(str(tmp_path / "plain.mid"))
    result = render_any(tmp_path / "plain.mid", tmp_path / "out")
    assert result.tempo == pytest.approx(120) and "120 BPM" in result.notes[0]
    assert abs(result.duration_seconds - 2.0) <= 1.0


def test_trailing_silence_is_found_from_the_end():
    from tools.rendering.synth import _last_sound

    rate = 1000
    audio = np.zeros((5 * rate + 300, 2), dtype=np.int16)
    assert _last_sound(audio, rate) == 0
    audio[1234, 1] = -20000  # loud in one channel, far before the last block
    assert _last_sound(audio, rate) == 1235
    audio[-1, 0] = 5000
    assert _last_sound(audio, rate) == len(audio)


@pytest.mark.parametrize("source, kwargs, message", [
    (" ".join(["C", "G", "Am", "F"] * 2500), {}, "10000 chords is too many to render; give at most 256 chords"),
    (" ".join(["C", "G"] * 100), {"tempo": 40}, "200 chords at 40 BPM would play for 20.0 minutes, over the 10-minute"),
])
def test_a_chord_string_over_the_limits_is_refused_before_any_work(tmp_path, source, kwargs, message):
    with pytest.raises(ToolError, match=message):
        render_any(source, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_midi_file_longer_than_ten_minutes_is_refused_before_the_audio_is_made(tmp_path):
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)))
    track.append(mido.Message("note_on", note=60, velocity=80, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=480 * 2 * 11 * 60))   # 11 minutes at 120 BPM
    midi.save(tmp_path / "drone.mid")
    with pytest.raises(ToolError, match="drone.mid would play for 11.0 minutes, over the 10-minute render limit"):
        render_any(tmp_path / "drone.mid", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []       # the staging folder went with the refusal
    render_any(tmp_path / "drone.mid", tmp_path / "fast", tempo=300)  # 4.4 minutes at 300 BPM: within the limit
