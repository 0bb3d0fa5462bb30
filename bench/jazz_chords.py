"""Jazz harmony: what the chord generators write when asked for jazz, next to a held-out set of jazz
progressions (bench/data/jazz_heldout.txt, bandmate's own, never trained on), and how many lead-sheet
chord symbols (bench/data/chord_symbols.txt) the chord reader parses.

Per generator (the default one a song gets, and the rule-based templates), over --seeds seeds x
(verse, chorus, bridge) x (major, minor), 8 bars each:

- chords/bar: mean chords per bar; distinct: mean distinct Roman numerals per progression;
- ii-V: share of chord changes that go from a minor-seventh (or half-diminished) chord to a dominant
  chord a fourth above it, diatonic or applied (iii7-VI7 is the ii-V of ii); ii-V (diatonic): ii->V only;
- CHE, CC, CTD: Yeh et al. 2021's chord histogram entropy, chord coverage and chord tonal distance
  (training/metrics.py), and their summed relative gap to the held-out set (0 = the same statistics).

    python bench/jazz_chords.py [--genre jazz] [--seeds 8] [--bars 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.errors import ToolError  # noqa: E402
from tools.music.chord_symbols import is_no_chord  # noqa: E402
from tools.music.harmony import Key, parse_chord, roman_to_chord  # noqa: E402
from tools.songwriting.chord_rules import RuleBasedChordGenerator  # noqa: E402
from tools.songwriting.chords import (  # noqa: E402
    RICH_HARMONY_GENRES,
    GenreRoutedGenerator,
    default_chord_generator,
)
from training.metrics import distance_to, progression_stats  # noqa: E402

DATA = ROOT / "bench" / "data"
_KEYS = {"major": Key("C", "major"), "minor": Key("A", "minor")}


def read_heldout(path: Path = DATA / "jazz_heldout.txt") -> list[tuple[str, list[list[str]]]]:
    """(mode, bars of numerals) per progression of the held-out file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            mode, chart = line.split(":", 1)
            out.append((mode.strip(), [bar.split() for bar in chart.split("|")]))
    return out


def _is_two_five(a: str, b: str, key: Key) -> tuple[bool, bool]:
    """(any ii-V, the diatonic ii->V) for the chord change a -> b."""
    try:
        first, second = roman_to_chord(a, key), roman_to_chord(b, key)
    except ToolError:
        return False, False
    minor_seventh = first.pitch_classes[1] == (first.root_pc + 3) % 12 and len(first.pitch_classes) >= 4
    dominant = second.pitch_classes[1] == (second.root_pc + 4) % 12 and (second.root_pc + 10) % 12 in second.pitch_classes
    two_five = minor_seventh and dominant and (second.root_pc - first.root_pc) % 12 == 5
    diatonic = two_five and (first.root_pc - key.tonic_pc) % 12 == 2
    return two_five, diatonic


def describe(progressions: list[tuple[str, list[list[str]]]]) -> dict[str, float]:
    """The bench's numbers for a set of (mode, bars) progressions."""
    changes = two_five = diatonic = 0
    chords_per_bar, distinct = [], []
    for mode, bars in progressions:
        chords = [c for bar in bars for c in bar]
        chords_per_bar.append(len(chords) / len(bars))
        distinct.append(len(set(chords)))
        for a, b in zip(chords, chords[1:]):
            if a != b:
                changes += 1
                any_, dia = _is_two_five(a, b, _KEYS[mode])
                two_five += any_
                diatonic += dia
    stats = progression_stats([bars for _, bars in progressions], [mode for mode, _ in progressions])
    return {"chords/bar": sum(chords_per_bar) / len(chords_per_bar), "distinct": sum(distinct) / len(distinct),
            "ii-V": two_five / max(changes, 1), "ii-V (diatonic)": diatonic / max(changes, 1),
            "CHE": stats.che, "CC": stats.cc, "CTD": stats.ctd, "sevenths": stats.sevenths, "stats": stats}


def generated(generator, genre: str, seeds: int, bars: int) -> list[tuple[str, list[list[str]]]]:
    """What ``generator`` writes for ``genre`` over seeds x sections x modes, as bars of numerals."""
    out = []
    for mode, key in _KEYS.items():
        for section in ("verse", "chorus", "bridge"):
            for seed in range(seeds):
                spans = generator.progression(section=section, bars=bars, key=key, genre=genre, seed=seed)
                out.append((mode, [[s.roman for s in spans if b * 4 <= s.start < (b + 1) * 4] for b in range(bars)]))
    return out


def parse_rate(path: Path = DATA / "chord_symbols.txt") -> tuple[float, list[str]]:
    """Share of the symbols in ``path`` that the chord reader parses (N.C. counts when it is recognised as no
    chord), and the ones it cannot."""
    symbols = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    failed = []
    for symbol in [s for s in symbols if not is_no_chord(s)]:
        try:
            parse_chord(symbol)
        except ToolError:
            failed.append(symbol)
    return 1 - len(failed) / len(symbols), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genre", default="jazz")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--bars", type=int, default=8)
    args = parser.parse_args()

    heldout = describe(read_heldout())
    rows = [("held-out (ours)", heldout)]
    default = default_chord_generator()
    routed = isinstance(default, GenreRoutedGenerator) and args.genre in RICH_HARMONY_GENRES
    label = f"default ({'routed to ' + default.rules.name if routed else default.name})"[:46]
    rows.append((label, describe(generated(default, args.genre, args.seeds, args.bars))))
    rows.append(("rule-based", describe(generated(RuleBasedChordGenerator(), args.genre, args.seeds, args.bars))))

    columns = ("chords/bar", "distinct", "ii-V", "ii-V (diatonic)", "CHE", "CC", "CTD", "sevenths")
    print(f"{'generator (' + args.genre + ')':<48}" + "".join(f"{c:>16}" for c in columns) + f"{'gap':>8}")
    for name, row in rows:
        gap = distance_to(row["stats"], heldout["stats"])
        print(f"{name:<48}" + "".join(f"{row[c]:>16.3f}" for c in columns) + f"{gap:>8.3f}")
    rate, failed = parse_rate()
    print(f"\nchord reader: parsed {rate:.1%} of the lead-sheet symbols; not read: {' '.join(failed) or 'none'}")


if __name__ == "__main__":
    main()
