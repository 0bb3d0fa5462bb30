"""An audio tagger for what analysis cannot measure: the lead instrument's family and the genre style.

A small MLP over fixed clip features (MFCC, spectral contrast, chroma spread, centroid,
flatness, onset rate; mean and std over time), one softmax head per aspect. It is trained
by ``python -m training.train_tagger`` on clips that :mod:`training.data_synth` renders with
fluidsynth, so it knows 8 General MIDI lead sounds and the arrangement styles only: on real
recordings treat its output as a guess, which is why :func:`tag_audio` keeps confident tags
only and every tag carries its probability.

    tags = tag_audio("song.ogg")          # [TagScore(label='brass', head='instrument', probability=0.83)]"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.models.tagger import AudioTagger, load

# Lead sounds of the synthetic corpus grouped into the families a listener would name.
INSTRUMENT_FAMILY = {"piano": "piano", "acoustic guitar": "guitar", "electric guitar": "guitar", "organ": "organ",
                     "violin": "strings", "flute": "woodwind", "trumpet": "brass", "marimba": "mallet percussion"}


TARGET_RMS = 0.1                                    # clips are levelled first: the tagger should not hear volume


@dataclass(frozen=True)
class TagScore:
    """One predicted tag: its label, the head (aspect) that predicted it and how likely it is."""

    label: str
    head: str
    probability: float

    def fact(self) -> str:
        """A sentence that says this is a prediction, not a measurement."""
        return f"Predicted {self.head}: {self.label} (p={self.probability:.2f}, a guess from a model trained on synthetic clips)."


def clip_features(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The fixed feature vector of one mono clip (levelled to the same RMS first)."""
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if len(y) < 2048:
        y = np.pad(y, (0, 2048 - len(y)))
    rms = float(np.sqrt(np.mean(y ** 2)))
    y = y * (TARGET_RMS / rms) if rms > 1e-6 else y
    spec = np.abs(librosa.stft(y, n_fft=1024, hop_length=512)) ** 2
    mel = librosa.feature.melspectrogram(S=spec, sr=sample_rate, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)
    contrast = librosa.feature.spectral_contrast(S=np.sqrt(spec), sr=sample_rate, n_bands=6)
    chroma = np.sort(librosa.feature.chroma_stft(S=spec, sr=sample_rate), axis=0)   # sorted: key-independent
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(spec), sr=sample_rate) / (sample_rate / 2)
    flatness = librosa.feature.spectral_flatness(S=np.sqrt(spec))
    onsets = librosa.onset.onset_detect(y=y, sr=sample_rate, hop_length=512)
    frames = np.concatenate([mfcc / 100, contrast / 50, chroma, centroid, flatness])
    onset_rate = len(onsets) / (len(y) / sample_rate) / 10
    return np.concatenate([frames.mean(1), frames.std(1), [onset_rate]]).astype(np.float32)


def windows(samples: np.ndarray, sample_rate: int, seconds: float, max_windows: int) -> list[np.ndarray]:
    """Up to ``max_windows`` evenly spaced windows of ``seconds`` (the whole clip when it is shorter)."""
    size = int(seconds * sample_rate)
    if len(samples) <= size:
        return [samples]
    starts = np.linspace(0, len(samples) - size, num=min(max_windows, 1 + (len(samples) - size) // (size // 2)))
    return [samples[int(s):int(s) + size] for s in starts]


@functools.lru_cache(maxsize=2)
def _cached(name_or_path: str) -> AudioTagger:
    return load(name_or_path, device="cpu")


def predict_audio(path, *, model: AudioTagger | str = "audio-tagger") -> dict[str, dict[str, float]]:
    """Every head's label probabilities for the recording at ``path`` (averaged over its windows); {} for silence.

    Raises ToolError for an unreadable file or a bad checkpoint.
    """
    from core.audio_io import load_audio

    tagger = _cached(str(model)) if isinstance(model, (str, Path)) else model
    cfg = tagger.config
    audio = load_audio(path, sample_rate=cfg.sample_rate)
    if audio.is_silent:
        return {}                                   # silence: no instrument, no style
    feats = np.stack([clip_features(w, cfg.sample_rate)
                      for w in windows(audio.samples, cfg.sample_rate, cfg.window_seconds, cfg.max_windows)])
    return tagger.probabilities(feats)


def tag_audio(path, *, model: AudioTagger | str = "audio-tagger", threshold: float | None = None) -> list[TagScore]:
    """The confident predicted tags of the recording at ``path``, most likely first (silence gives none).

    Raises ToolError only for an unreadable file or a bad checkpoint.
    """
    probs = predict_audio(path, model=model)
    tagger = _cached(str(model)) if isinstance(model, (str, Path)) else model
    threshold = tagger.config.threshold if threshold is None else threshold
    tags = []
    for head, dist in probs.items():
        label, p = max(dist.items(), key=lambda kv: kv[1])
        if p >= threshold:
            tags.append(TagScore(label=label, head=head, probability=round(p, 3)))
    return sorted(tags, key=lambda t: -t.probability)
