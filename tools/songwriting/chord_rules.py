"""Rule-based chord progressions: per-genre Roman-numeral templates for each section kind, cadences,
and the :class:`ChordGenerator` interface every chord generator speaks."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Protocol

from tools.music.harmony import ChordSpan, Key, parse_numeral, roman_to_chord

# Templates: genre -> mode -> section kind -> progressions; bars are separated by
# spaces and chords sharing a bar by commas. Sections without a pool use "verse".
# Metal's tonic stays a minor triad: power chords alone leave the key ambiguous.
_TEMPLATES: dict[str, dict[str, dict[str, list[str]]]] = {
    "pop": {
        "major": {"verse": ["I V vi IV", "vi IV I V", "I vi IV V", "I IV vi V"],
                  "chorus": ["IV I V vi", "I V vi IV", "vi IV I V", "IV V vi I"],
                  "bridge": ["ii IV vi V", "IV V iii vi", "vi V IV V"],
                  "pre-chorus": ["ii IV V V", "IV V IV V"]},
        "minor": {"verse": ["i VI III VII", "i VII VI VII", "i iv VI V"],
                  "chorus": ["VI VII i i", "VI III VII i", "i VI III VII"],
                  "bridge": ["iv VI VII V", "VI VII III VI"]},
    },
    "rock": {
        "major": {"verse": ["I bVII IV I", "I IV I V", "I V IV IV", "I bIII IV I"],
                  "chorus": ["I IV V IV", "IV I V V", "I bVII IV I", "vi IV I V"],
                  "bridge": ["vi IV I V", "bVI bVII I I", "IV IV I I"]},
        "minor": {"verse": ["i VII VI VII", "i iv VII i", "i VI VII i"],
                  "chorus": ["VI VII i i", "III VII i i", "i VI III VII"],
                  "bridge": ["iv VI VII VII", "VI VII V V"]},
    },
    "folk": {
        "major": {"verse": ["I IV I V", "I I IV I", "I vi IV V", "I V IV I"],
                  "chorus": ["IV I V I", "I IV V I", "vi IV I V"],
                  "bridge": ["vi IV I V", "IV V vi IV", "ii V I I"]},
        "minor": {"verse": ["i VII i VII", "i iv i V", "i III VII i"],
                  "chorus": ["III VII i i", "VI III VII i", "i iv V i"],
                  "bridge": ["VI VII III III", "iv i V i"]},
    },
    "country": {
        "major": {"verse": ["I I IV I", "I IV V I", "I IV I V", "I V I IV"],
                  "chorus": ["IV I V I", "I V IV I", "IV V I I"],
                  "bridge": ["vi IV I V", "IV V I vi", "ii V I I"]},
        "minor": {"verse": ["i iv i V", "i VII i VII", "i VI VII i"],
                  "chorus": ["VI VII i i", "iv i V i"],
                  "bridge": ["VI VII III III", "iv iv V V"]},
    },
    # Jazz: two chords a bar in the turnarounds and ii-V's, ii-V chains (iii-VI-ii-V), secondary dominants
    # (VI7 = V7/ii, II7 = V7/V, III7 = V7/vi, I7 = V7/IV), the backdoor iv7-bVII7 and altered minor dominants.
    "jazz": {
        "major": {"verse": ["Imaj7,vi7 ii7,V7 Imaj7,vi7 ii7,V7", "Imaj7 VI7 ii7 V7", "iii7,VI7 ii7,V7 Imaj7 Imaj7",
                            "ii7 V7 Imaj7 Imaj7,VI7", "Imaj7 I7 IVmaj7 iv7,bVII7"],
                  "chorus": ["IVmaj7 iii7,VI7 ii7,V7 Imaj7", "Imaj7 II7 ii7 V7", "ii7,V7 iii7,VI7 ii7,V7 Imaj7",
                             "IVmaj7 iv7 iii7,VI7 ii7,V7"],
                  "bridge": ["III7 VI7 II7 V7", "v7,I7 IVmaj7 iv7,bVII7 Imaj7", "ii7,V7 Imaj7 iii7,VI7 ii7,V7"],
                  "pre-chorus": ["iii7,VI7 ii7,V7", "ii7 V7"]},
        "minor": {"verse": ["i7 iv7 iiø7,V7b9 i7", "iiø7,V7b9 i7 iiø7,V7b9 i7", "i7,VImaj7 iiø7,V7 i7,VImaj7 iiø7,V7b9",
                            "i7 i7 iv7,VII7 IIImaj7"],
                  "chorus": ["iv7,VII7 IIImaj7,VImaj7 iiø7,V7b9 i7", "iiø7 V7b9 i7 VI7", "i7 iv7 VII7 IIImaj7,V7b9"],
                  "bridge": ["IIImaj7 VImaj7 iiø7,V7b9 i7", "iv7 VII7 IIImaj7 iiø7,V7b9"]},
    },
    "blues": {
        "major": {"verse": ["I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7", "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7"],
                  "bridge": ["IV7 IV7 I7 I7 V7 IV7 I7 V7"]},
        "minor": {"verse": ["i7 iv7 i7 i7 iv7 iv7 i7 i7 VI7 V7 i7 V7", "i7 i7 i7 i7 iv7 iv7 i7 i7 VI7 V7 i7 i7"],
                  "bridge": ["iv7 iv7 i7 i7 VI7 V7 i7 V7"]},
    },
    "electronic": {
        "major": {"verse": ["vi IV I V", "I V vi IV", "IV V vi vi"],
                  "chorus": ["vi IV I V", "IV V vi I"],
                  "bridge": ["IV IV V V", "vi vi IV IV"]},
        "minor": {"verse": ["i VI III VII", "i i VI VII", "i VII VI VII"],
                  "chorus": ["VI VII i i", "i VI III VII", "VI III VII i"],
                  "bridge": ["iv iv VI VII", "VI VI VII VII"]},
    },
    "hip hop": {
        "major": {"verse": ["vi IV vi IV", "Imaj7 vi7 Imaj7 vi7", "ii7 V7 ii7 V7"],
                  "chorus": ["IV V vi vi", "vi IV I V"],
                  "bridge": ["IVmaj7 IVmaj7 iii7 vi7"]},
        "minor": {"verse": ["i VI i VI", "i iv i iv", "i7 iv7 i7 iv7"],
                  "chorus": ["i VI III VII", "VI VII i i"],
                  "bridge": ["iv iv VI VII"]},
    },
    # R&B: ninths and thirteenths, I-vi-ii-V turnarounds two chords a bar, ii-V's into the tonic.
    "r&b": {
        "major": {"verse": ["Imaj9 vi9 ii9 V13", "Imaj7,vi7 ii7,V7 Imaj7,vi7 ii9,V13", "IVmaj7 iii7,VI7 ii7 V9sus4,V7",
                            "ii9 V13 Imaj9 Imaj9,VI7"],
                  "chorus": ["IVmaj7 V7,iii7 vi9 ii7,V7", "ii9,V13 Imaj9,vi9 ii9,V13 Imaj9", "IVmaj9 iii7,VI7 ii9,V13 Imaj9"],
                  "bridge": ["IVmaj7 iii7,VI7 ii9 V9sus4", "vi9 II7 ii9 V13"]},
        "minor": {"verse": ["i9 iv9 VImaj7 iiø7,V7b9", "i7,VImaj7 iv7,V7 i9 i9", "i9 i9 iv9 VImaj7,V7"],
                  "chorus": ["VImaj7 V7,iv7 i9 i9", "iv9,V7 i9,VImaj7 iv9,V7b9 i9"],
                  "bridge": ["IIImaj7 VImaj7 iiø7,V7b9 i9", "iv9 VII7 IIImaj7 VImaj7"]},
    },
    "metal": {
        "major": {"verse": ["I5 bVI5 bVII5 I5", "I5 bIII5 IV5 I5"],
                  "chorus": ["bVI5 bVII5 I5 I5", "I5 bVII5 bVI5 bVII5"],
                  "bridge": ["IV5 bVI5 bVII5 V5"]},
        "minor": {"verse": ["i VI5 VII5 i", "i i bII5 i", "i IV5 VI5 V5"],
                  "chorus": ["VI5 VII5 i i", "i VI5 III5 VII5"],
                  "bridge": ["IV5 VI5 VII5 V5", "VI5 VI5 VII5 VII5"]},
    },
}


# Tonic and dominant used for cadences, in the genre's harmonic language.
_CADENCE = {
    "jazz": ("Imaj7", "i7", "V7"), "r&b": ("Imaj9", "i9", "V7"), "blues": ("I7", "i7", "V7"),
    "metal": ("I5", "i", "V5"),  # a minor tonic triad makes the key clear under the power chords
}


_TWO_FIVE_CADENCE = {"jazz": {"major": ("ii7", "V7"), "minor": ("iiø7", "V7b9")},
                     "r&b": {"major": ("ii9", "V13"), "minor": ("iiø7", "V7b9")}}


_SECTION_POOL = {"intro": "verse", "solo": "verse", "instrumental": "verse", "outro": "chorus",
                 "pre-chorus": "pre-chorus", "hook": "chorus"}


_DARK_WORDS = set("""alone ache bleed blood broken cold cry crying dark darkness dead death die dying empty fall
fear goodbye gone grave grief hurt lonely lost night pain rain sad scars shadow sorrow tears tired wound""".split())


_BRIGHT_WORDS = set("""bright dance dancing free fun glow gold happy home hope laugh light love shine shining sky
smile summer sun sunshine sweet together warm young""".split())


class ChordGenerator(Protocol):
    """Writes the chords of one song section."""

    name: str

    def progression(
        self,
        *,
        section: str,
        bars: int,
        key: Key,
        genre: str,
        mood: str | None = None,
        lyrics: Sequence[str] = (),
        beats_per_bar: int = 4,
        cadence: bool = False,
        seed: int = 0,
    ) -> list[ChordSpan]:
        """Chords for ``bars`` bars of a ``section`` (verse, chorus, bridge...), starting at beat 0.

        ``cadence`` asks for a section that ends on the tonic (the song's end).
        """
        ...


def darkness(mood: str | None, lyrics: Sequence[str]) -> float:
    """-1 (bright) to 1 (dark): how sad the mood and the lyric words are."""
    words = re.findall(r"[a-z]+", " ".join([mood or "", mood or "", *lyrics]).lower())
    dark = sum(w in _DARK_WORDS or w in ("melancholy", "somber", "gloomy", "angry", "tense") for w in words)
    bright = sum(w in _BRIGHT_WORDS or w in ("upbeat", "joyful", "cheerful", "uplifting", "energetic") for w in words)
    return 0.0 if dark + bright == 0 else (dark - bright) / (dark + bright)


class RuleBasedChordGenerator:
    """Fallback generator: picks genre templates by section, weighted by mood and lyric darkness.

    Deterministic for a given seed; every verse of a song gets the same template
    (as songs do), only its length follows the verse's lines.
    """

    name = "rule-based"

    def progression(
        self,
        *,
        section: str,
        bars: int,
        key: Key,
        genre: str,
        mood: str | None = None,
        lyrics: Sequence[str] = (),
        beats_per_bar: int = 4,
        cadence: bool = False,
        seed: int = 0,
    ) -> list[ChordSpan]:
        """See :meth:`ChordGenerator.progression`."""
        romans = self.romans(section=section, bars=bars, key=key, genre=genre, mood=mood,
                             lyrics=lyrics, cadence=cadence, seed=seed)
        return spans_from_romans(romans, key, beats_per_bar)

    def romans(
        self,
        *,
        section: str,
        bars: int,
        key: Key,
        genre: str,
        mood: str | None = None,
        lyrics: Sequence[str] = (),
        cadence: bool = False,
        seed: int = 0,
    ) -> list[list[str]]:
        """The Roman numerals of each bar (one or two per bar)."""
        pools = _TEMPLATES.get(genre, _TEMPLATES["pop"])[key.mode]
        kind = section_kind(section)
        pool = pools.get(kind) or pools["verse"]
        # Dark moods and lyrics lean to templates with more minor chords, bright ones to fewer.
        shade = darkness(mood, lyrics)
        weights = []
        for template in pool:
            numerals = template.replace(",", " ").split()
            minor_share = sum(parse_numeral(n).minor for n in numerals) / len(numerals)
            weights.append(max(0.05, 1.0 + 2.0 * shade * (minor_share - 0.4)))
        # A string seed is hashed with SHA-512 by random, so choices are stable across runs.
        rng = random.Random(f"{seed}|{genre}|{key.mode}|{kind}")
        template = rng.choices(pool, weights=weights)[0]
        cycle = [bar.split(",") for bar in template.split()]
        out = [list(cycle[i % len(cycle)]) for i in range(max(1, bars))]
        return apply_cadence(out, genre, key.mode) if cadence else out


def section_kind(section: str) -> str:
    """The template pool a section draws from: intro and solo play like a verse, outro and hook like a chorus."""
    section = section.lower().strip()
    return _SECTION_POOL.get(section, section)


def section_templates(genre: str, mode: str) -> tuple[str, ...]:
    """The section kinds the rule-based templates have for ``genre`` in ``mode``."""
    return tuple(_TEMPLATES.get(genre, _TEMPLATES["pop"])[mode])


def apply_cadence(bars: list[list[str]], genre: str, mode: str) -> list[list[str]]:
    """End on the tonic in the genre's harmonic language, preceded by its dominant if the bar before is the tonic
    (jazz and r&b: always by a ii-V in the bar before)."""
    out = [list(b) for b in bars]
    tonic_major, tonic_minor, dominant = _CADENCE.get(genre, ("I", "i", "V"))
    out[-1] = [tonic_major if mode == "major" else tonic_minor]
    if genre in _TWO_FIVE_CADENCE and len(out) >= 2:
        out[-2] = list(_TWO_FIVE_CADENCE[genre][mode])   # the ii-V into the last tonic, two chords in a bar
    elif len(out) >= 2 and parse_numeral(out[-2][-1]).roman == "I":
        out[-2] = [dominant]
    return out


def spans_from_romans(romans: Sequence[Sequence[str]], key: Key, beats_per_bar: int) -> list[ChordSpan]:
    """Bars of Roman numerals as ChordSpans in ``key``: chords share a bar equally (a 3/4 bar keeps its first)."""
    spans: list[ChordSpan] = []
    for bar, bar_romans in enumerate(romans):
        if beats_per_bar % len(bar_romans):
            bar_romans = bar_romans[:1]  # a 3/4 bar does not split in two
        length = beats_per_bar / len(bar_romans)
        for i, roman in enumerate(bar_romans):
            spans.append(ChordSpan(roman_to_chord(roman, key), roman, bar * beats_per_bar + i * length, length))
    return spans

