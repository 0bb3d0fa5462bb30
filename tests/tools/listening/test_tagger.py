"""The synthetic-render audio tagger (``audio-tagger``): trained on real fluidsynth renders it beats chance on
held-out music, the shipped checkpoint names a rendered piano as piano, and a bad checkpoint is one clear
ToolError. The pretrained musicnn tagger's tests are in test_tagger_musicnn.py."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from core.errors import ToolError
from tools.listening.audio_qa import answer_audio_question
from tools.listening.caption import caption_audio
from tools.listening.tagger import INSTRUMENT_FAMILY, TagScore, predict_audio, tag_audio
from tools.models.tagger import load
from tools.rendering.midi import write_midi
from tools.rendering.synth import render_midi_to_wav
from training.data_synth import SynthConfig, build_score, plan_corpus
from training.train_tagger import TrainConfig, train

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")


@pytest.fixture(scope="module")
def piano_clip(tmp_path_factory):
    """A 5 s piano progression without drums or bass, rendered like the training clips."""
    spec = next(s for s in plan_corpus(SynthConfig(n_clips=20, seed=11, seconds=5.0)) if s.source == "progression")
    spec = dataclasses.replace(spec, instrument="piano", drums=None, bass=False)
    folder = tmp_path_factory.mktemp("piano")
    write_midi(build_score(spec), folder / "piano.mid")
    render_midi_to_wav(folder / "piano.mid", folder / "piano.wav", max_seconds=5.0, sample_rate=16000)
    return folder / "piano.wav"


def test_tiny_training_beats_chance_on_held_out_renders(tmp_path):
    torch.set_num_threads(1)
    report = train(TrainConfig.tiny(corpus=str(tmp_path / "corpus"), out=str(tmp_path / "tagger.pt")))
    assert report.n_val >= 8
    assert report.accuracy["instrument"] > max(report.chance["instrument"], 1 / 7) + 0.1, report.table()
    model = load(report.path, device="cpu")
    assert set(model.config.heads["instrument"]) <= set(INSTRUMENT_FAMILY.values())
    assert model.meta["heldout_accuracy"] == report.accuracy


def test_shipped_checkpoint_hears_a_piano(piano_clip):
    probs = predict_audio(piano_clip)
    assert max(probs["instrument"], key=probs["instrument"].get) == "piano"
    assert sum(probs["genre"].values()) == pytest.approx(1.0, abs=1e-3)
    tags = tag_audio(piano_clip, model="audio-tagger", threshold=0.0)
    assert {t.head for t in tags} == {"instrument", "genre"}
    assert all(isinstance(t, TagScore) and 0 <= t.probability <= 1 for t in tags)
    assert all(t.probability >= 0.7 for t in tag_audio(piano_clip, model="audio-tagger"))


def test_predicted_tags_reach_captions_and_answers_as_guesses(piano_clip):
    caption = caption_audio(piano_clip, llm=None, tagger="audio-tagger")
    predicted = [f for f in caption.facts if f.startswith("Predicted")]
    assert all("p=" in f and "guess" in f for f in predicted)
    answer = answer_audio_question(piano_clip, "Which instrument is playing?", llm=None, tagger="audio-tagger")
    assert answer.text.startswith("I can't tell") and not answer.grounded
    if any(f.startswith("Predicted instrument: piano") for f in predicted):
        assert "probably a piano-family instrument (p=" in answer.text
    bare = answer_audio_question(piano_clip, "Which instrument is playing?", llm=None, tagger=None)
    assert "probably" not in bare.text


def test_silence_gets_no_tags(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(16000 * 2, dtype=np.float32), 16000)
    assert tag_audio(tmp_path / "silence.wav", model="audio-tagger") == []


def test_a_missing_or_corrupt_checkpoint_is_one_clear_error(tmp_path, piano_clip):
    with pytest.raises(ToolError, match="No checkpoint"):
        load(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ToolError, match="damaged"):
        load(bad)
    with pytest.raises(ToolError, match="damaged"):
        tag_audio(piano_clip, model=str(bad))
    caption = caption_audio(piano_clip, llm=None, tagger=str(bad))
    assert any("damaged" in f for f in caption.facts)
