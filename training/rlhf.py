"""RLHF for the chord model: REINFORCE with a baseline and a KL penalty to the supervised policy.

    bandmate train policy

Each step samples a batch of progressions from the policy for conditions drawn from
the training data (balanced over genres; 4, 8 or 16 bars; nucleus sampling at the deployed
generator's top_p, so RL shapes what users get), scores them with the reward model, and
subtracts ``beta`` times the sampled log-ratio log pi(x) - log pi_ref(x) to the frozen
supervised model, plus an optional entropy bonus (-log pi(x)) that keeps the chord variety
of the real data. The advantage is that total minus a running-mean baseline; the loss is
-advantage * log pi(x). The KL term keeps the policy near the supervised model while it
moves toward what the reward model (and the users' ratings behind it) prefers.

Reward shaping (``match_weight``), on top of the reward model: the chord tonal distance
(CTD, :mod:`training.metrics`) of the policy drifted from the real data's at every KL weight
tried, by a different amount with every seed. The shaping objective is
``-match_weight * |gap|``, where gap is the policy's mean CTD minus that of the training
progressions its conditions come from (each sample against its own, over the bars both have,
relative to their mean), per genre: 0 at the real statistic, negative away. Its REINFORCE
form gives each sample ``-match_weight * sign(gap) * its own gap``, with gap a running mean
per genre: a sample on the real data's side of its genre's mean gains, one beyond it loses,
and once a genre matches, the term is 0 there and the reward model decides. Only CTD is
shaped: the reward already moves CHE and CC toward the real data, and shaping all three
(the bench's whole "gap to real") pushed variety up and with it CTD.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from tools.chord_model import MODES, ChordModel, Conditioning, save_checkpoint
from tools.genre import GENRES
from tools.reward_model import RewardModel
from tools.types import ToolError
from training.chord_data import ChordSequence, data_hash
from training.metrics import chord_tonal_distance
from training.train_chords import TextCache


@dataclass(frozen=True)
class RLHFConfig:
    """Settings; :meth:`tiny` runs in seconds for tests."""

    steps: int = 150
    batch_size: int = 48
    lr: float = 3e-4
    beta: float = 1.0              # KL penalty weight
    entropy_bonus: float = 0.05    # weight of -log pi(x): keeps the policy as varied as the real data
    top_p: float = 0.95            # sample as LearnedChordGenerator does, so RL shapes what users get
    match_weight: float = 1.0      # reward shaping: weight of -|relative CTD gap to the real data| (0: off)
    baseline_decay: float = 0.9
    bar_choices: tuple[int, ...] = (4, 8, 16)
    seed: int = 0
    threads: int = 2

    @classmethod
    def tiny(cls) -> "RLHFConfig":
        return cls(steps=3, batch_size=8, bar_choices=(2, 4), threads=1)


@dataclass(frozen=True)
class RLHFResult:
    path: Path
    reward_start: float
    reward_end: float
    kl_end: float
    seconds: float
    gap_end: float = 0.0           # |relative CTD gap| to the real training progressions, mean over genres, last tenth


def pick_progressions(sequences: Sequence[ChordSequence], n: int, rng: random.Random) -> list[ChordSequence]:
    """``n`` training progressions: a genre chosen uniformly, then a progression of that genre."""
    by_genre: dict[str, list[ChordSequence]] = {}
    for s in sequences:
        if s.split == "train" and s.genre in GENRES:
            by_genre.setdefault(s.genre, []).append(s)
    if not by_genre:
        raise ToolError("There are no training progressions with a genre to condition the policy on.")
    return [rng.choice(by_genre[rng.choice(sorted(by_genre))]) for _ in range(n)]


def conditions_for(model: ChordModel, picks: Sequence[ChordSequence], texts: TextCache, rng: random.Random
                   ) -> Conditioning:
    """The picks' text (left out three times in ten), genre, section and mode as the policy's conditioning."""
    sections = model.config.sections
    return Conditioning(
        texts([p.text if rng.random() > 0.3 else "" for p in picks]),
        torch.tensor([model.config.genres.index(p.genre) for p in picks]),
        torch.tensor([sections.index(p.section) if p.section in sections else 0 for p in picks]),
        torch.tensor([MODES.index(p.mode) for p in picks]))


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
    """The shaping objective: ``-weight * |mean_gap|``; 0 at the real statistic, negative away from it."""
    return -weight * abs(mean_gap)


def shaping_rewards(gaps: torch.Tensor, mean_gaps: torch.Tensor, weight: float) -> torch.Tensor:
    """Per-sample rewards (batch,) whose policy gradient is that of :func:`shaping_penalty` at each
    sample's genre's mean gap (``mean_gaps``, one per sample).

    The gradient of -w * |E[gap]| is E[-w * sign(E[gap]) * gap(x) * grad log pi(x)]: every reward is 0
    once the genre matches the real statistic; otherwise the samples on the real data's side gain.
    """
    return -weight * gaps * torch.sign(mean_gaps)


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
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    baseline, running, history = None, RunningGaps(config.baseline_decay), []
    for step in range(config.steps):
        picks = pick_progressions(sequences, config.batch_size, rng)
        cond = conditions_for(policy, picks, texts, rng)
        bars = [rng.choice(config.bar_choices) for _ in range(config.batch_size)]
        policy.eval()  # no dropout while sampling or scoring: the log-probs are the deployed policy's
        sampled = policy.sample(cond, bars, top_p=config.top_p, generator=generator)
        logp = policy.sequence_logprob(sampled, cond)
        with torch.no_grad():
            ref_logp = reference.sequence_logprob(sampled, cond)
            score = rewards(reward, policy, sampled.tokens, cond)
        kl = (logp.detach() - ref_logp)
        gaps = tonal_distance_gaps([policy.decode(row.tolist()) for row in sampled.tokens], [p.bars for p in picks],
                                   [p.mode for p in picks])
        mean_gaps = running.update(gaps, [p.genre for p in picks])
        total = (score - config.beta * kl - config.entropy_bonus * logp.detach()
                 + shaping_rewards(gaps, mean_gaps, config.match_weight))
        mean = float(total.mean())
        baseline = mean if baseline is None else config.baseline_decay * baseline + (1 - config.baseline_decay) * mean
        loss = -((total - baseline) * logp).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        history.append((float(score.mean()), float(kl.mean()), running.mean_abs()))
        if step % 10 == 0 or step == config.steps - 1:
            log(f"step {step + 1}/{config.steps}  reward {history[-1][0]:.3f}  KL {history[-1][1]:.3f}  "
                f"|CTD gap| to real {history[-1][2]:.3f}")
    head = history[: max(1, len(history) // 10)]
    tail = history[-max(1, len(history) // 10):]
    reward_start, reward_end = sum(h[0] for h in head) / len(head), sum(h[0] for h in tail) / len(tail)
    kl_end, gap_end = sum(h[1] for h in tail) / len(tail), sum(h[2] for h in tail) / len(tail)
    save_checkpoint(policy.eval(), out, data_hash=data_hash(sequences),
                    trained_on=getattr(supervised, "meta", {}).get("trained_on", {}),
                    rlhf={"reward_start": reward_start, "reward_end": reward_end, "kl_end": kl_end,
                          "gap_end": gap_end, "config": asdict(config),
                          "reward_model_ratings": getattr(reward, "meta", {}).get("ratings", 0)})
    return RLHFResult(Path(out), reward_start, reward_end, kl_end, time.perf_counter() - start, gap_end)
