"""bandmate's assistant: the agent, its LLM backends, settings, the CLI and the Python API.

``from assistant import Assistant`` loads the agent's libraries (langchain, ~1 s) on first use, not when a
submodule is imported: the CLI imports ``assistant.capabilities`` for every command's signature.
"""

from typing import TYPE_CHECKING

__all__ = ["Assistant", "AssistantError", "Event", "Reply", "ToolStep"]

if TYPE_CHECKING:
    from assistant.api import Assistant, AssistantError, Event, Reply, ToolStep


def __getattr__(name: str):
    if name in __all__:
        from assistant import api

        return getattr(api, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
