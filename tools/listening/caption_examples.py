"""MusicCaps examples for tag-to-caption: the human captions of the clips whose tags are nearest.

A 1.5B model asked to "write a song description" writes catalogue prose; shown three MusicCaps
captions of clips with similar tags it writes in MusicCaps' own voice ("The low quality recording
features ...", "This song can be played at ..."). The examples come from the MusicCaps train split
(CC BY-SA 4.0, Agostinelli et al. 2023), shipped as ``tools/data/caption_examples.jsonl`` with the
MiniLM vectors of their tags beside it (``.npy``, rebuilt into the cache when they don't match).

Split by clip: every clip whose id hashes into :func:`held_out` is kept out of the shipped examples,
so the bench can score captions on clips the examples never come from. ``exclude`` keeps any other
clip (the row being captioned) out of its own prompt.
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import json
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.errors import ToolError
from core.files import atomic_path, atomic_write_text
from core.settings import get_settings
from tools import DATA_DIR

EXAMPLES_FILE = DATA_DIR / "caption_examples.jsonl"
HELD_OUT_SHARE = 5          # one clip in five is held out for evaluation


@dataclass(frozen=True)
class CaptionExample:
    """One MusicCaps clip: its aspect list (tags) and its human caption."""

    clip_id: str
    tags: tuple[str, ...]
    caption: str

    @property
    def words(self) -> int:
        return len(self.caption.split())


def held_out(clip_id: str) -> bool:
    """True for the clips kept out of the examples (a fifth of them, fixed by the clip id's hash)."""
    return hashlib.sha1(clip_id.encode()).digest()[0] % HELD_OUT_SHARE == 0


def read_musiccaps(csv_path: Path | str) -> list[CaptionExample]:
    """Every MusicCaps row of ``csv_path`` with tags and a caption."""
    path = Path(csv_path)
    if not path.is_file():
        raise ToolError(f"No MusicCaps CSV at {path}; pass the path of musiccaps-train.csv.")
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            aspects = row.get("aspect_list", "")
            tags = ast.literal_eval(aspects) if aspects.startswith("[") else []
            caption = " ".join(row.get("caption", "").split())
            if tags and caption:
                rows.append(CaptionExample(f"{row['ytid']}:{row.get('start_s', 0)}", tuple(map(str, tags)), caption))
    return rows


def write_examples(csv_path: Path | str, out: Path = EXAMPLES_FILE) -> int:
    """Write the shipped example file from MusicCaps: every row not :func:`held_out`; returns the count."""
    kept = [ex for ex in read_musiccaps(csv_path) if not held_out(ex.clip_id)]
    atomic_write_text(out, "".join(json.dumps(asdict(ex)) + "\n" for ex in kept))
    _vectors_for(out, kept, rebuild=True)
    return len(kept)


def tag_text(tags: Collection[str]) -> str:
    """How a tag set is embedded: the tags comma-separated."""
    return ", ".join(tags)


class ExampleBank:
    """MusicCaps examples with unit MiniLM vectors of their tags; :meth:`nearest` finds similar tag sets."""

    def __init__(self, examples: list[CaptionExample], vectors: np.ndarray):
        if len(examples) != len(vectors):
            raise ValueError("one vector per example")
        self.examples = examples
        self.vectors = vectors.astype(np.float32)

    @classmethod
    def load(cls, path: Path = EXAMPLES_FILE) -> ExampleBank:
        """The shipped examples (vectors from the ``.npy`` beside them, or built once into the cache)."""
        if not path.is_file():
            raise ToolError(f"The caption examples file {path} is missing; reinstall bandmate (it ships in tools/data), "
                            "or pass examples=0 for the zero-shot prompt.")
        examples = [CaptionExample(d["clip_id"], tuple(d["tags"]), d["caption"])
                    for d in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if d]
        return cls(examples, _vectors_for(path, examples))

    def nearest(self, tags: Collection[str], k: int = 3, *, exclude: Collection[str] = (),
                max_words: int = 60) -> list[CaptionExample]:
        """The ``k`` examples whose tags are most like ``tags``, never one of the ``exclude`` clip ids.

        Captions longer than ``max_words`` are passed over: they cost prompt time and teach rambling.
        """
        from tools.models.encoder import embed_texts

        query = embed_texts([tag_text(tags)])[0].astype(np.float32)
        order = np.argsort(-(self.vectors @ query))
        skip = set(exclude)
        picked = []
        for i in order:
            ex = self.examples[int(i)]
            if ex.clip_id in skip or ex.words > max_words:
                continue
            picked.append(ex)
            if len(picked) == k:
                break
        return picked


@functools.lru_cache(maxsize=2)
def default_bank() -> ExampleBank:
    """The shipped :class:`ExampleBank`, loaded once per process."""
    return ExampleBank.load()


def _vectors_for(path: Path, examples: list[CaptionExample], rebuild: bool = False) -> np.ndarray:
    """The tag vectors for ``examples``: the ``.npy`` shipped beside ``path`` when it matches, else built and cached."""
    digest = hashlib.sha1(path.read_bytes()).hexdigest()[:16]
    shipped = path.with_suffix(f".{digest}.npy")
    cached = get_settings().cache_dir / "caption_examples" / shipped.name
    for candidate in (shipped, cached):
        if candidate.is_file() and not rebuild:
            vectors = np.load(candidate)
            if len(vectors) == len(examples):
                return vectors
    from tools.models.encoder import embed_texts

    vectors = embed_texts([tag_text(ex.tags) for ex in examples]).astype(np.float16)
    target = shipped if rebuild else cached
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, vectors)
    return vectors
