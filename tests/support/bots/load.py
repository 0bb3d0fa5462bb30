"""Many concurrent slash commands across channels against the Discord bot, with the event loop watched.

Shared by tests/test_bots_load.py (asserts) and bench/bots_load.py (prints a table).
"""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bots.loopwatch import LoopWatch
from tests.support.bots.harness import running_discord

CHORDS = ["C", "G", "Am", "F", "Dm", "Em", "E7", "Bb"]


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    channels: int
    workers: int
    answered: int
    in_order: bool
    wall_seconds: float
    latencies: list[float]  # request sent -> answer posted
    max_ack_seconds: float  # request sent -> deferral reached Discord
    max_loop_lag: float
    progress_edits: int  # edits of progress messages (queue position, tools starting and finishing)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


def questions(n: int, render: bool) -> list[str]:
    """``n`` distinct requests: chord progressions to render, or plain chat."""
    progressions = itertools.permutations(CHORDS, 4)
    return [f"render {' '.join(next(progressions))}" if render else f"tell me fact {i}" for i in range(n)]


async def discord_load(home: Path, monkeypatch, *, requests: int = 20, channels: int = 5, workers: int = 2,
                       render: bool = True, timeout: float = 300) -> LoadResult:
    """Send ``requests`` slash commands round-robin over ``channels`` at once; wait for every answer."""
    asks = questions(requests, render)
    async with running_discord(home, monkeypatch, channels=channels, workers=workers, queue_limit=requests,
                               rate_limit=requests, progress_interval_seconds=1.0) as (fake, bot):
        async with LoopWatch(interval=0.02) as watch:
            start = time.monotonic()
            sent: dict[str, tuple[float, int, str]] = {}
            for i, text in enumerate(asks):
                channel = 3000 + i % channels
                token = await fake.slash("ask", {"question": text}, channel=channel, user_id=900 + i)
                sent[token] = (time.monotonic(), channel, text)

            def answer(token: str):
                return next((c for c in fake.calls_to("PATCH", f"{token}/messages/@original")
                             if (c.content or "").startswith(("Done with", "You said"))), None)

            await fake.wait_for(lambda: all(answer(t) for t in sent), timeout)
            wall = time.monotonic() - start
        answers = {t: answer(t) for t in sent}
        acks = {t: fake.calls_to("POST", f"{t}/callback")[0].at for t in sent}
    in_order = True
    for channel in {c for _, c, _ in sent.values()}:
        tokens = [t for t, (_, c, _) in sent.items() if c == channel]  # in the order they were sent
        times = [answers[t].at for t in tokens]
        in_order &= times == sorted(times) and all(sent[t][2].split(" ", 1)[-1] in answers[t].content for t in tokens)
    return LoadResult(
        requests=requests, channels=channels, workers=workers,
        answered=sum(1 for a in answers.values() if a is not None), in_order=in_order, wall_seconds=wall,
        latencies=[answers[t].at - s for t, (s, _, _) in sent.items()],
        max_ack_seconds=max(acks[t] - s for t, (s, _, _) in sent.items()),
        max_loop_lag=watch.max_lag,
        progress_edits=sum(1 for c in fake.calls_to("PATCH", "/messages/@original")
                           if (c.content or "").startswith(("🎵", "🕒"))),
    )
