"""The clip table: SQLite, the index's source of truth.

One row per clip (path, content hash, duration, tags, caption, analysis JSON, added time, and
both vectors as float32 blobs). Row ids are the FAISS ids. Every add or removal also appends to
``changes``, so a FAISS file saved at change ``seq`` can be brought up to date (or rebuilt) from
this table alone: a crash between the SQLite commit and the FAISS save loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.files import open_sqlite, store_error

WHAT = "clip index"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    duration REAL NOT NULL,
    tags TEXT NOT NULL,
    caption TEXT NOT NULL,
    caption_model TEXT NOT NULL,
    analysis TEXT NOT NULL,
    added_at REAL NOT NULL,
    text_vec BLOB NOT NULL,
    audio_vec BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    clip_id INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'remove'))
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ClipRow:
    """A stored clip (vectors left out; :meth:`ClipStore.vectors` reads those)."""

    id: int
    path: str
    content_hash: str
    size: int
    mtime_ns: int
    duration: float
    tags: list[str]
    caption: str
    caption_model: str
    added_at: float


@dataclass(frozen=True)
class NewClip:
    """Everything needed to insert a clip."""

    path: str
    content_hash: str
    size: int
    mtime_ns: int
    duration: float
    tags: list[str]
    caption: str
    caption_model: str
    analysis: dict
    text_vec: np.ndarray
    audio_vec: np.ndarray


_COLUMNS = "id, path, content_hash, size, mtime_ns, duration, tags, caption, caption_model, added_at"


class ClipStore:
    """SQLite access for the clip index. WAL mode: readers see the last commit while a writer works."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the clip table at ``path``; a damaged or unreachable file is a StoreError naming it."""
        self.path = path
        self.db = open_sqlite(path, WHAT, timeout=30, isolation_level=None)   # explicit transactions below
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise store_error(path, WHAT, exc) from exc

    def close(self) -> None:
        self.db.close()

    # -- reads
    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM clips").fetchone()[0]

    def last_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]

    def by_path(self, path: str) -> ClipRow | None:
        return self._one("WHERE path = ?", path)

    def by_hash(self, digest: str) -> ClipRow | None:
        return self._one("WHERE content_hash = ?", digest)

    def by_id(self, clip_id: int) -> ClipRow | None:
        return self._one("WHERE id = ?", clip_id)

    def rows(self, ids: Iterable[int] | None = None) -> list[ClipRow]:
        """All clips, or those with ``ids`` (in that order, missing ones dropped)."""
        if ids is None:
            return [_row(r) for r in self.db.execute(f"SELECT {_COLUMNS} FROM clips ORDER BY id")]
        found = {r.id: r for r in self._many(list(ids))}
        return [found[i] for i in ids if i in found]

    def analysis(self, clip_id: int) -> dict:
        row = self.db.execute("SELECT analysis FROM clips WHERE id = ?", (clip_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def vectors(self, kind: str, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of ``kind`` "text" or "audio", all clips when ``ids`` is None."""
        column = {"text": "text_vec", "audio": "audio_vec"}[kind]
        if ids is None:
            rows = self.db.execute(f"SELECT id, {column} FROM clips ORDER BY id").fetchall()
        else:
            rows = [r for chunk in _chunks(ids) for r in self.db.execute(
                f"SELECT id, {column} FROM clips WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id", chunk)]
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return (np.array([r[0] for r in rows], np.int64),
                np.stack([np.frombuffer(r[1], np.float32) for r in rows]))

    def changes_since(self, seq: int) -> tuple[list[int], list[int]]:
        """(ids added, ids removed) after change ``seq``."""
        added, removed = [], []
        for clip_id, op in self.db.execute("SELECT clip_id, op FROM changes WHERE seq > ? ORDER BY seq", (seq,)):
            (added if op == "add" else removed).append(clip_id)
        return added, removed

    def paths(self) -> Iterator[tuple[int, str]]:
        yield from self.db.execute("SELECT id, path FROM clips ORDER BY id").fetchall()

    def total_duration(self) -> float:
        return self.db.execute("SELECT COALESCE(SUM(duration), 0) FROM clips").fetchone()[0]

    # -- writes (each one transaction)
    def insert(self, clip: NewClip, *, replaces: int | None = None) -> int:
        """Insert ``clip`` (removing clip ``replaces`` in the same transaction) and return its id."""
        with self._transaction():
            if replaces is not None:
                self._delete(replaces)
            cur = self.db.execute(
                "INSERT INTO clips (path, content_hash, size, mtime_ns, duration, tags, caption, caption_model, "
                "analysis, added_at, text_vec, audio_vec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (clip.path, clip.content_hash, clip.size, clip.mtime_ns, clip.duration, json.dumps(clip.tags),
                 clip.caption, clip.caption_model, json.dumps(clip.analysis), time.time(),
                 np.asarray(clip.text_vec, np.float32).tobytes(), np.asarray(clip.audio_vec, np.float32).tobytes()))
            clip_id = cur.lastrowid
            self.db.execute("INSERT INTO changes (clip_id, op) VALUES (?, 'add')", (clip_id,))
        return clip_id

    def move(self, clip_id: int, path: str, size: int, mtime_ns: int) -> None:
        """Record that a clip's file now lives at ``path`` (same content, so the vectors stay)."""
        with self._transaction():
            self.db.execute("UPDATE clips SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                            (path, size, mtime_ns, clip_id))

    def delete(self, ids: Iterable[int]) -> int:
        """Remove clips; returns how many existed."""
        n = 0
        with self._transaction():
            for clip_id in ids:
                n += self._delete(clip_id)
        return n

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- helpers
    def _delete(self, clip_id: int) -> int:
        if self.db.execute("DELETE FROM clips WHERE id = ?", (clip_id,)).rowcount:
            self.db.execute("INSERT INTO changes (clip_id, op) VALUES (?, 'remove')", (clip_id,))
            return 1
        return 0

    def snapshot(self) -> "_Transaction":
        """A read transaction: every query inside sees the same committed state."""
        return _Transaction(self.db, "BEGIN")

    def _transaction(self):
        return _Transaction(self.db)

    def _one(self, where: str, value) -> ClipRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM clips {where}", (value,)).fetchone()
        return _row(row) if row else None

    def _many(self, ids: list[int]) -> list[ClipRow]:
        return [_row(r) for chunk in _chunks(ids) for r in self.db.execute(
            f"SELECT {_COLUMNS} FROM clips WHERE id IN ({','.join('?' * len(chunk))})", chunk)]


class _Transaction:
    """BEGIN (IMMEDIATE: take the write lock now) ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> None:
        self.db, self.begin = db, begin

    def __enter__(self) -> None:
        self.db.execute(self.begin)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _row(r) -> ClipRow:
    return ClipRow(id=r[0], path=r[1], content_hash=r[2], size=r[3], mtime_ns=r[4], duration=r[5],
                   tags=json.loads(r[6]), caption=r[7], caption_model=r[8], added_at=r[9])


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield [int(x) for x in ids[i:i + size]]
