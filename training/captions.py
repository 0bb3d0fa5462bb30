"""LP-MusicCaps pseudo-captions for a tagged collection, through any configured LLM.

Every clip is captioned with each chosen LP-MusicCaps instruction by
:func:`tools.listening.caption.caption_tags` (the one place the prompts live). Requests go
out a batch at a time (``batch_size`` in flight, which is what an OpenAI-compatible
server such as vLLM batches), each row is appended to the JSONL output as soon as
its batch is done, and a run that is killed or stopped continues where it left
off: rows already in the file are never asked for again, so there are no
duplicates. An endpoint that fails is retried with exponential back-off; when it
keeps failing the run stops cleanly with :class:`EndpointDown`, keeping what it
wrote.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from core.errors import ToolError
from core.textgen import TextGenerator
from tools.listening.caption import INSTRUCTIONS, caption_tags
from training.readers import JsonlLog, TaggedClip


class EndpointDown(ToolError):
    """The LLM kept failing after every retry; what was written is kept and a rerun continues."""


@dataclass(frozen=True)
class CaptionJob:
    """How to caption: which instructions, how many requests at once, sampling, retries."""

    instructions: tuple[str, ...] = INSTRUCTIONS
    batch_size: int = 8
    temperature: float = 0.7
    seed: int = 0
    retries: int = 4
    backoff_s: float = 1.0


@dataclass(frozen=True)
class RunReport:
    """What a generation run did."""

    out: Path
    written: int          # rows written by this run
    already_done: int     # rows found in the file from earlier runs
    failed: int           # requests whose reply could not be used (asked again on the next run)
    total: int            # rows the finished file will hold


def with_retries(call: Callable[[], object], *, retries: int, backoff_s: float, what: str,
                 sleep: Callable[[float], None] = time.sleep):
    """``call()``, retried ``retries`` times with doubling back-off on any error except a ToolError.

    A ToolError (the reply was unusable) is raised at once; anything else that outlasts
    the retries becomes :class:`EndpointDown`.
    """
    for attempt in range(retries + 1):
        try:
            return call()
        except ToolError:
            raise
        except Exception as exc:  # connection refused, 5xx, timeouts: the endpoint's own error types vary
            if attempt == retries:
                raise EndpointDown(f"The language model failed {retries + 1} times while {what} ({exc}); "
                                   "check the endpoint and run the same command again to continue.") from exc
            sleep(backoff_s * 2 ** attempt)


def request_seed(seed: int, key: str) -> int:
    """A stable per-request seed, so a rerun asks exactly what the first run would have."""
    return zlib.crc32(f"{seed}|{key}".encode()) & 0x7FFFFFFF


def caption_row(clip: TaggedClip, instruction: str, *, llm: TextGenerator, job: CaptionJob) -> dict | None:
    """One output row (None when the reply was unusable); raises EndpointDown when the LLM stays down."""
    seed = request_seed(job.seed, f"{clip.id}|{instruction}")
    try:
        caption = with_retries(lambda: caption_tags(clip.tags, instruction, llm=llm, temperature=job.temperature,
                                                    seed=seed),
                               retries=job.retries, backoff_s=job.backoff_s, what=f"captioning {clip.id}")
    except EndpointDown:
        raise
    except ToolError:
        return None
    return {"id": clip.id, "audio": clip.audio, "tags": clip.tags, "instruction": instruction,
            "caption": caption.text, "new_attributes": caption.new_attributes, "model": caption.model,
            "temperature": job.temperature, "seed": seed}


def generate_captions(clips: Sequence[TaggedClip], out_path: str | Path, *, llm: TextGenerator,
                      job: CaptionJob = CaptionJob(), progress: bool = True) -> RunReport:
    """Caption every clip with every instruction in ``job`` into ``out_path`` (JSONL), resuming earlier runs.

    Each row: id, audio, tags, instruction, caption, new_attributes, model, temperature, seed.
    Raises :class:`EndpointDown` when the LLM stays unreachable (rows written so far are kept).
    """
    log = JsonlLog(out_path)
    done = {(r["id"], r["instruction"]) for r in log.rows}
    todo = [(clip, ins) for clip in clips if clip.tags for ins in job.instructions if (clip.id, ins) not in done]
    failed = written = 0

    def one(item: tuple[TaggedClip, str]) -> dict | None:
        return caption_row(item[0], item[1], llm=llm, job=job)

    bar = tqdm(total=len(todo), desc="captioning", disable=not progress)
    with ThreadPoolExecutor(max_workers=max(1, job.batch_size)) as pool:
        for start in range(0, len(todo), max(1, job.batch_size)):
            batch = todo[start:start + job.batch_size]
            futures = [pool.submit(one, item) for item in batch]
            rows, stop = [], None
            for future in futures:
                try:
                    row = future.result()
                except EndpointDown as exc:
                    stop = stop or exc
                    continue
                if row is None:
                    failed += 1
                else:
                    rows.append(row)
            log.append(rows)
            written += len(rows)
            bar.update(len(batch))
            if stop:
                bar.close()
                raise stop
    bar.close()
    return RunReport(out=Path(out_path), written=written, already_done=len(done), failed=failed,
                     total=len(done) + written)
