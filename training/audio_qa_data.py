"""Audio-QA training data: the seed's JSONL lines {"audio", "question", "answer"}, checked line by line.

A line with bad JSON, a missing key or an audio file that is not there is either
skipped and counted (``on_error="skip"``) or stops the load with its line number
(``on_error="raise"``). Held-out clips are chosen by a hash of the audio path, so
no clip is in both splits and the split does not move when lines are added.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ToolError

SPECIAL = {"pad": "<pad>", "unk": "<unk>", "bos": "<s>", "eos": "</s>"}


@dataclass(frozen=True)
class QAExample:
    """One usable training line."""

    audio: Path
    question: str
    answer: str
    kind: str = "open"
    line: int = 0


@dataclass
class QAData:
    """The usable examples of a JSONL file and why the others were skipped."""

    examples: list[QAExample]
    skipped: Counter = field(default_factory=Counter)


def load_qa_jsonl(path: str | Path, *, audio_root: str | Path | None = None, on_error: str = "skip") -> QAData:
    """Read a QA JSONL file; relative audio paths are resolved against ``audio_root`` (default: the file's folder).

    Raises ToolError for a missing or empty file, for no usable line, and (``on_error="raise"``) for the first
    bad line, naming it.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ToolError(f"There is no QA file at {path}; make one with `bandmate data musicqa`.")
    root = Path(audio_root).expanduser() if audio_root else path.parent
    data = QAData([])
    with open(path, encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            problem, row = None, None
            try:
                row = json.loads(text)
            except json.JSONDecodeError:
                problem = "not valid JSON"
            if row is not None:
                missing = [k for k in ("audio", "question", "answer") if not isinstance(row, dict) or not row.get(k)]
                if missing:
                    problem = f"missing {', '.join(missing)}"
                else:
                    audio = Path(row["audio"]).expanduser()
                    audio = audio if audio.is_absolute() else root / audio
                    if not audio.is_file():
                        problem = "audio file not found"
            if problem:
                if on_error == "raise":
                    raise ToolError(f"{path.name} line {number}: {problem}; fix the line or pass --skip-bad-lines.")
                data.skipped[problem] += 1
                continue
            data.examples.append(QAExample(audio, str(row["question"]).strip(), str(row["answer"]).strip(),
                                           str(row.get("kind", "open")), number))
    if not data.examples:
        detail = f" ({sum(data.skipped.values())} bad lines: {dict(data.skipped)})" if data.skipped else ""
        raise ToolError(f"{path.name} has no usable question/answer lines{detail}; check the file.")
    return data


def split_by_audio(examples: list[QAExample], eval_share: float, seed: int = 0) -> tuple[list, list]:
    """(train, held out): whole clips go to one side, chosen by a hash of the audio file name."""
    def held_out(e: QAExample) -> bool:
        return (zlib.crc32(f"{seed}|{e.audio.name}".encode()) % 1000) < eval_share * 1000
    train = [e for e in examples if not held_out(e)]
    held = [e for e in examples if held_out(e)]
    if not train:
        raise ToolError("Every clip landed in the held-out split; lower the eval share or add clips.")
    return train, held


def build_tokenizer(texts: list[str]):
    """A word-level tokenizer over ``texts`` (lowercased, punctuation split), a Hugging Face fast tokenizer.

    A sharp stays on its note ("c#" is one word), so a decoded "it is in c# major" matches the reference answer.
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words_and_marks = pre_tokenizers.Split(Regex(r"[\w#]+|[^\w\s#]+"), behavior="removed", invert=True)
    words = Counter(w for t in texts for w in words_and_marks.pre_tokenize_str(t.lower()))
    vocab = {tok: i for i, tok in enumerate(SPECIAL.values())}
    for (word, _), _count in sorted(words.items()):
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL["unk"]))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = words_and_marks
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token=SPECIAL["bos"], eos_token=SPECIAL["eos"],
                                   pad_token=SPECIAL["pad"], unk_token=SPECIAL["unk"])


class AudioClips:
    """Decoded, fixed-length clips at one sample rate, each file read once."""

    def __init__(self, sample_rate: int, seconds: float) -> None:
        self.sample_rate, self.length = sample_rate, int(sample_rate * seconds)
        self._cache: dict[Path, np.ndarray] = {}

    def __call__(self, path: Path) -> np.ndarray:
        if path not in self._cache:
            from core.audio_io import load_audio

            samples = load_audio(path, sample_rate=self.sample_rate).samples[: self.length]
            self._cache[path] = np.pad(samples, (0, self.length - len(samples)))
        return self._cache[path]
