"""A scripted chat model for agent tests: it emits the tool calls and texts a test lists.

It stands in for the LLM process, the one boundary agent tests fake; tools, memory
and files are real.
"""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field


def call(name: str, **args: Any) -> AIMessage:
    """A scripted reply that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}])


def say(text: str) -> AIMessage:
    """A scripted reply in words."""
    return AIMessage(content=text)


class ScriptedChatModel(GenericFakeChatModel):
    """Replies from a list, in order, and records every message list it was shown."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, *replies: AIMessage) -> "ScriptedChatModel":
        return cls(messages=iter(replies))

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedChatModel":
        self.bound_tools = [getattr(t, "name", None) or t.get("name") for t in tools]
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
