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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


def find_audio_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Outcome]]:
    """Files named directly plus audio files under named folders (recursive, hidden ones left out), sorted."""
    files: list[Path] = []
    missing: list[Outcome] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [Path(root) / n for n in sorted(names)
                          if not n.startswith(".") and Path(n).suffix.lower() in AUDIO_SUFFIXES]
        elif path.is_file():
            files.append(path)
        else:
            missing.append(Outcome(str(path), f"There is no file or folder at {path}."))
    return sorted(dict.fromkeys(files)), missing


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
    with mp.get_context("forkserver").Pool(workers, initializer=_quiet_worker) as pool:
        for result in pool.imap_unordered(_describe_job, jobs):
            yield result


def _describe_job(job: Job) -> tuple[Job, Described | Failed]:
    return job, describe_audio(job.path, job.content_hash)


def _quiet_worker() -> None:
    """One thread per worker process: the pool already uses every core."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
