"""Readers for the public music-text datasets users bring, into one record type.

- MusicCaps (``musiccaps-train.csv``: ytid, start_s, end_s, aspect_list, caption, ...)
- MagnaTagATune (``annotations_final.csv``: tab-separated, quoted, clip_id, 188 binary tag columns, mp3_path)
- MusicQA (MU-LLaMA: a JSON list of {"audio_name", "conversation": [{"from": "human"|"gpt", "value"}]})
- MusicInstruct (MusiLingo: {"QA": [{"question", "answer", "ytid", "caption", "is_audioset_eval"}]} or a bare list)
- bandmate's own synthetic corpus (``metadata.jsonl`` from :mod:`training.data_synth`)

Every reader raises a ToolError naming the file and the problem when the file is
not in the format it claims to be.
"""

from __future__ import annotations

import ast
import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import ToolError


@dataclass(frozen=True)
class TaggedClip:
    """A clip with tags and, when the dataset has one, a caption."""

    id: str
    tags: list[str]
    caption: str = ""
    audio: str = ""                   # path or file name relative to the dataset's audio folder
    split: str = "train"              # "train" or "eval"
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class QAPair:
    """One question about one clip and its answer (the seed's {audio, question, answer} line)."""

    audio: str
    question: str
    answer: str
    kind: str = "open"
    id: str = ""

    def to_json(self) -> dict:
        return {"audio": self.audio, "question": self.question, "answer": self.answer, "kind": self.kind,
                "id": self.id}


def _exists(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ToolError(f"There is no file at {path}; check the path.")
    return path


def read_musiccaps(path: str | Path) -> list[TaggedClip]:
    """MusicCaps rows with their aspect list as tags; ``split`` is "eval" for the AudioSet eval rows."""
    path = _exists(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"ytid", "aspect_list", "caption"} - set(reader.fieldnames or [])
        if missing:
            raise ToolError(f"{path.name} is not a MusicCaps CSV: it has no {', '.join(sorted(missing))} column.")
        clips = []
        for line, row in enumerate(reader, start=2):
            try:
                tags = ast.literal_eval(row["aspect_list"]) if row["aspect_list"].strip() else []
            except (ValueError, SyntaxError):
                raise ToolError(f"{path.name} line {line}: aspect_list is not a Python list of strings.") from None
            start = row.get("start_s") or "0"
            clips.append(TaggedClip(
                id=f"{row['ytid']}_{start}", tags=[str(t).strip() for t in tags if str(t).strip()],
                caption=row["caption"].strip(), audio=f"{row['ytid']}.wav",
                split="eval" if str(row.get("is_audioset_eval", "")).lower() == "true" else "train",
                meta={"ytid": row["ytid"], "start_s": float(start), "end_s": float(row.get("end_s") or 0)}))
    return clips


def read_magnatagatune(path: str | Path, *, min_tags: int = 1) -> list[TaggedClip]:
    """MagnaTagATune clips with the tags marked 1; clips with fewer than ``min_tags`` tags are left out."""
    path = _exists(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, [])
        if not header or header[0] != "clip_id" or header[-1] != "mp3_path":
            raise ToolError(f"{path.name} is not MagnaTagATune's annotations_final.csv: the first column must be "
                            "clip_id and the last mp3_path, tab-separated.")
        names = header[1:-1]
        clips = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ToolError(f"{path.name} line {line}: expected {len(header)} columns, found {len(row)}.")
            tags = [name for name, value in zip(names, row[1:-1]) if value.strip() == "1"]
            if len(tags) >= min_tags:
                clips.append(TaggedClip(id=f"mtat_{row[0]}", tags=tags, audio=row[-1], meta={"clip_id": row[0]}))
    return clips


def read_musicqa(path: str | Path) -> list[QAPair]:
    """MU-LLaMA MusicQA conversations as QA pairs (one per human/gpt turn pair)."""
    path = _exists(path)
    data = _load_json(path)
    if not isinstance(data, list):
        raise ToolError(f"{path.name} is not MusicQA JSON: expected a list of {{audio_name, conversation}} objects.")
    pairs = []
    for i, item in enumerate(data):
        turns = item.get("conversation") if isinstance(item, dict) else None
        if not isinstance(turns, list) or "audio_name" not in item:
            raise ToolError(f"{path.name} item {i}: expected keys audio_name and conversation.")
        for a, b in zip(turns[::2], turns[1::2]):
            if a.get("from") == "human" and b.get("from") == "gpt":
                pairs.append(QAPair(item["audio_name"], a["value"].strip(), b["value"].strip(), id=f"musicqa_{i}"))
    return pairs


def read_musicinstruct(path: str | Path) -> list[QAPair]:
    """MusiLingo MusicInstruct Q&A pairs; the audio is the MusicCaps clip ``<ytid>.wav``."""
    path = _exists(path)
    data = _load_json(path)
    items = data.get("QA") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ToolError(f"{path.name} is not MusicInstruct JSON: expected {{\"QA\": [...]}} or a list.")
    pairs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not {"question", "answer", "ytid"} <= set(item):
            raise ToolError(f"{path.name} item {i}: expected keys question, answer and ytid.")
        pairs.append(QAPair(f"{item['ytid']}.wav", str(item["question"]).strip(), str(item["answer"]).strip(),
                            id=f"musicinstruct_{i}"))
    return pairs


def read_synth_metadata(path: str | Path) -> list[TaggedClip]:
    """Clips of a corpus made by :func:`training.data_synth.synthesize` (its ``metadata.jsonl``)."""
    path = _exists(path)
    clips = []
    for line, row in enumerate(_jsonl(path), start=1):
        if "id" not in row or "tags" not in row:
            raise ToolError(f"{path.name} line {line}: expected keys id and tags (a data_synth metadata file).")
        clips.append(TaggedClip(id=row["id"], tags=row["tags"], audio=row.get("audio", ""), meta=row))
    return clips


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def read_audio_folder(folder: str | Path, *, limit: int | None = None) -> list[TaggedClip]:
    """Unlabelled recordings under ``folder`` (recursive), tagged by the pretrained musicnn tagger: each clip's
    tags are the labels that reach the audio-QA threshold of their aspect (so no tag says what `bandmate qa`
    would not); silent, unreadable or untagged files are left out."""
    from tools.listening.audio_qa import TAG_THRESHOLDS
    from tools.listening.tagger import tag_track

    cut = {"instrument": TAG_THRESHOLDS["instruments"], "genre": TAG_THRESHOLDS["genre"],
           "mood": TAG_THRESHOLDS["mood"], "era": TAG_THRESHOLDS["era"], "singer": TAG_THRESHOLDS["vocals"]}

    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    clips = []
    for path in files[:limit] if limit else files:
        try:
            track = tag_track(path)
        except ToolError:
            continue
        kept = [t for t in track.confident() if t.probability >= cut.get(t.head, track.threshold)]
        if kept:
            clips.append(TaggedClip(id=path.stem, tags=list(dict.fromkeys(t.label for t in kept)),
                                    audio=str(path.resolve()), meta={"tagger": "musicnn",
                                                                     "tags": [asdict(t) for t in kept]}))
    return clips


def read_tagged(path: str | Path) -> list[TaggedClip]:
    """Pick the reader by the file: MusicCaps CSV, MagnaTagATune annotations, a synth metadata.jsonl, or a folder
    of unlabelled audio (tagged by :func:`read_audio_folder`)."""
    if Path(path).expanduser().is_dir():
        return read_audio_folder(Path(path).expanduser())
    path = _exists(path)
    if path.suffix == ".jsonl":
        return read_synth_metadata(path)
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    if first.startswith("clip_id\t") or first.startswith('"clip_id"\t'):
        return read_magnatagatune(path)
    if "aspect_list" in first:
        return read_musiccaps(path)
    raise ToolError(f"I can't tell which dataset {path.name} is; give a MusicCaps CSV, MagnaTagATune "
                    "annotations_final.csv or a data_synth metadata.jsonl.")


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ToolError(f"{path.name} is not valid JSON (line {exc.lineno}); check the file.") from None


def _jsonl(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if text.strip():
                try:
                    yield json.loads(text)
                except json.JSONDecodeError:
                    raise ToolError(f"{path.name} line {line} is not valid JSON.") from None


class JsonlLog:
    """An append-only JSONL file that a killed run can continue: rows are written whole and flushed,
    and a half-written last line is cut off when the file is reopened."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                data = data[: data.rfind(b"\n") + 1]
                self.path.write_bytes(data)
            for text in data.decode("utf-8").splitlines():
                if text.strip():
                    self.rows.append(json.loads(text))

    def append(self, rows: list[dict]) -> None:
        """Write ``rows`` with one write call (all or, after a crash, a cut line that reopening drops)."""
        if not rows:
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            fh.flush()
            os.fsync(fh.fileno())
        self.rows.extend(rows)
