"""Ingest planning and the local workers: which files are new, changed, moved or duplicates, and
describing the new ones in a process pool (``index.distributed`` does the same on Ray).

Planning is cheap and runs in the writing process: a file whose path, size and mtime match a
stored clip is skipped without reading it; anything else is hashed, and the hash decides
between "moved" (same content, old path gone), "duplicate" (same content still at another
path), "changed" (new content at a known path) and "new".
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TextIO

from index.features import Described, Failed, content_hash, describe_audio
from index.store import ClipStore

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one file and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Job:
    """A file to analyse; ``replaces`` is the id of the clip its path held before (changed content)."""

    path: str
    content_hash: str
    replaces: int | None = None


@dataclass
class Plan:
    """The work an ``add`` has to do after looking at every file."""

    jobs: list[Job] = field(default_factory=list)
    moves: list[tuple[int, str, str]] = field(default_factory=list)     # clip id, old path, new path
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)


@dataclass
class FoundFiles:
    """What :func:`find_audio_files` found: regular audio files to look at, names that matched nothing,
    and entries left out with the reason (FIFOs, devices, sockets: reading one could wait forever)."""

    files: list[Path] = field(default_factory=list)
    missing: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)


def find_audio_files(paths: Iterable[str | Path]) -> FoundFiles:
    """Files named directly plus audio files under named folders (recursive, hidden ones left out), sorted;
    only regular files (or links to them) are kept."""
    found = FoundFiles()
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [Path(root) / n for n in sorted(names)
                          if not n.startswith(".") and Path(n).suffix.lower() in AUDIO_SUFFIXES]
        elif path.exists():
            files.append(path)
        else:
            found.missing.append(Outcome(str(path), f"There is no file or folder at {path}."))
    for path in sorted(dict.fromkeys(files)):
        kind = _not_regular(path)
        if kind:
            found.skipped.append(Outcome(str(path), f"{path.name} is {kind}, not a regular file; it was not read."))
        else:
            found.files.append(path)
    return found


def _not_regular(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file ("a FIFO (named pipe)", "a device"...), else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None                     # plan_add reports why it cannot be read
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def plan_add(store: ClipStore, files: list[Path]) -> Plan:
    """Decide what each file needs (see the module docstring)."""
    plan = Plan()
    planned: dict[str, str] = {}                     # hash -> path, for duplicates within this call
    for path in files:
        key = str(path)
        try:
            stat = path.stat()
            row = store.by_path(key)
            if row and row.size == stat.st_size and row.mtime_ns == stat.st_mtime_ns:
                plan.skipped.append(Outcome(key, "already indexed, unchanged"))
                continue
            digest = content_hash(path)
        except OSError as exc:
            plan.failed.append(Outcome(key, f"{path.name} could not be read ({exc.strerror or exc})."))
            continue
        if row and row.content_hash == digest:                 # touched, not changed
            store.move(row.id, key, stat.st_size, stat.st_mtime_ns)
            plan.skipped.append(Outcome(key, "already indexed, unchanged"))
            continue
        same = store.by_hash(digest)
        if same is not None:
            if Path(same.path).exists():
                plan.skipped.append(Outcome(key, f"same audio as {same.path}, already indexed"))
            else:
                if row:                                         # its old content is gone from this path
                    store.delete([row.id])
                store.move(same.id, key, stat.st_size, stat.st_mtime_ns)
                plan.moves.append((same.id, same.path, key))
            continue
        if digest in planned:
            plan.skipped.append(Outcome(key, f"same audio as {planned[digest]}"))
            continue
        planned[digest] = key
        plan.jobs.append(Job(key, digest, replaces=row.id if row else None))
    return plan


def describe_local(jobs: list[Job], workers: int) -> Iterator[tuple[Job, Described | Failed]]:
    """Describe ``jobs`` in this process (``workers`` <= 1) or a pool, yielding results as they finish."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, describe_audio(job.path, job.content_hash)
        return
    # forkserver: a clean process per worker; forking a parent that already runs torch/OpenMP threads can hang.
    context = mp.get_context("forkserver")
    parent_alive, alive_end = context.Pipe(duplex=False)    # EOF on parent_alive: this process has died
    try:
        with context.Pool(workers, initializer=_quiet_worker, initargs=(parent_alive,)) as pool:
            for result in pool.imap_unordered(_describe_job, jobs):
                yield result
    finally:
        parent_alive.close()
        alive_end.close()


def _describe_job(job: Job) -> tuple[Job, Described | Failed]:
    return job, describe_audio(job.path, job.content_hash)


def _quiet_worker(parent_alive: Connection) -> None:
    """One thread per worker process (the pool already uses every core); Ctrl-C is the parent's to handle; and
    when the parent is killed the worker leaves at once and silently, instead of printing a BrokenPipeError
    traceback on the terminal."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr = _WhileParentLives(sys.stderr, parent_alive)
    threading.Thread(target=_leave_with_parent, args=(parent_alive,), daemon=True).start()


def _leave_with_parent(parent_alive: Connection) -> None:
    try:
        parent_alive.recv()            # nothing is ever sent: this returns only by EOF, when the parent is gone
    except (EOFError, OSError):
        pass
    os._exit(0)


class _WhileParentLives:
    """A worker's stderr that goes quiet once the parent has died (its pipe end closed)."""

    def __init__(self, stream: TextIO, parent_alive: Connection) -> None:
        self._stream, self._parent_alive = stream, parent_alive

    def write(self, text: str) -> int:
        try:
            if self._parent_alive.poll(0):            # readable means EOF: the parent is gone
                return len(text)
        except (EOFError, OSError):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
