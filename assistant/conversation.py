"""What a conversation remembers about the music, per thread: the current song, the last clip heard,
the last chords and the last lyrics written.

It lives in ``memory.sqlite`` beside the chat memory (table ``music_state``), so it survives a
restart, and each thread has its own row: threads never see each other's music. The model is
shown a compact summary at the start of every turn (:func:`state_message`); the ``recall`` tool
answers questions from it (:mod:`assistant.recall`); ``revise_song`` edits the current song.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from assistant.tool_calls import STATE_MESSAGE
from core.errors import ToolError
from core.files import open_sqlite, store_error
from tools.song.song import Song, load_song

WHAT = "conversation memory"
_SCHEMA = """CREATE TABLE IF NOT EXISTS music_state (
    thread_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
)"""


@dataclass(frozen=True)
class ClipMemory:
    """The last clip analysed or asked about, and the facts measured in it."""

    path: str
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChordsMemory:
    """The last chords suggested or rendered."""

    chords: str                      # "C G Am F" (bars joined; two chords in a bar as "C,G")
    key: str = ""
    genre: str = ""
    source: str = "suggested"        # suggested or rendered


@dataclass(frozen=True)
class LyricsMemory:
    """The last lyrics written on their own (not as part of a song)."""

    title: str
    text: str
    prompt: str = ""
    genre: str | None = None
    mood: str | None = None


@dataclass(frozen=True)
class ThreadState:
    """One thread's music: the current song's folder (its version), the last clip, chords and lyrics."""

    song: str | None = None
    clip: ClipMemory | None = None
    chords: ChordsMemory | None = None
    lyrics: LyricsMemory | None = None
    history: tuple[str, ...] = field(default=(), repr=False)   # what was made last, newest last (for "that")

    @property
    def empty(self) -> bool:
        return not (self.song or self.clip or self.chords or self.lyrics)

    def current_song(self) -> Song:
        """The song this conversation is about. Raises ToolError when there is none yet."""
        if not self.song:
            raise ToolError("There is no song in this conversation yet; ask me to write one first.")
        if not (Path(self.song) / "song.json").is_file():
            raise ToolError(f"The song's folder {self.song} is gone; ask me to write a new song.")
        return load_song(self.song)

    def last_made(self) -> str | None:
        """What "that" most likely means: song, clip, chords or lyrics, whichever came last."""
        return self.history[-1] if self.history else None

    def summary(self) -> str:
        """A few lines the model reads at the start of every turn (well under 200 tokens)."""
        lines = []
        if self.song:
            try:
                s = self.current_song()
                lines.append(f'Current song: "{s.title}" (version {s.version}): {s.genre}, {s.key}, {s.tempo:g} BPM, '
                             f"{s.meter}, {s.duration_seconds:.0f} s, {', '.join(s.instruments)}; sections "
                             f"{', '.join(dict.fromkeys(x.label for x in s.sections))}.")
            except ToolError:
                pass
        if self.clip:
            lines.append(f"Last clip: {Path(self.clip.path).name}" + (
                f" ({' '.join(f for f in self.clip.facts if f.startswith(('Tempo', 'Key')))})" if self.clip.facts else ""))
        if self.chords:
            lines.append(f"Last chords {self.chords.source}: {self.chords.chords}"
                         + (f" ({self.chords.key})" if self.chords.key else ""))
        if self.lyrics:
            lines.append(f'Last lyrics written: "{self.lyrics.title}".')
        if not lines:
            return ""
        if self.song:
            lines.append('A follow-up that changes the current song ("faster", "piano only", "new chords for the chorus", '
                         '"go back") is revise_song, not a new song.')
        lines.append("A question about what is listed here is recall.")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ThreadState":
        data: dict[str, Any] = json.loads(text)
        return cls(
            song=data.get("song"),
            clip=ClipMemory(data["clip"]["path"], tuple(data["clip"]["facts"])) if data.get("clip") else None,
            chords=ChordsMemory(**data["chords"]) if data.get("chords") else None,
            lyrics=LyricsMemory(**data["lyrics"]) if data.get("lyrics") else None,
            history=tuple(data.get("history", ())),
        )


class ThreadStates:
    """The music state of every thread, in one SQLite file (one transaction per change)."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path).expanduser()
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed, or rolled back on an error), then closed; a damaged or
        unreachable file is a StoreError naming it."""
        conn = open_sqlite(self.db_path, WHAT, timeout=30)
        try:
            with conn:
                conn.execute("PRAGMA journal_mode=WAL")
                yield conn
        except sqlite3.DatabaseError as exc:
            raise store_error(self.db_path, WHAT, exc) from exc
        finally:
            conn.close()

    def get(self, thread_id: str) -> ThreadState:
        """The thread's state (empty for a new thread)."""
        with self._connect() as conn:
            row = conn.execute("SELECT state FROM music_state WHERE thread_id = ?", (thread_id,)).fetchone()
        return ThreadState.from_json(row[0]) if row else ThreadState()

    def remember(self, thread_id: str, **changes: Any) -> ThreadState:
        """Store ``changes`` (song=..., clip=..., chords=..., lyrics=...) for the thread and return the new state."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT state FROM music_state WHERE thread_id = ?", (thread_id,)).fetchone()
            state = ThreadState.from_json(row[0]) if row else ThreadState()
            made = tuple(k for k in ("song", "clip", "chords", "lyrics") if k in changes)
            state = replace(state, **changes, history=(*[h for h in state.history if h not in made], *made))
            conn.execute("INSERT INTO music_state (thread_id, state, updated) VALUES (?, ?, ?) "
                         "ON CONFLICT(thread_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                         (thread_id, state.to_json(), time.time()))
        return state


def state_message(state: ThreadState) -> HumanMessage | None:
    """The summary the model reads before the user's message, or None when there is nothing to remember."""
    text = state.summary()
    return HumanMessage(f"(What we have made so far in this conversation.)\n{text}", name=STATE_MESSAGE) if text else None
