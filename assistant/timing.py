"""Where a turn's seconds go: loading the model, reading the prompt, writing the answer, the tools.

The embedded model adds to one process-wide :data:`MODEL_CLOCK` (it serialises its calls, so the
sums are exact for one conversation at a time); :class:`TurnClock` marks a turn's moments (first
tool call, each tool, the reply) and :meth:`TurnClock.finish` subtracts the model's totals to make a
:class:`Timings`. ``bandmate ask --timings`` prints it; ``bench/latency.py`` tabulates it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Timings:
    """Seconds spent in one turn (model figures are zero for a remote chat server)."""

    total: float
    decision: float          # from the message to the first tool call (or to the answer, with no tool)
    tools: float             # inside the tools
    closing: float           # from the last tool's result to the reply
    model_load: float        # loading the embedded model (first turn of a process)
    prompt_eval: float       # the embedded model reading prompts
    generation: float        # the embedded model writing tokens
    prompt_tokens: int
    generated_tokens: int
    model_calls: int

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One human line, e.g. for ``bandmate ask --timings``."""
        return (f"{self.total:.1f} s: decision {self.decision:.1f} s, tools {self.tools:.1f} s, closing "
                f"{self.closing:.1f} s; model load {self.model_load:.1f} s, prompt {self.prompt_eval:.1f} s "
                f"({self.prompt_tokens} tokens), generation {self.generation:.1f} s ({self.generated_tokens} tokens)")


class ModelClock:
    """Running totals of the embedded model's work in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals = {"model_load": 0.0, "prompt_eval": 0.0, "generation": 0.0, "prompt_tokens": 0,
                       "generated_tokens": 0, "model_calls": 0}

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                self.totals[name] += amount

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self.totals)


MODEL_CLOCK = ModelClock()


class TurnClock:
    """Marks one turn's moments as its events arrive."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.model_before = MODEL_CLOCK.snapshot()
        self.first_call: float | None = None
        self.tool_seconds = 0.0
        self.last_result: float | None = None
        self._running: float | None = None

    def tool_started(self) -> None:
        now = time.perf_counter()
        self.first_call = self.first_call if self.first_call is not None else now
        self._running = now

    def tool_finished(self) -> None:
        now = time.perf_counter()
        if self._running is not None:
            self.tool_seconds += now - self._running
        self._running, self.last_result = None, now

    def finish(self) -> Timings:
        end = time.perf_counter()
        model = {k: v - self.model_before[k] for k, v in MODEL_CLOCK.snapshot().items()}
        decision = (self.first_call if self.first_call is not None else end) - self.start
        closing = end - self.last_result if self.last_result is not None else 0.0
        return Timings(total=end - self.start, decision=decision, tools=self.tool_seconds, closing=closing,
                       model_load=model["model_load"], prompt_eval=model["prompt_eval"],
                       generation=model["generation"], prompt_tokens=int(model["prompt_tokens"]),
                       generated_tokens=int(model["generated_tokens"]), model_calls=int(model["model_calls"]))
