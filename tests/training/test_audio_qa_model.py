"""The audio-QA model's tiny DSP encoder hears the key of a real render."""

from __future__ import annotations

import numpy as np
import torch

from core.audio_io import load_audio
from tests.support.known_songs import render
from tools.listening.analyze import KEYS, ks_scores
from training.audio_qa_model import DSPEncoder


def test_dsp_encoder_hears_the_key_of_a_rendered_song(tmp_path):
    """Two real renders a tritone apart: the clip's pitch-class profile names each key and moves with it."""
    encoder = DSPEncoder(16000)
    profiles = {}
    for key, chords in {"C major": ["C", "F", "G", "C"], "F# major": ["F#", "B", "C#", "F#"]}.items():
        wav = render(tmp_path, key.split()[0].replace("#", "s"), chords, 120, repeats=1)
        audio = torch.from_numpy(load_audio(wav, sample_rate=16000).samples[: 4 * 16000].copy())[None]
        hidden = encoder(audio).hidden_states[0]
        profile = encoder.pitch_class_profile(audio)[0]
        assert hidden.shape[-1] == encoder.config.hidden_size
        assert torch.allclose(hidden[0, :, -12:], profile.expand(hidden.shape[1], -1) / 3)   # on every frame
        profiles[key] = profile.numpy()
        assert KEYS[int(np.argmax(ks_scores(profiles[key])))] == key
    moved = np.roll(profiles["C major"], 6)
    assert np.corrcoef(moved, profiles["F# major"])[0, 1] > 0.8
