"""Human feedback on generated songs: 👍/👎 ratings in ``<BANDMATE_HOME>/feedback.sqlite``.

The ``ratings`` table is what a chord reward model trains on: one row per person
per song (a changed reaction replaces the earlier one), with the song's chord
progression copied from its ``song.json`` when it has one. The ``posted_songs``
table remembers which chat message carries which song, so a reaction that
arrives after a restart still finds its song.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

Source = Literal["discord", "slack", "cli"]

_SCHEMA = """
create table if not exists ratings (
    id integer primary key autoincrement,
    source text not null check (source in ('discord', 'slack', 'cli')),
    thread_id text not null,
    message_id text not null,
    user_id text not null,
    rating integer not null check (rating in (1, -1)),
    song_folder text not null,
    chords_json text,
    created_at text not null,
    unique (source, message_id, user_id)
);
create table if not exists posted_songs (
    source text not null,
    message_id text not null,
    thread_id text not null,
    song_folder text not null,
    created_at text not null,
    primary key (source, message_id)
);
"""


@dataclass(frozen=True)
class Rating:
    """One person's 👍 (+1) or 👎 (-1) on one generated song."""

    id: int
    source: str
    thread_id: str
    message_id: str
    user_id: str
    rating: int
    song_folder: str
    chords_json: str | None
    created_at: str

    @property
    def chords(self) -> list[str] | None:
        """The rated chord progression, in play order, when the song had one."""
        return json.loads(self.chords_json) if self.chords_json else None


@dataclass(frozen=True)
class PostedSong:
    """A chat message that carries a generated song."""

    source: str
    message_id: str
    thread_id: str
    song_folder: str


def feedback_db(home: str | Path | None = None) -> Path:
    """The feedback file under BANDMATE_HOME (or ``home``)."""
    if home is None:
        from assistant.config import get_settings

        home = get_settings().home
    return Path(home).expanduser() / "feedback.sqlite"


def song_chords(song_folder: str | Path) -> list[str] | None:
    """The chord progression of a song folder, from its song.json sections, or None when it has none."""
    path = Path(song_folder) / "song.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    chords = [str(c) for s in data.get("sections", []) if isinstance(s, dict) for c in s.get("chords", [])]
    return chords or None


class FeedbackStore:
    """The SQLite file of ratings and posted songs; every write is one transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:  # commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    def remember_song(self, source: Source, message_id: str, thread_id: str, song_folder: str | Path) -> None:
        """Note that ``message_id`` carries the song in ``song_folder``."""
        with self._connect() as conn:
            conn.execute(
                "insert or replace into posted_songs values (?, ?, ?, ?, ?)",
                (source, str(message_id), thread_id, str(song_folder), _now()),
            )

    def song_for(self, source: Source, message_id: str) -> PostedSong | None:
        """The song a message carries, if it carries one."""
        with self._connect() as conn:
            row = conn.execute(
                "select source, message_id, thread_id, song_folder from posted_songs where source = ? and message_id = ?",
                (source, str(message_id)),
            ).fetchone()
        return PostedSong(*row) if row else None

    def record_rating(
        self, source: Source, thread_id: str, message_id: str, user_id: str, rating: int, song_folder: str | Path
    ) -> Rating:
        """Store one person's rating of a song, replacing their earlier rating of the same message."""
        if rating not in (1, -1):
            raise ValueError(f"A rating is +1 or -1, not {rating!r}.")
        chords = song_chords(song_folder)
        with self._connect() as conn:
            conn.execute(
                "insert into ratings (source, thread_id, message_id, user_id, rating, song_folder, chords_json, created_at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (source, message_id, user_id) do update set "
                "rating = excluded.rating, created_at = excluded.created_at",
                (source, thread_id, str(message_id), str(user_id), rating, str(song_folder),
                 json.dumps(chords) if chords else None, _now()),
            )
            row = conn.execute(
                "select * from ratings where source = ? and message_id = ? and user_id = ?",
                (source, str(message_id), str(user_id)),
            ).fetchone()
        return Rating(*row)

    def remove_rating(self, source: Source, message_id: str, user_id: str, rating: int) -> bool:
        """Forget a rating when its reaction is taken back; True if one was removed."""
        with self._connect() as conn:
            cur = conn.execute(
                "delete from ratings where source = ? and message_id = ? and user_id = ? and rating = ?",
                (source, str(message_id), str(user_id), rating),
            )
        return cur.rowcount > 0

    def load_ratings(self) -> list[Rating]:
        """Every rating, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("select * from ratings order by id").fetchall()
        return [Rating(*row) for row in rows]


def record_rating(
    source: Source, thread_id: str, message_id: str, user_id: str, rating: int, song_folder: str | Path,
    *, home: str | Path | None = None,
) -> Rating:
    """Store a rating in ``<home>/feedback.sqlite`` (home defaults to BANDMATE_HOME)."""
    return FeedbackStore(feedback_db(home)).record_rating(source, thread_id, message_id, user_id, rating, song_folder)


def load_ratings(home: str | Path | None = None) -> list[Rating]:
    """Every stored rating, oldest first, from ``<home>/feedback.sqlite`` (home defaults to BANDMATE_HOME)."""
    path = feedback_db(home)
    return FeedbackStore(path).load_ratings() if path.exists() else []


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
