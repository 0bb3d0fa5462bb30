"""Model checkpoints: one file format (config + weights + meta, written atomically), one loader.

A registry name resolves to the user's retrained file in ``<home>/models`` first, then the
copy shipped in ``tools/data``; a path is read as it is."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import ToolError
from core.settings import get_settings
from tools import DATA_DIR


def save_checkpoint(model: nn.Module, path: str | Path, **meta: Any) -> Path:
    """Write config + weights + ``meta`` (data hash, training mix, metrics) atomically: a crash keeps the old file."""
    from core.files import atomic_path

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"config": asdict(model.config), "state_dict": state, "kind": type(model).__name__, **meta}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def read_checkpoint(name_or_path: str | Path, registry: dict[str, str], kind: str, retrain: str) -> dict:
    """A checkpoint's payload by path or registry name (user-trained file in ``<home>/models`` first).

    Raises ToolError for a missing, damaged or wrong-kind file, naming the command that rebuilds it.
    """
    path = Path(name_or_path).expanduser()
    if not path.is_file() and str(name_or_path) in registry:
        filename = registry[str(name_or_path)]
        user = get_settings().models_dir / filename
        path = user if user.is_file() else DATA_DIR / filename
    if not path.is_file():
        raise ToolError(f"No checkpoint at {name_or_path}; give a .pt file or one of {', '.join(registry)}, "
                        f"or train one with `{retrain}`.")
    try:
        with warnings.catch_warnings():  # a damaged file may also warn about its pickle protocol
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        raise ToolError(f"{path} is damaged or not a bandmate checkpoint; retrain it with `{retrain}`.") from exc
    if not isinstance(payload, dict) or payload.get("kind") != kind or "state_dict" not in payload:
        raise ToolError(f"{path} is not a {kind} checkpoint; retrain it with `{retrain}`.")
    payload["path"] = str(path)
    return payload


def load_model(name_or_path: str | Path, registry: dict[str, str], kind: str, retrain: str,
               build: Callable[[dict], nn.Module], device: str | None = None) -> nn.Module:
    """A checkpoint (see :func:`read_checkpoint`) as a model in eval mode with ``.meta``: ``build`` makes the
    module from the saved config dict. ``device=None`` picks CUDA when present. Raises ToolError for a
    missing or damaged file, or weights that do not fit their own config.
    """
    payload = read_checkpoint(name_or_path, registry, kind, retrain)
    try:
        model = build(payload["config"])
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ToolError(f"{payload['path']} does not match its own config; retrain it with `{retrain}`.") from exc
    model.meta = {k: v for k, v in payload.items() if k not in ("state_dict", "config")}
    return model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
