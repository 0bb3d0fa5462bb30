"""Song lyrics: written by the configured LLM, parsed into sections, counted in syllables.

Small local models wrap lyrics in chatter ("Sure! Here is your song:"), use any
heading style ("[Verse 1]", "Chorus:", "**Bridge**") and sometimes loop one
line forever; :func:`parse_lyrics` turns all of that into clean sections, and
the same parser reads lyrics a user types.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ToolError
from tools.songwriting.prosody import split_words

# A section of lyrics is sung in at most this many lines; a longer one the user wrote is split in parts.
MAX_LINES_PER_SECTION = 8

# Loop guards for a model's reply: no more sections or choruses than a song has.
MAX_SECTIONS = 10
MAX_CHORUSES = 3

# Lyrics a user gives: about 10 minutes of singing (the longest song) is well under this.
MAX_LYRICS_CHARS = 12_000


@dataclass(frozen=True)
class LyricLine:
    """One sung line; ``words`` holds each word split into its sung syllables."""

    text: str
    words: tuple[tuple[str, ...], ...]

    @property
    def syllable_count(self) -> int:
        return sum(len(w) for w in self.words)

    def sung(self) -> list[tuple[str, str]]:
        """The syllables in order with their MusicXML syllabic role (single, begin, middle, end)."""
        out = []
        for word in self.words:
            for i, piece in enumerate(word):
                role = "single" if len(word) == 1 else "begin" if i == 0 else "end" if i == len(word) - 1 else "middle"
                out.append((piece, role))
        return out


@dataclass(frozen=True)
class LyricSection:
    """A verse, chorus, bridge... with its label as shown ("Verse 2") and its lines."""

    kind: str
    label: str
    lines: tuple[LyricLine, ...]


@dataclass(frozen=True)
class Lyrics:
    """A song's lyrics in sections; ``notes`` say what reading them changed (a long section split)."""

    title: str
    sections: tuple[LyricSection, ...]
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """The lyrics with a [heading] before each section."""
        return "\n\n".join(f"[{s.label}]\n" + "\n".join(line.text for line in s.lines) for s in self.sections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "sections": [
                {"label": s.label, "kind": s.kind,
                 "lines": [{"text": ln.text, "syllables": ln.syllable_count} for ln in s.lines]}
                for s in self.sections
            ],
        }


def make_line(text: str) -> LyricLine:
    """A LyricLine from text, with its words split into syllables."""
    return LyricLine(text=text, words=split_words(text))


_KINDS = {
    "intro": "intro", "verse": "verse", "prechorus": "pre-chorus", "chorus": "chorus",
    "refrain": "chorus", "hook": "chorus", "postchorus": "chorus", "bridge": "bridge",
    "middle8": "bridge", "interlude": "bridge", "outro": "outro",
}


_HEADING = re.compile(
    r"^[\[(]?\s*(intro|verse|pre[- ]?chorus|post[- ]?chorus|chorus|refrain|hook|bridge|middle 8|interlude|outro)"
    r"\s*(\d+|one|two|three|four)?\s*(?:\(?\s*(?:x\s*\d|\d\s*x)\s*\)?)?\s*[\])]?\s*(?:[:.\-–—]\s*(.*))?$",
    re.IGNORECASE,
)


_REPEAT = re.compile(r"^[\[(]?\s*repeat\s+(?:the\s+)?(chorus|refrain|hook)\b.*$", re.IGNORECASE)


# Chatter is matched narrowly: lyrics may well say "I hope" or "let me know".
_CHATTER = re.compile(
    r"^(sure|certainly|of course|absolutely|here(?:'s| is| are))\b"
    r"|\b(this song|these lyrics|the lyrics|these lines could|let me know if|feel free to|hope you (?:enjoy|like)|any changes)\b",
    re.IGNORECASE,
)


_STOP = re.compile(r"^(notes?|explanation|analysis)\s*:", re.IGNORECASE)


_TITLE = re.compile(r"^(?:song\s+)?title\s*:\s*(.+)$", re.IGNORECASE)


def _clean(line: str) -> str:
    line = line.strip().strip("*_#`>").strip()
    line = re.sub(r"^(\d+[.)]|[-•])\s+", "", line)
    if len(line) > 1 and line[0] in "\"“'" and line[-1] in "\"”'":
        line = line[1:-1].strip()
    return line


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _kind_of(word: str) -> str:
    return _KINDS[re.sub(r"[^a-z0-9]", "", word.lower())]


def check_lyrics_size(text: str) -> None:
    """Refuse lyrics longer than a song can hold (:data:`MAX_LYRICS_CHARS`), before any work starts."""
    if len(text) > MAX_LYRICS_CHARS:
        raise ToolError(f"The lyrics are {len(text):,} characters long, more than a song of at most 10 minutes "
                        f"can sing ({MAX_LYRICS_CHARS:,} characters); shorten them or split them into several songs.")


def read_lyrics_file(path: str | Path) -> str:
    """The text of a lyrics file; ToolError for a missing, unreadable, empty or too long file."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > 4 * MAX_LYRICS_CHARS:  # don't read a huge file to refuse it
            raise ToolError(f"The lyrics file {path} is larger than a song can sing ({MAX_LYRICS_CHARS:,} "
                            "characters at most); shorten it or split it into several songs.")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"Cannot read the lyrics file {path} ({type(exc).__name__}); give a UTF-8 text file.") from exc
    if not text.strip():
        raise ToolError(f"The lyrics file {path} is empty; write the lyrics in it, or leave out the lyrics file "
                        "to have lyrics written for you.")
    check_lyrics_size(text)
    return text


def parse_lyrics(text: str, *, title: str | None = None, from_model: bool = False) -> Lyrics:
    """Parse lyrics (an LLM's reply or a user's text) into sections with syllable counts.

    Headings in any common style start sections; text without headings is split
    into stanzas at blank lines, a stanza that comes back being the chorus.
    Chatter around the lyrics and stage directions are dropped. A model's reply
    (``from_model``) also loses looping lines and sections; a user's lyrics keep
    every line, a section longer than :data:`MAX_LINES_PER_SECTION` being split
    in parts (said in ``notes``). Raises ToolError when no lyric lines remain.
    """
    found_title = None
    raw: list[tuple[str | None, list[str]]] = []  # (heading kind word or None, lines); "" line = stanza break
    current: tuple[str | None, list[str]] = (None, [])
    raw.append(current)
    for source_line in (text or "").replace("\r", "").split("\n"):
        line = _clean(source_line)
        if not line:
            current[1].append("")
            continue
        if line.startswith(("```", "---", "***")):
            continue
        if m := _TITLE.match(line):
            found_title = _clean(m.group(1))
            continue
        if m := _REPEAT.match(line):
            current = ("chorus", [])
            raw.append(current)
            continue
        if m := _HEADING.match(line):
            current = (m.group(1), [m.group(3)] if m.group(3) else [])
            raw.append(current)
            continue
        if _STOP.match(line) and any(lines for _, lines in raw if any(lines)):
            break
        if _CHATTER.search(line) or line.endswith(":") or re.fullmatch(r"[\[(].*[\])]", line):
            continue
        current[1].append(line)

    has_headings = len(raw) > 1
    if has_headings:
        # Anything before the first heading is chatter, except a title in quotes or bold.
        preface = [ln for ln in raw[0][1] if ln]
        if preface and not found_title and len(preface) == 1:
            found_title = preface[0]
        blocks = [(heading, [ln for ln in lines if ln]) for heading, lines in raw[1:]]
    else:
        blocks = [(None, stanza) for stanza in _stanzas(raw[0][1])]
    sections, notes = _build_sections(blocks, from_model)
    if not sections:
        raise ToolError("No lyric lines were found; give lyrics as lines of text, optionally under headings like [Verse] and [Chorus].")
    final_title = (title or found_title or _title_from(sections)).strip().strip("\"“”")
    return Lyrics(title=final_title, sections=tuple(sections), notes=tuple(notes))


def _stanzas(lines: list[str]) -> list[list[str]]:
    stanzas, block = [], []
    for ln in [*lines, ""]:
        if ln:
            block.append(ln)
        elif block:
            stanzas.append(block)
            block = []
    if len(stanzas) == 1 and len(stanzas[0]) > MAX_LINES_PER_SECTION:
        only = stanzas[0]
        stanzas = [only[i:i + 4] for i in range(0, len(only), 4)]
    return stanzas


def _dedupe_lines(lines: list[str]) -> list[str]:
    """Keep a line at most twice in a section and never three times in a row (model loops)."""
    out: list[str] = []
    for ln in lines:
        key = _norm(ln)
        if not key or sum(_norm(o) == key for o in out) >= 2:
            continue
        out.append(ln)
    return out[:MAX_LINES_PER_SECTION]


def _parts(lines: tuple[LyricLine, ...]) -> list[tuple[LyricLine, ...]]:
    """A user's long section as balanced parts of at most MAX_LINES_PER_SECTION lines."""
    count = math.ceil(len(lines) / MAX_LINES_PER_SECTION)
    size = math.ceil(len(lines) / count)
    return [lines[i:i + size] for i in range(0, len(lines), size)]


def _build_sections(blocks: list[tuple[str | None, list[str]]], from_model: bool
                    ) -> tuple[list[LyricSection], list[str]]:
    stanza_keys = [tuple(_norm(ln) for ln in lines) for _, lines in blocks]
    sections: list[LyricSection] = []
    long_sections: list[tuple[int, int]] = []  # (index of the first part, lines) of a split user section
    seen_verses: set[tuple[str, ...]] = set()
    counts: dict[str, int] = {}
    last_chorus: tuple[LyricLine, ...] | None = None
    for (heading, lines), key in zip(blocks, stanza_keys):
        if heading is None:
            kind = "chorus" if stanza_keys.count(key) > 1 else "verse"
        else:
            kind = _kind_of(heading)
        lines = _dedupe_lines(lines) if from_model else [ln for ln in lines if _norm(ln)]
        if not lines:
            if kind == "chorus" and last_chorus:  # "[Chorus]" alone or "Repeat chorus"
                parsed = last_chorus
            else:
                continue
        else:
            parsed = tuple(make_line(ln) for ln in lines)
            parsed = tuple(ln for ln in parsed if ln.syllable_count > 0)
            if not parsed:
                continue
        signature = tuple(_norm(ln.text) for ln in parsed)
        if kind == "chorus":
            last_chorus = parsed
        if from_model:
            if kind != "chorus" and signature in seen_verses:
                continue  # a looping model repeating a whole verse
            seen_verses.add(signature)
            if kind == "chorus" and counts.get("chorus", 0) >= MAX_CHORUSES:
                continue
        counts[kind] = counts.get(kind, 0) + 1
        if len(parsed) > MAX_LINES_PER_SECTION:
            long_sections.append((len(sections), len(parsed)))
        sections += [LyricSection(kind=kind, label="", lines=part) for part in _parts(parsed)]
        if from_model and len(sections) >= MAX_SECTIONS:
            break
    labelled = _labelled(sections)
    notes = []
    for first, n in long_sections:
        parts = [s.label for s in labelled[first:first + math.ceil(n / MAX_LINES_PER_SECTION)]]
        notes.append(f"A {labelled[first].kind} of {n} lines is sung as {' and '.join(parts)} "
                     f"(at most {MAX_LINES_PER_SECTION} lines a section).")
    return labelled, notes


def _labelled(sections: list[LyricSection]) -> list[LyricSection]:
    """Name sections as a songbook does: Verse 1, Verse 2, Chorus, Bridge."""
    totals = {k: sum(s.kind == k for s in sections) for k in {s.kind for s in sections}}
    seen: dict[str, int] = {}
    out = []
    for s in sections:
        seen[s.kind] = seen.get(s.kind, 0) + 1
        name = s.kind.title()
        if s.kind == "verse" or (totals[s.kind] > 1 and s.kind not in ("chorus", "pre-chorus")):
            name = f"{name} {seen[s.kind]}"
        out.append(LyricSection(kind=s.kind, label=name, lines=s.lines))
    return out


def _title_from(sections: list[LyricSection]) -> str:
    chorus = next((s for s in sections if s.kind == "chorus"), sections[0])
    first_phrase = re.split(r"[,;:.!?]", chorus.lines[0].text)[0]
    words = re.sub(r"[^\w' ]", "", first_phrase).split()
    return " ".join(w[:1].upper() + w[1:] for w in words[:5]) or "Untitled"   # not .title(): "I'Ll"
