"""Chord generators side by side on the held-out real progressions.

Rows: a first-order Markov (bigram, per mode, add-one smoothed) baseline trained on the same
training split, the supervised chord model and the RLHF policy (plus the real data and the
rule-based templates as references where a number applies).

1. Next-chord accuracy and perplexity on the validation split of the real corpora
   (chord targets; bar lines are given).
2. Generation, --samples (4) per validation progression's genre, mode, title and length (at most
   32 bars, as RLHF writes them), at the generator's sampling settings unless --temperature/--top-p say
   otherwise: Yeh et al. 2021's CHE, CC and CTD next to the real progressions' own values,
   their summed relative gap to them, and the mean score of the reward model (--reward, the one the policy
   was trained with; first 16 bars). --seed changes the samples, not the data. --split train runs the
   same on the training split's real progressions: where RLHF settings are compared and chosen.
   Then how precisely the split knows the real values (a bootstrap interval), and whether RLHF is
   further from them than the supervised model beyond that noise (a paired bootstrap; pooled over
   ten folds in bench/chords_cv.py).
3. Genre sensitivity: the share of seventh chords in 8-bar verses and choruses per genre.

    python bench/chords_eval.py [--data ../shared/data] [--supervised chords-supervised] [--policy chords-rlhf]
                                [--reward chord-reward] [--samples 4] [--seed 0] [--split validation]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.settings import get_settings  # noqa: E402
from tools.models import chord_model, reward_model  # noqa: E402
from tools.models.chord_model import BAR, BOS, EOS, SPECIALS, ChordModel  # noqa: E402
from tools.music.harmony import Key  # noqa: E402
from tools.songwriting.chord_rules import RuleBasedChordGenerator  # noqa: E402
from tools.songwriting.learned_chords import LearnedChordGenerator, stable_seed  # noqa: E402
from training.metrics import ProgressionStats, distance_to, progression_stats  # noqa: E402
from training.rlhf import MAX_RL_BARS  # noqa: E402
from training.train_chords import TextCache, evaluate, training_sequences  # noqa: E402

GENRES_SHOWN = ("folk", "pop", "rock", "jazz", "blues", "r&b", "metal")


class MarkovChords:
    """First-order Markov chain (add-one smoothed) over the chord model's tokens (chords and bar lines), one per mode."""

    def __init__(self, vocab, sequences, k: float = 1.0) -> None:
        self.vocab, self.stoi, self.k = vocab, {t: i for i, t in enumerate(vocab)}, k
        self.counts = {m: defaultdict(Counter) for m in ("major", "minor")}
        for s in sequences:
            if s.split == "train":
                ids = self.encode(s.bars)
                for a, b in zip(ids, ids[1:]):
                    self.counts[s.mode][a][b] += 1

    def encode(self, bars):
        unk = self.stoi["<unk>"]
        ids = [self.stoi[BOS]]
        for bar in bars:
            ids += [self.stoi.get(c, unk) for c in bar] + [self.stoi[BAR]]
        return ids + [self.stoi[EOS]]

    def probs(self, mode: str, prev: int) -> list[float]:
        row = self.counts[mode][prev]
        total = sum(row.values()) + self.k * len(self.vocab)
        return [(row[i] + self.k) / total for i in range(len(self.vocab))]

    def evaluate(self, sequences) -> dict[str, float]:
        nll, correct, count = 0.0, 0, 0
        for s in sequences:
            ids = self.encode(s.bars)
            for a, b in zip(ids, ids[1:]):
                if b < len(SPECIALS):
                    continue
                p = self.probs(s.mode, a)
                nll -= math.log(p[b])
                correct += max(range(len(p)), key=p.__getitem__) == b
                count += 1
        return {"accuracy": correct / count, "perplexity": math.exp(nll / count)}

    def sample(self, mode: str, bars: int, rng: random.Random) -> list[list[str]]:
        """Whole bars with the chord model's constraints (one or two chords, no repeat inside a bar)."""
        out, bar, prev = [], [], self.stoi[BOS]
        while len(out) < bars:
            p = self.probs(mode, prev)
            allowed = [i for i in range(len(self.vocab))
                       if (i >= len(SPECIALS) and len(bar) < 2 and (not bar or self.vocab[i] != bar[-1]))
                       or (self.vocab[i] == BAR and bar)]
            choice = rng.choices(allowed, weights=[p[i] for i in allowed])[0]
            if self.vocab[choice] == BAR:
                out.append(bar)
                bar = []
            else:
                bar.append(self.vocab[choice])
            prev = choice
        return out


def real_progressions(valid) -> list[list[list[str]]]:
    """The real progressions as the models are asked to write them: at most :data:`MAX_RL_BARS` bars."""
    return [[list(b) for b in s.bars[:MAX_RL_BARS]] for s in valid]


def generate(model: ChordModel | None, markov: MarkovChords, valid, rng: random.Random, samples: int, seed: int,
             **sampling) -> list[list[list[str]]]:
    """``samples`` progressions per validation sequence, for its genre, mode, title and length."""
    out = []
    if model is None:
        return [markov.sample(s.mode, min(len(s.bars), MAX_RL_BARS), rng) for s in valid for _ in range(samples)]
    gen = LearnedChordGenerator(model, **sampling)
    for s in valid:
        g = torch.Generator().manual_seed(stable_seed("bench", s.id) if seed == 0 else stable_seed("bench", seed, s.id))
        cond = model.conditioning([s.text] * samples, [s.genre] * samples, [s.section] * samples, [s.mode] * samples,
                                  min(len(s.bars), MAX_RL_BARS))
        sampled = model.sample(cond, temperature=gen.temperature, top_p=gen.top_p, generator=g)
        out += [model.decode(row.tolist()) for row in sampled.tokens]
    return out


METRICS = ("che", "cc", "ctd")


def per_progression(progressions, modes, samples: int = 1) -> list[tuple[float, float, float]]:
    """CHE, CC and CTD of each real progression, or of the mean of the ``samples`` generated for it
    (``progressions`` holds them consecutively, as :func:`generate` returns them)."""
    out = []
    for i, mode in enumerate(modes):
        group = [progression_stats([p], [mode]) for p in progressions[i * samples:(i + 1) * samples]]
        out.append(tuple(sum(getattr(g, k) for g in group) / len(group) for k in METRICS))
    return out


def _interval(ordered: list[float]) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of sorted bootstrap draws."""
    return ordered[int(0.025 * (len(ordered) - 1))], ordered[int(0.975 * (len(ordered) - 1))]


def bootstrap_interval(progressions, modes, rounds: int = 1000, seed: int = 0) -> tuple[ProgressionStats, ProgressionStats]:
    """2.5th and 97.5th percentiles of CHE, CC and CTD over resamples of the progressions: how precisely
    this split pins down the real values the models are compared with."""
    rng = random.Random(seed)
    per = per_progression(progressions, modes)
    draws = {k: [] for k in METRICS}
    for _ in range(rounds):
        sample = [per[rng.randrange(len(per))] for _ in per]
        for j, k in enumerate(METRICS):
            draws[k].append(sum(s[j] for s in sample) / len(sample))
    for k in draws:
        draws[k].sort()
    low, high = zip(*(_interval(draws[k]) for k in METRICS))
    return ProgressionStats(*low, 0.0, len(per)), ProgressionStats(*high, 0.0, len(per))


def paired_gap_bootstrap(real, base, other, rounds: int = 1000, seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """Is ``other`` (per-progression metrics, see :func:`per_progression`) further from the real values
    than ``base``? The real progressions are resampled together with what each model wrote for them;
    per metric: the share of resamples in which ``other`` is no further, and the 2.5th and 97.5th
    percentiles of ``|other - real| - |base - real|`` (negative: closer)."""
    rng = random.Random(seed)
    n = len(real)
    out = {}
    diffs: dict[str, list[float]] = {k: [] for k in METRICS}
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        for j, k in enumerate(METRICS):
            r, b, o = (sum(rows[i][j] for i in idx) / n for rows in (real, base, other))
            diffs[k].append(abs(o - r) - abs(b - r))
    for k, d in diffs.items():
        d.sort()
        out[k] = (sum(x <= 0 for x in d) / rounds, *_interval(d))
    return out


def rewards_of(reward, progs, valid, samples: int) -> list[float]:
    """The reward model's mean score of what was written for each progression (first 16 bars)."""
    genres = [s.genre for s in valid for _ in range(samples)]
    modes = [s.mode for s in valid for _ in range(samples)]
    scores = reward.score([p[:16] for p in progs], genres, modes)
    return [sum(scores[i * samples:(i + 1) * samples]) / samples for i in range(len(valid))]


def _mean(values) -> float:
    return sum(values) / len(values)


def paired_difference(base: list[float], other: list[float], rounds: int = 1000, seed: int = 0
                      ) -> tuple[float, float, float]:
    """Mean of ``other - base`` over paired values (a reward per progression), with the 2.5th and 97.5th
    percentiles of that mean over resamples of the pairs."""
    rng = random.Random(seed)
    diff = [o - b for b, o in zip(base, other)]
    means = sorted(sum(diff[rng.randrange(len(diff))] for _ in diff) / len(diff) for _ in range(rounds))
    return sum(diff) / len(diff), *_interval(means)


def print_paired(paired: dict[str, tuple[float, float, float]], count: int) -> None:
    """The table of :func:`paired_gap_bootstrap` for RLHF against the supervised model."""
    print(f"\nRLHF vs supervised, paired bootstrap over the {count} real progressions (a resample takes a progression "
          "with what both models wrote for it); gap = distance of the mean to the real mean:\n")
    print("| metric | resamples with RLHF no further | 95% interval of RLHF gap minus supervised gap |")
    print("|--------|--------------------------------|-----------------------------------------------|")
    for k, (share, lo, hi) in paired.items():
        print(f"| {k.upper():<6} | {share:30.0%} | {lo:+.3f} to {hi:+.3f}{'':29} |")


def print_reward_difference(difference: tuple[float, float, float]) -> None:
    mean, lo, hi = difference
    print(f"\nReward, RLHF minus supervised, paired over the progressions: {mean:+.3f} "
          f"(95% interval {lo:+.3f} to {hi:+.3f})")


def seventh_share(make, genre: str) -> float:
    chords = [c for mode in ("major", "minor") for section in ("verse", "chorus") for seed in range(10)
              for bar in make(genre, mode, section, seed) for c in bar]
    return sum(any(m in c for m in ("7", "9")) for c in chords) / len(chords)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--home", default=str(get_settings().home_dir))
    parser.add_argument("--supervised", default="chords-supervised")
    parser.add_argument("--policy", default="chords-rlhf")
    parser.add_argument("--reward", default="chord-reward", help="scores every row (default: the shipped reward model)")
    parser.add_argument("--samples", type=int, default=4, help="generated progressions per held-out one")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (0: the numbers in the README)")
    parser.add_argument("--split", choices=("validation", "train"), default="validation",
                        help="whose real progressions to generate for (tune on train, report validation)")
    parser.add_argument("--temperature", type=float, default=None, help="default: the generator's own")
    parser.add_argument("--top-p", type=float, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    seqs = training_sequences(args.data, Path(args.home).expanduser())
    valid = [s for s in seqs if s.split == args.split and s.source != "synthetic"]
    label = "held-out" if args.split == "validation" else args.split
    supervised = chord_model.load(args.supervised, device="cpu")
    policy = chord_model.load(args.policy, device="cpu")
    reward = reward_model.load(args.reward, device="cpu")
    markov = MarkovChords(supervised.config.vocab, seqs)
    texts = TextCache(supervised)
    sources = Counter(s.source for s in valid)
    print(f"\n{label.capitalize()} real progressions: {len(valid)} ({', '.join(f'{k} {v}' for k, v in sources.items())}); "
          f"{args.samples} samples each, seed {args.seed}\n")

    print("| model                | next-chord acc | perplexity |")
    print("|----------------------|----------------|------------|")
    for name, metrics in (("bigram (Markov)", markov.evaluate(valid)), ("supervised LSTM", evaluate(supervised, valid, texts)),
                          ("RLHF policy", evaluate(policy, valid, texts))):
        print(f"| {name:<20} | {metrics['accuracy']:14.3f} | {metrics['perplexity']:10.2f} |")

    real = real_progressions(valid)
    modes = [s.mode for s in valid]
    ref = progression_stats(real, modes)
    rows: list[tuple[str, ProgressionStats, float]] = [
        (f"real ({label})", ref, _mean(rewards_of(reward, real, valid, 1)))]
    sampling = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p)) if v is not None}
    written, scores = {}, {}
    for name, model in (("bigram (Markov)", None), ("supervised LSTM", supervised), ("RLHF policy", policy)):
        progs = generate(model, markov, valid, rng, args.samples, args.seed, **sampling)
        many = [m for m in modes for _ in range(args.samples)]
        scores[name] = rewards_of(reward, progs, valid, args.samples)
        rows.append((name, progression_stats(progs, many), _mean(scores[name])))
        written[name] = per_progression(progs, modes, args.samples)
    print(f"\n| generated for {label:<8} | CHE   | CC    | CTD   | gap to real | reward |")
    print("|------------------------|-------|-------|-------|-------------|--------|")
    for name, st, r in rows:
        print(f"| {name:<22} | {st.che:.3f} | {st.cc:5.2f} | {st.ctd:.3f} | {distance_to(st, ref):11.3f} | {r:6.3f} |")
    low, high = bootstrap_interval(real, modes)
    print(f"\n95% bootstrap interval of the real values ({len(real)} progressions resampled): "
          f"CHE {low.che:.3f}-{high.che:.3f}, CC {low.cc:.2f}-{high.cc:.2f}, CTD {low.ctd:.3f}-{high.ctd:.3f}")
    print_paired(paired_gap_bootstrap(per_progression(real, modes), written["supervised LSTM"], written["RLHF policy"]),
                 len(real))
    print_reward_difference(paired_difference(scores["supervised LSTM"], scores["RLHF policy"]))

    rule = RuleBasedChordGenerator()
    makers = {
        "rule-based": lambda g, m, s, seed: rule.romans(section=s, bars=8, key=_key(m), genre=g, seed=seed),
        "supervised": _maker(supervised),
        "RLHF": _maker(policy),
    }
    print("\n| share of sevenths | " + " | ".join(f"{g:>5}" for g in GENRES_SHOWN) + " |")
    print("|-------------------|" + "|".join("-------" for _ in GENRES_SHOWN) + "|")
    for name, make in makers.items():
        print(f"| {name:<17} | " + " | ".join(f"{seventh_share(make, g):5.2f}" for g in GENRES_SHOWN) + " |")


def _key(mode: str) -> Key:
    return Key("C", "major") if mode == "major" else Key("A", "minor")


def _maker(model: ChordModel):
    gen = LearnedChordGenerator(model)
    return lambda g, m, s, seed: gen.romans(section=s, bars=8, key=_key(m), genre=g, seed=seed)


if __name__ == "__main__":
    main()
