"""One front door for every model: load(name, device=None) and available_models()."""

from __future__ import annotations

import importlib

import pytest

from core.errors import ToolError
from tools.models import available_models, load
from tools.models.chord_model import ChordModel
from tools.models.musicnn import Musicnn
from tools.models.reward_model import RewardModel
from tools.models.tagger import AudioTagger


def test_every_family_registry_name_is_available():
    names = set()
    for family in ("chord_model", "reward_model", "genre_head", "tagger", "musicnn", "mullama"):
        names |= set(importlib.import_module(f"tools.models.{family}").REGISTRY)
    assert set(available_models()) == names


@pytest.mark.parametrize("name, kind", [("chords-rlhf", ChordModel), ("chords-supervised", ChordModel),
                                        ("chord-reward", RewardModel), ("audio-tagger", AudioTagger),
                                        ("musicnn-mtt", Musicnn), ("musicnn-msd", Musicnn)])
def test_load_builds_the_shipped_model_in_eval_mode(name, kind):
    model = load(name, device="cpu")
    assert isinstance(model, kind)
    assert not model.training
    assert next(model.parameters()).device.type == "cpu"


def test_an_unknown_name_says_which_names_exist():
    with pytest.raises(ToolError, match="chords-rlhf"):
        load("chords-xl")
