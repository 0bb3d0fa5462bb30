"""Captions and QA pairs for large collections: Ray Data fans the requests out to an LLM server.

Each Ray actor builds its own text generator from ``llm_factory`` (a picklable
zero-argument callable, e.g. one that returns an OpenAI-compatible client for a
vLLM endpoint) and answers a batch of clips with ``job.batch_size`` requests in
flight. Rows stream back to the driver, which appends them to the same resumable
JSONL files the single-machine paths write (:mod:`training.captions`,
:mod:`training.musicqa`), so a run can start on one machine and finish on a
cluster. Without Ray installed the single-machine functions do the same work.

    ray_generate_captions(clips, "captions.jsonl", llm_factory=factory, num_workers=8,
                          ray_address="auto")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from core.errors import ToolError
from core.textgen import TextGenerator
from training.captions import CaptionJob, EndpointDown, RunReport, caption_row
from training.musicqa import QAJob, qa_pairs
from training.readers import JsonlLog, TaggedClip


class _LLMWorker:
    """A Ray Data actor: one text generator per actor, a batch of clips per call."""

    def __init__(self, llm_factory: Callable[[], TextGenerator], task: str, job: dict) -> None:
        self.llm, self.task = llm_factory(), task
        self.job = CaptionJob(**{**job, "instructions": tuple(job["instructions"])}) if task == "captions" else QAJob(**job)

    def __call__(self, batch: dict) -> dict:
        clips = [TaggedClip(**json.loads(c)) for c in batch["clip"]]
        with ThreadPoolExecutor(max_workers=max(1, getattr(self.job, "batch_size", 4))) as pool:
            results = list(pool.map(self._rows, clips))
        return {"row": [json.dumps(r) for rows in results for r in rows]}

    def _rows(self, clip: TaggedClip) -> list[dict]:
        if self.task == "captions":
            rows = [caption_row(clip, ins, llm=self.llm, job=self.job) for ins in self.job.instructions]
            return [r for r in rows if r is not None]
        return [p.to_json() for p in qa_pairs(clip, job=self.job, llm=self.llm)]


def _run(task: str, clips: Sequence[TaggedClip], out_path: str | Path, llm_factory, job, num_workers: int,
         ray_address: str | None, key: Callable[[dict], object], clip_key: Callable[[TaggedClip], list]) -> RunReport:
    try:
        import ray
    except ImportError as exc:
        raise ToolError("Ray is not installed; install bandmate[train] (ray[data]) or drop --ray to run "
                        "on this machine.") from exc
    log = JsonlLog(out_path)
    done = {key(r) for r in log.rows}
    todo = [c for c in clips if any(k not in done for k in clip_key(c))]
    if not todo:
        return RunReport(out=Path(out_path), written=0, already_done=len(log.rows), failed=0, total=len(log.rows))
    started = not ray.is_initialized()
    if started:
        ray.init(address=ray_address, num_cpus=None if ray_address else num_workers, include_dashboard=False,
                 log_to_driver=False, ignore_reinit_error=True)
    written = 0
    try:
        ds = ray.data.from_items([{"clip": json.dumps(asdict(c))} for c in todo])
        ds = ds.map_batches(_LLMWorker, fn_constructor_kwargs={"llm_factory": llm_factory, "task": task,
                                                               "job": asdict(job)},
                            batch_size=max(1, getattr(job, "batch_size", 4)), concurrency=num_workers, num_cpus=1)
        for item in ds.iter_rows():
            row = json.loads(item["row"])
            if key(row) not in done:          # rows from before this run are never written twice
                log.append([row])
                written += 1
    except Exception as exc:
        if "EndpointDown" in type(exc).__name__ or "EndpointDown" in str(exc):
            raise EndpointDown(f"The language model kept failing in a Ray worker ({written} new rows kept); "
                               "check the endpoint and run the same command again to continue.") from None
        raise
    finally:
        if started:
            ray.shutdown()
    return RunReport(out=Path(out_path), written=written, already_done=len(log.rows) - written, failed=0,
                     total=len(log.rows))


def ray_generate_captions(clips: Sequence[TaggedClip], out_path: str | Path, *,
                          llm_factory: Callable[[], TextGenerator], job: CaptionJob = CaptionJob(),
                          num_workers: int = 2, ray_address: str | None = None) -> RunReport:
    """:func:`training.captions.generate_captions` fanned out over ``num_workers`` Ray actors."""
    return _run("captions", clips, out_path, llm_factory, job, num_workers, ray_address,
                key=lambda r: (r["id"], r["instruction"]),
                clip_key=lambda c: [(c.id, i) for i in job.instructions])


def ray_generate_musicqa(clips: Sequence[TaggedClip], out_path: str | Path, *,
                         llm_factory: Callable[[], TextGenerator], job: QAJob = QAJob(),
                         num_workers: int = 2, ray_address: str | None = None) -> RunReport:
    """:func:`training.musicqa.generate_musicqa` fanned out over ``num_workers`` Ray actors."""
    return _run("musicqa", clips, out_path, llm_factory, job, num_workers, ray_address,
                key=lambda r: r["id"], clip_key=lambda c: [c.id])
