"""Questions about a clip: measured answers without the LLM, honest "I can't tell", and a checked LLM."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from core.errors import ToolError
from tests.support import SHARED_DATA
from tests.support.fakes import ScriptedTextGenerator
from tests.support.known_songs import render
from tools.listening.analyze import analyze_audio
from tools.listening.audio_qa import answer_audio_question, unsupported_claims

TRUMPET = SHARED_DATA / "audio" / "sorohanro_-_solo-trumpet-06.ogg"


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A rendered 120 BPM C-G-Am-F song with drums, and its analysis."""
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth not installed")
    path = render(tmp_path_factory.mktemp("qa"), "pop", ["C", "G", "Am", "F"], 120)
    return path, analyze_audio(path)


def test_fact_questions_are_answered_without_the_llm(song):
    path, analysis = song
    llm = ScriptedTextGenerator(["should not be used"])
    tempo = answer_audio_question(path, "How fast is this, in BPM?", llm=llm, analysis=analysis)
    assert tempo.text.startswith("The tempo is about 120 BPM") and tempo.grounded and tempo.method == "measured"
    assert tempo.facts and tempo.facts[0].startswith("Tempo:")
    both = answer_audio_question(path, "What key and time signature is it in?", llm=llm, analysis=analysis)
    assert "C major" in both.text and "4/4" in both.text
    chords = answer_audio_question(path, "Which chords does it use?", llm=llm, analysis=analysis)
    assert "C - G - Am - F" in chords.text
    drums = answer_audio_question(path, "Are there drums?", llm=llm, analysis=analysis)
    assert "present" in drums.text
    assert llm.calls == []


def test_unmeasured_topics_get_an_explicit_i_cant_tell(song):
    path, analysis = song
    llm = ScriptedTextGenerator(["She sings about love."])
    for question in ("What are the lyrics about?", "Is the singer male or female?", "Is there a guitar?",
                     "What genre is this?", "Who is the artist?"):
        answer = answer_audio_question(path, question, llm=llm, analysis=analysis, tagger=None)
        assert answer.text.startswith("I can't tell") and not answer.grounded and answer.method == "cannot_tell"
    mixed = answer_audio_question(path, "What's the tempo, and what is the singer saying?", llm=llm, analysis=analysis,
                                  tagger=None)
    assert "120 BPM" in mixed.text and "I can't tell anything about lyrics or vocals" in mixed.text
    assert llm.calls == []


def test_open_questions_go_to_the_llm_with_the_facts(song):
    path, analysis = song
    llm = ScriptedTextGenerator(["Yes: at about 120 BPM with a steady 4/4 beat and drums, it suits dancing."])
    answer = answer_audio_question(path, "Would this work at a dance party?", llm=llm, analysis=analysis)
    assert answer.method == "llm" and answer.grounded
    assert answer.text.startswith("Yes: at about 120 BPM")
    prompt = llm.calls[0]["prompt"]
    assert "Tempo: about 120 BPM" in prompt and "Question: Would this work at a dance party?" in prompt
    assert "Never guess" in llm.calls[0]["system"]


def test_an_llm_that_invents_facts_is_asked_again_then_overruled(song):
    path, analysis = song
    llm = ScriptedTextGenerator(["It's a 140 BPM ballad in D minor with a female singer.",
                                 "A gentle piano carries the melody."])
    answer = answer_audio_question(path, "Describe the mood.", llm=llm, analysis=analysis)
    assert len(llm.calls) == 2 and "140 BPM" in llm.calls[1]["prompt"]
    assert answer.text.startswith("I can't tell") and not answer.grounded
    assert "something about instruments" in answer.unsupported


def test_a_corrected_second_answer_is_kept(song):
    path, analysis = song
    llm = ScriptedTextGenerator(["A slow 70 BPM tune.", "It feels upbeat: about 120 BPM in C major."])
    answer = answer_audio_question(path, "How does it feel?", llm=llm, analysis=analysis)
    assert answer.grounded and answer.method == "llm" and answer.text == "It feels upbeat: about 120 BPM in C major."


def test_claim_checker_accepts_facts_and_negations(song):
    _, analysis = song
    assert unsupported_claims("About 120 BPM in C major (or A minor), 4/4, with drums.", analysis) == []
    assert unsupported_claims("I can't tell whether anyone sings.", analysis) == []
    assert unsupported_claims("It is in 3/4 at 90 bpm.", analysis) == ["a tempo of 90 BPM", "a 3-beat meter"]


@pytest.mark.skipif(not TRUMPET.exists(), reason="shared/data/audio is not here")
def test_real_trumpet_loop_key_and_tempo():
    answer = answer_audio_question(TRUMPET, "What key is this in, and what's the tempo?", llm=None)
    assert "F minor" in answer.text and "about 91 BPM" in answer.text and answer.grounded
    chords = answer_audio_question(TRUMPET, "What chords are played?", llm=None)
    assert chords.text.startswith("I can't tell any chords")


def test_noise_gets_i_cant_tell_for_tempo_and_key(tmp_path):
    path = tmp_path / "noise.wav"
    sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(44100 * 4)).astype(np.float32), 44100)
    answer = answer_audio_question(path, "What's the tempo and the key?", llm=None)
    assert answer.text == ("I can't tell the tempo: no steady beat was found. "
                           "I can't tell the key: no stable tonal centre was found.")
    assert not answer.grounded and answer.method == "cannot_tell"


def test_silence_and_bad_files(tmp_path):
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(44100, dtype=np.float32), 44100)
    answer = answer_audio_question(silent, "What key is it in?", llm=ScriptedTextGenerator(["C major"]))
    assert answer.text.startswith("I can't tell: the clip is silent") and not answer.grounded
    (tmp_path / "doc.wav").write_text("hello\n" * 100)
    with pytest.raises(ToolError, match="not an audio file"):
        answer_audio_question(tmp_path / "doc.wav", "What key?", llm=None)
    with pytest.raises(ToolError, match="question is empty"):
        answer_audio_question(silent, "   ", llm=None)


@pytest.fixture(scope="module")
def real_tags():
    """The musicnn tags of four real recordings (tagged once; answers reuse them)."""
    from tools.listening.tagger import tag_track

    names = {"ragtime": "442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime.ogg",
             "fishin": "Karissa_Hobbs_-_Lets_Go_Fishin.ogg", "drum-bass": "admiralbob77_-_Choice_-_Drum-bass.ogg",
             "trumpet": TRUMPET.name}
    return {key: tag_track(SHARED_DATA / "audio" / name) for key, name in names.items()}


@pytest.mark.skipif(not TRUMPET.exists(), reason="shared/data/audio is not here")
def test_instruments_voices_and_genre_are_answered_from_the_tagger_or_honestly_not(real_tags):
    from tools.listening.audio_qa import tag_answer

    piano, used = tag_answer(real_tags["ragtime"], "instruments", "Which instruments are playing?")
    assert piano.startswith("The tagger hears piano (p=0.") and [t.label for t in used] == ["piano"]
    singer, used = tag_answer(real_tags["fishin"], "vocals", "Is the singer a man or a woman?")
    assert "probably a female singer" in singer and used
    instrumental, _ = tag_answer(real_tags["ragtime"], "vocals", "Does anyone sing?")
    assert instrumental.startswith("It sounds instrumental")
    # drum and bass: MagnaTagATune's "guitar" fires on the bass guitar below the threshold, so no guitar claim
    unsure, used = tag_answer(real_tags["drum-bass"], "instruments", "Which instruments are playing?")
    assert unsure.startswith("I can't tell") and used == []
    trumpet, used = tag_answer(real_tags["trumpet"], "instruments", "Is there a trumpet?")
    assert trumpet.startswith("I can't tell whether there is a trumpet") and "not trumpets" in trumpet
    genre, used = tag_answer(real_tags["trumpet"], "genre", "What genre is this?")
    assert genre.startswith("It sounds like jazz") and used[0].source == "musicnn-msd"


@pytest.mark.skipif(not TRUMPET.exists(), reason="shared/data/audio is not here")
def test_a_mixed_question_gets_measured_and_tagged_answers_and_the_llm_is_still_checked(real_tags):
    analysis = analyze_audio(TRUMPET)
    llm = ScriptedTextGenerator(["unused"])
    answer = answer_audio_question(TRUMPET, "What's the tempo and the genre?", llm=llm, analysis=analysis,
                                   tags=real_tags["trumpet"])
    assert "BPM" in answer.text and "It sounds like jazz (p=" in answer.text
    assert answer.grounded and answer.method == "tagged" and llm.calls == []
    assert any(f.startswith("Predicted genre: jazz") for f in answer.facts)
    lyrics = answer_audio_question(TRUMPET, "What genre is it and what are the lyrics?", llm=None,
                                   analysis=analysis, tags=real_tags["trumpet"])
    assert "I can't tell anything about lyrics" in lyrics.text and "jazz" in lyrics.text
    assert unsupported_claims("A woman sings over a guitar.", analysis)      # the LLM check is unchanged
