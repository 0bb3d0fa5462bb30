"""Ratings users give to songs and progressions (CLI ``bandmate rate``, bot reactions), kept in SQLite.

The file is ``<home>/feedback.sqlite``; every write is one transaction. ``bandmate
train reward`` reads the ratings back (:func:`load_ratings`) to teach the reward
model what people like. A person has one rating per rated message: rating again
replaces it, and taking a reaction back removes it (:func:`remove_rating`).

``chords`` is stored as JSON: either a list of chord symbols (``["C", "G", "Am", "F"]``)
or a song's chords as :func:`song_chords` reads them from a song folder (a :class:`SongChords`,
stored as ``{"key": "G major", "genre": "folk", "sections": [{"kind", "bars", "romans", "chords"}],
"generator": ...}``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import ToolError
from core.files import open_sqlite, store_error

DB_NAME = "feedback.sqlite"
WHAT = "ratings store"
_SCHEMA = """CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    thread_id TEXT,
    message_id TEXT,
    user_id TEXT,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    song_folder TEXT,
    chords_json TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (source, message_id, user_id)
)"""


@dataclass(frozen=True)
class SectionChords:
    """One section of a song as rated: its kind, length in bars, Roman numerals and chord symbols."""

    kind: str
    bars: int
    romans: tuple[str, ...]
    chords: tuple[str, ...]


@dataclass(frozen=True)
class SongChords:
    """The chords of a song folder: what a rating of the song is a rating of."""

    key: str
    genre: str
    sections: tuple[SectionChords, ...]
    generator: str = ""        # the chord generator that wrote them ("" for songs from before it was recorded)

    def to_dict(self) -> dict[str, Any]:
        """The JSON a rating stores (what the reward trainer reads back)."""
        return {"key": self.key, "genre": self.genre,
                "sections": [{**asdict(s), "romans": list(s.romans), "chords": list(s.chords)} for s in self.sections],
                "generator": self.generator}


@dataclass(frozen=True)
class Rating:
    """One rating: +1 (liked) or -1, of the chords it was given for."""

    id: int
    source: str
    rating: int
    chords: Any
    thread_id: str | None
    message_id: str | None
    user_id: str | None
    song_folder: str | None
    created_at: str


def _connect(home: str | Path) -> sqlite3.Connection:
    path = Path(home).expanduser() / DB_NAME
    conn = open_sqlite(path, WHAT, timeout=30)
    try:
        conn.execute(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise store_error(path, WHAT, exc) from exc
    return conn


@contextlib.contextmanager
def _session(home: str | Path) -> Iterator[sqlite3.Connection]:
    """One transaction on the ratings store, then closed; a failure mid-way is a StoreError naming the file."""
    conn = _connect(home)
    try:
        with conn:
            yield conn
    except sqlite3.DatabaseError as exc:
        raise store_error(Path(home).expanduser() / DB_NAME, WHAT, exc) from exc
    finally:
        conn.close()


def record_rating(home: str | Path, *, source: str, rating: int, chords: SongChords | list[str] | dict | None,
                  thread_id: str | None = None,
                  message_id: str | None = None, user_id: str | None = None, song_folder: str | None = None) -> int:
    """Store a rating (+1 or -1) of ``chords`` and return its id.

    ``chords`` is a song's :class:`SongChords`, a list of chord symbols, or their stored JSON form; it may
    be None only for a rated song folder (a song without a song.json). A person has one rating of a thing:
    rating the same message (a bot reply), or without a message the same song folder (or the same chords),
    again replaces the rating.
    """
    if rating not in (1, -1):
        raise ToolError(f"A rating is +1 (up) or -1 (down), not {rating!r}.")
    if not chords and not song_folder:
        raise ToolError("There are no chords to rate; rate a song folder or a progression.")
    folder = str(song_folder) if song_folder else None
    chords_json = json.dumps(chords.to_dict() if isinstance(chords, SongChords) else chords) if chords else None
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with _session(home) as conn:  # one transaction
        if message_id is not None:
            same = "source = ? AND message_id = ? AND user_id IS ?", (source, message_id, user_id)
        elif folder is not None:
            same = ("source = ? AND message_id IS NULL AND user_id IS ? AND song_folder = ?",
                    (source, user_id, folder))
        else:
            same = ("source = ? AND message_id IS NULL AND user_id IS ? AND song_folder IS NULL AND chords_json = ?",
                    (source, user_id, chords_json))
        row = conn.execute(f"SELECT id FROM ratings WHERE {same[0]} ORDER BY id DESC LIMIT 1", same[1]).fetchone()
        if row is not None:
            conn.execute("UPDATE ratings SET rating = ?, thread_id = ?, song_folder = ?, chords_json = ?, created_at = ?"
                         " WHERE id = ?", (rating, thread_id, folder, chords_json, now, row[0]))
            conn.execute(f"DELETE FROM ratings WHERE {same[0]} AND id != ?", (*same[1], row[0]))  # older duplicates
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO ratings (source, thread_id, message_id, user_id, rating, song_folder, chords_json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (source, thread_id, message_id, user_id, rating, folder, chords_json, now))
        return int(cursor.lastrowid)


def remove_rating(home: str | Path, *, source: str, message_id: str, user_id: str, rating: int) -> bool:
    """Forget a person's rating of a message (a reaction taken back); True if one was removed."""
    if not (Path(home).expanduser() / DB_NAME).exists():
        return False
    with _session(home) as conn:
        cursor = conn.execute("DELETE FROM ratings WHERE source = ? AND message_id = ? AND user_id = ? AND rating = ?",
                              (source, message_id, user_id, rating))
    return cursor.rowcount > 0


def load_ratings(home: str | Path) -> list[Rating]:
    """Every stored rating, oldest first (an empty list when there is no store yet)."""
    if not (Path(home).expanduser() / DB_NAME).exists():
        return []
    with _session(home) as conn:
        rows = conn.execute("SELECT id, source, rating, chords_json, thread_id, message_id, user_id, song_folder,"
                            " created_at FROM ratings ORDER BY id").fetchall()
    out = []
    for row in rows:
        try:
            chords = json.loads(row[3]) if row[3] is not None else None
        except json.JSONDecodeError:
            continue  # a row another writer damaged is skipped, not fatal
        out.append(Rating(row[0], row[1], row[2], chords, *row[4:]))
    return out


def song_chords(song_folder: str | Path, *, missing_ok: bool = False) -> SongChords | None:
    """The chords of a song folder written by :func:`tools.song.compose.compose_song` (its ``song.json``).

    With ``missing_ok``, a folder without a readable song.json gives None instead of an error.
    """
    path = Path(song_folder).expanduser() / "song.json"
    if missing_ok:
        try:
            return song_chords(song_folder)
        except ToolError:
            return None
    if not path.is_file():
        raise ToolError(f"{song_folder} has no song.json; give the folder of a song bandmate wrote.")
    try:
        song = json.loads(path.read_text(encoding="utf-8"))
        sections = tuple(SectionChords(s["kind"], s["bars"], tuple(s["romans"]), tuple(s["chords"]))
                         for s in song["sections"])
        return SongChords(song["key"], song["genre"], sections, song.get("chord_generator", ""))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ToolError(f"{path} is not a song file bandmate can read; rate a folder compose wrote.") from exc
