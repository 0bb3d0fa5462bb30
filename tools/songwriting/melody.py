"""A singable melody over the chords, one note per lyric syllable.

Rules a session singer would recognise: chord tones on the strong beats, mostly
stepwise motion (a leap is followed by a step back), an arch over each line, a
range of an octave and a fourth, lines that end on a chord tone and a song that
ends on the tonic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from tools.music.harmony import ChordSpan, Key
from tools.music.score import Note

# A syllable plan: (syllable text, MusicXML syllabic) or (None, None) for an instrumental note.
Syllables = Sequence[tuple[str | None, str | None]]
REST_EIGHTHS = 3  # room to breathe at the end of each line


def singable_range(key: Key) -> tuple[int, int]:
    """Lowest and highest MIDI pitch of the melody: the tonic between A3 and G#4, -3 to +14 semitones."""
    tonic = 57 + (key.tonic_pc - 9) % 12
    return tonic - 3, tonic + 14


def is_strong_beat(beat: float, beats_per_bar: int) -> bool:
    """Beats 1 and 3 of a 4/4 bar, beat 1 of a 3/4 bar."""
    position = beat % beats_per_bar
    if abs(position - round(position)) > 1e-6:
        return False
    return round(position) == 0 or (beats_per_bar == 4 and round(position) == 2)


def line_bars(syllable_count: int, beats_per_bar: int, base_bars: int) -> int:
    """Bars a lyric line needs: ``base_bars``, or a multiple of it when the syllables don't fit in eighths."""
    bars = base_bars
    while syllable_count > 2 * beats_per_bar * bars - REST_EIGHTHS and bars < 8 * base_bars:
        bars += base_bars
    return bars


def _onsets(count: int, beats: int, beats_per_bar: int, rng: random.Random) -> list[float]:
    """Onset beats of ``count`` syllables in a phrase of ``beats`` beats, favouring strong beats."""
    if count == 0:
        return []
    per_beat = 2 if count <= 2 * beats - REST_EIGHTHS else 4
    usable = per_beat * beats - (REST_EIGHTHS if per_beat == 2 else 4)
    weights = []
    for slot in range(usable):
        beat = slot / per_beat
        if slot % per_beat:
            weight = 1.0
        elif is_strong_beat(beat, beats_per_bar):
            weight = 3.0
        else:
            weight = 2.0
        weights.append(weight + (2.0 if slot == 0 else 0.0) + rng.uniform(0.0, 1.2))
    chosen = sorted(sorted(range(usable), key=lambda s: -weights[s])[:count])
    return [slot / per_beat for slot in chosen]


def _choose_pitch(
    candidates: list[int], prev: int, prev_leap: int, target: float, rng: random.Random
) -> int:
    costs = []
    for pitch in candidates:
        interval = abs(pitch - prev)
        cost = {0: 1.2, 1: 0.0, 2: 0.0, 3: 0.7, 4: 0.9, 5: 1.6, 7: 2.2}.get(interval, 3.0 + 0.3 * interval)
        if abs(prev_leap) > 4 and (pitch - prev) * prev_leap > 0:
            cost += 1.5  # after a leap, turn back
        cost += 0.12 * abs(pitch - target)
        costs.append(cost)
    best = min(costs)
    weights = [math.exp(-(c - best) / 0.6) for c in costs]
    return rng.choices(candidates, weights=weights)[0]


def melody_for_section(
    lines: Sequence[Syllables],
    line_bar_counts: Sequence[int],
    chords: Sequence[ChordSpan],
    *,
    key: Key,
    beats_per_bar: int,
    start_beat: float = 0.0,
    lift: int = 0,
    end_on_tonic: bool = False,
    previous_pitch: int | None = None,
    seed: int | str = 0,
) -> list[Note]:
    """Notes for one section, one per syllable, starting at ``start_beat``.

    ``chords`` are the section's chords with starts relative to the section;
    ``lift`` raises the line contour (a chorus sits higher than a verse).
    """
    rng = random.Random(f"melody|{seed}")
    low, high = singable_range(key)
    scale = set(key.scale)
    center = (low + high) / 2 - 1 + lift
    prev = previous_pitch if previous_pitch is not None else round(center)
    prev_leap = 0
    notes: list[Note] = []
    line_start = 0.0
    for line_index, (syllables, bars) in enumerate(zip(lines, line_bar_counts)):
        beats = bars * beats_per_bar
        onsets = _onsets(len(syllables), beats, beats_per_bar, rng)
        peak = rng.uniform(0.45, 0.7)
        for i, ((text, syllabic), onset) in enumerate(zip(syllables, onsets)):
            when = line_start + onset
            chord = _chord_at(chords, when)
            tones = set(chord.chord.pitch_classes) if chord else {key.tonic_pc}
            last_of_line = i == len(onsets) - 1
            last_of_section = last_of_line and line_index == len(lines) - 1
            if last_of_section and end_on_tonic and key.tonic_pc in tones:
                allowed = {key.tonic_pc}
            elif is_strong_beat(when, beats_per_bar) or last_of_line:
                allowed = tones
            else:
                allowed = scale | tones
            candidates = [p for p in range(low, high + 1) if p % 12 in allowed]
            position = i / max(1, len(onsets) - 1)
            target = center + 4 * math.sin(math.pi * min(1.0, position / (2 * peak))) - 2 * position
            pitch = _choose_pitch(candidates, prev, prev_leap, target, rng)
            end = line_start + onsets[i + 1] if not last_of_line else line_start + min(beats - 0.5, onset + 2 * beats_per_bar)
            duration = max(0.5, end - when) if last_of_line else end - when
            notes.append(Note(pitch, start_beat + when, duration, 96 if is_strong_beat(when, beats_per_bar) else 86,
                              lyric=text, syllabic=syllabic))  # type: ignore[arg-type]
            prev_leap, prev = pitch - prev, pitch
        line_start += beats
    return notes


def _chord_at(chords: Sequence[ChordSpan], beat: float) -> ChordSpan | None:
    for span in chords:
        if span.start <= beat + 1e-9 < span.end:
            return span
    return chords[-1] if chords else None
