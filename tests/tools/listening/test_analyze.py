"""Audio analysis on real renders with known truth, on real recordings, and on bad input.

Songs are built here as MIDI with a known tempo, meter, key and chord per bar,
rendered to WAV with fluidsynth, then measured.
"""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest
import soundfile as sf

from core.audio_io import load_audio
from core.errors import ToolError
from tests.support import SHARED_DATA
from tests.support.known_songs import render
from tools.listening.analyze import Analysis, analyze_audio, chord_name, relative_key

DATA = SHARED_DATA / "audio"
def chord_recall(analysis: Analysis, chords: list[str], seconds_per_chord: float, repeats: int) -> float:
    """Share of the song's time where the detected chord equals the written one."""
    hit = total = 0.0
    for i, truth in enumerate(chords * repeats):
        t0, t1 = i * seconds_per_chord, (i + 1) * seconds_per_chord
        total += t1 - t0
        hit += sum(max(0.0, min(t1, c.end) - max(t0, c.start)) for c in analysis.chords if c.label == truth)
    return hit / total


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth not installed")
    tmp = tmp_path_factory.mktemp("renders")
    return {
        "pop": render(tmp, "pop", ["C", "G", "Am", "F"], 120),
        "waltz": render(tmp, "waltz", ["G", "D", "Em", "C"], 150, beats_per_bar=3, bars_per_chord=2,
                        drums=False, waltz=True),
        "minor": render(tmp, "minor", ["Am", "Dm", "E", "Am"], 90, drums=False),
        "flat": render(tmp, "flat", ["Eb", "Cm", "Ab", "Bb"], 100, repeats=3),
    }


def test_pop_render_gives_tempo_meter_key_chords_and_drums(renders):
    a = analyze_audio(renders["pop"])
    assert a.tempo_bpm == pytest.approx(120, rel=0.04)
    assert a.meter == "4/4"
    assert np.median(np.diff(a.downbeats)) == pytest.approx(2.0, rel=0.04)   # one bar of 4/4 at 120 BPM
    assert a.key == "C major"
    assert chord_recall(a, ["C", "G", "Am", "F"], 2.0, 4) > 0.8
    assert a.chord_labels[:4] in (["C", "G", "Am", "F"], ["G", "Am", "F", "C"])
    assert a.drums_present is True
    assert set(a.backends) >= {"beats", "tempo", "meter", "key", "chords", "loudness", "drums"}


def test_waltz_render_is_heard_in_three(renders):
    a = analyze_audio(renders["waltz"])
    assert a.tempo_bpm == pytest.approx(150, rel=0.04)
    assert a.meter == "3/4"
    assert a.key == "G major"
    assert chord_recall(a, ["G", "D", "Em", "C"], 2 * 3 * 60 / 150, 4) > 0.8
    assert a.drums_present is False


def test_minor_render_without_drums(renders):
    a = analyze_audio(renders["minor"])
    assert a.tempo_bpm == pytest.approx(90, rel=0.04)
    assert a.key == "A minor"
    assert chord_recall(a, ["Am", "Dm", "E", "Am"], 60 * 4 / 90, 4) > 0.8
    assert a.drums_present is False


def test_chords_are_spelled_for_the_key(renders):
    a = analyze_audio(renders["flat"])
    assert a.key == "Eb major"
    assert a.tempo_bpm == pytest.approx(100, rel=0.04)
    assert {"Eb", "Cm", "Ab", "Bb"} <= set(a.chord_labels)      # not D#, G#, A#


def test_librosa_fallback_still_measures_tempo_key_and_chords(renders):
    a = analyze_audio(renders["pop"], backend="librosa")
    assert a.tempo_bpm == pytest.approx(120, rel=0.04)
    assert a.key == "C major"
    assert chord_recall(a, ["C", "G", "Am", "F"], 2.0, 4) > 0.6
    assert a.meter is None and "librosa" in a.backends["beats"]


def test_facts_are_short_sentences_an_llm_can_read(renders):
    a = analyze_audio(renders["pop"])
    facts = a.to_facts()
    assert any(f.startswith("Tempo: about 120 BPM") for f in facts)
    assert any(f.startswith("Key: C major") for f in facts)
    assert any("C - G - Am - F" in f for f in facts)
    assert any(f.startswith("Not measured") and "lyrics" in f for f in facts)
    assert all(len(f) < 300 for f in facts)
    assert json.loads(json.dumps(a.to_dict()))["meter"] == "4/4"


def test_every_format_loads_the_same(renders, tmp_path):
    wav = load_audio(renders["minor"])
    for ext in ("flac", "ogg", "mp3"):
        path = tmp_path / f"song.{ext}"
        sf.write(path, wav.samples, wav.sample_rate)
        assert load_audio(path).duration == pytest.approx(wav.duration, abs=0.1)
    assert analyze_audio(tmp_path / "song.mp3").key == "A minor"


# ---------------------------------------------------------------- real recordings


@pytest.mark.skipif(not DATA.is_dir(), reason="shared/data/audio is not here")
def test_trumpet_loop_matches_its_metadata():
    """"Jazz Trumpet Loops Pack in F 90 bpm" (F blues/Dorian): tonic F, 90 BPM."""
    a = analyze_audio(DATA / "sorohanro_-_solo-trumpet-06.ogg")
    assert a.tempo_bpm == pytest.approx(90, rel=0.04)
    assert a.key.split()[0] == "F"
    assert not a.chord_labels or a.chord_coverage < 0.2      # one trumpet: no chords to report


@pytest.mark.skipif(not DATA.is_dir(), reason="shared/data/audio is not here")
def test_real_recordings_keys_and_drums():
    nutcracker = analyze_audio(DATA / "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg")
    assert nutcracker.key == "E minor"                      # Tchaikovsky wrote it in E minor
    assert nutcracker.drums_present is False
    drum_bass = analyze_audio(DATA / "admiralbob77_-_Choice_-_Drum-bass.ogg")
    assert drum_bass.drums_present is True
    assert drum_bass.tempo_bpm is not None


# ---------------------------------------------------------------- bad input


def test_silence_is_reported_not_measured(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(44100 * 5, dtype=np.float32), 44100)
    a = analyze_audio(path)
    assert a.silent and a.tempo_bpm is None and a.key is None and a.chords == []
    assert "silent" in a.summary()


def test_noise_and_a_held_tone_get_no_invented_tempo_key_or_drums(tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noise.wav", (0.1 * rng.standard_normal(44100 * 5)).astype(np.float32), 44100)
    noise = analyze_audio(tmp_path / "noise.wav")
    assert noise.tempo_bpm is None and noise.key is None and noise.drums_present is None
    assert "Tempo: no steady beat was found." in noise.to_facts()
    tone = (0.3 * np.sin(np.arange(44100 * 2) * 2 * np.pi * 440 / 44100)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", tone, 44100)
    held = analyze_audio(tmp_path / "tone.wav")
    assert held.tempo_bpm is None and held.key is None and held.chord_labels == []


def test_a_clip_under_a_second_is_refused(tmp_path):
    sf.write(tmp_path / "blip.wav", np.full(4410, 0.2, dtype=np.float32), 44100)
    with pytest.raises(ToolError, match="only 0.1 s long"):
        analyze_audio(tmp_path / "blip.wav")


def test_missing_empty_and_non_audio_files_give_one_clear_sentence(tmp_path):
    with pytest.raises(ToolError, match="no file at"):
        analyze_audio(tmp_path / "nope.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ToolError, match="empty"):
        analyze_audio(tmp_path / "empty.wav")
    (tmp_path / "notes.wav").write_text("These are my lyrics, not audio.\n" * 40)
    with pytest.raises(ToolError, match="not an audio file"):
        analyze_audio(tmp_path / "notes.wav")
    (tmp_path / "fake.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    with pytest.raises(ToolError, match="not an audio file"):
        analyze_audio(tmp_path / "fake.mp3")


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_truncated_files_are_refused(tmp_path, ext):
    full = tmp_path / f"full.{ext}"
    tone = 0.3 * np.sin(np.arange(44100 * 4) * 2 * np.pi * 440 / 44100).astype(np.float32)
    sf.write(full, tone, 44100)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ToolError, match="truncated"):
        analyze_audio(cut)


def test_audio_over_twenty_minutes_is_refused_before_decoding(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(21 * 60 * 1000, dtype=np.float32), 1000, subtype="PCM_U8")   # 1.3 MB
    with pytest.raises(ToolError, match="20-minute limit"):
        analyze_audio(path)


def test_wav_header_promising_more_than_it_holds(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, np.full(8000, 0.1, dtype=np.float32), 8000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4: at + 8] = struct.pack("<I", 8000 * 2 * 10)     # header claims 10 s, file holds 1 s
    path.write_bytes(bytes(data))
    with pytest.raises(ToolError, match="truncated"):
        load_audio(path)


def test_key_and_chord_naming_helpers():
    assert relative_key("C major") == "A minor" and relative_key("F minor") == "Ab major"
    assert chord_name(10, False, "F major") == "Bb" and chord_name(6, True, "D major") == "F#m"
    assert chord_name(3, False, "C minor") == "Eb" and chord_name(8, True, "E major") == "G#m"
