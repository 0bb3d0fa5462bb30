"""How the Discord bot holds up under concurrent requests: answers, order, latency, and event-loop stalls.

    python bench/bots_load.py [--requests 20] [--channels 5] [--workers 1 2 4]

Runs the real bot (discord.py over a local fake Discord, real tools, a routed fake
LLM) and sends every slash command at once, round-robin over the channels. Rows:
plain chat (no tool) and render_music (fluidsynth + OGG + piano roll per request).
Targets (issue 8): all answered, in order per channel, loop never blocked > 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.bots.load import discord_load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    args = parser.parse_args()

    header = (f"{'work':<8}{'workers':>8}{'answered':>10}{'in order':>10}{'wall s':>8}{'p50 s':>8}{'p95 s':>8}"
              f"{'max ack s':>11}{'max loop lag s':>16}{'edits':>7}")
    print(f"{args.requests} concurrent slash commands over {args.channels} channels\n")
    print(header)
    print("-" * len(header))
    for render in (False, True):
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
                r = asyncio.run(discord_load(Path(tmp), mp, requests=args.requests, channels=args.channels,
                                             workers=workers, render=render))
            print(f"{'render' if render else 'chat':<8}{r.workers:>8}{r.answered:>7}/{r.requests:<2}"
                  f"{'yes' if r.in_order else 'NO':>10}{r.wall_seconds:>8.2f}{r.p50:>8.2f}{r.p95:>8.2f}"
                  f"{r.max_ack_seconds:>11.3f}{r.max_loop_lag:>16.3f}{r.progress_edits:>7}")


if __name__ == "__main__":
    main()
