"""A scripted text generator for tool tests: the LLM is a process boundary, so it is the one thing faked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScriptedTextGenerator:
    """Implements :class:`core.textgen.TextGenerator` by returning canned replies in order.

    The last reply repeats once the list is used up; every call is recorded in
    ``calls`` (prompt plus keyword arguments) so tests can check what was asked.
    """

    replies: list[str]
    name: str = "scripted"
    calls: list[dict[str, Any]] = field(default_factory=list)

    def generate(
        self,
        prompt: str,
        *,
        system: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
        repeat_penalty: float | None = None,
        min_tokens: int = 0,
        endings=None,
        until=None,
    ) -> str:
        self.calls.append({"prompt": prompt, "system": system, "max_tokens": max_tokens,
                           "temperature": temperature, "seed": seed, "repeat_penalty": repeat_penalty,
                           "min_tokens": min_tokens, "endings": endings,
                           "until": until})
        return self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
