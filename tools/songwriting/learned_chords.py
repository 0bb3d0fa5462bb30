"""The learned chord generator: a :class:`tools.models.chord_model.ChordModel` behind the
:class:`tools.songwriting.chord_rules.ChordGenerator` interface (seeded, deterministic sampling).

    LearnedChordGenerator(load("chords-rlhf")).progression(section="verse", bars=8, key=parse_key("G"), genre="folk")
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch

from core.errors import ToolError
from tools.models.chord_model import MAX_BARS, ChordModel, load
from tools.songwriting.chord_rules import apply_cadence, section_kind, spans_from_romans


def stable_seed(*parts: object) -> int:
    """A seed from values that is the same in every process (``hash()`` of a string is not)."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:15], 16)


class LearnedChordGenerator:
    """A :class:`tools.songwriting.chord_rules.ChordGenerator` backed by a :class:`ChordModel` (seeded, deterministic sampling).

    Lyrics (with the mood in front) are the text; every section of a kind draws from the
    same seed, as the rule-based generator picks one template per kind.
    """

    def __init__(self, model: ChordModel, *, label: str = "", temperature: float = 1.0, top_p: float = 0.95) -> None:
        self.model = model.eval()
        self.temperature, self.top_p = temperature, top_p
        self._memo: dict[tuple, list[list[str]]] = {}
        self.name = f"learned{' ' + label if label else ''} (LSTM decoder, text encoder {model.config.encoder})"

    def romans(self, *, section: str, bars: int, key, genre: str, mood: str | None = None,
               lyrics: Sequence[str] = (), cadence: bool = False, seed: int = 0, start: str | None = None
               ) -> list[list[str]]:
        """The Roman numerals of each bar (one or two per bar)."""
        if not 1 <= bars <= MAX_BARS:
            raise ToolError(f"{bars} bars is out of range; ask for 1 to {MAX_BARS} bars.")
        kind = section_kind(section)
        text = " ".join([mood or "", *lyrics]).strip()
        # Sampling is seeded, so a repeated section (every chorus) gets the same chords: remember them.
        memo = (kind, bars, key.mode, genre, text, cadence, seed, start)
        if memo in self._memo:
            return [list(bar) for bar in self._memo[memo]]
        cond = self.model.conditioning([text], [genre], [kind], [key.mode], bars)
        generator = torch.Generator(device=self.model.head.weight.device)
        generator.manual_seed(stable_seed(seed, genre, key.mode, kind))
        sampled = self.model.sample(cond, temperature=self.temperature, top_p=self.top_p, start=start,
                                    generator=generator)
        out = self.model.decode(sampled.tokens[0].tolist())[:bars]
        out = apply_cadence(out, genre, key.mode) if cadence else out
        if len(self._memo) >= 256:
            self._memo.clear()
        self._memo[memo] = [list(bar) for bar in out]
        return out

    def progression(self, *, section: str, bars: int, key, genre: str, mood: str | None = None,
                    lyrics: Sequence[str] = (), beats_per_bar: int = 4, cadence: bool = False, seed: int = 0):
        """See :meth:`tools.songwriting.chord_rules.ChordGenerator.progression`."""
        romans = self.romans(section=section, bars=bars, key=key, genre=genre, mood=mood, lyrics=lyrics,
                             cadence=cadence, seed=seed)
        return spans_from_romans(romans, key, beats_per_bar)


@functools.lru_cache(maxsize=4)
def cached_generator(name: str, models_dir: Path | None = None) -> LearnedChordGenerator:
    """The generator of a registry name, loaded once per process (and models folder) on the CPU."""
    model = load(name, device="cpu")
    return LearnedChordGenerator(model, label=f"{name} from {model.meta['path']}")
