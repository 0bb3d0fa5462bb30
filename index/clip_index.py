"""``ClipIndex``: add, search, similar, remove, prune, stats and rebuild over a folder under BANDMATE_HOME.

Layout of ``<home>/index/``::

    clips.sqlite          the clip table and its change log (source of truth, WAL mode)
    text-<seq>-<kind>.faiss, audio-<seq>-<kind>.faiss
                          the vector indexes as of change <seq> (written to a temp file, then renamed)
    vectors.json          which FAISS files are current (written atomically, after them)
    .lock                 held by the one process that may write

Each clip is committed to SQLite as soon as it is analysed, before its vectors reach FAISS; the
FAISS files are saved every few hundred clips and at the end. Whoever opens the index loads the
last saved files and replays the change log after their <seq>, so a killed ``add`` loses only the
clips being analysed when it died, duplicates nothing, and FAISS never holds a clip SQLite doesn't.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ToolError
from core.files import atomic_path, atomic_write_text, store_error
from core.textgen import TextGenerator
from index.features import (
    AUDIO_DIM,
    TEXT_DIM,
    Described,
    Failed,
    caption_clip,
    describe_audio,
    embed_texts,
    merge_tags,
)
from index.ingest import Job, Outcome, describe_local, find_audio_files, plan_add
from index.store import ClipRow, ClipStore, NewClip
from index.vectors import IndexSpec, VectorIndex, check_index_type, choose_spec

SAVE_EVERY = 200           # clips between FAISS saves during a long add
SAVE_SECONDS = 120.0
_DIMS = {"text": TEXT_DIM, "audio": AUDIO_DIM}


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: int
    path: str
    score: float               # cosine similarity, higher is closer
    caption: str
    tags: list[str]
    duration: float


@dataclass
class AddReport:
    """What an ``add`` did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[Outcome] = field(default_factory=list)      # moved or changed files
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line of counts."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.skipped)} skipped, "
                f"{len(self.failed)} failed in {self.seconds:.1f} s")


@dataclass(frozen=True)
class RemoveReport:
    """Clips removed and the names that matched nothing."""

    removed: list[str]
    not_found: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IndexStats:
    """The size and shape of an index."""

    home: str
    clips: int
    total_seconds: float
    index_type: str            # what was asked for: auto or a fixed type
    text_index: str            # the FAISS type in use, e.g. "flat" or "ivf (512 lists, 8 probed)"
    audio_index: str
    vector_bytes: int          # size of both FAISS indexes
    disk_bytes: int            # everything under <home>/index


class ClipIndex:
    """The clip index in ``<home>/index``. ``index_type`` "auto" keeps the type last chosen by ``rebuild``
    (auto unless one was fixed); any other value fixes it from the next change on.
    """

    def __init__(self, home: str | Path, *, index_type: str = "auto") -> None:
        from filelock import FileLock

        self.root = Path(home).expanduser() / "index"
        self.store = ClipStore(self.root / "clips.sqlite")
        requested = check_index_type(index_type)
        self.index_type = requested if requested != "auto" else (self.store.meta("index_type") or "auto")
        self._lock = FileLock(str(self.root / ".lock"))
        self._vectors: dict[str, VectorIndex] | None = None
        self._seq = 0              # the change the in-memory vectors reflect
        self._saved_seq = -1

    # ------------------------------------------------------------------ writing
    def add(self, paths: Iterable[str | Path] | str | Path, *, llm: TextGenerator | None = None,
            progress: bool = True, tags: Mapping[str, Sequence[str]] | None = None, workers: int | None = None,
            ray_workers: int = 0, ray_address: str | None = None) -> AddReport:
        """Analyse, tag, caption, embed and store every audio file in ``paths`` (files or folders, recursive).

        Unchanged files are skipped, moved ones updated; corrupt ones are listed in ``failed`` with the
        reason. ``llm`` writes the captions (None: the tags joined). ``tags`` maps a path to tags you
        already know (genre, instrument). ``workers`` processes analyse in parallel (None: one per core
        for 8+ files); ``ray_workers`` > 0 runs the analysis on Ray Data instead.
        """
        start = time.perf_counter()
        if isinstance(paths, (str, Path)):
            paths = [paths]
        known = {str(Path(p).expanduser().resolve()): list(t) for p, t in (tags or {}).items()}
        report = AddReport()
        with self._writing():
            found = find_audio_files(paths)
            report.failed += found.missing
            report.skipped += found.skipped
            plan = plan_add(self.store, found.files)
            report.skipped += plan.skipped
            report.failed += plan.failed
            report.updated += [Outcome(new, f"moved from {old}") for _, old, new in plan.moves]
            self._catch_up()
            if ray_workers > 0:
                from index.distributed import describe_with_ray
                results = describe_with_ray(plan.jobs, num_workers=ray_workers, address=ray_address)
            else:
                workers = workers if workers is not None else (os.cpu_count() or 1) if len(plan.jobs) >= 8 else 1
                results = describe_local(plan.jobs, workers)
            bar = _progress(len(plan.jobs), progress)
            last_save = time.monotonic()
            try:
                for job, result in results:
                    if isinstance(result, Failed):
                        report.failed.append(Outcome(job.path, result.reason))
                    else:   # committed as soon as it is analysed: a kill loses only the clips in flight
                        self._commit([(job, result)], llm, known, report)
                    bar.update(1)
                    if self._seq - self._saved_seq >= SAVE_EVERY or time.monotonic() - last_save > SAVE_SECONDS:
                        self._save()
                        last_save = time.monotonic()
            finally:
                bar.close()
                self._save()
        report.seconds = round(time.perf_counter() - start, 2)
        return report

    def remove(self, paths_or_ids: Iterable[str | Path | int] | str | Path | int) -> RemoveReport:
        """Remove clips by id, file path, or every clip under a folder path."""
        if isinstance(paths_or_ids, (str, Path, int)):
            paths_or_ids = [paths_or_ids]
        ids, not_found = [], []
        for item in paths_or_ids:
            found = self._resolve(item)
            ids += found
            if not found:
                not_found.append(str(item))
        return self._remove_ids(ids, not_found)

    def prune(self) -> RemoveReport:
        """Remove the clips whose files no longer exist."""
        return self._remove_ids([i for i, p in self.store.paths() if not Path(p).exists()], [])

    def rebuild(self, index_type: str | None = None) -> IndexStats:
        """Rebuild both FAISS indexes from the clip table (``index_type`` fixes a type, "auto" frees it)."""
        with self._writing():
            if index_type is not None:
                self.index_type = check_index_type(index_type)
                self.store.set_meta("index_type", self.index_type)
            self._rebuild_vectors()
            self._save()
        return self.stats()

    # ------------------------------------------------------------------ reading
    def search(self, text: str, k: int = 10) -> list[Hit]:
        """The ``k`` clips whose captions best match ``text`` (e.g. "upbeat electronic dance with heavy bass")."""
        if not text or not text.strip():
            raise ToolError("The search text is empty; describe the music you want, e.g. 'calm solo piano'.")
        self._require_clips()
        return self._hits("text", embed_texts([text.strip()]), k)

    def similar(self, path: str | Path | int, k: int = 10) -> list[Hit]:
        """The ``k`` clips that sound most like ``path`` (an indexed clip, its id, or any audio file)."""
        self._require_clips()
        ids = self._resolve(path) if isinstance(path, int) or not Path(path).is_dir() else []
        if ids:
            _, vectors = self.store.vectors("audio", ids[:1])
            return self._hits("audio", vectors, k, exclude=ids[0])
        if isinstance(path, int) or str(path).isdigit():
            raise ToolError(f"There is no clip with id {path} in the index; `bandmate index stats` shows what is there.")
        described = describe_audio(Path(path).expanduser().resolve())
        if isinstance(described, Failed):
            raise ToolError(described.reason)
        return self._hits("audio", described.audio_vector[None, :], k)

    def stats(self) -> IndexStats:
        """How many clips, how long, which index types, how many bytes."""
        vectors = self._ensure_vectors()
        disk = sum(f.stat().st_size for f in self.root.iterdir() if f.is_file())
        return IndexStats(home=str(self.root.parent), clips=self.store.count(),
                          total_seconds=round(self.store.total_duration(), 1), index_type=self.index_type,
                          text_index=_describe(vectors["text"].spec), audio_index=_describe(vectors["audio"].spec),
                          vector_bytes=sum(v.memory_bytes() for v in vectors.values()), disk_bytes=disk)

    def clips(self) -> list[ClipRow]:
        """Every stored clip (metadata only)."""
        return self.store.rows()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "ClipIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _commit(self, batch: list[tuple[Job, Described]], llm, known: dict[str, list[str]], report: AddReport) -> None:
        """Caption and embed a batch, then store each clip in its own transaction and add it to FAISS."""
        if not batch:
            return
        tags = [merge_tags(known.get(d.path, []), d.tags) for _, d in batch]
        captions = [caption_clip(clip_tags, llm) for clip_tags in tags]
        embeddings = embed_texts([c.embedded_text for c in captions])
        for (job, d), clip_tags, caption, emb in zip(batch, tags, captions, embeddings):
            clip = NewClip(path=d.path, content_hash=d.content_hash, size=d.size, mtime_ns=d.mtime_ns,
                           duration=d.duration, tags=clip_tags, caption=caption.text, caption_model=caption.model,
                           analysis=d.analysis, text_vec=emb, audio_vec=d.audio_vector)
            self.store.insert(clip, replaces=job.replaces)
            if job.replaces is None:
                report.added.append(d.path)
            else:
                report.updated.append(Outcome(d.path, "content changed, analysed again"))
        self._catch_up()

    def _remove_ids(self, ids: list[int], not_found: list[str]) -> RemoveReport:
        with self._writing():
            rows = self.store.rows(sorted(set(ids)))
            self.store.delete([r.id for r in rows])
            self._catch_up()
            self._save()
        return RemoveReport(removed=[r.path for r in rows], not_found=not_found)

    def _resolve(self, item: str | Path | int) -> list[int]:
        """Clip ids an id, a file path or a folder path names (a file not at its stored path is found by content)."""
        if isinstance(item, int) or (isinstance(item, str) and item.isdigit()):
            return [int(item)] if self.store.by_id(int(item)) else []
        path = Path(item).expanduser().resolve()
        row = self.store.by_path(str(path))
        if row:
            return [row.id]
        prefix = str(path) + os.sep
        under = [i for i, p in self.store.paths() if p.startswith(prefix)]
        if under or not path.is_file():
            return under
        from index.features import content_hash
        row = self.store.by_hash(content_hash(path))
        return [row.id] if row else []

    def _require_clips(self) -> None:
        if self.store.count() == 0:
            raise ToolError(f"The clip index in {self.root.parent} is empty; add music with `bandmate index add "
                            "FOLDER` or try `bandmate index demo`.")

    def _hits(self, kind: str, query: np.ndarray, k: int, exclude: int | None = None) -> list[Hit]:
        if k < 1:
            raise ToolError(f"k must be at least 1 (got {k}).")
        scores, ids = self._ensure_vectors()[kind].search(query, k + (exclude is not None))
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and i != exclude][:k]
        rows = {r.id: r for r in self.store.rows([i for i, _ in pairs])}
        return [Hit(id=i, path=rows[i].path, score=round(s, 4), caption=rows[i].caption, tags=rows[i].tags,
                    duration=rows[i].duration) for i, s in pairs if i in rows]

    @contextlib.contextmanager
    def _writing(self):
        """Hold the write lock for the block (re-entrant), or say which process has it."""
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise ToolError(f"Another bandmate process is changing the clip index in {self.root.parent}; wait "
                            "for it to finish (or stop it), then run this again.") from None
        except OSError as exc:
            raise store_error(self.root / ".lock", "clip index", exc) from exc
        try:
            yield
        finally:
            self._lock.release()

    def _ensure_vectors(self) -> dict[str, VectorIndex]:
        if self._vectors is None:
            self._load()
        self._catch_up()
        return self._vectors

    def _load(self) -> None:
        """The saved FAISS files, or (none, unreadable, or an unknown state) a rebuild from SQLite."""
        try:
            state = json.loads((self.root / "vectors.json").read_text())
            self._vectors = {kind: VectorIndex.load(self.root / state[kind]["file"], IndexSpec(**state[kind]["spec"]))
                             for kind in _DIMS}
            self._seq = self._saved_seq = int(state["seq"])
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            self._rebuild_vectors()
        for kind, dim in _DIMS.items():
            if self._vectors[kind].index.d != dim:
                self._older_version(kind, self._vectors[kind].index.d)

    def _older_version(self, kind: str, found: int) -> None:
        self._vectors = None
        raise ToolError(f"The clip index in {self.root} was made by an older bandmate ({kind} vectors of {found} "
                        f"values; this version uses {_DIMS[kind]}, with the music tagger's tags); move that folder "
                        "aside and add your clips again with `bandmate index add FOLDER`.")

    def _rebuild_vectors(self) -> None:
        with self.store.snapshot():
            seq, n = self.store.last_seq(), self.store.count()
            self._vectors = {}
            for kind, dim in _DIMS.items():
                ids, vectors = self.store.vectors(kind)
                if len(ids) and vectors.size != len(ids) * dim:
                    self._older_version(kind, vectors.size // len(ids))
                spec = choose_spec(n, dim, self.index_type)
                self._vectors[kind] = VectorIndex.build(spec, ids, vectors.reshape(len(ids), dim))
        self._seq = seq

    def _catch_up(self) -> None:
        """Apply the changes after ``_seq``; rebuild when an index can't, drifts, or the size wants another type."""
        if self._vectors is None:
            self._load()
        with self.store.snapshot():
            seq, n = self.store.last_seq(), self.store.count()
            if seq != self._seq:
                added, removed = self.store.changes_since(self._seq)
                for kind, index in self._vectors.items():
                    if removed and not index.spec.supports_remove:
                        self._vectors = None
                        break
                    index.remove(removed)
                    ids, vectors = self.store.vectors(kind, added)
                    index.add(ids, vectors)
                self._seq = seq
        if self._vectors is None or any(v.ntotal != n or _wants_other(v.spec, n, self.index_type)
                                        for v in self._vectors.values()):
            self._rebuild_vectors()

    def _save(self) -> None:
        """Write the FAISS files for ``_seq`` (temp + rename), then point vectors.json at them.

        Only a writer saves; the files of the previous state are kept one round for readers loading them now.
        """
        if self._vectors is None or self._seq == self._saved_seq:
            return
        state = {"seq": self._seq}
        for kind, index in self._vectors.items():
            name = f"{kind}-{self._seq}-{index.spec.kind}.faiss"
            with atomic_path(self.root / name) as tmp:
                index.save(tmp)
            state[kind] = {"file": name, "spec": index.spec.to_dict()}
        previous = _read_state(self.root)
        atomic_write_text(self.root / "vectors.json", json.dumps(state, indent=1))
        self._saved_seq = self._seq
        keep = {state[k]["file"] for k in _DIMS} | {previous.get(k, {}).get("file") for k in _DIMS}
        for old in self.root.glob("*.faiss"):
            if old.name not in keep:
                old.unlink(missing_ok=True)


def _wants_other(spec: IndexSpec, n: int, index_type: str) -> bool:
    """True when the collection has outgrown (or shrunk out of) ``spec``: another kind, or IVF lists 4x off."""
    wanted = choose_spec(n, spec.dim, index_type)
    if wanted.kind != spec.kind:
        return True
    return spec.kind in ("ivf", "ivfpq") and not (wanted.nlist / 4 <= spec.nlist <= wanted.nlist * 4)


def _describe(spec: IndexSpec) -> str:
    if spec.kind in ("ivf", "ivfpq"):
        return f"{spec.kind} ({spec.nlist} lists, {spec.nprobe} probed)"
    return spec.kind


def _read_state(root: Path) -> dict:
    try:
        return json.loads((root / "vectors.json").read_text())
    except (OSError, ValueError):
        return {}


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="indexing", unit="clip", disable=not enabled or total == 0)
