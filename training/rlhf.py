"""RLHF for the chord model: REINFORCE with a baseline and a KL penalty to the supervised policy.

    bandmate train policy

Each step samples a batch of progressions from the policy for conditions drawn from the
training data as it comes (every genre the model knows, each source in its own proportion, each
at its own length up to 32 bars, which the model is told; nucleus sampling at the deployed
generator's top_p, so RL shapes what users get) and scores them with the reward model. The
advantage is that score (plus the shaping below) minus a running-mean baseline; the loss is
-advantage * log pi(x), plus ``beta`` times the exact KL divergence to the frozen supervised model
and minus ``entropy_bonus`` times the policy's entropy, both summed over the sampled steps. Taking the KL and the entropy per step
over the whole next-chord distribution, instead of as a sampled sequence log-ratio inside the
reward, removes most of the advantage's noise: with them in the reward, the shaping below could
not hold the tonal distance at any weight.

Reward shaping (``match_weight``), on top of the reward model: the chord tonal distance
(CTD, :mod:`training.metrics`) of the policy drifts from the real data's as it moves toward what
the reward model likes. The shaping objective is ``-match_weight * gap**2``, where gap is the
policy's mean CTD minus that of the training progressions its conditions come from (each sample
against its own, over the bars both have, relative to their mean), per genre: 0 at the real
statistic, negative away. Its REINFORCE form gives each sample ``-2 * match_weight * gap * its
own gap``, with gap a running mean per genre.

Checkpoint selection (``select_every``): every few steps the policy writes progressions for a
fixed set of real training progressions, and the run keeps the checkpoint with the highest
reward among those whose CHE, CC and CTD (Yeh et al. 2021) are no further from the real ones
than the supervised model's: the target RLHF has to meet, enforced on training data so the
held-out split stays a test. A run where no checkpoint meets it keeps the one closest to the
real statistics that still raised the reward, and says so.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from core.errors import ToolError
from tools.models.checkpoints import save_checkpoint
from tools.models.chord_model import MODES, ChordModel, Conditioning
from tools.models.reward_model import RewardModel
from training.chord_data import ChordSequence, data_hash
from training.metrics import (
    ProgressionStats,
    chord_tonal_distance,
    distance_to,
    progression_stats,
)
from training.train_chords import TextCache

MAX_RL_BARS = 32   # the policy writes (and checkpoints are compared) at the real progressions' length, up to this


@dataclass(frozen=True)
class RLHFConfig:
    """Settings; :meth:`tiny` runs in seconds for tests."""

    steps: int = 150
    batch_size: int = 48
    lr: float = 3e-4
    beta: float = 1.0              # weight of the per-step KL divergence to the supervised model
    entropy_bonus: float = 0.05    # weight of the per-step entropy: keeps the policy as varied as the real data
    top_p: float = 0.95            # sample as LearnedChordGenerator does, so RL shapes what users get
    match_weight: float = 10.0     # reward shaping: weight of -(relative CTD gap to the real data)^2 (0: off)
    baseline_decay: float = 0.9
    bar_choices: tuple[int, ...] = ()   # lengths to sample at (empty: each condition's own length)
    select_every: int = 10         # compare a checkpoint with the real data every this many steps (0: keep the last)
    select_pool: int = 2000        # real training progressions the checkpoints write for (at most; the shipped data has 1,236)
    select_samples: int = 2        # progressions written for each of them (1: about ±0.005 of noise in CTD)
    seed: int = 0
    threads: int = 2

    @classmethod
    def tiny(cls) -> "RLHFConfig":
        return cls(steps=3, batch_size=8, bar_choices=(2, 4), select_every=2, select_pool=6, select_samples=1,
                   threads=1)


@dataclass(frozen=True)
class RLHFResult:
    path: Path
    reward_start: float
    reward_end: float
    kl_end: float
    seconds: float
    gap_end: float = 0.0           # |relative CTD gap| to the real training progressions, mean over genres, last tenth
    selection: dict | None = None  # the checkpoint's "rlhf" → "selection" metadata (None: none compared; the last kept)

    @property
    def selected_step(self) -> int | None:
        """The step whose checkpoint was kept (None: no checkpoints compared, the last one kept)."""
        return self.selection["step"] if self.selection else None

    @property
    def target_met(self) -> bool | None:
        """Whether the kept checkpoint met the target on the training progressions (None: not compared)."""
        return self.selection["target_met"] if self.selection else None


def training_pool(sequences: Sequence[ChordSequence], genres: Sequence[str]) -> list[ChordSequence]:
    """The training progressions with a genre the policy knows."""
    pool = [s for s in sequences if s.split == "train" and s.genre in genres]
    if not pool:
        raise ToolError("There are no training progressions with a genre to condition the policy on.")
    return pool


def pick_progressions(pool: Sequence[ChordSequence], n: int, rng: random.Random) -> list[ChordSequence]:
    """``n`` training progressions drawn as they come: each genre and source in its own proportion."""
    return [rng.choice(pool) for _ in range(n)]


def own_lengths(picks: Sequence[ChordSequence]) -> list[int]:
    """Each pick's own length in bars, up to :data:`MAX_RL_BARS`."""
    return [max(1, min(len(p.bars), MAX_RL_BARS)) for p in picks]


def conditions_for(model: ChordModel, picks: Sequence[ChordSequence], bars: Sequence[int], texts: TextCache,
                   rng: random.Random | None) -> Conditioning:
    """The picks' text (left out three times in ten when ``rng`` is given), genre, section and mode, and
    ``bars`` (one length each), as the policy's conditioning."""
    sections = model.config.sections
    return Conditioning(
        texts([p.text if rng is None or rng.random() > 0.3 else "" for p in picks]),
        torch.tensor([model.config.genres.index(p.genre) for p in picks]),
        torch.tensor([sections.index(p.section) if p.section in sections else 0 for p in picks]),
        torch.tensor([MODES.index(p.mode) for p in picks]),
        torch.tensor(list(bars)))


def tonal_distance_gaps(samples: Sequence[Sequence[Sequence[str]]], references: Sequence[Sequence[Sequence[str]]],
                        modes: Sequence[str]) -> torch.Tensor:
    """(batch,): each sample's CTD minus its reference progression's, over the bars both have,
    relative to the references' mean CTD."""
    own, real = [], []
    for bars, ref, mode in zip(samples, references, modes):
        n = min(len(bars), len(ref))
        own.append(chord_tonal_distance([c for bar in bars[:n] for c in bar], mode))
        real.append(chord_tonal_distance([c for bar in ref[:n] for c in bar], mode))
    own_t, real_t = torch.tensor(own, dtype=torch.float32), torch.tensor(real, dtype=torch.float32)
    return (own_t - real_t) / real_t.mean().clamp(min=1e-6)


def shaping_penalty(mean_gap: float, weight: float) -> float:
    """The shaping objective: ``-weight * mean_gap**2``; 0 at the real statistic, negative away from it."""
    return -weight * mean_gap ** 2


def shaping_rewards(gaps: torch.Tensor, mean_gaps: torch.Tensor, weight: float) -> torch.Tensor:
    """Per-sample rewards (batch,) whose policy gradient is that of :func:`shaping_penalty` at each
    sample's genre's mean gap (``mean_gaps``, one per sample).

    The gradient of -w * E[gap]^2 is E[-2w * E[gap] * gap(x) * grad log pi(x)]: every reward is 0 once the
    genre matches the real statistic; otherwise the samples on the real data's side gain, in proportion to
    how far the genre is off. (The gradient of -w * |E[gap]| has sign(E[gap]) in place of E[gap]: full force
    until the running gap changes sign, which made the tonal distance swing from one side to the other.)
    """
    return -2 * weight * mean_gaps * gaps


class RunningGaps:
    """Running mean of the CTD gap per genre: the shaping's estimate of each genre's E[gap]."""

    def __init__(self, decay: float) -> None:
        self.decay, self.by_genre = decay, {}

    def update(self, gaps: torch.Tensor, genres: Sequence[str]) -> torch.Tensor:
        """Fold in a batch's gaps; return the running mean gap of each sample's genre, (batch,)."""
        for genre in sorted(set(genres)):
            batch = gaps[[i for i, g in enumerate(genres) if g == genre]].mean()
            old = self.by_genre.get(genre)
            self.by_genre[genre] = batch if old is None else self.decay * old + (1 - self.decay) * batch
        return torch.stack([self.by_genre[g] for g in genres])

    def mean_abs(self) -> float:
        """|gap|, averaged over genres."""
        return float(torch.stack(list(self.by_genre.values())).abs().mean())


def rewards(reward: RewardModel, policy: ChordModel, tokens: torch.Tensor, cond: Conditioning) -> torch.Tensor:
    """log sigmoid of the reward-model scores of sampled token ids (policy vocabulary).

    The log-sigmoid is at most 0: a progression the reward model already finds real and liked
    earns little more, so the policy mends its bad samples instead of exaggerating good ones.
    """
    ids = reward.translate(tokens, policy.config.vocab)
    genre_names = [policy.config.genres[int(g)] for g in cond.genre]
    genre = torch.tensor([reward.genre_index(g) for g in genre_names])
    with torch.no_grad():
        return torch.nn.functional.logsigmoid(reward(ids, genre, cond.mode))


@dataclass(frozen=True)
class Candidate:
    """One checkpoint's progressions for the selection set: their statistics and mean reward-model score."""

    step: int
    stats: ProgressionStats
    reward: float

    def summary(self) -> str:
        return f"CHE {self.stats.che:.3f}  CC {self.stats.cc:.2f}  CTD {self.stats.ctd:.3f}  reward {self.reward:.3f}"


def target_misses(real: ProgressionStats, base: Candidate, candidate: Candidate) -> list[str]:
    """What keeps ``candidate`` from the target against ``base`` (the supervised model): each of CHE, CC and
    CTD further from ``real`` than the base's, and ``"reward"`` unless higher. Empty: the target is met."""
    misses = [m.upper() for m in ("che", "cc", "ctd")
              if abs(getattr(candidate.stats, m) - getattr(real, m)) > abs(getattr(base.stats, m) - getattr(real, m))]
    return misses + ([] if candidate.reward > base.reward else ["reward"])


class Selection:
    """Compares checkpoints on a fixed set of real training progressions (with the same random draws each
    time) and keeps the best one: the highest reward among those no further from the real CHE, CC and CTD
    than the supervised model, else the one closest to the real statistics that still raised the reward."""

    def __init__(self, pool: Sequence[ChordSequence], reward: RewardModel, texts: TextCache, config: RLHFConfig
                 ) -> None:
        real = [s for s in pool if s.source != "synthetic"] or list(pool)
        self.picks = random.Random(config.seed).sample(real, min(len(real), config.select_pool))
        self.picks = [p for p in self.picks for _ in range(config.select_samples)]
        self.reward, self.texts, self.config = reward, texts, config
        self.modes = [p.mode for p in self.picks]
        self.real = progression_stats([p.bars[:MAX_RL_BARS] for p in self.picks], self.modes)
        self.base: Candidate | None = None
        self.best: tuple[Candidate, dict, bool] | None = None

    @torch.no_grad()
    def evaluate(self, model: ChordModel, step: int) -> Candidate:
        bars = own_lengths(self.picks)
        cond = conditions_for(model, self.picks, bars, self.texts, None)
        sampled = model.sample(cond, top_p=self.config.top_p,
                               generator=torch.Generator().manual_seed(self.config.seed + 1))
        progressions = [model.decode(row.tolist()) for row in sampled.tokens]
        scores = self.reward.score([p[:16] for p in progressions], [p.genre for p in self.picks], self.modes)
        return Candidate(step, progression_stats(progressions, self.modes), sum(scores) / len(scores))

    def meets_target(self, candidate: Candidate) -> bool:
        """Higher reward than the supervised model, and no further from the real CHE, CC and CTD."""
        return not target_misses(self.real, self.base, candidate)

    def offer(self, model: ChordModel, step: int) -> tuple[Candidate, bool]:
        """Evaluate ``model`` (the first offer: the supervised starting point), keep it if it is the best so far,
        and say whether it meets the target."""
        candidate = self.evaluate(model, step)
        if self.base is None:
            self.base = candidate
            return candidate, False
        met = self.meets_target(candidate)
        if self.best is None or self._better(candidate, met, self.best[0], self.best[2]):
            self.best = (candidate, copy.deepcopy(model.state_dict()), met)
        return candidate, met

    def _better(self, candidate: Candidate, met: bool, best: Candidate, best_met: bool) -> bool:
        if met != best_met:
            return met
        if met:
            return candidate.reward > best.reward
        raised, best_raised = candidate.reward > self.base.reward, best.reward > self.base.reward
        if raised != best_raised:
            return raised
        return distance_to(candidate.stats, self.real) < distance_to(best.stats, self.real)


def train_policy(supervised: ChordModel, reward: RewardModel, sequences: Sequence[ChordSequence],
                 out: str | Path, *, config: RLHFConfig = RLHFConfig(), log: Callable[[str], None] = print
                 ) -> RLHFResult:
    """Fine-tune a copy of ``supervised`` against ``reward``; save the policy to ``out`` atomically."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng, generator = random.Random(config.seed), torch.Generator().manual_seed(config.seed)
    reference = copy.deepcopy(supervised).eval().requires_grad_(False)
    policy = copy.deepcopy(supervised).requires_grad_(True)
    reward.eval()
    texts = TextCache(policy)
    pool = training_pool(sequences, policy.config.genres)
    selection = Selection(pool, reward, texts, config) if config.select_every > 0 else None
    if selection is not None:
        base, _ = selection.offer(policy.eval(), 0)
        log(f"real training progressions: CHE {selection.real.che:.3f}  CC {selection.real.cc:.2f}  "
            f"CTD {selection.real.ctd:.3f}; supervised model: {base.summary()}")
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    baseline, running, history = None, RunningGaps(config.baseline_decay), []
    for step in range(config.steps):
        picks = pick_progressions(pool, config.batch_size, rng)
        bars = ([rng.choice(config.bar_choices) for _ in picks] if config.bar_choices else own_lengths(picks))
        cond = conditions_for(policy, picks, bars, texts, rng)
        policy.eval()  # no dropout while sampling or scoring: the log-probs are the deployed policy's
        sampled = policy.sample(cond, top_p=config.top_p, generator=generator)
        dists = policy.step_distributions(sampled, cond)
        logp = policy.sequence_logprob(sampled, cond, dists)
        with torch.no_grad():
            ref_dists = reference.step_distributions(sampled, cond)
            score = rewards(reward, policy, sampled.tokens, cond)
        # exact KL and entropy of each step's next-chord distribution (0 * log 0 = 0 outside the allowed tokens)
        probs = dists.exp()
        own, ref = dists.masked_fill(~sampled.allowed, 0.0), ref_dists.masked_fill(~sampled.allowed, 0.0)
        kl = ((probs * (own - ref)).sum(-1) * sampled.valid).sum(1)
        entropy = (-(probs * own).sum(-1) * sampled.valid).sum(1)
        gaps = tonal_distance_gaps([policy.decode(row.tolist()) for row in sampled.tokens], [p.bars for p in picks],
                                   [p.mode for p in picks])
        mean_gaps = running.update(gaps, [p.genre for p in picks])
        total = score + shaping_rewards(gaps, mean_gaps, config.match_weight)
        mean = float(total.mean())
        baseline = mean if baseline is None else config.baseline_decay * baseline + (1 - config.baseline_decay) * mean
        loss = (-((total - baseline) * logp).mean() + config.beta * kl.mean() - config.entropy_bonus * entropy.mean())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        history.append((float(score.mean()), float(kl.detach().mean()), running.mean_abs()))
        if step % 10 == 0 or step == config.steps - 1:
            log(f"step {step + 1}/{config.steps}  reward {history[-1][0]:.3f}  KL {history[-1][1]:.3f}  "
                f"|CTD gap| to real {history[-1][2]:.3f}")
        if selection is not None and ((step + 1) % config.select_every == 0 or step == config.steps - 1):
            candidate, met = selection.offer(policy.eval(), step + 1)
            log(f"  checkpoint at step {step + 1}: {candidate.summary()}" + ("  (meets the target)" if met else ""))
    head = history[: max(1, len(history) // 10)]
    tail = history[-max(1, len(history) // 10):]
    reward_start, reward_end = sum(h[0] for h in head) / len(head), sum(h[0] for h in tail) / len(tail)
    kl_end, gap_end = sum(h[1] for h in tail) / len(tail), sum(h[2] for h in tail) / len(tail)
    chosen = {}
    if selection is not None and selection.best is not None:
        best, state, met = selection.best
        policy.load_state_dict(state)
        chosen = {"step": best.step, "target_met": met, "real": asdict(selection.real),
                  "supervised": {**asdict(selection.base.stats), "reward": selection.base.reward},
                  "kept": {**asdict(best.stats), "reward": best.reward}}
        log(f"kept the checkpoint at step {best.step}: {best.summary()}"
            + ("" if met else "; no checkpoint met the target (reward up, CHE, CC and CTD no further from the real "
                              "data than the supervised model's)"))
    save_checkpoint(policy.eval(), out, data_hash=data_hash(sequences),
                    trained_on=getattr(supervised, "meta", {}).get("trained_on", {}),
                    rlhf={"reward_start": reward_start, "reward_end": reward_end, "kl_end": kl_end,
                          "gap_end": gap_end, "config": asdict(config), "selection": chosen,
                          "reward_model_ratings": getattr(reward, "meta", {}).get("ratings", 0)})
    return RLHFResult(Path(out), reward_start, reward_end, kl_end, time.perf_counter() - start, gap_end,
                      chosen or None)
