"""Human feedback from the chat services: 👍/👎 on a posted song becomes a rating.

The ratings themselves live in the one store the reward trainer reads
(:mod:`tools.feedback`, ``<BANDMATE_HOME>/feedback.sqlite``, table ``ratings``).
This module adds what only the bots need: the ``posted_songs`` table, which
remembers which chat message carries which song folder, so a reaction that arrives
after a restart still finds its song.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from tools import feedback as store
from tools.feedback import Rating

Source = Literal["discord", "slack", "cli"]

_POSTED_SONGS = """
create table if not exists posted_songs (
    source text not null,
    message_id text not null,
    thread_id text not null,
    song_folder text not null,
    created_at text not null,
    primary key (source, message_id)
)
"""


@dataclass(frozen=True)
class PostedSong:
    """A chat message that carries a generated song."""

    source: str
    message_id: str
    thread_id: str
    song_folder: str


class FeedbackStore:
    """Posted songs and their ratings under one BANDMATE_HOME; every write is one transaction."""

    def __init__(self, home: str | Path) -> None:
        self.home = Path(home).expanduser()
        self.home.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(_POSTED_SONGS)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.home / store.DB_NAME, timeout=30)
        try:
            with conn:  # commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    def remember_song(self, source: Source, message_id: str, thread_id: str, song_folder: str | Path) -> None:
        """Note that ``message_id`` carries the song in ``song_folder``."""
        with self._connect() as conn:
            conn.execute("insert or replace into posted_songs values (?, ?, ?, ?, ?)",
                         (source, str(message_id), thread_id, str(song_folder),
                          datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def song_for(self, source: Source, message_id: str) -> PostedSong | None:
        """The song a message carries, if it carries one."""
        with self._connect() as conn:
            row = conn.execute("select source, message_id, thread_id, song_folder from posted_songs"
                               " where source = ? and message_id = ?", (source, str(message_id))).fetchone()
        return PostedSong(*row) if row else None

    def record_rating(self, source: Source, thread_id: str, message_id: str, user_id: str, rating: int,
                      song_folder: str | Path) -> Rating:
        """Store one person's rating of a song, replacing their earlier rating of the same message."""
        rating_id = store.record_rating(
            self.home, source=source, rating=rating, chords=store.song_chords(song_folder, missing_ok=True),
            thread_id=thread_id, message_id=str(message_id), user_id=str(user_id), song_folder=str(song_folder))
        return next(r for r in store.load_ratings(self.home) if r.id == rating_id)

    def remove_rating(self, source: Source, message_id: str, user_id: str, rating: int) -> bool:
        """Forget a rating when its reaction is taken back; True if one was removed."""
        return store.remove_rating(self.home, source=source, message_id=str(message_id), user_id=str(user_id),
                                   rating=rating)
