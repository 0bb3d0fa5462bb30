"""The one small interface every text-writing tool (lyrics, captions, answers) uses.

Tools take any object with this ``generate`` method; ``assistant.llm`` builds one
from the configured backend (embedded GGUF model or an OpenAI-compatible server),
so tools never know which LLM they talk to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

# For each line of a reply being written: the words it should end on, given the reply's lyric lines before it.
Endings = Callable[[list[str]], Sequence[str]]
# Whether a reply being written has enough: given its finished lyric lines, True ends it there.
Until = Callable[[list[str]], bool]

_HEADING = re.compile(r"^\W*\[|.*:$")     # "[Verse 1]", "Chorus:": not a line of the lyric


def lyric_lines(text: str) -> list[str]:
    """The finished lines of ``text`` that are lyric (not blank, not a heading); a line still being written
    (no newline after it) is not counted."""
    return [ln.strip() for ln in text.split("\n")[:-1] if ln.strip() and not _HEADING.match(ln.strip())]


def cut_when(text: str, until: Until | None) -> str:
    """``text`` up to the end of the first lyric line at which ``until`` holds for the lyric lines so far (all
    of it when ``until`` is None or never holds)."""
    if until is None:
        return text
    lines = text.split("\n")
    for k in range(1, len(lines) + 1):
        if lines[k - 1].strip() and until(lyric_lines("\n".join(lines[:k]) + "\n")):
            return "\n".join(lines[:k])
    return text


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
        min_tokens: int = 0,
        endings: Endings | None = None,
        until: Until | None = None,
    ) -> str:
        """Return the model's completion of ``prompt`` (plain text, no chat markup), at least ``min_tokens``
        long where the backend can hold the end back, its lines leaning toward ending on the words ``endings``
        names (the embedded model can do both; a server only reads the prompt), and ending at the first lyric
        line where ``until`` holds (the embedded model stops writing there; a server's reply is cut there)."""
        ...


@runtime_checkable
class EndingScorer(Protocol):
    """A text generator that can also say how natural a word is as the end of a line it is writing (the
    embedded model can, from its own probabilities; a server's API cannot, and answers None)."""

    def ending_logprobs(self, prompt: str, reply_start: str, words: Sequence[str], *,
                        system: str | None = None) -> list[float] | None:
        """log P(" word", then the line ends) for each of ``words``, right after ``reply_start`` (the start of
        the reply to ``prompt``); None when the model cannot score."""
        ...
