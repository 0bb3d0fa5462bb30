"""The one small interface every text-writing tool (lyrics, captions, answers) uses.

Tools take any object with this ``generate`` method; ``assistant.llm`` builds one
from the configured backend (embedded GGUF model or an OpenAI-compatible server),
so tools never know which LLM they talk to.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TextGenerator(Protocol):
    """Generates text from a prompt with an optional system prompt."""

    name: str

    def generate(
        self,
        prompt: str,
        *,
        system: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        """Return the model's completion of ``prompt`` (plain text, no chat markup)."""
        ...
