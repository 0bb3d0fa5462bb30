"""Train the supervised chord model: teacher forcing with (parallel) scheduled sampling.

    bandmate train chords          # the shipped checkpoint's settings

Data: the real corpora of :mod:`training.chord_corpora` (Nottingham, Bach chorales,
Roman-numeral analyses) plus the labelled synthetic supplement from the genre
templates. The text of each progression (lyrics, or a title) is embedded once with
the frozen encoder; 30% of the time it is dropped, so the model also writes for
instrumental sections. Scheduled sampling feeds the model its own predictions for
a growing share of the inputs (0 to ``ss_max`` over training), run in parallel
from a teacher-forced pass (Duckworth et al. 2019) so an epoch stays one batch pass.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError
from tools.models.checkpoints import save_checkpoint
from tools.models.chord_model import (
    MODES,
    PAD,
    SPECIALS,
    ChordModel,
    ChordModelConfig,
    Conditioning,
)
from tools.music.genres import GENRES
from tools.music.harmony import Key, roman_to_chord
from training.chord_data import ChordSequence, data_hash, describe_mix

MODEL_GENRES = (*GENRES, "classical")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; :meth:`tiny` runs in seconds for tests."""

    epochs: int = 14
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    ss_max: float = 0.2           # final share of inputs replaced by the model's own samples
    text_dropout: float = 0.3
    section_dropout: float = 0.2  # labelled sections sometimes shown as "none", the way real data comes
    synthetic_per_pool: int = 8   # synthetic progressions per genre x mode x section pool (0: none)
    seed: int = 0
    threads: int = 2

    @classmethod
    def tiny(cls) -> "TrainConfig":
        return cls(epochs=2, batch_size=16, synthetic_per_pool=1, threads=1)


@dataclass(frozen=True)
class TrainResult:
    """Where the checkpoint went and how it did on the held-out split."""

    path: Path
    metrics: dict[str, float]
    mix: dict[str, dict[str, int]]
    seconds: float


def build_vocab(sequences: Sequence[ChordSequence], min_count: int = 2) -> tuple[str, ...]:
    """Specials, then every chord seen ``min_count`` times in training data that spells in a key, most common first."""
    counts = Counter(ch for s in sequences if s.split == "train" for bar in s.bars for ch in bar)
    chords = []
    for chord, n in counts.most_common():
        if n < min_count or chord in SPECIALS:
            continue
        try:
            roman_to_chord(chord, Key("C", "major"))
            roman_to_chord(chord, Key("A", "minor"))
        except Exception:  # noqa: BLE001 - a numeral we cannot play is left to <unk>
            continue
        chords.append(chord)
    return (*SPECIALS, *chords)


class TextCache:
    """Frozen-encoder embeddings of each distinct text, computed once per run."""

    def __init__(self, model: ChordModel) -> None:
        self.model, self.vectors = model, {}

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        todo = sorted({t for t in texts if t not in self.vectors})
        for i in range(0, len(todo), 256):
            chunk = todo[i:i + 256]
            for text, vector in zip(chunk, self.model.embed_texts(chunk)):
                self.vectors[text] = vector
        return torch.stack([self.vectors[t] for t in texts]) if texts else torch.zeros(0, self.model.config.text_dim)


def batches(model: ChordModel, sequences: Sequence[ChordSequence], texts: TextCache, batch_size: int, *,
            shuffle: bool, rng: random.Random | None = None, text_dropout: float = 0.0,
            section_dropout: float = 0.0) -> list[tuple[torch.Tensor, Conditioning]]:
    """Padded token batches with their conditioning (length-bucketed, so little padding)."""
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i].bars))
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(groups)
    out = []
    for group in groups:
        seqs = [sequences[i] for i in group]
        ids = [torch.tensor(model.encode(s.bars)) for s in seqs]
        tokens = nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=0)
        text = texts([s.text for s in seqs])
        sections = [s.section if s.section in model.config.sections else "none" for s in seqs]
        if shuffle:
            keep = torch.tensor([rng.random() >= text_dropout for _ in seqs], dtype=torch.float32)[:, None]
            text = text * keep
            sections = ["none" if rng.random() < section_dropout else sec for sec in sections]
        cond = Conditioning(text, torch.tensor([model.config.genres.index(s.genre) for s in seqs]),
                            torch.tensor([model.config.sections.index(sec) for sec in sections]),
                            torch.tensor([MODES.index(s.mode) for s in seqs]),
                            torch.tensor([len(s.bars) for s in seqs]))
        out.append((tokens, cond))
    return out


def scheduled_inputs(model: ChordModel, tokens: torch.Tensor, cond: Conditioning, share: float,
                     generator: torch.Generator) -> torch.Tensor:
    """Inputs where a ``share`` of the chord tokens (after the first) are the model's own samples."""
    if share <= 0:
        return tokens[:, :-1]
    inputs = tokens[:, :-1]
    with torch.no_grad():
        logits, _ = model(inputs, cond)
        logits[..., : len(SPECIALS)] = float("-inf")  # replace chords by chords only; bar lines stay put
        guesses = torch.multinomial(F.softmax(logits.reshape(-1, logits.shape[-1]), -1), 1,
                                    generator=generator).view(logits.shape[:2])
    is_chord = inputs >= len(SPECIALS)
    swap = torch.zeros_like(is_chord)
    swap[:, 1:] = (torch.rand(inputs[:, 1:].shape, generator=generator) < share) & is_chord[:, 1:]
    shifted = torch.cat([inputs[:, :1], guesses[:, :-1]], dim=1)   # guess for position t+1 made at t
    return torch.where(swap, shifted, inputs)


@torch.no_grad()
def evaluate(model: ChordModel, sequences: Sequence[ChordSequence], texts: TextCache, batch_size: int = 64
             ) -> dict[str, float]:
    """Next-chord accuracy and perplexity on ``sequences`` (targets that are chords; bar lines not counted)."""
    model.eval()
    nll, correct, count = 0.0, 0, 0
    for tokens, cond in batches(model, sequences, texts, batch_size, shuffle=False):
        logits, _ = model(tokens[:, :-1], cond)
        targets = tokens[:, 1:]
        logp = F.log_softmax(logits, -1)
        mask = targets >= len(SPECIALS)
        nll -= logp.gather(-1, targets[..., None]).squeeze(-1)[mask].sum().item()
        correct += (logits.argmax(-1) == targets)[mask].sum().item()
        count += int(mask.sum())
    return {"accuracy": correct / max(count, 1), "perplexity": math.exp(nll / max(count, 1)), "targets": count}


def train_chords(sequences: Sequence[ChordSequence], out: str | Path, *, config: TrainConfig = TrainConfig(),
                 model_config: ChordModelConfig | None = None, log: Callable[[str], None] = print) -> TrainResult:
    """Train on the ``train`` split of ``sequences``, report on ``validation``, save to ``out`` atomically."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng, generator = random.Random(config.seed), torch.Generator().manual_seed(config.seed)
    train = [s for s in sequences if s.split == "train"]
    valid = [s for s in sequences if s.split == "validation" and s.source != "synthetic"]
    if not train:
        raise ToolError("There are no training progressions; check the data folder.")
    vocab = build_vocab(sequences)
    model_config = replace(model_config, vocab=vocab) if model_config else ChordModelConfig(vocab, MODEL_GENRES)
    unknown = {s.genre for s in train} - set(model_config.genres)
    if unknown:
        raise ToolError(f"The data has genres the model does not list: {', '.join(sorted(unknown))}.")
    model = ChordModel(model_config)
    texts = TextCache(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = config.epochs * math.ceil(len(train) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(total, 1))
    step = 0
    for epoch in range(config.epochs):
        model.train()
        losses = []
        share = config.ss_max * epoch / max(config.epochs - 1, 1)
        for tokens, cond in batches(model, train, texts, config.batch_size, shuffle=True, rng=rng,
                                    text_dropout=config.text_dropout, section_dropout=config.section_dropout):
            inputs = scheduled_inputs(model, tokens, cond, share, generator)
            model.train()
            logits, _ = model(inputs, cond)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1),
                                   ignore_index=model.stoi[PAD])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            losses.append(loss.item())
        metrics = evaluate(model, valid, texts) if valid else {}
        log(f"epoch {epoch + 1}/{config.epochs}  loss {sum(losses) / len(losses):.3f}  scheduled sampling {share:.2f}  "
            + "  ".join(f"val {k} {v:.3f}" for k, v in metrics.items() if k != "targets"))
    metrics = evaluate(model, valid, texts) if valid else {}
    mix = describe_mix(sequences)
    path = save_checkpoint(model.eval(), out, data_hash=data_hash(sequences), trained_on=mix,
                           metrics=metrics, train_config=asdict(config))
    return TrainResult(path, metrics, mix, time.perf_counter() - start)


def training_sequences(data_dir: str | Path, home: str | Path, *, synthetic_per_pool: int = 8,
                       sources: Sequence[str] | None = None) -> list[ChordSequence]:
    """The real corpora (cached) plus the synthetic supplement: what the shipped checkpoints are trained on."""
    from training.chord_corpora import SOURCES, load_corpus
    from training.chord_data import synthetic_sequences

    real = load_corpus(data_dir, home, sources=sources or SOURCES)
    return real + (synthetic_sequences(per_pool=synthetic_per_pool) if synthetic_per_pool else [])

