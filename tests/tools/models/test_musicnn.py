"""The musicnn port: the published weights in our PyTorch network give the original TensorFlow graph's tags.

tests/fixtures/musicnn_golden.npz was made by scripts/musicnn_golden.py, which ran musicnn's own models.py
(TensorFlow 2.21, tf.compat.v1) on 3-second patches of three real recordings in ../shared/data/audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.audio_io import load_audio
from tools.models import load
from tools.models.musicnn import Musicnn, MusicnnConfig, log_mel

GOLDEN = Path(__file__).parents[2] / "fixtures" / "musicnn_golden.npz"
AUDIO = Path(__file__).parents[4] / "shared" / "data" / "audio"
TAXONOMIES = [("musicnn-mtt", "MTT_musicnn"), ("musicnn-msd", "MSD_musicnn")]


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


@pytest.mark.parametrize("name, key", TAXONOMIES)
def test_the_port_matches_tensorflow_on_its_exact_input(golden, name, key):
    model = load(name, device="cpu")
    ours = model.tag_patches(golden["patches_0"])
    assert np.abs(ours - golden[f"{key}_0"]).max() < 1e-3


@pytest.mark.parametrize("name, key", TAXONOMIES)
def test_audio_to_tags_matches_tensorflow_on_real_recordings(golden, name, key):
    model = load(name, device="cpu")
    for i, clip in enumerate(golden["clips"]):
        rep = log_mel(load_audio(AUDIO / str(clip), sample_rate=16000).samples)
        patches = np.stack([rep[s:s + model.config.n_frames] for s in golden[f"starts_{i}"]])
        expected = golden[f"{key}_{i}"]
        assert np.abs(model.tag_patches(patches) - expected).max() < 1e-3
        assert expected.max() > 0.4                 # the fixture holds real, confident tags, not a constant


def test_the_trumpet_is_jazz_and_the_string_orchestra_classical_strings(golden):
    mtt, msd = load("musicnn-mtt", device="cpu"), load("musicnn-msd", device="cpu")
    trumpet = msd.tag_patches(golden["patches_0"]).mean(0)
    assert msd.config.labels[int(trumpet.argmax())] == "jazz"
    rep = log_mel(load_audio(AUDIO / str(golden["clips"][1]), sample_rate=16000).samples)
    strings = mtt.tag_patches(mtt.patches(rep)).mean(0)
    top3 = {mtt.config.labels[i] for i in np.argsort(-strings)[:3]}
    assert {"classical", "strings"} <= top3 or {"classical", "violin"} <= top3


def test_a_short_clip_is_repeated_to_fill_one_patch_and_the_tiny_config_runs():
    model = Musicnn(MusicnnConfig.tiny()).eval()
    short = np.random.default_rng(0).random((50, 96)).astype(np.float32)
    patches = model.patches(short)
    assert patches.shape == (1, 187, 96)
    assert np.array_equal(patches[0, 50:100], short)
    probs = model.tag_patches(patches)
    assert probs.shape == (1, 8) and ((0 <= probs) & (probs <= 1)).all()
    with torch.no_grad():
        assert model(torch.as_tensor(patches)).shape == (1, 8)
