"""The learned chord generator: lyrics + genre + section + mode + length -> an LSTM that writes Roman numerals
bar by bar.

A frozen sentence encoder (default all-MiniLM-L6-v2; any Hugging Face encoder path)
embeds the lyrics; genre, section, mode and the length asked for (1-8, 9-16, 17-31 or
32+ bars: long folk tunes and chorales change chord less often) have learned embeddings. Their sum,
through a tanh, sets the LSTM's initial state and joins every input step. Tokens
are key-relative chords (``I``, ``vi``, ``V7``, ``bVII``, inversions folded) and
the bar line ``|``, so one progression plays in any key. Sampling is constrained
to whole bars of one or two chords and seeded, so the same request gives the same
chords. Checkpoints hold only the decoder (the encoder is named in the config).

    model = load("chords-rlhf")
    LearnedChordGenerator(model).progression(section="verse", bars=8, key=parse_key("G"), genre="folk")"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError
from tools.models.checkpoints import load_model

PAD, BOS, EOS, UNK, BAR = "<pad>", "<bos>", "<eos>", "<unk>", "|"


SPECIALS = (PAD, BOS, EOS, UNK, BAR)


SECTIONS = ("none", "verse", "chorus", "bridge", "pre-chorus")


MODES = ("major", "minor")


DEFAULT_ENCODER = "all-MiniLM-L6-v2"


MAX_BARS = 256                 # the longest progression one request may ask the model to write


LENGTH_BUCKETS = (8, 16, 31)   # -> 1-8, 9-16, 17-31 and 32 or more bars


# Names load() knows: shipped in tools/data, overridden by a retrained file in $BANDMATE_HOME/models.
REGISTRY = {"chords-supervised": "chords-supervised.pt", "chords-rlhf": "chords-rlhf.pt"}


@dataclass(frozen=True)
class ChordModelConfig:
    """Vocabularies and sizes of a :class:`ChordModel`; ``encoder`` names the frozen text encoder ("none": no text)."""

    vocab: tuple[str, ...]
    genres: tuple[str, ...]
    sections: tuple[str, ...] = SECTIONS
    encoder: str = DEFAULT_ENCODER
    text_dim: int = 384
    d_embed: int = 64
    d_cond: int = 64
    d_hidden: int = 256
    n_layers: int = 1
    dropout: float = 0.2
    # Upper bounds of the length buckets the model is told (bars asked for): long tunes change chord less often.
    length_buckets: tuple[int, ...] = LENGTH_BUCKETS

    @classmethod
    def tiny(cls, vocab: Sequence[str], genres: Sequence[str], **changes: Any) -> "ChordModelConfig":
        """A laptop-test-sized model without a text encoder (trains in seconds)."""
        base = dict(encoder="none", text_dim=8, d_embed=8, d_cond=8, d_hidden=16, dropout=0.0)
        return cls(vocab=tuple(vocab), genres=tuple(genres), **{**base, **changes})

    @classmethod
    def from_dict(cls, row: dict) -> "ChordModelConfig":
        row = {"length_buckets": (), **row}  # checkpoints from before length conditioning: none
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})


@dataclass
class Conditioning:
    """A batch of what each progression is written for: text embeddings, genre/section/mode indices and
    its length in bars."""

    text: torch.Tensor      # (batch, text_dim)
    genre: torch.Tensor     # (batch,)
    section: torch.Tensor   # (batch,)
    mode: torch.Tensor      # (batch,)
    bars: torch.Tensor      # (batch,)

    def __len__(self) -> int:
        return len(self.genre)

    def select(self, index: torch.Tensor | slice) -> "Conditioning":
        return Conditioning(self.text[index], self.genre[index], self.section[index], self.mode[index],
                            self.bars[index])

    def to(self, device: torch.device | str) -> "Conditioning":
        return Conditioning(self.text.to(device), self.genre.to(device), self.section.to(device), self.mode.to(device),
                            self.bars.to(device))


@dataclass
class Sampled:
    """Sampled token ids (``<bos>`` first), the allowed-token mask at every step (with ``top_p``, only the
    nucleus) and which steps are real."""

    tokens: torch.Tensor    # (batch, steps + 1)
    allowed: torch.Tensor   # (batch, steps, vocab) bool
    valid: torch.Tensor     # (batch, steps) bool


class ChordModel(nn.Module):
    """Conditioning embeddings -> LSTM over chord tokens -> next-token logits."""

    def __init__(self, config: ChordModelConfig) -> None:
        super().__init__()
        self.config = config
        self.stoi = {t: i for i, t in enumerate(config.vocab)}
        if [config.vocab[i] for i in range(len(SPECIALS))] != list(SPECIALS):
            raise ValueError(f"the vocabulary must start with {SPECIALS}")
        c = config
        self.tok = nn.Embedding(len(c.vocab), c.d_embed, padding_idx=0)
        self.text_proj = nn.Linear(c.text_dim, c.d_cond)
        self.genre_emb = nn.Embedding(len(c.genres), c.d_cond)
        self.section_emb = nn.Embedding(len(c.sections), c.d_cond)
        self.mode_emb = nn.Embedding(len(MODES), c.d_cond)
        self.length_emb = nn.Embedding(len(c.length_buckets) + 1, c.d_cond) if c.length_buckets else None
        self.register_buffer("length_bounds", torch.tensor(c.length_buckets, dtype=torch.long), persistent=False)
        self.init_state = nn.Linear(c.d_cond, 2 * c.n_layers * c.d_hidden)
        self.lstm = nn.LSTM(c.d_embed + c.d_cond, c.d_hidden, c.n_layers, batch_first=True,
                            dropout=c.dropout if c.n_layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.d_hidden, len(c.vocab))
        is_chord = torch.ones(len(c.vocab), dtype=torch.bool)
        is_chord[: len(SPECIALS)] = False
        self.register_buffer("is_chord", is_chord, persistent=False)

    # -- conditioning ---------------------------------------------------------------------------
    def condition(self, cond: Conditioning) -> torch.Tensor:
        """(batch, d_cond) summary of the conditioning."""
        total = (self.text_proj(cond.text) + self.genre_emb(cond.genre) + self.section_emb(cond.section)
                 + self.mode_emb(cond.mode))
        if self.length_emb is not None:
            total = total + self.length_emb(torch.bucketize(cond.bars, self.length_bounds))
        return torch.tanh(total)

    def conditioning(self, texts: Sequence[str], genres: Sequence[str], sections: Sequence[str],
                     modes: Sequence[str], bars: int | Sequence[int]) -> Conditioning:
        """Build a batch from plain values (``bars``: the length asked for, one for all or one each); unknown
        genres raise ToolError, unknown sections become "none"."""
        for g in genres:
            if g not in self.config.genres:
                raise ToolError(f"The chord model does not know the genre {g!r}; use one of {', '.join(self.config.genres)}.")
        device = self.head.weight.device
        return Conditioning(
            self.embed_texts(texts).to(device),
            torch.tensor([self.config.genres.index(g) for g in genres], device=device),
            torch.tensor([self.config.sections.index(s) if s in self.config.sections else 0 for s in sections],
                         device=device),
            torch.tensor([MODES.index(m) for m in modes], device=device),
            torch.tensor([bars] * len(genres) if isinstance(bars, int) else list(bars), device=device),
        )

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Frozen-encoder embeddings (batch, text_dim); empty texts and the "none" encoder give zeros."""
        out = torch.zeros(len(texts), self.config.text_dim)
        wanted = [i for i, t in enumerate(texts) if t and t.strip()]
        if wanted and self.config.encoder != "none":
            from tools.models.encoder import embed_texts

            vectors = embed_texts([texts[i] for i in wanted], encoder=self.config.encoder)
            if vectors.shape[1] != self.config.text_dim:
                raise ToolError(f"The encoder {self.config.encoder} gives {vectors.shape[1]}-d vectors but this chord "
                                f"model was trained on {self.config.text_dim}-d ones; use the encoder it names.")
            out[wanted] = torch.from_numpy(vectors).float()
        return out

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor, cond: Conditioning, state: tuple | None = None,
                summary: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple]:
        """Logits (batch, time, vocab) for the next token after each of ``tokens`` (batch, time)."""
        summary = self.condition(cond) if summary is None else summary
        if state is None:
            h, c = self.init_state(summary).chunk(2, dim=-1)
            shape = (len(summary), self.config.n_layers, self.config.d_hidden)
            state = (torch.tanh(h).reshape(shape).transpose(0, 1).contiguous(),
                     c.reshape(shape).transpose(0, 1).contiguous())
        x = torch.cat([self.tok(tokens), summary[:, None, :].expand(-1, tokens.shape[1], -1)], dim=-1)
        out, state = self.lstm(self.drop(x), state)
        return self.head(self.drop(out)), state

    def step_distributions(self, sampled: Sampled, cond: Conditioning) -> torch.Tensor:
        """Log-probabilities (batch, steps, vocab) of the next token at every sampled step, over the tokens
        the sampler allowed there (-inf elsewhere): the policy RLHF regularises, step by step."""
        logits, _ = self(sampled.tokens[:, :-1], cond)
        return F.log_softmax(logits.masked_fill(~sampled.allowed, float("-inf")), dim=-1)

    def sequence_logprob(self, sampled: Sampled, cond: Conditioning, dists: torch.Tensor | None = None) -> torch.Tensor:
        """Log-probability (batch,) of sampled sequences under this model, with the same constraints
        (``dists``: this model's :meth:`step_distributions` for them, when already computed)."""
        dists = self.step_distributions(sampled, cond) if dists is None else dists
        logp = dists.gather(-1, sampled.tokens[:, 1:, None]).squeeze(-1)
        return torch.where(sampled.valid, logp, torch.zeros_like(logp)).sum(dim=1)

    # -- sampling -----------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, cond: Conditioning, *, temperature: float = 1.0, top_p: float = 1.0,
               start: str | None = None, generator: torch.Generator | None = None, max_chords_per_bar: int = 2
               ) -> Sampled:
        """Sample ``cond.bars`` whole bars each (1 to ``max_chords_per_bar`` chords, none twice in a bar).

        ``start`` forces the first chord. Raises ToolError for a length outside 1-256 bars or an unknown start.
        """
        n = len(cond)
        bars_t = cond.bars
        if bars_t.min() < 1 or bars_t.max() > MAX_BARS:
            raise ToolError(f"{int(bars_t.min() if bars_t.min() < 1 else bars_t.max())} bars is out of range; "
                            f"ask for 1 to {MAX_BARS} bars.")
        if start is not None and start not in self.stoi:
            raise ToolError(f"The start chord {start!r} is not a Roman numeral this model knows; try 'I', 'i', 'vi' or 'IV'.")
        device = self.head.weight.device
        bars_t = bars_t.to(device)
        steps = int(bars_t.max()) * (max_chords_per_bar + 1)
        V, bar_id, pad_id = len(self.config.vocab), self.stoi[BAR], self.stoi[PAD]
        tokens = torch.full((n, 1), self.stoi[BOS], dtype=torch.long, device=device)
        in_bar = torch.zeros(n, dtype=torch.long, device=device)
        done_bars = torch.zeros(n, dtype=torch.long, device=device)
        summary = self.condition(cond)
        state, allowed_all, valid_all = None, [], []
        for t in range(steps):
            logits, state = self(tokens[:, -1:], cond, state, summary)
            logits = logits[:, -1]
            finished = done_bars >= bars_t
            allowed = self.is_chord.expand(n, V).clone()
            allowed[:, bar_id] = in_bar > 0
            full = in_bar >= max_chords_per_bar
            allowed[full] = False
            allowed[full, bar_id] = True
            prev = tokens[:, -1]
            repeat = (in_bar > 0) & ~full
            allowed[repeat, prev[repeat]] = False
            if start is not None and t == 0:
                allowed[:] = False
                allowed[:, self.stoi[start]] = True
            allowed[finished] = False
            allowed[finished, pad_id] = True
            masked = logits.masked_fill(~allowed, float("-inf"))
            probs = _top_p(F.softmax(masked / max(temperature, 1e-4), dim=-1), top_p)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            # With top_p the nucleus is part of the constraints: sequence_logprob then scores what was sampled from.
            allowed_all.append(allowed & (probs > 0) if top_p < 1.0 else allowed)
            valid_all.append(~finished)
            is_bar = nxt == bar_id
            done_bars = done_bars + (is_bar & ~finished).long()
            in_bar = torch.where(is_bar, torch.zeros_like(in_bar), in_bar + (~finished).long())
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            if bool((done_bars >= bars_t).all()):
                break
        return Sampled(tokens, torch.stack(allowed_all, dim=1), torch.stack(valid_all, dim=1))

    def decode(self, ids: Sequence[int]) -> list[list[str]]:
        """Token ids -> bars of Roman numerals."""
        bars, bar = [], []
        for i in ids:
            token = self.config.vocab[int(i)]
            if token == BAR:
                bars.append(bar)
                bar = []
            elif token not in SPECIALS:
                bar.append(token)
        return bars + ([bar] if bar else [])

    def encode(self, bars: Sequence[Sequence[str]], *, eos: bool = True) -> list[int]:
        """Bars of Roman numerals -> token ids (``<bos>``, chords and bar lines, ``<eos>``); unknown chords -> ``<unk>``."""
        ids = [self.stoi[BOS]]
        for bar in bars:
            ids += [self.stoi.get(ch, self.stoi[UNK]) for ch in bar] + [self.stoi[BAR]]
        return ids + ([self.stoi[EOS]] if eos else [])


def _top_p(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches ``top_p`` (nucleus sampling)."""
    if top_p >= 1.0:
        return probs
    sorted_p, order = probs.sort(dim=-1, descending=True)
    keep = sorted_p.cumsum(dim=-1) - sorted_p < top_p
    keep[:, 0] = True
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_p * keep)
    return filtered / filtered.sum(dim=-1, keepdim=True)


def load(name_or_path: str | Path = "chords-rlhf", device: str | None = None) -> ChordModel:
    """A chord model by registry name (``chords-supervised``, ``chords-rlhf``) or checkpoint path.

    ``device=None`` picks CUDA when present. Raises ToolError for a missing or damaged checkpoint.
    """
    return load_model(name_or_path, REGISTRY, "ChordModel", "bandmate train chords",
                      lambda config: ChordModel(ChordModelConfig.from_dict(config)), device)
