"""A chat model for bot tests that answers each message by what it says.

Bots serve many conversations at once, so a script shared by all of them (as in
``tests/fake_chat.py``) would hand one conversation's reply to another. This
model reads the newest message instead: ``render C G Am F`` calls the real
render_music tool, a compose command calls compose_song with fixed lyrics (no
text model needed), ``analyze`` calls analyze_audio on the attached file,
"make it faster" revises the channel's song, ``sleep 0.5 ...`` holds the worker that long, ``crash`` raises; after a tool it
reports what the tool said, naming the request so order can be checked.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

LYRICS = "The sea is wide and grey\nWe sail at break of day\n\nOh the wind, oh the wind\nCarry us away"


def _call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}",
                                              "type": "tool_call"}])


class RoutedChatModel(BaseChatModel):
    """Replies from the content of the conversation's newest message; tools run for real."""

    @property
    def _llm_type(self) -> str:
        return "routed-fake"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "RoutedChatModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages))])

    def _reply(self, messages: list[BaseMessage]) -> AIMessage:
        human = next(m for m in reversed(messages) if isinstance(m, HumanMessage))
        request = str(human.content).split("\n\nAttached files:")[0].strip()
        last = messages[-1]
        if isinstance(last, ToolMessage):
            if last.status == "error":
                return AIMessage(content=f"Sorry, that didn't work for '{request}'.")
            return AIMessage(content=f"Done with '{request}': {last.content}")
        if m := re.match(r"sleep ([\d.]+)\s*(.*)", request):
            time.sleep(float(m.group(1)))
            request = m.group(2)
        if request.startswith("crash"):
            raise RuntimeError("the language model fell over")
        if m := re.match(r"Write and produce a song: (.+?)\.(?: Genre: (\w+))?", request):
            return _call("compose_song", prompt=m.group(1), genre=m.group(2) or "folk", lyrics=LYRICS, length_seconds=16)
        if m := re.match(r"render (.+)", request):
            return _call("render_music", source=m.group(1))
        if re.match(r"(make it|put it|play it|now play)\b", request.lower()):
            return _call("revise_song", request=request)
        if request.lower().startswith("analy"):
            attached = str(human.content).split("Attached files: ")[-1].split(",")[0].strip()
            return _call("analyze_audio", path=attached)
        return AIMessage(content=f"You said: {request}")
