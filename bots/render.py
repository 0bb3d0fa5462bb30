"""Turn an assistant :class:`~assistant.api.Reply` into what a chat service can post.

Text is split into chunks under the service's message length; files are chosen
by usefulness (the engraved lead sheet's PNG pages, compressed audio, MIDI, piano roll, MusicXML) and fitted into
the service's upload limit, compressing WAV to OGG when that helps and leaving
the rest out with a note. Nothing here knows Discord or Slack: a service is
described by :class:`ServiceLimits`. Runs in a worker thread (it may encode audio).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.api import OutputFile, Reply, ToolStep

log = logging.getLogger(__name__)

#: Which files a chat reply carries, most useful first; JSON and text files are already in the message.
UPLOAD_KINDS = ("audio", "midi", "image", "score")
#: Among several encodings of one recording, the first present wins.
AUDIO_PREFERENCE = (".ogg", ".mp3", ".flac", ".wav")
RATING_HINT = "React with 👍 or 👎 to rate this song; it teaches bandmate's chord model."


@dataclass(frozen=True)
class ServiceLimits:
    """What one chat service allows in a message."""

    name: str
    text_limit: int
    upload_bytes: int
    max_files: int = 10
    max_messages: int = 4


@dataclass(frozen=True)
class Upload:
    """A file to attach: where it is, the name to show, its size in bytes."""

    path: Path
    filename: str
    kind: str
    size: int
    description: str = ""


@dataclass(frozen=True)
class RenderedReply:
    """A reply ready to post: text chunks in order, the files to attach, and the song it carries (if any)."""

    chunks: list[str]
    uploads: list[Upload] = field(default_factory=list)
    song_folder: Path | None = None


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at paragraph, line or word breaks when possible."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        cut = _break_at(text[: limit + 1], limit)
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks or ["(no answer)"]


def _break_at(window: str, limit: int) -> int:
    for sep in ("\n\n", "\n", " "):
        cut = window.rfind(sep)
        if cut >= max(limit // 4, 1):
            return cut
    return limit  # no natural break in a sensible place: cut hard


def reply_text(reply: Reply) -> str:
    """The words of a reply: the model's answer, each tool's text for people, and any tool that failed."""
    parts = [reply.text.strip()]
    for step in reply.steps:
        if step.ok and step.display.strip() and step.display.strip() not in reply.text:
            parts.append(step.display.strip())
        elif not step.ok:
            parts.append(f"⚠️ {step.name} failed: {_short(step.summary)}")
    return "\n\n".join(p for p in parts if p)


def song_folder(reply: Reply) -> Path | None:
    """The folder of the song a reply made (the first audio or MIDI file's folder), or None."""
    for f in reply.files:
        if f.kind in ("audio", "midi"):
            return f.path.parent
    return None


def render_reply(reply: Reply, limits: ServiceLimits) -> RenderedReply:
    """Text chunks and uploads for one reply, fitted to ``limits``."""
    uploads, notes = choose_uploads(reply.files, limits)
    folder = song_folder(reply)
    tail = [*notes, RATING_HINT if folder is not None else ""]
    tail_text = "\n".join(t for t in tail if t)
    budget = limits.max_messages * limits.text_limit - len(tail_text) - 64
    body = reply_text(reply)
    if len(body) > budget:
        body = body[: max(budget, 0)].rstrip() + "\n… (cut short; ask me for the rest)"
    return RenderedReply(split_text(f"{body}\n\n{tail_text}", limits.text_limit), uploads, folder)


def choose_uploads(files: tuple[OutputFile, ...] | list[OutputFile], limits: ServiceLimits) -> tuple[list[Upload], list[str]]:
    """Pick the files worth attaching and fit them under the upload limit; say what was left out and why."""
    candidates = [f for f in _one_encoding_each(files) if f.kind in UPLOAD_KINDS and f.path.is_file()
                  and f.path.suffix.lower() != ".svg"]   # chats do not show SVG; the PNG pages carry the same
    candidates.sort(key=_upload_rank)
    chosen: list[Upload] = []
    too_big: list[str] = []
    used = 0
    for f in candidates:
        path = f.path
        if f.kind == "audio" and path.suffix.lower() == ".wav":
            path = compress_audio(path) or path
        size = path.stat().st_size
        if len(chosen) >= limits.max_files:
            too_big.append(f"{path.name} (more than {limits.max_files} files)")
        elif used + size > limits.upload_bytes:
            too_big.append(f"{path.name} ({_mb(size)})")
        else:
            chosen.append(Upload(path, upload_name(path), f.kind, size, f.description))
            used += size
    notes = []
    if too_big:
        notes.append(f"Not attached, over {limits.name}'s {_mb(limits.upload_bytes)} upload limit: {', '.join(too_big)}.")
    return chosen, notes


def compress_audio(wav: Path) -> Path | None:
    """Write an OGG Vorbis copy beside a WAV file (or reuse one) and return it; None if it cannot be encoded."""
    ogg = wav.with_suffix(".ogg")
    if ogg.is_file():
        return ogg
    try:
        import soundfile as sf

        data, rate = sf.read(str(wav), dtype="float32")
        tmp = ogg.with_name(f".{ogg.name}.tmp")
        sf.write(str(tmp), data, rate, format="OGG", subtype="VORBIS")
        tmp.replace(ogg)
    except Exception as exc:  # an odd WAV is sent as it is, or left out by size
        log.warning("could not compress %s: %s", wav, exc)
        return None
    return ogg


def _upload_rank(f: OutputFile) -> tuple[int, int]:
    """The engraved lead sheet's pages first and in page order (the chat shows them above the audio), then by kind."""
    page = re.fullmatch(r"lead-sheet-(\d+)\.png", f.path.name)
    return (0, int(page.group(1))) if page else (1 + UPLOAD_KINDS.index(f.kind), 0)


def upload_name(path: Path) -> str:
    """The file name people see: the song folder's name in front of generic names like song.ogg."""
    folder = path.parent.name
    return f"{folder}-{path.name}" if folder and not path.name.startswith(folder) else path.name


def _one_encoding_each(files) -> list[OutputFile]:
    """Keep one audio file per recording (same folder and stem), the best encoding for sharing."""
    best: dict[tuple[Path, str], OutputFile] = {}
    others: list[OutputFile] = []
    for f in files:
        if f.kind != "audio":
            others.append(f)
            continue
        key = (f.path.parent, f.path.stem)
        rank = _audio_rank(f.path)
        if key not in best or rank < _audio_rank(best[key].path):
            best[key] = f
    return [*best.values(), *others]


def _audio_rank(path: Path) -> int:
    suffix = path.suffix.lower()
    return AUDIO_PREFERENCE.index(suffix) if suffix in AUDIO_PREFERENCE else len(AUDIO_PREFERENCE)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def step_label(name: str) -> str:
    """What a tool is doing, in words, for progress messages."""
    return _LABELS.get(name, name.replace("_", " "))


def describe_step(step: ToolStep) -> str:
    """One progress line for a finished tool."""
    return f"✅ {step_label(step.name)}" if step.ok else f"❌ {step_label(step.name)}: {_short(step.summary, 160)}"


_LABELS = {
    "compose_song": "writing and producing the song",
    "write_lyrics": "writing lyrics",
    "classify_genre": "telling the genre",
    "suggest_chords": "choosing chords",
    "render_music": "rendering audio",
    "analyze_audio": "analysing the audio",
    "caption_tags": "writing a caption",
    "caption_audio": "listening and describing",
    "answer_audio_question": "listening for the answer",
    "revise_song": "revising the song",
    "recall": "looking it up",
}
