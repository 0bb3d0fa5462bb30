"""Answer a question about what this conversation made or heard, from the stored state only.

"What chords are in the chorus?", "what key is it in?", "how long is it?", "which instruments?",
"show me the lyrics again", "what tempo was that clip?": each is read off the current song, the
last clip's measured facts, or the last chords or lyrics. Nothing is generated, so nothing is
invented; a question the state cannot answer says so.
"""

from __future__ import annotations

import re

from assistant.conversation import ThreadState
from core.errors import ToolError
from tools.song.song import Song

_CLIP_WORDS = r"\b(clip|recording|audio|file|track|sample|that sound|the mp3|the wav|the ogg)\b"


def recall(question: str, state: ThreadState) -> str:
    """The answer to ``question`` from ``state``. Raises ToolError when the conversation has nothing yet."""
    q = question.lower()
    if state.empty:
        raise ToolError("We have not made or analysed anything in this conversation yet; ask me to write a song, "
                        "suggest chords or analyse a clip first.")
    subject = _subject(q, state)
    if subject == "clip":
        return _about_clip(q, state)
    if subject == "chords":
        c = state.chords
        return f"The chords I {c.source}: {c.chords}" + (f", in {c.key}" if c.key else "") + (
            f" ({c.genre})." if c.genre else ".")
    if subject == "lyrics":
        return f'"{state.lyrics.title}"\n\n{state.lyrics.text}'
    return _about_song(q, state.current_song())


def _subject(q: str, state: ThreadState) -> str:
    if state.clip and (re.search(_CLIP_WORDS, q) or not (state.song or state.chords or state.lyrics)):
        return "clip"
    if state.song and not (state.last_made() in ("chords", "lyrics") and re.search(r"\b(those|these|that)\b", q)):
        return "song"
    for subject in reversed(state.history):
        if subject in ("chords", "lyrics", "clip") and getattr(state, subject):
            return subject
    return "song"


def _named_section(q: str, song: Song):
    m = re.search(r"\b(?:(first|second|third|last|1st|2nd|3rd)\s+)?(verse|chorus|bridge|intro|outro|solo|"
                  r"pre-chorus)(?:\s+(\d))?\b", q)
    if not m:
        return None
    number = m.group(3) or {"first": "1", "1st": "1", "second": "2", "2nd": "2", "third": "3", "3rd": "3"}.get(
        m.group(1) or "", "")
    name = ("last " if m.group(1) == "last" else "") + f"{m.group(2)} {number}".strip()
    return song.section(name)


def _about_song(q: str, song: Song) -> str:
    section = _named_section(q, song)
    if re.search(r"\b(lyrics|words|sing|sung|lines)\b", q):
        if section:
            return f"{section.label}:\n" + "\n".join(section.lines) if section.lines else f"{section.label} has no lyrics."
        return f'"{song.title}"\n\n{song.lyrics.text()}'
    if re.search(r"\b(chords?|progression|harmony)\b", q):
        if section:
            return f"{section.label} chords: {' '.join(section.chords)} ({' '.join(section.romans)} in {song.key})."
        seen = {}
        for s in song.sections:
            seen.setdefault(s.label, s)
        return "Chords, section by section:\n" + "\n".join(f"{s.label}: {' '.join(s.chords)}" for s in seen.values())
    facts = []
    if re.search(r"\bkeys?\b|\bmajor\b|\bminor\b|\bscale\b", q):
        facts.append(f"It is in {song.key}.")
    if re.search(r"\b(tempo|bpm|fast|slow|speed)\b", q):
        facts.append(f"The tempo is {song.tempo:g} BPM.")
    if re.search(r"\b(long|length|duration|minutes?|seconds?)\b", q):
        mins, secs = divmod(round(song.duration_seconds), 60)
        facts.append(f"It lasts {mins} min {secs} s ({song.duration_seconds:.0f} s).")
    if re.search(r"\b(instruments?|plays?|playing|band|sound)\b", q):
        facts.append(f"It is played by {', '.join(song.instruments)}.")
    if re.search(r"\b(sections?|structure|form|parts?|order)\b", q):
        facts.append("Sections: " + ", ".join(f"{s.label} ({s.bars} bars)" for s in song.sections) + ".")
    if re.search(r"\b(title|called|name)\b", q):
        facts.append(f'It is called "{song.title}".')
    if re.search(r"\b(genre|style)\b", q):
        facts.append(f"It is arranged as {song.genre}.")
    if re.search(r"\b(meter|time signature)\b", q):
        facts.append(f"It is in {song.meter}.")
    if re.search(r"\b(version|files?|folder)\b", q):
        facts.append(f"This is version {song.version}, in {song.folder}.")
    return " ".join(facts) if facts else song.summary()


def _about_clip(q: str, state: ThreadState) -> str:
    clip = state.clip
    name = clip.path.rsplit("/", 1)[-1]
    if not clip.facts:
        return f"I heard {name} but measured nothing in it that answers that; ask me to analyse it."
    wanted = [(r"\b(tempo|bpm|fast|slow|speed)\b", "Tempo"), (r"\bkeys?\b|\bmajor\b|\bminor\b", "Key"),
              (r"\b(chords?|harmony)\b", "Chords"), (r"\b(long|length|duration)\b", "Duration"),
              (r"\b(meter|time signature)\b", "Meter"), (r"\b(loud|quiet|volume|level)\b", "Loudness"),
              (r"\bdrums?\b", "Drums")]
    picked = [f for pattern, head in wanted if re.search(pattern, q) for f in clip.facts if f.startswith(head)]
    return f"{name}: " + " ".join(picked or clip.facts)
