"""bandmate's assistant: the agent, its LLM backends, settings, the CLI and the Python API."""

from assistant.api import Assistant, AssistantError, Event, Reply, ToolStep

__all__ = ["Assistant", "AssistantError", "Event", "Reply", "ToolStep"]
