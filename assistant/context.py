"""What a tool function gets and gives: :class:`ToolContext` (where to write, which LLM writes text,
which conversation it serves and what that conversation remembers) and :class:`ToolOutput`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.conversation import ThreadState, ThreadStates
from core.outputs import OutputFile
from core.settings import MEMORY_FILE, get_settings
from core.textgen import TextGenerator


@dataclass
class ToolContext:
    """What tools need from the assistant: where to write files, which LLM writes text, and the thread."""

    outputs: Path
    text_generator: Callable[[], TextGenerator]
    home: Path = field(default_factory=lambda: get_settings().home_dir)
    extra: dict[str, Any] = field(default_factory=dict)
    thread_id: str = "cli"

    @property
    def states(self) -> ThreadStates:
        """Every thread's music state, in the memory database under ``home``."""
        return ThreadStates(self.home / MEMORY_FILE)

    def state(self) -> ThreadState:
        """What this thread remembers: the current song, the last clip, chords and lyrics."""
        return self.states.get(self.thread_id)

    def remember(self, **changes: Any) -> ThreadState:
        """Store what a tool made or heard for this thread (song=..., clip=..., chords=..., lyrics=...)."""
        return self.states.remember(self.thread_id, **changes)

    def for_thread(self, thread_id: str) -> "ToolContext":
        """This context serving the conversation ``thread_id``."""
        return ToolContext(self.outputs, self.text_generator, self.home, self.extra, thread_id)

    def thread_dir(self, thread_id: str) -> Path:
        """The output folder of one conversation thread (thread ids like 'discord:123' become safe names)."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", thread_id).strip("._") or "default"
        return self.outputs / safe


@dataclass
class ToolOutput:
    """What a tool function returns: text for the model, and files/display text for the person."""

    summary: str
    files: list[OutputFile] = field(default_factory=list)
    display: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def artifact(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "display": self.display, "data": self.data}
