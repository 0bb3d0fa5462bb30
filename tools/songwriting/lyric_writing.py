"""Lyrics written by the configured LLM: the brief, a whole song's lyrics or one section's.

Two methods write a song: ``crafted`` (the default, :mod:`tools.songwriting.lyric_craft`: plan, draft
section by section, fix lines that miss the rhyme scheme or the meter) and ``single-shot`` (one prompt
for the whole song, kept for comparison in ``bench/lyrics_quality.py``). The prompts are data files
(``tools/prompts/lyrics_*.md``); replies are read by :func:`tools.songwriting.lyrics.parse_lyrics`,
which copes with small models' chatter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.errors import ToolError
from core.textgen import TextGenerator
from tools import PROMPTS_DIR
from tools.songwriting.lyric_craft import REPEAT_PENALTY, CraftOptions, write_crafted
from tools.songwriting.lyrics import Lyrics, LyricSection, parse_lyrics

Method = Literal["crafted", "single-shot"]
METHODS: tuple[Method, ...] = ("crafted", "single-shot")

DEFAULT_STRUCTURE = ("Verse 1", "Chorus", "Verse 2", "Chorus", "Bridge", "Chorus")


@dataclass(frozen=True)
class LyricsBrief:
    """What a songwriter needs to know: the theme, and optionally a title, an artist to write like,
    a genre and sub-genres, an era and a mood."""

    prompt: str = ""
    title: str | None = None
    artist: str | None = None
    genre: str | None = None
    subgenres: tuple[str, ...] = ()
    era: str | None = None
    mood: str | None = None

    def details(self) -> str:
        """The brief's lines after the theme, for the prompt."""
        lines = []
        if self.artist:
            lines.append(f"Write it the way {self.artist} would, without copying their lyrics.")
        if self.genre or self.subgenres:
            lines.append("Genre: " + ", ".join([self.genre] if self.genre else []) + (
                f" ({', '.join(self.subgenres)})" if self.subgenres else ""))
        if self.era:
            lines.append(f"Era: {self.era}")
        if self.mood:
            lines.append(f"Mood: {self.mood}")
        return "\n".join(lines)

    @property
    def theme(self) -> str:
        """What the song is about: the request without its framing ("write me a sad folk song about leaving
        home" is about "leaving home"; the model was told it was writing "a sad folk song about write me a sad
        folk song about leaving home", and sang of sad folk songs)."""
        asked = _SONG_ABOUT.match((self.prompt or "").strip())
        theme = asked.group("theme") if asked else self.prompt
        return (theme or self.title or "a song about life").strip().rstrip(".!?").strip()

    @property
    def genre_words(self) -> str:
        """Mood and genre as words before "song" ("sad folk "): the brief's, else the request's own ("a sad folk
        song about ..."); empty when there are none."""
        given = [w for w in (self.mood, *self.subgenres, self.genre) if w]
        asked = _SONG_ABOUT.match((self.prompt or "").strip())
        if not given and asked and len(asked.group("words").split()) <= 4:
            given = asked.group("words").split()
        return "".join(f"{w} " for w in given)


# "write me a sad folk song about leaving home", "A rock song on losing the farm", "song about rain"
_SONG_ABOUT = re.compile(
    r"^(?:(?:please\s+)?(?:can you\s+|could you\s+)?(?:write|make|compose|create|give|sing)\s+(?:me\s+|us\s+)?)?"
    r"(?:(?:a|an|the|some|one)\s+)?(?P<words>(?:[\w&'-]+\s+)*?)(?:song|tune|lyrics)s?\s+(?:about|of|on)\s+"
    r"(?P<theme>\S.*)$", re.IGNORECASE | re.DOTALL)


def _system() -> str:
    return (PROMPTS_DIR / "lyrics_system.md").read_text(encoding="utf-8").strip()


def lyrics_prompt(brief: LyricsBrief, structure: tuple[str, ...] = DEFAULT_STRUCTURE) -> tuple[str, str]:
    """The (system, user) prompts that ask an LLM for lyrics matching ``brief``."""
    user = (PROMPTS_DIR / "lyrics_user.md").read_text(encoding="utf-8").format(
        title_part=f' called "{brief.title}"' if brief.title else "",
        theme=brief.theme,
        details=brief.details(),
        structure=", ".join(f"[{s}]" for s in structure),
    ).replace("\n\n", "\n").strip()
    return _system(), user


def write_lyrics(
    brief: LyricsBrief,
    llm: TextGenerator,
    *,
    seed: int = 0,
    structure: tuple[str, ...] = DEFAULT_STRUCTURE,
    method: Method = "crafted",
    options: CraftOptions = CraftOptions(),
) -> Lyrics:
    """Lyrics for ``brief`` in the sections of ``structure``, written by ``llm`` with ``method``.

    Raises ToolError for an unknown method, or when the model writes no usable lyrics.
    """
    if method == "single-shot":
        return write_lyrics_single_shot(brief, llm, seed=seed, structure=structure)
    if method != "crafted":
        raise ToolError(f"Unknown lyrics method {method!r}; use one of {', '.join(METHODS)}.")
    details = "\n".join(ln for ln in brief.details().splitlines() if not ln.startswith(("Genre:", "Mood:")))
    return write_crafted(brief.theme, details, llm, structure=structure, title=brief.title,
                         genre_words=brief.genre_words, seed=seed, options=options)


def write_lyrics_single_shot(
    brief: LyricsBrief,
    llm: TextGenerator,
    *,
    seed: int = 0,
    structure: tuple[str, ...] = DEFAULT_STRUCTURE,
    max_tokens: int = 400,
) -> Lyrics:
    """Ask ``llm`` for the whole song's lyrics in one reply and parse them (the first method bandmate had).

    Tries a second time with another seed when the first reply holds no usable
    lyrics; raises ToolError if neither does.
    """
    system, user = lyrics_prompt(brief, structure)
    for attempt in range(2):
        reply = llm.generate(user, system=system, max_tokens=max_tokens, temperature=0.8 - 0.2 * attempt,
                             seed=seed + attempt, repeat_penalty=REPEAT_PENALTY)
        try:
            lyrics = parse_lyrics(reply, title=brief.title, from_model=True)
        except ToolError:
            continue
        if sum(len(s.lines) for s in lyrics.sections) >= 2:
            return lyrics
    raise ToolError(f"The language model ({getattr(llm, 'name', 'LLM')}) did not write usable lyrics; try again, or give the lyrics yourself.")


def write_section(
    brief: LyricsBrief,
    lyrics: Lyrics,
    label: str,
    llm: TextGenerator,
    *,
    about: str | None = None,
    seed: int = 0,
    max_tokens: int = 160,
) -> LyricSection:
    """New lines for the section ``label`` of ``lyrics`` (an existing one, or a new bridge or verse):
    the LLM sees the rest of the song and writes only this section, about ``about`` when given.

    Raises ToolError when the reply holds no usable lines twice.
    """
    kind = label.split()[0].lower()
    old = next((s for s in lyrics.sections if s.label.lower() == label.lower()), None)
    n_lines = len(old.lines) if old else 4
    others = "\n\n".join(f"[{s.label}]\n" + "\n".join(ln.text for ln in s.lines)
                         for s in lyrics.sections if s.label.lower() != label.lower())
    user = (PROMPTS_DIR / "lyrics_section.md").read_text(encoding="utf-8").format(
        title=lyrics.title, theme=brief.theme, details=brief.details(), song=others, label=label,
        lines=n_lines, about=(about or "the song's theme, in new words").strip(),
    ).replace("\n\n\n", "\n\n").strip()
    for attempt in range(2):
        reply = llm.generate(user, system=_system(), max_tokens=max_tokens, temperature=0.8 - 0.2 * attempt,
                             seed=seed + attempt, repeat_penalty=REPEAT_PENALTY)
        try:
            parsed = parse_lyrics(reply, title=lyrics.title, from_model=True)
        except ToolError:
            continue
        lines = tuple(ln for s in parsed.sections for ln in s.lines)[: max(n_lines, 2) + 2]
        if len(lines) >= 2:
            return LyricSection(kind=old.kind if old else kind, label=old.label if old else label.title(), lines=lines)
    raise ToolError(f"The language model ({getattr(llm, 'name', 'LLM')}) did not write usable lines for {label}; "
                    "try again, or give the lines yourself.")
