"""Train the progression reward model: real sections against corrupted copies, plus stored human ratings.

    bandmate train reward        # reads <home>/feedback.sqlite when it has ratings

Positives are windows of 4-16 bars from the training split (the real corpora and the
labelled synthetic supplement, each with its genre). Each positive gets one negative,
corrupted one of eight ways: chords swapped for random ones, bars shuffled, chords drawn
independently from the corpus unigram, one chord held throughout, no chord ever held over
a bar line ("restless"), chords swapped for common ones a wider tonal move away ("wide"),
the whole progression moved off its key, or its mode label flipped. "restless" and "wide"
are fake in the direction the RLHF policy drifted without them (it held chords less and
moved wider than the real data, so its chord tonal distance rose). Ratings become
positives (+1) and negatives (-1) with a larger weight, so what users like moves the reward.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError
from tools.feedback import Rating
from tools.models.checkpoints import save_checkpoint
from tools.models.chord_model import MODES, SPECIALS
from tools.models.reward_model import RewardConfig, RewardModel
from tools.music.harmony import (
    Chord,
    Key,
    chord_to_roman,
    common_name,
    parse_chord,
    parse_key,
    roman_to_chord,
)
from training.chord_data import ChordSequence, data_hash, describe_mix
from training.chord_formats import estimate_key
from training.metrics import tonal_step
from training.train_chords import MODEL_GENRES, build_vocab

CORRUPTIONS = ("substitute", "shuffle", "unigram", "hold", "restless", "wide", "off-key", "mode-flip")
WIDE_SHARE = 0.4     # chance that a "wide" corruption replaces a chord
DRAWS = 20           # unigram draws to find a fitting replacement before keeping the original chord


@dataclass(frozen=True)
class RewardTrainConfig:
    """Settings; :meth:`tiny` runs in seconds for tests."""

    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    rating_weight: float = 3.0     # a human rating counts as much as this many corpus examples
    min_bars: int = 4
    max_bars: int = 16
    seed: int = 0
    threads: int = 2

    @classmethod
    def tiny(cls) -> "RewardTrainConfig":
        return cls(epochs=2, batch_size=16, threads=1)


@dataclass(frozen=True)
class Example:
    bars: tuple[tuple[str, ...], ...]
    genre: str
    mode: str
    label: float
    weight: float = 1.0


@dataclass(frozen=True)
class RewardResult:
    path: Path
    metrics: dict[str, float]
    ratings_used: int
    seconds: float


def window(seq: ChordSequence, rng: random.Random, min_bars: int, max_bars: int) -> tuple[tuple[str, ...], ...]:
    """A section-sized window starting on a 4-bar boundary."""
    length = min(len(seq.bars), rng.randint(min_bars, max_bars))
    starts = list(range(0, len(seq.bars) - length + 1, 4)) or [0]
    begin = rng.choice(starts)
    return seq.bars[begin:begin + length]


def corrupt(bars: Sequence[Sequence[str]], mode: str, kind: str, rng: random.Random, chords: Sequence[str],
            unigram: Sequence[str]) -> tuple[tuple[tuple[str, ...], ...], str]:
    """A corrupted copy of ``bars`` (and the mode label it is shown with)."""
    bars = [list(b) for b in bars]
    if kind == "substitute":
        for bar in bars:
            for i in range(len(bar)):
                if rng.random() < 0.4:
                    bar[i] = rng.choice(chords)
    elif kind == "shuffle":
        rng.shuffle(bars)
        for bar in bars:
            rng.shuffle(bar)
    elif kind == "unigram":
        bars = [[rng.choice(unigram) for _ in bar] for bar in bars]
    elif kind == "hold":
        chord = rng.choice(unigram)
        bars = [[chord] for _ in bars]
    elif kind == "restless":
        bars = _unhold(bars, rng, unigram)
    elif kind == "wide":
        bars = _widen(bars, mode, rng, unigram)
    elif kind == "off-key":
        key = Key("C", "major") if mode == "major" else Key("A", "minor")
        shift = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        moved = []
        for bar in bars:
            out = []
            for numeral in bar:
                try:
                    chord = roman_to_chord(numeral, key)
                    out.append(chord_to_roman(Chord(common_name(chord.root_pc + shift), chord.quality), key))
                except Exception:  # noqa: BLE001
                    out.append(numeral)
            moved.append(out)
        bars = moved
    elif kind == "mode-flip":
        mode = "minor" if mode == "major" else "major"
    return tuple(tuple(dict.fromkeys(b)) for b in bars), mode


def _unhold(bars: list[list[str]], rng: random.Random, unigram: Sequence[str]) -> list[list[str]]:
    """Replace every chord held over a bar line by another corpus chord: the same progression, never resting."""
    prev = None
    for bar in bars:
        if bar and bar[0] == prev:
            for _ in range(DRAWS):
                candidate = rng.choice(unigram)
                if candidate != prev and candidate not in bar:
                    bar[0] = candidate
                    break
        prev = bar[-1] if bar else prev
    return bars


def _widen(bars: list[list[str]], mode: str, rng: random.Random, unigram: Sequence[str]) -> list[list[str]]:
    """Replace some chords by corpus chords farther (in tonal-centroid distance) from the chord before them.

    A repeated chord (distance 0) becomes any other playable chord; replacements come from the
    unigram, so the negatives differ from real data in their moves, not in rare chord labels.
    """
    prev = None
    for bar in bars:
        for i, chord in enumerate(bar):
            step = tonal_step(prev, chord, mode) if prev is not None else None
            if step is not None and rng.random() < WIDE_SHARE:
                for _ in range(DRAWS):
                    candidate = rng.choice(unigram)
                    wider = tonal_step(prev, candidate, mode)
                    if wider is not None and wider > step and candidate not in bar:
                        bar[i] = candidate
                        break
            prev = bar[i]
    return bars


def rating_examples(ratings: Sequence[Rating], weight: float) -> list[Example]:
    """Ratings as labelled examples: each rated section (or chord list) becomes one progression."""
    out = []
    for r in ratings:
        label = 1.0 if r.rating > 0 else 0.0
        for bars, genre, mode in _rated_progressions(r.chords):
            if bars:
                out.append(Example(bars, genre, mode, label, weight))
    return out


def _rated_progressions(chords: Any) -> list[tuple[tuple[tuple[str, ...], ...], str, str]]:
    """(bars, genre, mode) from a rating's stored chords (a song's sections or a list of chord symbols)."""
    try:
        if isinstance(chords, dict) and "sections" in chords:
            key = _key(chords.get("key"))
            genre = chords.get("genre") or "pop"
            out = []
            for section in chords["sections"]:
                romans, n = list(section.get("romans") or []), int(section.get("bars") or 0)
                if not romans:
                    continue
                if n and len(romans) == n:
                    bars = [(r,) for r in romans]
                elif n and len(romans) == 2 * n:
                    bars = [tuple(romans[i:i + 2]) for i in range(0, len(romans), 2)]
                else:
                    bars = [(r,) for r in romans]
                out.append((tuple(bars), genre, key.mode if key else "major"))
            return out
        if isinstance(chords, dict) and "chords" in chords:
            symbols, genre = chords["chords"], chords.get("genre") or "pop"
        else:
            symbols, genre = chords, "pop"
        parsed = [parse_chord(s) for s in symbols]
        key = _key(chords.get("key")) if isinstance(chords, dict) else None
        key = key or estimate_key(parsed)
        return [(tuple((chord_to_roman(c, key),) for c in parsed), genre, key.mode)]
    except (ToolError, TypeError, ValueError, AttributeError):
        return []  # a rating whose chords cannot be read teaches nothing


def _key(text: str | None) -> Key | None:
    try:
        return parse_key(text) if text else None
    except ToolError:
        return None


def make_examples(sequences: Sequence[ChordSequence], split: str, rng: random.Random, config: RewardTrainConfig,
                  chords: Sequence[str], unigram: Sequence[str]) -> list[Example]:
    """One window and one corrupted window per sequence of the split."""
    out = []
    for seq in sequences:
        if seq.split != split:
            continue
        bars = window(seq, rng, config.min_bars, config.max_bars)
        out.append(Example(bars, seq.genre, seq.mode, 1.0))
        bad, mode = corrupt(bars, seq.mode, rng.choice(CORRUPTIONS), rng, chords, unigram)
        if bad != bars or mode != seq.mode:
            out.append(Example(bad, seq.genre, mode, 0.0))
    return out


def _tensors(model: RewardModel, examples: Sequence[Example]):
    ids = [torch.tensor(model.encode(e.bars)) for e in examples]
    return (nn.utils.rnn.pad_sequence(ids, batch_first=True),
            torch.tensor([model.genre_index(e.genre) for e in examples]),
            torch.tensor([MODES.index(e.mode) for e in examples]),
            torch.tensor([e.label for e in examples]), torch.tensor([e.weight for e in examples]))


@torch.no_grad()
def accuracy(model: RewardModel, examples: Sequence[Example]) -> float:
    """Share of examples on the right side of 0."""
    if not examples:
        return float("nan")
    model.eval()
    tokens, genre, mode, label, _ = _tensors(model, examples)
    return float(((model(tokens, genre, mode) > 0).float() == label).float().mean())


def train_reward(sequences: Sequence[ChordSequence], out: str | Path, *, ratings: Sequence[Rating] = (),
                 config: RewardTrainConfig = RewardTrainConfig(), model_config: RewardConfig | None = None,
                 vocab: Sequence[str] | None = None, log: Callable[[str], None] = print) -> RewardResult:
    """Train the reward model (vocabulary: the chord model's, so it scores what the policy writes)."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    vocab = tuple(vocab or build_vocab(sequences))
    model_config = model_config or RewardConfig(vocab, MODEL_GENRES)
    model = RewardModel(RewardConfig(vocab, model_config.genres, model_config.d_embed, model_config.d_hidden,
                                     model_config.dropout))
    chords = [t for t in vocab if t not in SPECIALS]
    unigram = [ch for s in sequences if s.split == "train" for bar in s.bars for ch in bar if ch in model.stoi]
    if not chords or not unigram:
        raise ToolError("There are no training progressions for the reward model; check the data folder.")
    rated = rating_examples(ratings, config.rating_weight)
    valid = make_examples(sequences, "validation", random.Random(config.seed + 1), config, chords, unigram)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    for epoch in range(config.epochs):
        model.train()
        examples = make_examples(sequences, "train", rng, config, chords, unigram) + rated
        rng.shuffle(examples)
        losses = []
        for i in range(0, len(examples), config.batch_size):
            tokens, genre, mode, label, weight = _tensors(model, examples[i:i + config.batch_size])
            loss = (F.binary_cross_entropy_with_logits(model(tokens, genre, mode), label, reduction="none")
                    * weight).sum() / weight.sum()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        log(f"epoch {epoch + 1}/{config.epochs}  loss {sum(losses) / len(losses):.3f}  "
            f"val accuracy {accuracy(model, valid):.3f}")
    metrics = {"val_accuracy": accuracy(model, valid), "ratings_accuracy": accuracy(model, rated) if rated else math.nan}
    path = save_checkpoint(model.eval(), out, data_hash=data_hash(sequences), trained_on=describe_mix(sequences),
                           ratings=len(ratings), metrics=metrics, train_config=asdict(config))
    return RewardResult(path, metrics, len(ratings), time.perf_counter() - start)

