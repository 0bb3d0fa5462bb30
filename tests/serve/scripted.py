"""The bot tests' routed chat model, taught the two phrasings the web tests type.

``render C G Am F on piano`` plays the chords on that instrument, and a question about an attached
clip's tempo measures it; everything else is routed as in the bot tests. Tools run for real.
"""

from __future__ import annotations

import re
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from assistant.api import Assistant
from core.settings import Settings
from tests.support.bots.fake_llm import RoutedChatModel, _call
from tests.support.bots.harness import TOOLS


class WebChatModel(RoutedChatModel):
    """Replies from the newest message's words; tools run for real."""

    def _reply(self, messages: list[BaseMessage]) -> AIMessage:
        human = next(m for m in reversed(messages) if isinstance(m, HumanMessage))
        request, _, attached = str(human.content).partition("\n\nAttached files: ")
        if not isinstance(messages[-1], ToolMessage):
            if m := re.match(r"render (.+?) on (\w+)$", request.strip()):
                return _call("render_music", source=m.group(1), instrument=m.group(2))
            if "tempo" in request.lower() and attached:
                return _call("analyze_audio", path=attached.split(",")[0].strip())
        return super()._reply(messages)


def web_assistant(home: Path) -> Assistant:
    """An assistant with real tools and the routed fake chat model, keeping everything under ``home``."""
    return Assistant(Settings(_env_file=None, home=home), chat_model=WebChatModel(), tools=TOOLS)
