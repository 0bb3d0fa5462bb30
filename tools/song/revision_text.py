"""Read an edit asked for in words ("faster, and in a major key", "piano only", "new chords for the
chorus", "rewrite the second verse about the train station") as a typed :class:`Revision`.

The agent passes the user's words through unchanged, so the same sentence gives the same edit
on every chat model, however small. Words it cannot read raise ToolError with examples.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.errors import ToolError
from tools.music.genres import GENRES
from tools.song.revise import Revision
from tools.songwriting.arrangement import INSTRUMENTS
from tools.songwriting.genre import ALIASES

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": 0}
_SECTION_WORDS = r"verse|chorus|bridge|intro|outro|solo|pre-chorus|refrain"
_SECTION = re.compile(rf"(?:(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th|last)\s+)?(?P<kind>{_SECTION_WORDS})"
                      rf"(?:\s+(?P<num>\d))?")
_TEMPO_WORDS = [  # (pattern, factor): the first that matches wins
    (r"\b(double[- ]time|twice as fast)\b", 2.0), (r"\b(half[- ]time|half as fast|half the speed)\b", 0.5),
    (r"\b(much|a lot|way|far)\s+(faster|quicker)\b", 1.3), (r"\b(much|a lot|way|far)\s+slower\b", 0.75),
    (r"\b(a (little|bit|touch)|slightly|little)\s+(faster|quicker)\b", 1.07),
    (r"\b(a (little|bit|touch)|slightly|little)\s+slower\b", 0.93),
    (r"\b(faster|quicker|speed (it )?up|more upbeat|up ?tempo)\b", 1.15), (r"\b(slower|slow (it )?down)\b", 0.87),
]
_UNDO = re.compile(r"\b(go back|undo|revert|previous version|last version|earlier version|the one before|"
                   r"change it back|put it back)\b")
_NEW_TAKE = re.compile(r"\b(another|a new|a different|one more|new)\s+(take|version|try|attempt)\b|\btry again\b|"
                       r"\bregenerate( it| the song)?$|\bre-?roll\b")
_INSTRUMENT_NAMES = sorted(set(INSTRUMENTS) | {"drums", "drum kit", "percussion"}, key=len, reverse=True)
_INSTRUMENT = "|".join(re.escape(n) for n in _INSTRUMENT_NAMES)


def is_undo(text: str) -> bool:
    """Does ``text`` ask to go back to the previous version?"""
    return bool(_UNDO.search(text.lower()))


def _section_name(match: re.Match) -> str:
    kind = match.group("kind").replace("refrain", "chorus")
    number = match.group("num") or (str(_ORDINALS[match.group("ord")]) if match.group("ord") else "")
    if match.group("ord") == "last":
        return f"last {kind}"
    return f"{kind} {number}".strip()


def _instruments(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(rf"\b({_INSTRUMENT})s?\b", text)]


def _genre(text: str) -> str | None:
    names = sorted(set(GENRES) | set(ALIASES), key=len, reverse=True)
    words = "|".join(re.escape(n) for n in names)
    m = re.search(rf"\b(?:as|into|to|make it|more|in|like)\s+(?:an?\s+|the\s+)?({words})\b(?!\s+(?:key|scale))"
                  rf"|\b({words})\s+(?:version|style|feel|arrangement|groove)\b", text)
    return (m.group(1) or m.group(2)) if m else None


def parse_revision(text: str) -> Revision:
    """The edit ``text`` asks for. Raises ToolError when it names nothing bandmate can change."""
    raw = " ".join(text.split())
    low = raw.lower()
    rev = Revision()
    for pattern, factor in _TEMPO_WORDS:
        if re.search(pattern, low):
            rev = replace(rev, tempo_factor=factor)
            break
    if m := re.search(r"\b(\d{1,4}(?:\.\d+)?)\s*(?:bpm|beats per minute|beats a minute)\b", low):
        rev = replace(rev, tempo=float(m.group(1)), tempo_factor=None)

    # a key ("in G minor", "to Eb", "key of F#") or a mode ("in a major key", "make it minor")
    if m := re.search(r"\b(?:in|to|key of|into)\s+([A-G](?:#|b|♯|♭)?)(?:\s*(major|minor|maj|min|m)\b)?(?!\w)", raw):
        mode = {"maj": "major", "min": "minor", "m": "minor"}.get((m.group(2) or "").lower(), (m.group(2) or "").lower())
        rev = replace(rev, key=f"{m.group(1)} {mode}".strip())
    elif m := re.search(r"\b(major|minor)\b", low):
        rev = replace(rev, mode=m.group(1))

    if rev.mode is None and rev.key is None and re.search(r"\b(sadder|darker|gloomier|more (melancholy|somber|sombre))\b", low):
        rev = replace(rev, mode="minor", tempo_factor=rev.tempo_factor or 0.93)
    elif rev.mode is None and rev.key is None and re.search(r"\b(happier|brighter|more (cheerful|joyful|uplifting))\b", low):
        rev = replace(rev, mode="major", tempo_factor=rev.tempo_factor or 1.07)
    if genre := _genre(low):
        rev = replace(rev, genre=genre)

    # instruments: "piano only", "just strings", "no drums", "add a cello"
    if m := re.search(rf"\b(?:only|just|solo)\s+(?:on\s+|the\s+|a\s+)?((?:{_INSTRUMENT})s?(?:\s*(?:,|and)\s*(?:{_INSTRUMENT})s?)*)"
                      rf"|((?:{_INSTRUMENT})s?(?:\s*(?:,|and)\s*(?:{_INSTRUMENT})s?)*)\s+only\b", low):
        rev = replace(rev, instruments=tuple(_instruments(m.group(1) or m.group(2))))
    removed = [n for m in re.finditer(rf"\b(?:no|without|drop|remove|lose|cut|mute|take out|get rid of)\s+"
                                      rf"(?:the\s+|any\s+)?((?:{_INSTRUMENT})s?)\b", low)
               for n in _instruments(m.group(1))]
    added = [n for m in re.finditer(rf"\b(?:add|with|plus|bring in|include)\s+(?:an?\s+|some\s+|the\s+)?"
                                    rf"((?:{_INSTRUMENT})s?(?:\s*(?:,|and)\s*(?:an?\s+|some\s+)?(?:{_INSTRUMENT})s?)*)", low)
             for n in _instruments(m.group(1))]
    if rev.instruments is None and (removed or added):
        rev = replace(rev, add_instruments=tuple(added), remove_instruments=tuple(removed))

    # the form
    sections = list(_SECTION.finditer(low))
    if m := re.search(rf"\b(?:drop|remove|cut|skip|lose|without|no|get rid of)\s+(?:the\s+)?({_SECTION.pattern})", low):
        rev = replace(rev, drop_section=_section_name(_SECTION.search(m.group(1))))
    if re.search(r"\b(repeat|again|one more|another)\b.*\bchorus\b|\bchorus\b.*\b(again|twice)\b|\bmake it longer\b", low) \
            and not re.search(r"\b(new|different|rewrite|change)\b.*\bchorus\b", low):
        rev = replace(rev, repeat_last_chorus=True)
    if m := re.search(r"\badd\s+(?:an?\s+)?(bridge|verse|solo|instrumental(?: break)?)\b", low):
        rev = replace(rev, add_section=m.group(1).split()[0])

    # one section's chords, melody or lyrics
    target = _section_name(sections[-1]) if sections else None
    if re.search(r"\b(new|different|other|change|regenerate|redo|rewrite|fresh|re-?harmoni[sz]e)\b.*\bchords?\b"
                 r"|\bchords?\b.*\b(new|different|changed?)\b", low):
        rev = replace(rev, regenerate="chords", section=target)
    elif re.search(r"\b(new|different|other|change|regenerate|redo|fresh)\b.*\b(melody|tune)\b", low):
        rev = replace(rev, regenerate="melody", section=target)
    about = re.search(r"\babout\s+(.+?)[.!?]?$", raw)
    if about and rev.add_section:
        rev = replace(rev, lyrics_about=about.group(1))
    elif re.search(r"\b(lyrics|words|lines|rewrite|re-write)\b", low) and target and not rev.regenerate:
        rev = replace(rev, rewrite_lyrics=True, section=target, lyrics_about=about.group(1) if about else None)
    if _NEW_TAKE.search(low):
        rev = replace(rev, new_take=True)
    if rev.is_empty():
        raise ToolError("I could not tell what to change; say for example 'faster', 'in G major', 'piano only', "
                        "'no drums', 'new chords for the chorus', 'rewrite verse 2 about the sea' or 'another take'.")
    return rev
