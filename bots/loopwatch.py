"""A watchdog for the event loop: how late does a sleeping task wake up?

A bot's gateway heartbeat, its 3-second acknowledgements and its progress edits
all run on one asyncio loop; anything that blocks it (a model call, a file
encode) delays them all. :class:`LoopWatch` ticks every ``interval`` seconds and
records how much later than asked each tick came: the longest such lag is the
longest the loop was blocked. The bots run one and log a warning on a stall;
tests and ``bench/bots_load.py`` read ``max_lag``.
"""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger(__name__)


class LoopWatch:
    """Measures event-loop lag while running; use as ``async with LoopWatch() as watch: ...``."""

    def __init__(self, interval: float = 0.05, warn_after: float = 1.0) -> None:
        self.interval = interval
        self.warn_after = warn_after
        self.max_lag = 0.0
        self.ticks = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start ticking on the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._tick(), name="bandmate:loopwatch")

    async def stop(self) -> None:
        """Stop ticking; ``max_lag`` keeps the result."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def __aenter__(self) -> "LoopWatch":
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.interval)
            lag = time.perf_counter() - asked - self.interval
            self.ticks += 1
            if lag > self.max_lag:
                self.max_lag = lag
            if lag > self.warn_after:
                log.warning("the event loop was blocked for %.2f s; chat services may time out", lag)
