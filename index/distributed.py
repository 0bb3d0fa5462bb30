"""Ingest of a large collection on Ray Data: the analysis fans out over Ray workers, the writes stay here.

The expensive part of indexing a clip (decode, beat/key/chord networks, audio features: about a
second of CPU per 10 s of audio) runs as a Ray Data ``map`` with ``num_workers`` concurrent
tasks, on a local Ray or a cluster (``address="auto"``). Results stream back to the one process
that holds the index lock, which captions, embeds (MiniLM does ~100 captions/s on one core, far
ahead of the analysis) and commits them exactly as a local ``add`` does, so a killed Ray ingest
resumes the same way. The files must be readable at the same paths on every Ray node (a shared
mount).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from core.errors import ToolError
from index.features import Described, Failed, describe_audio
from index.ingest import Job


def describe_with_ray(jobs: list[Job], *, num_workers: int = 2, address: str | None = None
                      ) -> Iterator[tuple[Job, Described | Failed]]:
    """Describe ``jobs`` on Ray Data with ``num_workers`` concurrent tasks, yielding results as they arrive."""
    if not jobs:
        return
    try:
        import ray
    except ImportError as exc:
        raise ToolError("Ray is not installed; install ray[data] to ingest on Ray, or leave out --ray.") from exc
    by_path = {job.path: job for job in jobs}
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else num_workers, include_dashboard=False,
                 log_to_driver=False, ignore_reinit_error=True)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ds = ray.data.from_items([{"path": j.path, "hash": j.content_hash} for j in jobs],
                                 override_num_blocks=min(len(jobs), num_workers * 4))
        ds = ds.map(_describe_row, num_cpus=1, concurrency=num_workers)
        for row in ds.iter_rows():
            yield by_path[row["path"]], _from_row(row)
    finally:
        if started:
            ray.shutdown()


def _describe_row(row: dict) -> dict:
    """Ray Data map function: one file in, one flat row (Arrow-friendly types) out."""
    result = describe_audio(row["path"], row["hash"])
    if isinstance(result, Failed):
        return {"path": row["path"], "ok": False, "reason": result.reason, "payload": "", "vector": b""}
    payload = {"content_hash": result.content_hash, "size": result.size, "mtime_ns": result.mtime_ns,
               "duration": result.duration, "tags": result.tags, "analysis": result.analysis}
    return {"path": row["path"], "ok": True, "reason": "", "payload": json.dumps(payload),
            "vector": result.audio_vector.astype(np.float32).tobytes()}


def _from_row(row: dict) -> Described | Failed:
    if not row["ok"]:
        return Failed(row["path"], row["reason"])
    payload = json.loads(row["payload"])
    return Described(path=row["path"], audio_vector=np.frombuffer(row["vector"], np.float32).copy(), **payload)
