"""The demo collection: a few hundred labelled clips rendered from real compositions, then indexed.

Part of the CLI layer (``bandmate index demo``, ``bench/index_quality.py``): it renders with
:mod:`training.data_synth` (generated progressions in genre styles, Nottingham folk tunes, Bach
chorales from the music21 corpus, each in varied instruments, tempi, keys and drum styles) and
indexes the clips with their true tags (genre, instrument, tempo, key, drums) as known tags.
``held_out`` clips are indexed from their audio alone, to measure what analysis-only captions find.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from index.clip_index import AddReport, ClipIndex


@dataclass(frozen=True)
class DemoCollection:
    """The rendered clips (``metadata.jsonl`` rows with an absolute ``path``), which were held out, and the add report."""

    corpus_dir: Path
    clips: list[dict]
    held_out: set[str]
    report: AddReport


def default_nottingham() -> str | None:
    """The Nottingham ABC folder that ships inside music21's corpus (one file of reels), if present."""
    try:
        from music21 import corpus
    except ImportError:
        return None
    folder = Path(corpus.__file__).parent / "nottingham-dataset"
    return str(folder) if any(folder.glob("*.abc")) else None


def is_held_out(clip_id: str, share: float) -> bool:
    """A fixed, seed-independent choice of roughly ``share`` of the clips."""
    return int(hashlib.sha1(clip_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def build_demo(index: ClipIndex, *, n_clips: int = 300, seed: int = 0, seconds: float = 8.0,
               nottingham: str | None = None, corpus_dir: str | Path | None = None, held_out: float = 0.0,
               workers: int | None = None, progress: bool = True) -> DemoCollection:
    """Render ``n_clips`` demo clips (resuming a killed render) into ``corpus_dir`` and add them to ``index``."""
    from training.data_synth import SynthConfig, synthesize

    out = Path(corpus_dir) if corpus_dir else index.root.parent / "demo" / "corpus"
    config = SynthConfig(n_clips=n_clips, seed=seed, seconds=seconds, workers=workers or 0,
                         nottingham=nottingham or default_nottingham())
    corpus = synthesize(config, out, progress=progress)
    clips = [{**c, "path": str((out / c["audio"]).resolve())} for c in corpus.clips]
    held = {c["id"] for c in clips if is_held_out(c["id"], held_out)}
    tags = {c["path"]: [t for t in c["tags"] if t != "instrumental"] for c in clips if c["id"] not in held}
    report = index.add([c["path"] for c in clips], tags=tags, workers=workers, progress=progress)
    return DemoCollection(corpus_dir=out, clips=clips, held_out=held, report=report)
