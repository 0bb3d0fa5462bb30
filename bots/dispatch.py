"""Who gets served when: a per-person rate limit, a per-server queue limit, and order within a conversation.

A request is first *reserved* (a quick, synchronous yes or no with a friendly
reason), so a bot can answer the chat service within its deadline either way;
then it is *started* and runs after every earlier request of its conversation,
with at most ``workers`` requests running at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """Why a request was not taken, in words for the person who made it."""

    message: str


@dataclass(eq=False)
class Ticket:
    """A reserved place: which server and conversation it belongs to, and how many requests are ahead of it there."""

    scope: str
    conversation: str
    user: str
    ahead: int
    _after: asyncio.Future | None = field(default=None, repr=False)
    _done: asyncio.Future | None = field(default=None, repr=False)
    released: bool = False


class Dispatcher:
    """Admission control and ordering for one bot."""

    def __init__(
        self,
        *,
        workers: int,
        queue_limit: int,
        rate_limit: int,
        rate_window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue_limit = queue_limit
        self.rate_limit = rate_limit
        self.rate_window = rate_window_seconds
        self._clock = clock
        self._slots = asyncio.Semaphore(workers)
        self._outstanding: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()
        self._last_done: dict[str, asyncio.Future] = {}
        self._recent: dict[str, deque[float]] = {}
        self._tasks: set[asyncio.Task] = set()

    def outstanding(self, scope: str) -> int:
        """Requests waiting or running in one server / workspace."""
        return self._outstanding[scope]

    def reserve(self, scope: str, conversation: str, user: str) -> Ticket | Refusal:
        """Take a place for a request, or say kindly why not (too many requests from this person, or here)."""
        now = self._clock()
        recent = self._recent.setdefault(user, deque())
        while recent and now - recent[0] >= self.rate_window:
            recent.popleft()
        if len(recent) >= self.rate_limit:
            wait = math.ceil(self.rate_window - (now - recent[0]))
            return Refusal(
                f"Easy there! You can ask me {self.rate_limit} things every {self.rate_window:g} seconds; "
                f"try again in {wait} s."
            )
        if self._outstanding[scope] >= self.queue_limit:
            return Refusal(
                f"I'm already working on {self._outstanding[scope]} requests here, which is my limit; "
                "please try again in a minute."
            )
        recent.append(now)
        loop = asyncio.get_running_loop()
        ticket = Ticket(scope, conversation, user, ahead=self._pending[conversation],
                        _after=self._last_done.get(conversation), _done=loop.create_future())
        self._last_done[conversation] = ticket._done
        self._outstanding[scope] += 1
        self._pending[conversation] += 1
        return ticket

    def start(self, ticket: Ticket, job: Callable[[], Awaitable[None]]) -> asyncio.Task:
        """Run ``job`` after the earlier requests of its conversation, when a worker slot is free."""
        task = asyncio.create_task(self._run(ticket, job), name=f"bandmate:{ticket.conversation}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def release(self, ticket: Ticket) -> None:
        """Give a place back (the request finished, or was never started)."""
        if ticket.released:
            return
        ticket.released = True
        self._outstanding[ticket.scope] -= 1
        self._pending[ticket.conversation] -= 1
        if self._outstanding[ticket.scope] <= 0:
            del self._outstanding[ticket.scope]
        if self._pending[ticket.conversation] <= 0:
            del self._pending[ticket.conversation]
            self._last_done.pop(ticket.conversation, None)
        if ticket._done is not None and not ticket._done.done():
            ticket._done.set_result(None)

    async def drain(self) -> None:
        """Wait until every started request has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, ticket: Ticket, job: Callable[[], Awaitable[None]]) -> None:
        try:
            if ticket._after is not None:
                await asyncio.shield(ticket._after)
            async with self._slots:
                await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # the job reports its own errors to the person; this is a last resort
            log.exception("request in %s failed", ticket.conversation)
        finally:
            self.release(ticket)
