"""How a genre and a mood sound: tempo, meter, feel, key, instruments, bass line and drums.

:func:`arrange` decides the arrangement (a frozen :class:`Arrangement`);
:func:`backing_parts` plays it over a song's chords as comping, bass and drum
parts. Styles are a plain registry keyed by genre (see :data:`STYLES`).
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.errors import ToolError
from tools.music.harmony import ChordSpan, Key, parse_key
from tools.music.score import Note, Part, SectionMark

MIN_TEMPO, MAX_TEMPO = 30.0, 300.0
SWING = 1 / 6  # off-beat eighths land on the last triplet: 0.5 -> 0.667 of a beat


@dataclass(frozen=True)
class Style:
    """A genre's defaults; programs are General MIDI numbers (0-127)."""

    tempo: int
    meter: int                  # beats per bar
    feel: str                   # straight, swing or shuffle
    mode: str                   # major or minor when the mood does not say
    major_keys: tuple[str, ...]
    minor_keys: tuple[str, ...]
    melody: int
    chords: int
    bass: int
    comp: str                   # comping pattern, see _comp_hits
    bass_line: str              # bass pattern, see _bass_notes
    drums: str | None           # drum pattern, see _DRUMS; None: no drums
    bars_per_line: int = 2


STYLES: dict[str, Style] = {
    "pop": Style(112, 4, "straight", "major", ("C", "G", "D", "F", "A"), ("A", "E", "D"),
                 53, 0, 33, "pulse", "pop", "pop"),
    "rock": Style(126, 4, "straight", "major", ("E", "A", "G", "D"), ("E", "A", "B"),
                  29, 30, 34, "power", "eighths", "backbeat"),
    "folk": Style(96, 4, "straight", "major", ("G", "D", "C", "A"), ("E", "A", "D"),
                  73, 25, 32, "arpeggio", "root_fifth", None),
    "country": Style(108, 4, "straight", "major", ("G", "D", "A", "E", "C"), ("E", "A"),
                     110, 25, 33, "strum", "root_fifth", "country"),
    "jazz": Style(132, 4, "swing", "major", ("F", "Bb", "Eb", "C"), ("C", "D", "G"),
                  65, 0, 32, "charleston", "walking", "swing"),
    "blues": Style(96, 4, "shuffle", "major", ("A", "E", "G", "C"), ("A", "E", "G"),
                   22, 27, 33, "stabs", "boogie", "shuffle", bars_per_line=4),
    # Off-beat stabs on synth brass: a polysynth pad's long release piled up voices (5x the render time).
    "electronic": Style(124, 4, "straight", "minor", ("C", "F", "G"), ("A", "F", "C", "G"),
                        81, 62, 38, "offbeat", "octave", "four_on_floor"),
    "hip hop": Style(90, 4, "straight", "minor", ("C", "F", "Bb"), ("C", "G", "D", "F"),
                     11, 4, 38, "stabs", "hiphop", "boom_bap"),
    "r&b": Style(78, 4, "straight", "minor", ("Eb", "Ab", "F", "Bb"), ("C", "F", "G"),
                 53, 4, 33, "block", "pop", "rnb"),
    "metal": Style(144, 4, "straight", "minor", ("E", "D"), ("E", "D", "B"),
                   29, 30, 34, "power", "eighths", "metal"),
}

# Mood words -> (tempo factor, mode or None, energy: -1 calm, 0, 1 driving).
MOODS: dict[str, tuple[float, str | None, int]] = {
    "sad": (0.85, "minor", -1), "melancholy": (0.85, "minor", -1), "melancholic": (0.85, "minor", -1),
    "heartbroken": (0.85, "minor", -1), "somber": (0.82, "minor", -1), "lonely": (0.85, "minor", -1),
    "gloomy": (0.85, "minor", -1), "dark": (0.95, "minor", 0), "mysterious": (0.92, "minor", 0),
    "happy": (1.08, "major", 1), "joyful": (1.08, "major", 1), "cheerful": (1.08, "major", 1),
    "upbeat": (1.1, "major", 1), "uplifting": (1.05, "major", 1), "fun": (1.1, "major", 1),
    "bright": (1.05, "major", 1), "hopeful": (1.0, "major", 0), "triumphant": (1.05, "major", 1),
    "calm": (0.88, None, -1), "chill": (0.88, None, -1), "relaxed": (0.88, None, -1),
    "peaceful": (0.85, None, -1), "dreamy": (0.88, None, -1), "mellow": (0.88, None, -1),
    "romantic": (0.9, None, -1), "tender": (0.85, None, -1), "nostalgic": (0.92, None, 0),
    "bittersweet": (0.92, "minor", 0), "angry": (1.1, "minor", 1), "aggressive": (1.12, "minor", 1),
    "intense": (1.08, "minor", 1), "epic": (1.0, "minor", 1), "energetic": (1.12, None, 1),
    "excited": (1.12, "major", 1), "party": (1.1, "major", 1), "tense": (1.0, "minor", 0),
}

INSTRUMENTS: dict[str, int] = {
    "piano": 0, "grand piano": 0, "bright piano": 1, "honky tonk piano": 3, "electric piano": 4,
    "rhodes": 4, "keys": 4, "harpsichord": 6, "celesta": 8, "glockenspiel": 9, "music box": 10,
    "vibraphone": 11, "vibes": 11, "marimba": 12, "xylophone": 13, "organ": 16, "rock organ": 18,
    "church organ": 19, "accordion": 21, "harmonica": 22, "nylon guitar": 24, "classical guitar": 24,
    "guitar": 25, "acoustic guitar": 25, "jazz guitar": 26, "electric guitar": 27, "clean guitar": 27,
    "overdriven guitar": 29, "distortion guitar": 30, "distorted guitar": 30, "acoustic bass": 32,
    "upright bass": 32, "double bass": 32, "bass": 33, "electric bass": 33, "bass guitar": 33,
    "picked bass": 34, "fretless bass": 35, "slap bass": 36, "synth bass": 38, "violin": 40,
    "viola": 41, "cello": 42, "contrabass": 43, "harp": 46, "timpani": 47, "strings": 48,
    "string ensemble": 48, "orchestra": 48, "synth strings": 50, "choir": 52, "voice": 53, "vocals": 53,
    "oohs": 53, "synth voice": 54, "trumpet": 56, "trombone": 57, "tuba": 58, "french horn": 60,
    "horn": 60, "brass": 61, "synth brass": 62, "soprano sax": 64, "sax": 65, "saxophone": 65, "alto sax": 65,
    "tenor sax": 66, "baritone sax": 67, "oboe": 68, "bassoon": 70, "clarinet": 71, "piccolo": 72,
    "flute": 73, "recorder": 74, "pan flute": 75, "whistle": 78, "ocarina": 79, "square lead": 80,
    "synth lead": 81, "lead": 81, "synth": 81, "pad": 89, "synth pad": 89, "warm pad": 89,
    "sitar": 104, "banjo": 105, "koto": 107, "kalimba": 108, "bagpipe": 109, "fiddle": 110,
    "steel drums": 114,
}
_BASS_PROGRAMS = range(32, 40)
_DRUM_WORDS = ("drums", "drum kit", "drum", "percussion", "beat")


@dataclass(frozen=True)
class Arrangement:
    """Everything about how the song is played, decided before any note is written."""

    genre: str
    mood: str | None
    tempo: float
    beats_per_bar: int
    feel: str
    key: Key
    melody_program: int
    chord_program: int | None
    bass_program: int | None
    drums: str | None
    comp: str
    bass_line: str
    bars_per_line: int
    pad_program: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def swing(self) -> float:
        return SWING if self.feel in ("swing", "shuffle") else 0.0


def check_tempo(tempo: float) -> float:
    """``tempo`` if it is between 30 and 300 BPM, else a ToolError."""
    if not (MIN_TEMPO <= float(tempo) <= MAX_TEMPO):
        raise ToolError(f"A tempo of {tempo:g} BPM is out of range; choose a tempo between 30 and 300 BPM.")
    return float(tempo)


def _mood_effect(mood: str | None) -> tuple[float, str | None, int, bool]:
    words = re.findall(r"[a-z]+", (mood or "").lower())
    hits = [MOODS[w] for w in words if w in MOODS]
    if not hits:
        return 1.0, None, 0, bool(words)
    factor = sum(h[0] for h in hits) / len(hits)
    modes = [h[1] for h in hits if h[1]]
    energy = max(-1, min(1, sum(h[2] for h in hits)))
    return factor, (modes[0] if modes else None), energy, False


def resolve_instrument(name: str) -> int:
    """General MIDI program for an instrument name, allowing near spellings ("violn")."""
    wanted = re.sub(r"\s+", " ", name.lower().strip())
    if wanted in INSTRUMENTS:
        return INSTRUMENTS[wanted]
    close = difflib.get_close_matches(wanted, list(INSTRUMENTS), n=1, cutoff=0.75)
    if not close:
        raise ToolError(f"I don't know the instrument '{name}'; use names like piano, guitar, strings, bass, sax or drums.")
    return INSTRUMENTS[close[0]]


def arrange(
    genre: str,
    mood: str | None = None,
    *,
    key: str | Key | None = None,
    tempo: float | None = None,
    instruments: Sequence[str] | None = None,
    subgenres: Sequence[str] = (),
    seed: int = 0,
) -> Arrangement:
    """Decide the arrangement for a supported genre (see :data:`STYLES`) and a free-text mood.

    Sad moods go minor and slower, happy ones major and faster; a user's key,
    tempo and instrument set win over the style. Raises ToolError for a tempo
    outside 30-300 BPM, an unknown key or an unknown instrument.
    """
    style = STYLES[genre]
    factor, mood_mode, energy, unknown_mood = _mood_effect(mood)
    notes = [f"I don't know the mood '{mood}', so the {genre} defaults set the tempo and key."] if unknown_mood else []
    sub = " ".join(subgenres).lower()
    beats_per_bar = 3 if "waltz" in sub else style.meter
    if "ballad" in sub or "acoustic" in sub:
        factor, energy = factor * 0.85, min(energy, -1)
    rng = random.Random(f"{seed}|{genre}|{mood}")

    if key is not None:
        chosen_key = key if isinstance(key, Key) else parse_key(key)
    else:
        mode = mood_mode or style.mode
        chosen_key = Key(rng.choice(style.major_keys if mode == "major" else style.minor_keys), mode)
        chosen_key = parse_key(f"{chosen_key.tonic} {chosen_key.mode}")
    if tempo is not None:
        chosen_tempo = check_tempo(tempo)
    else:
        chosen_tempo = float(round(style.tempo * factor))

    drums = style.drums
    if beats_per_bar == 3:
        drums = "waltz" if drums else None
    elif genre == "folk" and energy > 0:
        drums = "folk"
    comp = style.comp
    if genre == "folk" and energy > 0:
        comp = "strum"
    arrangement = Arrangement(
        genre=genre, mood=mood, tempo=chosen_tempo, beats_per_bar=beats_per_bar, feel=style.feel,
        key=chosen_key, melody_program=style.melody, chord_program=style.chords, bass_program=style.bass,
        drums=drums, comp=comp if beats_per_bar == 4 or comp in ("block", "arpeggio") else "pulse",
        bass_line=style.bass_line if beats_per_bar == 4 else "root", bars_per_line=style.bars_per_line,
    )
    if instruments:
        arrangement = _with_instruments(arrangement, instruments)
    return replace(arrangement, notes=tuple(notes))


def _with_instruments(arr: Arrangement, names: Sequence[str]) -> Arrangement:
    """Use exactly the named instrument set: melody first, chords second, a bass if one is named."""
    drums, bass, others = False, None, []
    for name in names:
        if name.lower().strip() in _DRUM_WORDS:
            drums = True
            continue
        program = resolve_instrument(name)
        if program in _BASS_PROGRAMS and bass is None:
            bass = program
        else:
            others.append(program)
    melody = others[0] if others else arr.melody_program
    chords = others[1] if len(others) > 1 else (others[0] if others else None)
    return replace(
        arr, melody_program=melody, chord_program=chords, bass_program=bass,
        pad_program=others[2] if len(others) > 2 else None,
        drums=(arr.drums or ("waltz" if arr.beats_per_bar == 3 else "pop")) if drums else None,
    )


# ---------------------------------------------------------------- playing the arrangement


def _voicing(pcs: Sequence[int], center: float, low: int = 48, high: int = 67) -> list[int]:
    """Every chord tone once, each as near ``center`` as the range allows (smooth voice leading)."""
    out = []
    for pc in pcs:
        candidates = [p for p in range(low, high + 1) if p % 12 == pc]
        out.append(min(candidates, key=lambda p: (abs(p - center), p)))
    return sorted(set(out))


def _comp_hits(style: str, beats: float, bpb: int) -> list[tuple[float, float, int]]:
    """(offset, duration, velocity) of chord hits within one chord span of ``beats`` beats."""
    if style == "block":
        return [(0.0, beats, 70)]
    if style == "pulse":
        return [(float(b), 0.9, 78 if b % 2 == 0 else 66) for b in range(int(beats))]
    if style == "strum":  # boom-chick: the bass takes 1 and 3, the guitar 2 and 4 (and the first beat)
        return [(float(b), 0.8, 74 if b % 2 else 62) for b in range(int(beats))]
    if style == "charleston":
        return [(0.0, 1.0, 72)] + ([(1.5, 0.5, 64)] if beats > 2 else [])
    if style == "stabs":
        return [(0.0, 1.4, 72)] + ([(2.5, 0.45, 62)] if beats > 2 else [(1.5, 0.4, 60)])
    if style == "offbeat":
        return [(b + 0.5, 0.4, 70) for b in range(int(beats))]
    if style == "power":
        return [(i / 2, 0.42, 84 if i % 2 == 0 else 72) for i in range(int(beats * 2))]
    raise ValueError(f"unknown comping style {style}")


def comp_part(chords: Sequence[ChordSpan], style: str, program: int, bpb: int, name: str = "chords") -> Part:
    """The chord instrument's part: every chord tone of every chord, in ``style``'s rhythm."""
    notes: list[Note] = []
    center = 57.0  # below the melody, above the bass
    for span in chords:
        pcs = span.chord.pitch_classes
        if style == "power":  # root, fifth and octave low on the neck
            root = 40 + (pcs[0] - 40) % 12
            voicing = sorted({root, root + 7, root + 12} | {root + (pc - pcs[0]) % 12 for pc in pcs})
        else:
            voicing = _voicing(pcs, center)
            center = 0.5 * center + 0.5 * (sum(voicing) / len(voicing))
        if style == "arpeggio":
            steps = max(int(span.beats * 2), len(voicing))
            order = voicing + voicing[-2:0:-1]
            for i in range(steps):
                start = span.start + i * span.beats / steps
                notes.append(Note(order[i % len(order)], start, span.beats / steps * 1.6, 64 if i else 72))
            continue
        for offset, duration, velocity in _comp_hits(style, span.beats, bpb):
            if offset < span.beats:
                for pitch in voicing:
                    notes.append(Note(pitch, span.start + offset, min(duration, span.beats - offset), velocity))
    return Part(name, program, notes)


def _bass_notes(style: str, span: ChordSpan, next_root: int | None, low: int) -> list[tuple[int, float, float]]:
    """(pitch, offset, duration) of the bass within one chord span."""
    pcs = span.chord.pitch_classes
    root = low + (pcs[0] - low) % 12
    fifth = root + ((pcs[2] if len(pcs) > 2 else pcs[-1]) - pcs[0]) % 12
    third = root + (pcs[1] - pcs[0]) % 12
    beats = span.beats
    if style == "root" or beats < 2:
        return [(root, 0.0, beats * 0.95)]
    if style == "root_fifth":
        return [(root, 0.0, 0.95)] + ([(fifth, 2.0, 0.95)] if beats >= 4 else [])
    if style == "eighths":
        return [(root, i / 2, 0.45) for i in range(int(beats * 2))]
    if style == "octave":
        return [(root + (12 if i % 2 else 0), i / 2, 0.45) for i in range(int(beats * 2))]
    if style == "pop":
        return [(root, 0.0, 1.4), (root, 1.5, 0.45), (fifth, 2.0, 0.95), (root, 3.0, 0.95)][: 2 if beats < 4 else 4]
    if style == "hiphop":
        return [(root, 0.0, 1.2), (root, 1.5, 0.4), (fifth, 2.5, 1.0)][: 2 if beats < 4 else 3]
    if style == "boogie":
        sixth = root + 9
        figure = [root, third, fifth, sixth, root + 10, sixth, fifth, third]
        return [(figure[i], i / 2, 0.45) for i in range(int(beats * 2))]
    if style == "walking":
        line = [root, third, fifth, fifth + 2 if fifth + 2 - root < 12 else third][: max(2, min(4, int(beats)))]
        if next_root is not None:  # approach the next chord from a semitone away
            target = low + (next_root - low) % 12
            line[-1] = target - 1 if target - 1 != line[-2] else target + 1
        return [(pitch, float(i), 0.95) for i, pitch in enumerate(line)]
    raise ValueError(f"unknown bass style {style}")


def bass_part(chords: Sequence[ChordSpan], style: str, program: int) -> Part:
    """The bass part: the chord root on every chord change (E1 to D#2), then the style's figure."""
    low = 28
    notes = []
    for i, span in enumerate(chords):
        next_root = chords[i + 1].chord.root_pc if i + 1 < len(chords) else None
        for pitch, offset, duration in _bass_notes(style, span, next_root, low):
            notes.append(Note(pitch, span.start + offset, duration, 88 if offset == 0 else 76))
    return Part("bass", program, notes)


# GM drum keys
KICK, SIDE, SNARE, CLAP, HAT, PEDAL, OPEN, CRASH, RIDE, SHAKER = 36, 37, 38, 39, 42, 44, 46, 49, 51, 70
# Pattern: instrument -> sixteenth steps within a 4/4 bar (12 steps for 3/4) with a velocity.
_DRUMS: dict[str, dict[int, tuple[tuple[int, ...], int]]] = {
    "pop": {KICK: ((0, 6, 8), 100), SNARE: ((4, 12), 96), HAT: (tuple(range(0, 16, 2)), 70)},
    "backbeat": {KICK: ((0, 8, 10), 108), SNARE: ((4, 12), 110), HAT: (tuple(range(0, 16, 2)), 78)},
    "metal": {KICK: (tuple(range(0, 16, 2)), 96), SNARE: ((4, 12), 110), CRASH: ((0,), 80),
              HAT: ((0, 4, 8, 12), 76)},
    "four_on_floor": {KICK: ((0, 4, 8, 12), 112), CLAP: ((4, 12), 92), OPEN: ((2, 6, 10, 14), 72),
                      HAT: ((1, 3, 5, 7, 9, 11, 13, 15), 48)},
    "swing": {RIDE: ((0, 4, 6, 8, 12, 14), 74), PEDAL: ((4, 12), 66), KICK: ((0, 4, 8, 12), 34)},
    "shuffle": {HAT: (tuple(range(0, 16, 2)), 74), SNARE: ((4, 12), 96), KICK: ((0, 8), 96)},
    "country": {KICK: ((0, 8), 92), SIDE: ((4, 12), 88), HAT: (tuple(range(0, 16, 2)), 62)},
    "boom_bap": {KICK: ((0, 7, 10), 108), SNARE: ((4, 12), 104), HAT: (tuple(range(0, 16, 2)), 66)},
    "rnb": {KICK: ((0, 3, 10), 96), SIDE: ((4, 12), 84), HAT: (tuple(range(0, 16)), 44)},
    "folk": {KICK: ((0, 8), 80), SIDE: ((4, 12), 70), SHAKER: (tuple(range(0, 16, 2)), 56)},
    "waltz": {KICK: ((0,), 86), SIDE: ((4, 8), 70), HAT: ((0, 4, 8), 60)},
}


def drum_part(pattern: str, sections: Sequence[SectionMark], bpb: int) -> Part:
    """The drum part: the pattern in every bar, a crash on each new section, a fill before it."""
    notes = []
    grid = _DRUMS[pattern]
    steps_per_bar = 4 * bpb
    for s_index, section in enumerate(sections):
        for bar in range(section.bars):
            bar_start = (section.start_bar + bar) * bpb
            last_bar = bar == section.bars - 1 and s_index + 1 < len(sections)
            for drum, (steps, velocity) in grid.items():
                for step in steps:
                    if step >= steps_per_bar or (last_bar and drum == SNARE and step >= steps_per_bar - 4):
                        continue
                    notes.append(Note(drum, bar_start + step / 4, 0.25, velocity))
            if bar == 0 and s_index > 0:
                notes.append(Note(CRASH, bar_start, 1.0, 100))
            if last_bar:  # sixteenth-note snare fill into the next section
                notes += [Note(SNARE, bar_start + (steps_per_bar - 4 + i) / 4, 0.25, 70 + 8 * i) for i in range(4)]
    # The kit sits under the band: loud drums also blur the harmony a listener (or a key finder) hears.
    return Part("drums", 0, notes, is_drums=True, volume=80)


def backing_parts(arr: Arrangement, chords: Sequence[ChordSpan], sections: Sequence[SectionMark]) -> list[Part]:
    """Comping, pad, bass and drum parts for the whole song.

    Each section is played from its own chords alone (the voicing starts afresh, the walking
    bass approaches only chords of the same section), so changing one section's chords leaves
    every other section's notes as they were.
    """
    bpb = arr.beats_per_bar

    def per_section(play) -> list[Note]:
        groups = [[c for c in chords if s.start_bar * bpb <= c.start < (s.start_bar + s.bars) * bpb]
                  for s in sections] if sections else [list(chords)]
        return [n for group in groups if group for n in play(group).notes]

    parts = []
    if arr.chord_program is not None:
        parts.append(Part("chords", arr.chord_program, per_section(
            lambda group: comp_part(group, arr.comp, arr.chord_program, bpb))))
    if arr.pad_program is not None:
        parts.append(Part("pad", arr.pad_program, per_section(
            lambda group: comp_part(group, "block", arr.pad_program, bpb, name="pad"))))
    if arr.bass_program is not None:
        parts.append(Part("bass", arr.bass_program, per_section(
            lambda group: bass_part(group, arr.bass_line, arr.bass_program))))
    if arr.drums:
        parts.append(drum_part(arr.drums, sections, bpb))
    return parts
