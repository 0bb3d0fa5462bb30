"""The audio tagger network: a small MLP over clip-level spectral statistics, and its loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tools.models.checkpoints import load_model

# Names load() knows: the shipped checkpoint, or one retrained into $BANDMATE_HOME/models.
REGISTRY = {"audio-tagger": "audio-tagger.pt"}


RETRAIN = "python -m training.train_tagger"


N_FEATURES = 20 * 2 + 7 * 2 + 12 * 2 + 2 * 2 + 1    # mfcc, contrast, chroma, centroid+flatness (mean, std), onsets


@dataclass(frozen=True)
class TaggerConfig:
    """The tagger's shape: its feature window, hidden size and the labels of each head."""

    heads: dict[str, list[str]] = field(default_factory=dict)   # head name -> labels, e.g. {"instrument": [...]}
    n_features: int = N_FEATURES
    hidden: int = 64
    dropout: float = 0.2
    sample_rate: int = 16000
    window_seconds: float = 5.0                                 # the length of the training clips
    max_windows: int = 6                                        # windows averaged over a long recording
    threshold: float = 0.7                                      # tag_audio keeps tags at least this likely

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaggerConfig:
        """A config from a checkpoint's dict, ignoring keys this version does not know."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class AudioTagger(nn.Module):
    """Standardized clip features -> shared MLP trunk -> one logit vector per head."""

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("feature_mean", torch.zeros(config.n_features))
        self.register_buffer("feature_std", torch.ones(config.n_features))
        self.trunk = nn.Sequential(nn.Linear(config.n_features, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
                                   nn.Linear(config.hidden, config.hidden), nn.ReLU(), nn.Dropout(config.dropout))
        self.heads = nn.ModuleDict({name: nn.Linear(config.hidden, len(labels))
                                    for name, labels in config.heads.items()})
        self.meta: dict[str, Any] = {}

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head for a (batch, n_features) tensor of raw clip features."""
        hidden = self.trunk((features - self.feature_mean) / self.feature_std)
        return {name: head(hidden) for name, head in self.heads.items()}

    @torch.no_grad()
    def probabilities(self, features: np.ndarray) -> dict[str, dict[str, float]]:
        """Each head's label probabilities, averaged over the rows (windows) of ``features``."""
        device = self.feature_mean.device
        logits = self(torch.as_tensor(np.atleast_2d(features), dtype=torch.float32, device=device))
        return {name: dict(zip(self.config.heads[name], out.softmax(-1).mean(0).tolist()))
                for name, out in logits.items()}


def load(name_or_path: str | Path = "audio-tagger", device: str | None = None) -> AudioTagger:
    """The tagger by registry name (``audio-tagger``) or checkpoint path; ``device=None`` picks CUDA when present.

    Raises ToolError for a missing, damaged or mismatched checkpoint.
    """
    return load_model(name_or_path, REGISTRY, "AudioTagger", RETRAIN,
                      lambda config: AudioTagger(TaggerConfig.from_dict(config)), device)
