"""Song lyrics: written by the configured LLM, parsed into sections, counted in syllables.

Small local models wrap lyrics in chatter ("Sure! Here is your song:"), use any
heading style ("[Verse 1]", "Chorus:", "**Bridge**") and sometimes loop one
line forever; :func:`parse_lyrics` turns all of that into clean sections, and
the same parser reads lyrics a user types.
"""

from __future__ import annotations


import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from core.errors import ToolError


MAX_LINES_PER_SECTION = 8


MAX_SECTIONS = 10


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
    """A song's lyrics in sections."""

    title: str
    sections: tuple[LyricSection, ...]

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


_SPLIT_PAIRS = ("ia", "io", "iu", "ua", "uo")


_KEEP_WITH_PREVIOUS = ("ck", "ng", "gh")


_KEEP_WITH_NEXT = ("th", "sh", "ch", "ph", "wh")


def _vowel_groups(core: str) -> list[list[int]]:
    """[start, end) spans of the vowel groups of a lower-case, letters-only word."""
    def is_vowel(i: int) -> bool:
        ch = core[i]
        if ch in "aeio":
            return True
        if ch == "u":  # the u of "qu" and "gu" + vowel is a consonant sound
            return not (i > 0 and core[i - 1] in "qg" and i + 1 < len(core) and core[i + 1] in "aeiouy")
        if ch == "y":  # consonant at the start (yes) and between vowels (beyond, player)
            if i == 0:
                return False
            between = core[i - 1] in "aeiou" and i + 1 < len(core) and core[i + 1] in "aeiou"
            return not between
        return False

    groups: list[list[int]] = []
    for i in range(len(core)):
        if is_vowel(i):
            if groups and groups[-1][1] == i and core[i - 1:i + 1] not in _SPLIT_PAIRS:
                groups[-1][1] = i + 1
            elif groups and groups[-1][1] == i and i >= 2 and core[i - 2] in "tscgx":
                groups[-1][1] = i + 1   # -tion, -sion, -cial stay one syllable
            else:
                groups.append([i, i + 1])
    # "being", "going": the i of -ing after a vowel starts its own syllable
    if core.endswith("ing") and len(groups) >= 1 and groups[-1][1] == len(core) - 2 and groups[-1][1] - groups[-1][0] > 1:
        groups[-1][1] -= 1
        groups.append([len(core) - 3, len(core) - 2])
    if len(groups) > 1:
        last = groups[-1]
        n = len(core)
        if last == [n - 1, n] and core.endswith("e"):
            if not (core.endswith("le") and n > 2 and core[-3] not in "aeiouy"):
                groups.pop()  # silent e: love, fire, time
        elif last == [n - 2, n - 1] and core[-2:] in ("ed", "es"):
            if core.endswith("ed") and core[-3] not in "td" and not (core[-3] == "r" and core[-4] not in "aeiou"):
                groups.pop()  # walked, loved
            elif core.endswith("es") and core[-3] not in "sxzcg" and core[-4:-2] not in ("ch", "sh"):
                groups.pop()  # makes, eyes (but boxes, places)
    return groups


def syllabify(word: str) -> tuple[str, ...]:
    """Split a word into sung syllables, heuristically: ``"remember"`` -> ``("re", "mem", "ber")``.

    Punctuation stays attached to the syllable beside it. Words without letters
    (numbers) count as one syllable; an empty string has none.
    """
    index = [i for i, ch in enumerate(word) if ch.isalpha()]
    if not index:
        return (word,) if word.strip() else ()
    # Accents off for the vowel test only (café, chérie), so indices still map onto the word.
    core = "".join(unicodedata.normalize("NFD", word[i])[0] for i in index).lower()
    if word[index[-1]] in "éÉ":
        core = core[:-1] + "a"  # a final é is sung (café), unlike a silent e
    groups = _vowel_groups(core)
    cuts = []
    for (_, end1), (start2, _) in zip(groups, groups[1:]):
        cluster = core[end1:start2]
        if len(cluster) == 0:
            cut = start2
        elif len(cluster) == 1:
            cut = end1
        elif start2 == len(core) - 1 and core.endswith("le"):
            cut = max(end1, start2 - 2)  # ta-ble, lit-tle
        elif cluster[:2] in _KEEP_WITH_PREVIOUS or cluster[0] == "x":
            cut = end1 + 2 if cluster[:2] in _KEEP_WITH_PREVIOUS else end1 + 1
        elif cluster[:2] in _KEEP_WITH_NEXT:
            cut = end1
        else:
            cut = end1 + 1
        cuts.append(index[cut] if cut < len(index) else len(word))
    bounds = [0, *cuts, len(word)]
    return tuple(word[a:b] for a, b in zip(bounds, bounds[1:]) if word[a:b])


def count_syllables(text: str) -> int:
    """Heuristic English syllable count of a line of text."""
    return sum(len(w) for w in _words(text))


def _words(text: str) -> tuple[tuple[str, ...], ...]:
    tokens = re.sub(r"[-–—/]+", " ", text).split()
    return tuple(s for s in (syllabify(t) for t in tokens) if s)


def make_line(text: str) -> LyricLine:
    """A LyricLine from text, with its words split into syllables."""
    return LyricLine(text=text, words=_words(text))


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
    r"|\b(this song|these lyrics|the lyrics|let me know if|feel free to|hope you (?:enjoy|like)|any changes)\b",
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


def parse_lyrics(text: str, *, title: str | None = None) -> Lyrics:
    """Parse lyrics (an LLM's reply or a user's text) into sections with syllable counts.

    Headings in any common style start sections; text without headings is split
    into stanzas at blank lines, a stanza that comes back being the chorus.
    Chatter around the lyrics, stage directions and looping lines are dropped.
    Raises ToolError when no lyric lines remain.
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
    sections = _build_sections(blocks)
    if not sections:
        raise ToolError("No lyric lines were found; give lyrics as lines of text, optionally under headings like [Verse] and [Chorus].")
    final_title = (title or found_title or _title_from(sections)).strip().strip("\"“”")
    return Lyrics(title=final_title, sections=tuple(sections))


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


def _build_sections(blocks: list[tuple[str | None, list[str]]]) -> list[LyricSection]:
    stanza_keys = [tuple(_norm(ln) for ln in lines) for _, lines in blocks]
    sections: list[LyricSection] = []
    seen_verses: set[tuple[str, ...]] = set()
    counts: dict[str, int] = {}
    last_chorus: tuple[LyricLine, ...] | None = None
    for (heading, lines), key in zip(blocks, stanza_keys):
        if heading is None:
            kind = "chorus" if stanza_keys.count(key) > 1 else "verse"
        else:
            kind = _kind_of(heading)
        lines = _dedupe_lines(lines)
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
        if kind != "chorus":
            if signature in seen_verses:
                continue  # a looping model repeating a whole verse
            seen_verses.add(signature)
        else:
            last_chorus = parsed
            if counts.get("chorus", 0) >= 3:
                continue
        counts[kind] = counts.get(kind, 0) + 1
        sections.append(LyricSection(kind=kind, label="", lines=parsed))
        if len(sections) >= MAX_SECTIONS:
            break
    return _labelled(sections)


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
    return " ".join(words[:5]).title() or "Untitled"
