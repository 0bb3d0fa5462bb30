"""Every network bandmate runs, and one way to load one: ``load(name, device=None)``.

    from tools.models import load, available_models
    available_models()                 # ['audio-tagger', 'chord-reward', 'chords-rlhf', ..., 'musicnn-mtt', ...]
    policy = load("chords-rlhf")       # a ChordModel in eval mode; device=None picks CUDA when present

A registry name reads the user's retrained file in ``<home>/models`` first, then the shipped
one in ``tools/data``; a path to a checkpoint (or a music-LM folder) works too.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# name -> the module whose load() builds it (modules import torch, so they load on first use)
_FAMILIES = {
    "chords-supervised": "chord_model",
    "chords-rlhf": "chord_model",
    "chord-reward": "reward_model",
    "genre-head": "genre_head",
    "audio-tagger": "tagger",
    "musicnn-mtt": "musicnn",
    "musicnn-msd": "musicnn",
    "mu-llama": "mullama",
    "musilingo": "mullama",
}


def available_models() -> list[str]:
    """The registry names :func:`load` knows."""
    return sorted(_FAMILIES)


def load(name: str | Path, device: str | None = None) -> Any:
    """The model of a registry name, in eval mode on ``device`` (None: CUDA when present, else CPU).

    Raises ToolError when its checkpoint is missing or damaged, naming the command that rebuilds it.
    """
    from core.errors import ToolError

    family = _FAMILIES.get(str(name))
    if family is None:
        raise ToolError(f"There is no model called {name!r}; use one of {', '.join(available_models())} "
                        "or load a checkpoint file with its family's load().")
    return importlib.import_module(f"tools.models.{family}").load(name, device=device)
