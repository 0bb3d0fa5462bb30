"""Train the audio tagger (:mod:`tools.listening.tagger`) on a synthetic corpus whose clips know their true labels.

    python -m training.train_tagger --out tools/data/audio-tagger.pt     # the shipped checkpoint's settings

The corpus is rendered (or reused, a killed render resumes) by :func:`training.data_synth.synthesize`:
generated progressions in the arrangement styles, Nottingham folk tunes and Bach chorales,
each on one of 8 General MIDI lead sounds. Heads: the lead's instrument family and the genre
style. Clips are split by their source (one tune, one progression seed, one chorale), so
held-out accuracy is measured on music the model never heard, in any instrument.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.audio_io import load_audio
from tools.listening.tagger import INSTRUMENT_FAMILY, clip_features
from tools.models.checkpoints import save_checkpoint
from tools.models.tagger import AudioTagger, TaggerConfig
from training.data_synth import SynthConfig, synthesize

NOTTINGHAM = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham"


@dataclass(frozen=True)
class TrainConfig:
    """Corpus and optimisation settings; :meth:`tiny` runs in seconds for tests."""

    corpus: str = "data/synth-tagger"        # rendered here, reused when already there
    out: str = "tools/data/audio-tagger.pt"
    n_clips: int = 320
    seconds: float = 5.0
    sample_rate: int = 16000
    seed: int = 7
    nottingham: str | None = str(NOTTINGHAM) if NOTTINGHAM.is_dir() else None
    workers: int = 2
    hidden: int = 64
    dropout: float = 0.2
    epochs: int = 400
    lr: float = 3e-3
    weight_decay: float = 1e-3
    val_share: float = 0.2

    @classmethod
    def tiny(cls, corpus: str, out: str) -> TrainConfig:
        """A handful of short clips and a short run, for tests on a CPU."""
        return cls(corpus=corpus, out=out, n_clips=40, seconds=3.0, hidden=32, epochs=150, nottingham=None,
                   val_share=0.3)


@dataclass(frozen=True)
class TrainReport:
    """Held-out accuracy per head next to chance (the most common held-out label), and where the model went."""

    path: str
    n_train: int
    n_val: int
    accuracy: dict[str, float]
    chance: dict[str, float]
    seconds: float

    def table(self) -> str:
        """A small printable table."""
        rows = [f"{'head':<24}{'held-out acc':>14}{'chance':>8}"]
        rows += [f"{h:<24}{self.accuracy[h]:>14.2f}{self.chance[h]:>8.2f}" for h in self.accuracy]
        return "\n".join(rows + [f"{self.n_train} train / {self.n_val} held-out clips, {self.seconds:.0f} s -> {self.path}"])


def clip_labels(meta: dict) -> dict[str, str]:
    """The tagger's true labels of one corpus row."""
    return {"instrument": INSTRUMENT_FAMILY[meta["instrument"]], "genre": meta["genre"]}


def roughen(samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A clean render made more like a recording: a room's reverb tail and a noise floor.

    Without it the model learns fluidsynth's silent spectral floor instead of the instrument.
    """
    from scipy.signal import fftconvolve

    tail = rng.uniform(0.2, 1.2)
    t = np.arange(int(tail * sample_rate)) / sample_rate
    room = rng.standard_normal(len(t)) * np.exp(-6.9 * t / tail)
    room[0] = 1 / rng.uniform(0.2, 1.0)                          # the direct sound, at a random wet/dry ratio
    wet = fftconvolve(samples, room / np.abs(room).sum() * 20)[:len(samples)]
    rms = np.sqrt(np.mean(wet ** 2)) + 1e-9
    noise = rng.standard_normal(len(wet)) * rms * 10 ** (-rng.uniform(15, 45) / 20)
    return (wet + noise).astype(np.float32)


def corpus_features(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, list[dict[str, str]], list[str]]:
    """Render (or reuse) the corpus; clean and roughened features, labels and split group (source) of every clip."""
    synth = SynthConfig(n_clips=cfg.n_clips, seed=cfg.seed, seconds=cfg.seconds, sample_rate=cfg.sample_rate,
                        nottingham=cfg.nottingham, workers=cfg.workers)
    corpus = synthesize(synth, cfg.corpus, progress=False)      # one row per planned clip, in plan order
    rng = np.random.default_rng(cfg.seed)
    clean, rough = [], []
    for row in corpus.clips:
        y = load_audio(corpus.folder / row["audio"], sample_rate=cfg.sample_rate).samples
        clean.append(clip_features(y, cfg.sample_rate))
        rough.append(clip_features(roughen(y, cfg.sample_rate, rng), cfg.sample_rate))
    labels = [clip_labels(row) for row in corpus.clips]
    return np.stack(clean), np.stack(rough), labels, [row["source_ref"] for row in corpus.clips]


def held_out(groups: list[str], share: float, seed: int) -> np.ndarray:
    """A boolean mask of held-out clips: whole sources (tunes, chorales, progression seeds) go to one side."""
    def unit(g: str) -> float:
        return int(hashlib.sha256(f"{seed}|{g}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return np.array([unit(g) < share for g in groups])


def train(cfg: TrainConfig) -> TrainReport:
    """Train both heads on the training split, report held-out accuracy, save the checkpoint atomically."""
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    clean, rough, labels, groups = corpus_features(cfg)
    heads = {h: sorted({lab[h] for lab in labels}) for h in ("instrument", "genre")}
    y = {h: torch.tensor([heads[h].index(lab[h]) for lab in labels]) for h in heads}
    val = torch.from_numpy(held_out(groups, cfg.val_share, cfg.seed))
    if val.all() or not val.any():                     # too few sources to split: hold out every fourth clip
        val = torch.arange(len(labels)) % 4 == 0
    # train on clean + roughened copies of the training clips; evaluate on both kinds of held-out clip
    xt, xr = torch.from_numpy(clean), torch.from_numpy(rough)
    x_train = torch.cat([xt[~val], xr[~val]])
    y_train = {h: torch.cat([y[h][~val], y[h][~val]]) for h in heads}
    model = AudioTagger(TaggerConfig(heads=heads, hidden=cfg.hidden, dropout=cfg.dropout,
                                     sample_rate=cfg.sample_rate, window_seconds=cfg.seconds))
    model.feature_mean.copy_(x_train.mean(0))
    model.feature_std.copy_(x_train.std(0).clamp_min(1e-4))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    for _ in range(cfg.epochs):                        # full batch: the corpus is a few hundred rows
        model.train()
        logits = model(x_train)
        loss = sum(F.cross_entropy(logits[h], y_train[h], label_smoothing=0.1) for h in heads)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits, logits_rough = model(xt[val]), model(xr[val])
    accuracy = {h: round(float((logits[h].argmax(-1) == y[h][val]).float().mean()), 3) for h in heads}
    accuracy |= {f"{h} (reverb+noise)": round(float((logits_rough[h].argmax(-1) == y[h][val]).float().mean()), 3)
                 for h in heads}
    chance = {h: round(float(torch.bincount(y[h][val]).max()) / int(val.sum()), 3) for h in heads}
    chance |= {f"{h} (reverb+noise)": chance[h] for h in heads}
    path = save_checkpoint(model, cfg.out, train_config=asdict(cfg), heldout_accuracy=accuracy, chance=chance,
                           n_train=int((~val).sum()), n_val=int(val.sum()))
    return TrainReport(str(path), int((~val).sum()), int(val.sum()), accuracy, chance, time.time() - t0)


def main(argv: list[str] | None = None) -> None:
    """CLI: train with the default (shipped) settings, overriding the corpus folder, size and output path."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=TrainConfig.corpus)
    parser.add_argument("--out", default=TrainConfig.out)
    parser.add_argument("--clips", type=int, default=TrainConfig.n_clips)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cfg = replace(TrainConfig(), corpus=args.corpus, out=args.out, n_clips=args.clips, epochs=args.epochs)
    print(train(cfg).table())


if __name__ == "__main__":
    main()
