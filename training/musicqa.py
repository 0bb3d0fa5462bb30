"""MusicQA-style question/answer pairs from captions and tags.

Three kinds of pairs, as in MU-LLaMA's MusicQA and MusiLingo's MusicInstruct:

- **label questions** on the synthetic corpus, whose tags are true by construction:
  tempo, key, mode, instrument, genre, drums, dynamics (short, exact answers that
  an evaluation can score by exact match);
- **tag questions** for tag-only datasets (MagnaTagATune, MusicCaps aspects): the
  MusicQA kinds "describe", instruments, genre, mood, tempo, vocals;
- **open questions** written by the LLM from a caption (MusicCaps or an
  LP-MusicCaps pseudo-caption), parsed from "Q: / A:" lines.

Output is the seed's JSONL ({"audio", "question", "answer"} plus kind and id) and,
with :func:`write_conversations`, MU-LLaMA's conversation JSON.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from core.errors import ToolError
from core.files import atomic_write_text
from core.textgen import TextGenerator
from training.captions import EndpointDown, request_seed, with_retries
from training.readers import JsonlLog, QAPair, TaggedClip

PROMPT = Path(__file__).parent / "prompts" / "musicqa_open.md"

# Label questions: kind -> question phrasings; the answer templates read the clip's metadata.
LABEL_QUESTIONS: dict[str, tuple[str, ...]] = {
    "tempo": ("What is the tempo of this music?", "How fast is this piece?", "Is this clip slow, medium or fast?"),
    "key": ("What key is this music in?", "Which key is the piece played in?"),
    "mode": ("Is this music in a major or a minor key?",),
    "instrument": ("Which instrument plays the lead?", "What is the main instrument in this clip?"),
    "genre": ("What genre is this music?", "Which style of music is this?"),
    "drums": ("Are there drums in this clip?",),
    "dynamics": ("How loudly is this played?",),
}
LABEL_KINDS = tuple(LABEL_QUESTIONS)

_TAG_WORDS = {
    "instruments": r"guitar|piano|drum|bass|violin|cello|strings|flute|sax|trumpet|organ|synth|harp|sitar|"
                   r"harpsichord|percussion|marimba|banjo|accordion|harmonica|keyboard|brass",
    "genre": r"rock|pop|jazz|blues|classical|folk|country|electronic|techno|house|hip ?hop|rap|metal|punk|reggae|"
             r"ambient|soul|funk|r&b|latin|indie|opera|baroque|dance|disco|orchestral|world|new age",
    "mood": r"happy|sad|calm|relax|soft|mellow|dark|energetic|emotional|romantic|melanchol|upbeat|aggressive|"
            r"peaceful|dreamy|epic|uplifting|cheerful|tense|chill|passionate|meditative|joyful|scary|spooky",
    "tempo": r"\b(fast|slow|medium|quick|moderate|uptempo)\b|tempo|bpm",
    "vocals": r"vocal|voice|sing|singer|choir|male|female|rap|no voice|instrumental",
}
_TAG_QUESTIONS = {
    "instruments": ("What instruments can be heard in this music?", "I can hear {tags}."),
    "genre": ("What genre does this music belong to?", "It is {tags}."),
    "mood": ("What is the mood of this music?", "The mood is {tags}."),
    "tempo": ("What is the tempo of this music?", "The tempo is {tags}."),
    "vocals": ("Is there singing in this music?", "{tags}."),
}


def label_qa(clip: TaggedClip, *, kinds: Sequence[str] = LABEL_KINDS, seed: int = 0) -> list[QAPair]:
    """Exact-answer pairs from a synthetic clip's true labels (``clip.meta`` is its metadata row)."""
    m = clip.meta
    missing = [k for k in ("tempo_class", "key", "mode", "instrument", "genre", "dynamics") if k not in m]
    if missing:
        raise ToolError(f"Clip {clip.id} has no {', '.join(missing)} label; label questions need a data_synth corpus.")
    answers = {
        "tempo": f"The tempo is {m['tempo_class']}.",
        "key": f"It is in {m['key']}.",
        "mode": f"It is in a {m['mode']} key.",
        "instrument": f"The lead instrument is the {m['instrument']}.",
        "genre": f"It is {m['genre']} music.",
        "drums": f"Yes, with {m['drums'].replace('_', ' ')} drums." if m.get("drums") else "No, there are no drums.",
        "dynamics": f"It is played {m['dynamics']}ly." if m["dynamics"] != "medium" else "It is played at a medium level.",
    }
    rng = random.Random(request_seed(seed, clip.id))
    return [QAPair(clip.audio, rng.choice(LABEL_QUESTIONS[k]), answers[k], kind=k, id=clip.id) for k in kinds]


def tag_qa(clip: TaggedClip) -> list[QAPair]:
    """MusicQA's tag questions: a description, then one question per tag kind the clip has tags for."""
    if not clip.tags:
        return []
    description = clip.caption or f"This music features {_join(clip.tags)}."
    pairs = [QAPair(clip.audio, "Describe the music in detail.", description, kind="describe", id=clip.id)]
    for kind, pattern in _TAG_WORDS.items():
        hits = [t for t in clip.tags if re.search(pattern, t, re.I)]
        if hits:
            question, answer = _TAG_QUESTIONS[kind]
            text = answer.format(tags=_join(hits))
            pairs.append(QAPair(clip.audio, question, text[0].upper() + text[1:], kind=kind, id=clip.id))
    return pairs


def open_qa_prompt(caption: str, n: int) -> tuple[str, str]:
    """(system, user) prompts asking for ``n`` Q/A pairs about ``caption`` (prompt text in prompts/musicqa_open.md)."""
    text = PROMPT.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^# (system|user)\s*\n(.+?)(?=^# |\Z)", text, re.M | re.S))
    return sections["system"].strip(), sections["user"].strip().format(caption=caption.strip(), n=n)


def parse_qa_reply(reply: str) -> list[tuple[str, str]]:
    """(question, answer) pairs from "Q: ... / A: ..." text; numbering and markdown are tolerated."""
    text = re.sub(r"[*_`#]+", "", reply or "")
    found = re.findall(r"(?:^|\n)\s*(?:\d+[.)]\s*)?Q(?:uestion)?\s*\d*\s*[:.]\s*(.+?)\s*\n\s*A(?:nswer)?\s*\d*\s*[:.]"
                       r"\s*(.+?)(?=\n\s*(?:\d+[.)]\s*)?Q(?:uestion)?\s*\d*\s*[:.]|\Z)", text, re.S | re.I)
    return [(" ".join(q.split()), " ".join(a.split())) for q, a in found if q.strip() and a.strip()]


def open_qa(clip: TaggedClip, *, llm: TextGenerator, n: int = 3, seed: int = 0, retries: int = 4,
            backoff_s: float = 1.0) -> list[QAPair]:
    """``n`` open questions about the clip's caption (or its tags) written by ``llm``."""
    caption = clip.caption or f"A clip with these attributes: {', '.join(clip.tags)}."
    system, prompt = open_qa_prompt(caption, n)
    reply = with_retries(lambda: llm.generate(prompt, system=system, max_tokens=120 * n, temperature=0.7,
                                              seed=request_seed(seed, clip.id)),
                         retries=retries, backoff_s=backoff_s, what=f"writing questions for {clip.id}")
    return [QAPair(clip.audio, q, a, kind="open", id=clip.id) for q, a in parse_qa_reply(reply)[:n]]


@dataclass(frozen=True)
class QAJob:
    """Which pairs to make per clip."""

    labels: bool = True            # label questions (synthetic corpus only)
    tags: bool = True              # MusicQA tag questions
    open_per_clip: int = 0         # LLM-written open questions (needs an llm)
    seed: int = 0
    retries: int = 4
    backoff_s: float = 1.0


def qa_pairs(clip: TaggedClip, *, job: QAJob, llm: TextGenerator | None = None) -> list[QAPair]:
    """Every pair ``job`` asks for about one clip; raises EndpointDown when the LLM stays down."""
    pairs = label_qa(clip, seed=job.seed) if job.labels and "tempo_class" in clip.meta else []
    if job.tags:
        pairs += tag_qa(clip)
    if job.open_per_clip and llm is not None:
        try:
            pairs += open_qa(clip, llm=llm, n=job.open_per_clip, seed=job.seed, retries=job.retries,
                             backoff_s=job.backoff_s)
        except EndpointDown:
            raise
        except ToolError:
            pass
    return pairs


def generate_musicqa(clips: Sequence[TaggedClip], out_path: str | Path, *, job: QAJob = QAJob(),
                     llm: TextGenerator | None = None, progress: bool = True) -> int:
    """Write QA pairs for every clip to ``out_path`` (JSONL), continuing a killed run; returns pairs written now.

    A clip's pairs are written together, so a rerun skips whole clips and never duplicates.
    Raises :class:`training.captions.EndpointDown` when the LLM stays unreachable.
    """
    if job.open_per_clip and llm is None:
        raise ToolError("Open questions need a language model; configure one or set open questions to 0.")
    log = JsonlLog(out_path)
    done = {r["id"] for r in log.rows}
    written = 0
    for clip in tqdm([c for c in clips if c.id not in done], desc="writing QA pairs", disable=not progress):
        pairs = qa_pairs(clip, job=job, llm=llm)
        log.append([p.to_json() for p in pairs])
        written += len(pairs)
    return written


def write_conversations(pairs: Sequence[QAPair] | str | Path, out_path: str | Path) -> Path:
    """MU-LLaMA's MusicQA JSON: [{"audio_name", "conversation": [{"from": "human"}, {"from": "gpt"}]}], atomically."""
    if isinstance(pairs, (str, Path)):
        pairs = [QAPair(**{k: r[k] for k in ("audio", "question", "answer", "kind", "id") if k in r})
                 for r in JsonlLog(pairs).rows]
    data = [{"audio_name": p.audio, "conversation": [{"from": "human", "value": p.question},
                                                     {"from": "gpt", "value": p.answer}]} for p in pairs]
    return atomic_write_text(out_path, json.dumps(data, indent=1, ensure_ascii=False))


def _join(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
