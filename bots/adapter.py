"""The one path every chat request takes, whatever the service: request -> assistant -> reply.

A service module (Discord, Slack) turns its event into a :class:`ChatRequest`
and a :class:`Surface` (how to show progress, post the reply, post an error),
then calls :meth:`BotCore.submit`. The core checks attachments, the rate and
queue limits, downloads files into the thread's folder, runs the assistant in a
worker thread (never on the event loop), throttles progress edits, renders the
reply for the service's limits, and remembers songs for 👍/👎 ratings.
This module must not import discord or slack.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from assistant.api import Assistant, AssistantError, Event, Reply
from bots.commands import check_attachment
from bots.config import BotSettings
from bots.dispatch import Dispatcher, Refusal, Ticket
from bots.feedback import FeedbackStore, Rating, Source
from bots.render import (
    RenderedReply,
    ServiceLimits,
    describe_step,
    render_reply,
    step_label,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingFile:
    """A file a person attached: its name, its declared size, and how to fetch its bytes to a path."""

    name: str
    size: int
    fetch: Callable[[Path], Awaitable[None]]


@dataclass(frozen=True)
class ChatRequest:
    """One thing a person asked: the text for the assistant and where it belongs."""

    text: str
    thread_id: str  # memory thread, e.g. discord:<channel id> or slack:<channel>:<thread ts>
    user_id: str
    scope: str  # queue scope: the Discord server / Slack workspace (or the DM)
    files: tuple[IncomingFile, ...] = ()


class Surface(Protocol):
    """Where one request's answer appears (a deferred interaction, a progress message in a thread)."""

    limits: ServiceLimits

    @property
    def answer_id(self) -> str | None:
        """The id of the message the answer will be (the progress message), when it is known before posting."""

    async def progress(self, text: str) -> None:
        """Show progress (edit the progress message)."""

    async def reply(self, rendered: RenderedReply) -> str | None:
        """Post the answer; return the id of the message carrying the files (for ratings)."""

    async def error(self, text: str) -> None:
        """Tell the person, in one short message, that the request failed and why."""


class ProgressView:
    """The progress message's text: queue position, then one line per tool as it starts and finishes."""

    def __init__(self, ahead: int = 0) -> None:
        self.ahead = ahead
        self.lines: list[str] = []
        self._running: list[tuple[str, int, float]] = []  # (tool, line index, start time)

    def apply(self, event: Event) -> None:
        """Update from an assistant event."""
        self.ahead = 0
        if event.kind == "tool_started" and event.tool:
            self._running.append((event.tool, len(self.lines), time.monotonic()))
            self.lines.append(f"⏳ {step_label(event.tool)}…")
        elif event.kind == "tool_finished" and event.step:
            match = next((r for r in self._running if r[0] == event.step.name), None)
            line = describe_step(event.step)
            if match is None:
                self.lines.append(line)
                return
            self._running.remove(match)
            self.lines[match[1]] = f"{line} ({time.monotonic() - match[2]:.1f} s)"

    def text(self) -> str:
        head = (f"🕒 Queued behind {self.ahead} earlier request{'s' if self.ahead > 1 else ''} here…"
                if self.ahead else "🎵 Working on it…")
        return "\n".join([head, *self.lines])


class ProgressThrottle:
    """Shows the newest progress text at most once per ``interval`` seconds, so edits respect rate limits."""

    def __init__(self, show: Callable[[str], Awaitable[None]], interval: float) -> None:
        self._show = show
        self.interval = interval
        self._latest = ""
        self._shown = ""
        self._last = float("-inf")
        self._task: asyncio.Task | None = None
        self._sending = False
        self.edits = 0

    def update(self, text: str) -> None:
        """Ask for ``text`` to be shown; it is, now or when the interval allows (newer text replaces older)."""
        self._latest = text
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def close(self) -> None:
        """Stop: a pending edit is dropped, one being sent is finished first."""
        if self._task is not None and not self._task.done():
            if self._sending:
                await asyncio.gather(self._task, return_exceptions=True)
            else:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def _flush(self) -> None:
        while self._latest != self._shown:
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            text = self._latest
            self._sending = True
            try:
                await self._show(text)
                self.edits += 1
            except Exception as exc:  # progress is best effort; the answer still comes
                log.warning("progress edit failed: %s", exc)
            finally:
                self._sending = False
                self._shown = text
                self._last = time.monotonic()


@dataclass
class BotCore:
    """What both bots share: the assistant, the worker threads, admission, and the feedback store."""

    assistant: Assistant
    settings: BotSettings
    source: Source
    feedback: FeedbackStore | None = None
    executor: ThreadPoolExecutor = field(init=False)
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(self.settings.workers, thread_name_prefix=f"bandmate-{self.source}")
        self.dispatcher = Dispatcher(
            workers=self.settings.workers, queue_limit=self.settings.queue_limit,
            rate_limit=self.settings.rate_limit, rate_window_seconds=self.settings.rate_window_seconds,
        )
        if self.feedback is None:
            self.feedback = FeedbackStore(self.assistant.settings.home_dir)

    async def warm_up(self) -> None:
        """Build the agent once before serving, so concurrent first requests don't race to build it, and load
        what songs use, so the first song is as quick as the next."""
        await asyncio.get_running_loop().run_in_executor(self.executor, partial(self.assistant.warm_up, songs=True))

    def close(self) -> None:
        """Stop the worker threads (running requests finish first)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    # -- requests -------------------------------------------------------------
    def check(self, request: ChatRequest) -> Ticket | Refusal:
        """Decide at once whether to take a request: attachments, the person's rate, the server's queue."""
        for f in request.files:
            problem = check_attachment(f.name, f.size, self.settings.max_attachment_bytes)
            if problem:
                return Refusal(problem)
        return self.dispatcher.reserve(request.scope, request.thread_id, request.user_id)

    def submit(self, ticket: Ticket, request: ChatRequest, surface: Surface) -> asyncio.Task:
        """Answer a reserved request in the background, in order within its conversation."""
        return self.dispatcher.start(ticket, lambda: self.answer(request, surface, ticket.ahead))

    async def answer(self, request: ChatRequest, surface: Surface, ahead: int = 0) -> None:
        """Run one request to the end; every failure becomes a short message to the person."""
        view = ProgressView(ahead)
        throttle = ProgressThrottle(surface.progress, self.settings.progress_interval_seconds)
        if ahead:
            throttle.update(view.text())
        try:
            paths = await self._download(request)
            reply: Reply | None = None
            async for event in self.stream(request.text, request.thread_id, paths):
                if event.kind == "reply":
                    reply = event.reply
                elif event.kind in ("tool_started", "tool_finished"):
                    view.apply(event)
                    throttle.update(view.text())
            await throttle.close()
            assert reply is not None
            rendered = await asyncio.to_thread(render_reply, reply, surface.limits)
            known = surface.answer_id  # remembered first, so a quick 👍 during the upload still counts
            if rendered.song_folder is not None and known:
                await self._remember(known, request.thread_id, rendered.song_folder)
            message_id = await surface.reply(rendered)
            self.assistant.read_ahead_in_background(request.thread_id)   # while the person reads the reply
            if rendered.song_folder is not None and message_id and message_id != known:
                await self._remember(message_id, request.thread_id, rendered.song_folder)
        except AssistantError as exc:
            await throttle.close()
            await self._tell(surface, str(exc))
        except Exception as exc:
            await throttle.close()
            log.exception("request in %s failed", request.thread_id)
            await self._tell(surface, f"Sorry, something went wrong on my side ({type(exc).__name__}); please try again.")

    async def stream(self, text: str, thread_id: str, attachments: list[Path]) -> AsyncIterator[Event]:
        """The assistant's events for one message, produced in a worker thread and delivered on the loop."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        done = object()

        def work() -> None:
            try:
                for event in self.assistant.stream(text, thread_id=thread_id, attachments=attachments):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as exc:  # handed to the loop and raised there
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        future = loop.run_in_executor(self.executor, work)
        while (item := await queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
        await future

    async def rate(self, message_id: str, user_id: str, rating: int, *, remove: bool = False) -> Rating | None:
        """Store (or take back) a 👍/👎 on a message; None when the message carries no song of ours."""
        song = await asyncio.to_thread(self.feedback.song_for, self.source, message_id)
        if song is None:
            return None
        if remove:
            await asyncio.to_thread(self.feedback.remove_rating, self.source, message_id, user_id, rating)
            return None
        return await asyncio.to_thread(self.feedback.record_rating, self.source, song.thread_id, message_id, user_id,
                                   rating, song.song_folder)

    def uploads_dir(self, thread_id: str) -> Path:
        """Where a conversation's attachments are saved: ``uploads/`` in the thread's output folder."""
        from assistant.context import ToolContext

        ctx = ToolContext(outputs=self.assistant.settings.outputs, text_generator=lambda: None)  # only for the folder name
        return ctx.thread_dir(thread_id) / "uploads"

    async def _download(self, request: ChatRequest) -> list[Path]:
        if not request.files:
            return []
        folder = self.uploads_dir(request.thread_id)
        await asyncio.to_thread(lambda: folder.mkdir(parents=True, exist_ok=True))
        paths = []
        for f in request.files:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(f.name).name).strip("._") or "attachment"
            path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}"
            try:
                await f.fetch(path)
            except Exception as exc:
                raise AssistantError(f"I couldn't download {f.name} ({type(exc).__name__}); please send it again.") from exc
            size = path.stat().st_size if path.exists() else 0
            if size > self.settings.max_attachment_bytes:
                path.unlink(missing_ok=True)
                raise AssistantError(check_attachment(f.name, size, self.settings.max_attachment_bytes) or "")
            paths.append(path)
        return paths

    async def _remember(self, message_id: str, thread_id: str, folder: Path) -> None:
        await asyncio.to_thread(self.feedback.remember_song, self.source, message_id, thread_id, folder)

    async def _tell(self, surface: Surface, text: str) -> None:
        try:
            await surface.error(text)
        except Exception:
            log.exception("could not post the error message %r", text)
