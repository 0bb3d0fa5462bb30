"""Piano-roll pictures of a score or a MIDI file (PNG, via matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from tools.music.score import Score


@dataclass(frozen=True)
class RollNote:
    """A note in seconds, for drawing."""

    start: float
    end: float
    pitch: int
    track: str
    drums: bool = False


def score_roll(score: Score) -> list[RollNote]:
    """The score's notes in seconds (swing ignored: the picture is the written rhythm)."""
    spb = score.seconds_per_beat
    return [RollNote(n.start * spb, n.end * spb, n.pitch, p.name, p.is_drums) for p in score.parts for n in p.notes]


def midi_roll(path: str | Path) -> tuple[list[RollNote], float]:
    """Notes of a MIDI file in seconds (tempo changes followed) and its length."""
    midi = mido.MidiFile(str(path))
    now, active, out = 0.0, {}, []
    for msg in midi:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            active[(msg.channel, msg.note)] = now
        elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in active:
            start = active.pop((msg.channel, msg.note))
            out.append(RollNote(start, now, msg.note, f"channel {msg.channel + 1}", msg.channel == 9))
    return out, now


def piano_roll_png(notes: Sequence[RollNote], path: str | Path, *, title: str = "",
                   marks: Sequence[tuple[float, str]] = ()) -> Path:
    """Draw pitched notes as bars over time (one colour per track) with section marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pitched = [n for n in notes if not n.drums]
    tracks = sorted({n.track for n in pitched})
    fig, ax = plt.subplots(figsize=(14, 5), dpi=100)
    for i, name in enumerate(tracks):
        mine = [n for n in pitched if n.track == name]
        for pitch in sorted({n.pitch for n in mine}):
            ranges = [(n.start, max(n.end - n.start, 0.02)) for n in mine if n.pitch == pitch]
            ax.broken_barh(ranges, (pitch - 0.4, 0.8), facecolors=f"C{i % 10}", label=name if pitch == mine[0].pitch else None)
    end = max((n.end for n in notes), default=1.0)
    for when, label in marks:
        ax.axvline(when, color="0.6", linewidth=0.8)
        ax.text(when, 1.0, f" {label}", transform=ax.get_xaxis_transform(), fontsize=8, va="bottom")
    ax.set_xlim(0, end)
    if pitched:
        ax.set_ylim(min(n.pitch for n in pitched) - 2, max(n.pitch for n in pitched) + 2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title, pad=16)
    if tracks:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(str(path))
    plt.close(fig)
    return Path(path)
