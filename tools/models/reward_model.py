"""A reward model for chord progressions: how much a progression sounds like real music people like.

A GRU reads the same tokens the chord model writes (``<bos> I V | vi IV | ...``);
its last state, with genre and mode embeddings, goes through an MLP to one score
(a logit: above 0 means "real and liked"). It is trained on real progressions
against corrupted copies of them, and on the ratings users gave (see
:mod:`tools.feedback`). RLHF (:mod:`training.rlhf`) maximises it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from tools.models.checkpoints import load_model
from tools.models.chord_model import BAR, BOS, MODES, UNK

REGISTRY = {"chord-reward": "chord-reward.pt"}


@dataclass(frozen=True)
class RewardConfig:
    """Vocabularies and sizes of a :class:`RewardModel`."""

    vocab: tuple[str, ...]
    genres: tuple[str, ...]
    d_embed: int = 32
    d_hidden: int = 128
    dropout: float = 0.1

    @classmethod
    def tiny(cls, vocab: Sequence[str], genres: Sequence[str]) -> "RewardConfig":
        """A test-sized reward model."""
        return cls(tuple(vocab), tuple(genres), d_embed=8, d_hidden=16, dropout=0.0)

    @classmethod
    def from_dict(cls, row: dict) -> "RewardConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})


class RewardModel(nn.Module):
    """Tokens + genre + mode -> a scalar score per progression."""

    def __init__(self, config: RewardConfig) -> None:
        super().__init__()
        self.config = config
        self.stoi = {t: i for i, t in enumerate(config.vocab)}
        c = config
        self.tok = nn.Embedding(len(c.vocab), c.d_embed, padding_idx=0)
        self.gru = nn.GRU(c.d_embed, c.d_hidden, batch_first=True)
        self.genre_emb = nn.Embedding(len(c.genres), c.d_hidden)
        self.mode_emb = nn.Embedding(len(MODES), c.d_hidden)
        self.mlp = nn.Sequential(nn.Linear(2 * c.d_hidden, c.d_hidden), nn.GELU(), nn.Dropout(c.dropout),
                                 nn.Linear(c.d_hidden, 1))

    def forward(self, tokens: torch.Tensor, genre: torch.Tensor, mode: torch.Tensor) -> torch.Tensor:
        """Scores (batch,) of padded token ids (batch, time); padding is id 0."""
        lengths = (tokens != 0).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.tok(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)
        summary = torch.cat([last[-1], self.genre_emb(genre) + self.mode_emb(mode)], dim=-1)
        return self.mlp(summary).squeeze(-1)

    def encode(self, bars: Sequence[Sequence[str]]) -> list[int]:
        """Bars of Roman numerals -> ids (as the chord model writes them, without ``<eos>``)."""
        ids = [self.stoi[BOS]]
        for bar in bars:
            ids += [self.stoi.get(ch, self.stoi[UNK]) for ch in bar] + [self.stoi[BAR]]
        return ids

    @torch.no_grad()
    def score(self, progressions: Sequence[Sequence[Sequence[str]]], genres: Sequence[str],
              modes: Sequence[str]) -> list[float]:
        """Scores of progressions given as bars of Roman numerals (genres outside the model's list count as pop)."""
        if not progressions:
            return []
        ids = [torch.tensor(self.encode(p)) for p in progressions]
        tokens = nn.utils.rnn.pad_sequence(ids, batch_first=True)
        genre = torch.tensor([self.genre_index(g) for g in genres])
        mode = torch.tensor([MODES.index(m) for m in modes])
        device = self.mlp[0].weight.device
        return self(tokens.to(device), genre.to(device), mode.to(device)).tolist()

    def genre_index(self, genre: str) -> int:
        return self.config.genres.index(genre) if genre in self.config.genres else self.config.genres.index(
            "pop") if "pop" in self.config.genres else 0

    def translate(self, ids: torch.Tensor, vocab: Sequence[str]) -> torch.Tensor:
        """Token ids of another vocabulary (the chord model's) -> this model's ids; unknown chords -> ``<unk>``."""
        table = torch.tensor([self.stoi.get(t, self.stoi[UNK]) for t in vocab], device=ids.device)
        return table[ids]


def load(name_or_path: str | Path = "chord-reward", device: str | None = None) -> RewardModel:
    """A reward model by registry name (``chord-reward``) or checkpoint path; ToolError when missing or damaged."""
    return load_model(name_or_path, REGISTRY, "RewardModel", "bandmate train reward",
                      lambda config: RewardModel(RewardConfig.from_dict(config)), device)

