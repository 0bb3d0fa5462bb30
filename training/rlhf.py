"""RLHF for the chord model: REINFORCE with a baseline and a KL penalty to the supervised policy.

    bandmate train policy

Each step samples a batch of progressions from the policy for conditions drawn from
the training data (balanced over genres; 4, 8 or 16 bars), scores them with the reward
model, and subtracts ``beta`` times the sampled log-ratio log pi(x) - log pi_ref(x) to
the frozen supervised model, plus an optional entropy bonus (-log pi(x)) that keeps the
chord variety of the real data. The advantage is that total minus a running-mean baseline;
the loss is -advantage * log pi(x). The KL term keeps the policy's chord statistics
near the real data while it moves toward what the reward model (and the users' ratings
behind it) prefers.
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
from training.train_chords import TextCache


@dataclass(frozen=True)
class RLHFConfig:
    """Settings; :meth:`tiny` runs in seconds for tests."""

    steps: int = 150
    batch_size: int = 48
    lr: float = 3e-4
    beta: float = 1.0              # KL penalty weight
    entropy_bonus: float = 0.05    # weight of -log pi(x): keeps the policy as varied as the real data
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


def sample_conditions(model: ChordModel, sequences: Sequence[ChordSequence], texts: TextCache, n: int,
                      rng: random.Random) -> Conditioning:
    """``n`` conditions: a genre chosen uniformly, then a training progression of that genre for text, mode, section."""
    by_genre: dict[str, list[ChordSequence]] = {}
    for s in sequences:
        if s.split == "train" and s.genre in GENRES:
            by_genre.setdefault(s.genre, []).append(s)
    if not by_genre:
        raise ToolError("There are no training progressions with a genre to condition the policy on.")
    picks = [rng.choice(by_genre[rng.choice(sorted(by_genre))]) for _ in range(n)]
    sections = model.config.sections
    return Conditioning(
        texts([p.text if rng.random() > 0.3 else "" for p in picks]),
        torch.tensor([model.config.genres.index(p.genre) for p in picks]),
        torch.tensor([sections.index(p.section) if p.section in sections else 0 for p in picks]),
        torch.tensor([MODES.index(p.mode) for p in picks]))


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
    baseline, history = None, []
    for step in range(config.steps):
        cond = sample_conditions(policy, sequences, texts, config.batch_size, rng)
        bars = [rng.choice(config.bar_choices) for _ in range(config.batch_size)]
        policy.eval()  # no dropout while sampling or scoring: the log-probs are the deployed policy's
        sampled = policy.sample(cond, bars, generator=generator)
        logp = policy.sequence_logprob(sampled, cond)
        with torch.no_grad():
            ref_logp = reference.sequence_logprob(sampled, cond)
            score = rewards(reward, policy, sampled.tokens, cond)
        kl = (logp.detach() - ref_logp)
        total = score - config.beta * kl - config.entropy_bonus * logp.detach()
        mean = float(total.mean())
        baseline = mean if baseline is None else config.baseline_decay * baseline + (1 - config.baseline_decay) * mean
        loss = -((total - baseline) * logp).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        history.append((float(score.mean()), float(kl.mean())))
        if step % 10 == 0 or step == config.steps - 1:
            log(f"step {step + 1}/{config.steps}  reward {history[-1][0]:.3f}  KL {history[-1][1]:.3f}")
    head = history[: max(1, len(history) // 10)]
    tail = history[-max(1, len(history) // 10):]
    result = RLHFResult(Path(out), sum(r for r, _ in head) / len(head), sum(r for r, _ in tail) / len(tail),
                        sum(k for _, k in tail) / len(tail), 0.0)
    save_checkpoint(policy.eval(), out, data_hash=data_hash(sequences),
                    trained_on=getattr(supervised, "meta", {}).get("trained_on", {}),
                    rlhf={"reward_start": result.reward_start, "reward_end": result.reward_end,
                          "kl_end": result.kl_end, "config": asdict(config),
                          "reward_model_ratings": getattr(reward, "meta", {}).get("ratings", 0)})
    return RLHFResult(result.path, result.reward_start, result.reward_end, result.kl_end, time.perf_counter() - start)
