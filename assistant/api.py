"""The Python API: ``Assistant.chat(text, thread_id, attachments) -> Reply``, and a streaming form.

>>> from assistant import Assistant
>>> reply = Assistant().chat("write me a sad folk song about leaving home")
>>> print(reply.text); [f.path for f in reply.files]
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)

from assistant.conversation import STATE_MESSAGE, ThreadStates, state_message
from assistant.llm import (
    ChatTextGenerator,
    LLMConfigError,
    describe_backend,
    explain_chat_error,
    is_embedded,
    make_chat_model,
)
from assistant.timing import Timings, TurnClock
from assistant.tool_calls import ATTACHED_FILES
from core.files import store_error
from core.outputs import OutputFile
from core.settings import Settings, get_settings
from core.textgen import TextGenerator


@dataclass(frozen=True)
class ToolStep:
    """One tool the agent ran for a message: its arguments, what it told the model, what it shows the person."""

    name: str
    arguments: dict[str, Any]
    summary: str
    ok: bool
    display: str = ""
    files: tuple[OutputFile, ...] = ()


@dataclass(frozen=True)
class Reply:
    """The assistant's answer to one message: the text and every file the tools made."""

    text: str
    thread_id: str
    files: tuple[OutputFile, ...] = ()
    steps: tuple[ToolStep, ...] = ()
    timings: Timings | None = None

    def files_of(self, kind: str) -> list[OutputFile]:
        """The files of one kind: audio, midi, image, score, json or text."""
        return [f for f in self.files if f.kind == kind]


@dataclass(frozen=True)
class Event:
    """A progress event from :meth:`Assistant.stream`.

    kinds: ``tool_started`` (tool, arguments), ``tool_finished`` (step), ``text``
    (text), and last ``reply`` (reply).
    """

    kind: Literal["tool_started", "tool_finished", "text", "reply"]
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    step: ToolStep | None = None
    reply: Reply | None = None


log = logging.getLogger(__name__)


class AssistantError(RuntimeError):
    """A problem the user can fix (bad attachment, unreachable chat server); one sentence."""


class Assistant:
    """bandmate's conversational entry point. Heavy parts (the model, the memory) load on first use."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        chat_model: BaseChatModel | None = None,
        text_generator: TextGenerator | None = None,
        tools: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._chat_model = chat_model
        self._text_generator = text_generator
        self._tool_names = list(tools) if tools is not None else None
        self._agent = None
        self._memory = None
        self._tools: list = []
        self._build_lock = threading.Lock()
        self._turns = 0                     # see turns_running
        self._turns_lock = threading.Lock()

    # -- lazily built parts -------------------------------------------------
    @property
    def chat_model(self) -> BaseChatModel:
        if self._chat_model is None:
            self._chat_model = make_chat_model(self.settings)
        return self._chat_model

    @property
    def text_generator(self) -> TextGenerator:
        """The LLM that tools use to write text (lyrics, captions, answers): the same configured model."""
        if self._text_generator is None:
            self._text_generator = ChatTextGenerator(self.chat_model)
        return self._text_generator

    @property
    def backend(self) -> str:
        return describe_backend(self.settings)

    def _get_agent(self):
        with self._build_lock:  # bots call from several worker threads at once
            return self._build_agent()

    def _build_agent(self):
        if self._agent is None:
            from assistant.agent import build_agent, open_memory
            from assistant.context import ToolContext
            from assistant.toolkit import build_toolkit

            ctx = ToolContext(outputs=self.settings.outputs, text_generator=lambda: self.text_generator,
                              home=self.settings.home_dir)
            self._memory = open_memory(self.settings.memory_db)
            self._tools = build_toolkit(ctx, self._tool_names)
            self._agent = build_agent(self.chat_model, self._tools, self._memory, self.settings.max_tool_steps)
        return self._agent

    def warm_up(self, *, songs: bool = False) -> None:
        """Build the agent (model, tools, memory) now rather than on the first message. With ``songs`` (a
        server's start, :mod:`serve.agent_server`), also load what writing lyrics uses and, on the embedded
        model, answer one throwaway "hello" on a thread then forgotten (the model's weights, the agent's prompt
        and grammar), so that the first song is as quick as the next."""
        self._get_agent()
        if not songs:
            return
        embedded = is_embedded(self.chat_model)
        if embedded:                      # a server's model would only be sent a request for nothing
            thread = f"warm-up-{uuid.uuid4().hex}"
            self.chat("hello", thread_id=thread)
            self._memory.delete_thread(thread)
        from tools.songwriting.lyric_craft import warm_up as warm_up_lyrics

        warm_up_lyrics(self.text_generator if embedded else None)

    @property
    def turns_running(self) -> int:
        """Turns under way in this process (a read-ahead gives way to them)."""
        return self._turns

    def read_ahead(self, thread_id: str) -> int:
        """On the embedded model, read the thread's next prompt up to its next message now (the system prompt,
        what the conversation made, the turns so far), so that the next decision reads only that message. The
        agent server, the web page and the bots call it after each reply (:meth:`read_ahead_in_background`),
        while the person reads; elsewhere it does nothing. Reading stops early, and the message goes first, once
        a turn starts in this process. Returns the tokens read."""
        if not is_embedded(self.chat_model):
            return 0
        from assistant.agent import system_prompt

        agent = self._get_agent()
        messages = agent.get_state({"configurable": {"thread_id": thread_id}}).values.get("messages", [])
        remembered = state_message(ThreadStates(self.settings.memory_db).get(thread_id))
        return self.chat_model.read_ahead(
            [SystemMessage(system_prompt()), *messages, *([remembered] if remembered else [])], self._tools,
            stop=lambda: self.turns_running > 0)

    def read_ahead_in_background(self, thread_id: str) -> threading.Thread | None:
        """:meth:`read_ahead` on a thread of its own (after a reply is out: the agent server, the web page, the
        bots); None when
        there is nothing to read ahead (a model behind a server). A failure only costs that time later."""
        if not is_embedded(self.chat_model):
            return None

        def work() -> None:
            try:
                self.read_ahead(thread_id)
            except Exception:
                log.warning("could not read ahead for thread %s", thread_id, exc_info=True)

        worker = threading.Thread(target=work, name=f"read-ahead-{thread_id}", daemon=True)
        worker.start()
        return worker

    # -- conversation -------------------------------------------------------
    def chat(self, text: str, thread_id: str = "default", attachments: Sequence[str | Path] = ()) -> Reply:
        """Answer one message in a conversation thread, running whatever tools it needs."""
        reply = None
        for event in self.stream(text, thread_id=thread_id, attachments=attachments):
            if event.kind == "reply":
                reply = event.reply
        assert reply is not None
        return reply

    def stream(self, text: str, thread_id: str = "default", attachments: Sequence[str | Path] = ()) -> Iterator[Event]:
        """Like :meth:`chat`, yielding progress events as tools start and finish; the last event is the reply."""
        with self._turns_lock:
            self._turns += 1
        try:
            yield from self._stream(text, thread_id, attachments)
        finally:
            with self._turns_lock:
                self._turns -= 1

    def _stream(self, text: str, thread_id: str, attachments: Sequence[str | Path]) -> Iterator[Event]:
        content = _with_attachments(text, attachments)
        remembered = state_message(ThreadStates(self.settings.memory_db).get(thread_id))
        messages = ([remembered] if remembered else []) + [HumanMessage(content)]
        config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 4 * self.settings.max_tool_steps + 8}
        steps: list[ToolStep] = []
        pending: dict[str, tuple[str, dict]] = {}
        final_text = ""
        clock = TurnClock()
        agent, before = None, set()
        if is_embedded(self.chat_model):
            from assistant.local_llm import measure_cores_afresh

            measure_cores_afresh()
        try:
            agent = self._get_agent()
            before = _message_ids(agent, config)
            for update in agent.stream({"messages": messages}, config, stream_mode="updates"):
                for node_update in update.values():
                    for msg in (node_update or {}).get("messages", []) if isinstance(node_update, dict) else []:
                        if isinstance(msg, AIMessage) and msg.tool_calls:
                            for call in msg.tool_calls:
                                clock.tool_started()
                                pending[call["id"]] = (call["name"], call["args"])
                                yield Event("tool_started", tool=call["name"], arguments=call["args"])
                        elif isinstance(msg, AIMessage):
                            final_text = _text_of(msg)
                            if final_text:
                                yield Event("text", text=final_text)
                        elif isinstance(msg, ToolMessage):
                            clock.tool_finished()
                            step = _step_from(msg, pending.pop(msg.tool_call_id, (msg.name or "tool", {})))
                            steps.append(step)
                            yield Event("tool_finished", tool=step.name, step=step)
        except (Exception, KeyboardInterrupt) as exc:
            if agent is not None:   # a failed turn leaves nothing in memory to be replayed to the model
                _forget_turn(agent, config, before)
            if isinstance(exc, LLMConfigError):
                raise AssistantError(str(exc)) from exc
            explained = _explain(exc, self.settings) if isinstance(exc, Exception) else exc
            if explained is exc:
                raise
            raise explained from exc
        if not final_text:
            final_text = "\n".join(s.summary for s in steps) or "I have no answer to that yet."
        files = tuple(f for s in steps for f in s.files)
        yield Event("reply", reply=Reply(text=final_text, thread_id=thread_id, files=files, steps=tuple(steps),
                                         timings=clock.finish()))

    def history(self, thread_id: str = "default") -> list[tuple[str, str]]:
        """The (role, text) turns of a thread, oldest first, as remembered in SQLite."""
        state = self._get_agent().get_state({"configurable": {"thread_id": thread_id}})
        turns = []
        for msg in state.values.get("messages", []):
            if isinstance(msg, HumanMessage) and msg.name != STATE_MESSAGE:
                turns.append(("user", _text_of(msg)))
            elif isinstance(msg, AIMessage) and not msg.tool_calls:
                turns.append(("assistant", _text_of(msg)))
        return turns


def _message_ids(agent, config: dict) -> set[str]:
    """The ids of the messages a thread's memory holds now."""
    return {m.id for m in agent.get_state(config).values.get("messages", [])}


def _forget_turn(agent, config: dict, before: set[str]) -> None:
    """Remove from the thread's memory every message a failed turn added (its question, any half-done tool calls),
    so the next turn does not send them to the model again."""
    try:
        added = [m.id for m in agent.get_state(config).values.get("messages", []) if m.id not in before]
        if added:
            agent.update_state(config, {"messages": [RemoveMessage(id=i) for i in added]})
    except Exception:   # memory that cannot be read now was not written either: nothing to take back
        log.warning("could not take a failed turn back out of the memory", exc_info=True)


def _with_attachments(text: str, attachments: Sequence[str | Path]) -> str:
    paths = []
    for item in attachments:
        path = Path(item).expanduser().resolve()
        if not path.is_file():
            raise AssistantError(f"The attached file {item} does not exist; check the path.")
        paths.append(str(path))
    return f"{text}\n\n{ATTACHED_FILES} {', '.join(paths)}" if paths else text


def _text_of(msg: AIMessage) -> str:
    content = msg.content
    if isinstance(content, str):
        return content.strip()
    return "".join(p.get("text", "") for p in content if isinstance(p, dict)).strip()


def _step_from(msg: ToolMessage, call: tuple[str, dict]) -> ToolStep:
    artifact = msg.artifact if isinstance(msg.artifact, dict) else {}
    files = tuple(
        OutputFile(path=Path(f["path"]), kind=f["kind"], description=f.get("description", "")) for f in artifact.get("files", [])
    )
    return ToolStep(
        name=call[0],
        arguments=dict(call[1]),
        summary=str(msg.content),
        ok=msg.status != "error",
        display=artifact.get("display", ""),
        files=files,
    )


def _explain(exc: Exception, settings: Settings) -> Exception:
    """Turn a chat-service or memory failure into one sentence naming the setting or file to fix."""
    if isinstance(exc, sqlite3.DatabaseError):
        return store_error(settings.memory_db, "conversation memory", exc)
    explained = explain_chat_error(exc, base_url=settings.base_url, model=settings.model,
                                   timeout=settings.request_timeout)
    return AssistantError(str(explained)) if isinstance(explained, LLMConfigError) else explained
