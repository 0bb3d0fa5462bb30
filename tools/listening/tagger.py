"""Tags for what analysis cannot measure: instruments, voices, genre, mood and era, each with a probability.

The default tagger is musicnn (:mod:`tools.models.musicnn`), pretrained on real music in two taxonomies:
``musicnn-mtt`` (MagnaTagATune: piano, strings, male vocal, techno, ...) and ``musicnn-msd`` (Last.fm tags
of the Million Song Dataset: rock, jazz, female vocalists, sad, 80s, ...). A whole track is tagged in
3-second windows whose probabilities are averaged; a long one also gets per-section tags. Every tag keeps
the taxonomy it came from (``source``) and its aspect (``head``: instrument, vocals, singer, genre, mood,
era, tempo or other).

The older ``audio-tagger`` (a small MLP trained by ``python -m training.train_tagger`` on fluidsynth renders
of 8 General MIDI lead sounds) stays available by name: it names the instrument family of a rendered clip.

    track = tag_track("song.ogg")                   # TrackTags: .tags (every tag), .sections, .summary()
    tags = tag_audio("song.ogg")                    # the confident ones: [TagScore(label='piano', head=...), ...]
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import ToolError

if TYPE_CHECKING:                                   # torch loads on first use, not on import
    from tools.models.tagger import AudioTagger

DEFAULT_TAGGER = "musicnn"                          # both musicnn taxonomies
MUSICNN = {"musicnn": ("musicnn-mtt", "musicnn-msd"), "musicnn-mtt": ("musicnn-mtt",),
           "musicnn-msd": ("musicnn-msd",)}
THRESHOLD = 0.25                                    # tag_audio keeps musicnn tags at least this likely
SECTION_SECONDS = 30.0                              # a track at least twice this long is also tagged per section
MIN_SECONDS = 1.0                                   # shorter clips are refused; up to 3 s they are repeated
OVERLAP_BELOW_SECONDS = 30.0                        # shorter recordings are tagged in half-overlapping windows
WINDOW_PEAK_DBFS = -50.0                            # quieter 3 s windows (silent intros, gaps) are not averaged

# Lead sounds of the synthetic corpus grouped into the families a listener would name.
INSTRUMENT_FAMILY = {"piano": "piano", "acoustic guitar": "guitar", "electric guitar": "guitar", "organ": "organ",
                     "violin": "strings", "flute": "woodwind", "trumpet": "brass", "marimba": "mallet percussion"}

# The aspect each musicnn label speaks about (labels are lower-cased; the same word in both taxonomies
# is the same aspect).
ASPECTS = {
    **dict.fromkeys(("guitar", "strings", "drums", "piano", "violin", "synth", "harpsichord", "flute", "sitar",
                     "harp", "cello"), "instrument"),
    **dict.fromkeys(("vocal", "singing", "vocals", "voice", "choir", "choral", "opera", "no vocals", "no vocal",
                     "no voice", "instrumental"), "vocals"),
    **dict.fromkeys(("female", "woman", "female vocal", "female voice", "female vocalists", "female vocalist",
                     "male", "man", "male vocal", "male voice", "male vocalists"), "singer"),
    **dict.fromkeys(("classical", "classic", "techno", "electronic", "rock", "ambient", "indian", "pop", "new age",
                     "dance", "country", "metal", "alternative", "indie", "alternative rock", "jazz", "chillout",
                     "classic rock", "soul", "indie rock", "electronica", "folk", "punk", "blues", "hard rock",
                     "experimental", "hip-hop", "easy listening", "funk", "electro", "heavy metal",
                     "progressive rock", "rnb", "indie pop", "house"), "genre"),
    **dict.fromkeys(("soft", "quiet", "loud", "weird", "beautiful", "mellow", "chill", "sad", "happy", "sexy",
                     "catchy", "party"), "mood"),
    **dict.fromkeys(("60s", "70s", "80s", "90s", "00s", "oldies"), "era"),
    **dict.fromkeys(("slow", "fast"), "tempo"),
}

TARGET_RMS = 0.1                                    # clips are levelled first: the tagger should not hear volume


@dataclass(frozen=True)
class TagScore:
    """One predicted tag: its label, its aspect (``head``), how likely it is and the tagger it came from."""

    label: str
    head: str
    probability: float
    source: str = "audio-tagger"                    # musicnn-mtt, musicnn-msd or audio-tagger

    def fact(self) -> str:
        """A sentence that says this is a prediction, not a measurement."""
        if self.source == "audio-tagger":
            return (f"Predicted {self.head}: {self.label} (p={self.probability:.2f}, a guess from a model trained "
                    "on synthetic clips).")
        return (f"Predicted {self.head}: {self.label} (p={self.probability:.2f}, {self.source}, a tagger "
                "pretrained on real music; a likely guess, not a measurement).")


@dataclass(frozen=True)
class SectionTags:
    """The confident tags of one stretch of a long track."""

    start: float
    end: float
    tags: tuple[TagScore, ...]


@dataclass(frozen=True)
class TrackTags:
    """A whole track's tags: every label of every taxonomy averaged over its 3 s windows, most likely first."""

    path: str
    duration: float
    windows: int                                    # 3 s windows averaged (0 for silence)
    tags: tuple[TagScore, ...]
    sections: tuple[SectionTags, ...] = ()
    silent: bool = False
    threshold: float = THRESHOLD

    def confident(self, threshold: float | None = None) -> list[TagScore]:
        """The tags at least ``threshold`` likely (default: the track's threshold), most likely first."""
        cut = self.threshold if threshold is None else threshold
        return [t for t in self.tags if t.probability >= cut]

    def probability(self, label: str, source: str | None = None) -> float:
        """The highest probability of ``label`` (in ``source`` only, when given); 0 when no tagger has it."""
        return max((t.probability for t in self.tags if t.label == label.lower()
                    and (source is None or t.source == source)), default=0.0)

    def aspect(self, head: str) -> list[TagScore]:
        """The tags about one aspect (instrument, vocals, singer, genre, mood, era, tempo), most likely first."""
        return [t for t in self.tags if t.head == head]

    def summary(self) -> str:
        """A few lines: the confident tags, then each section's."""
        name = Path(self.path).name
        if self.silent:
            return f"No music detected in {name}: it is silent, so it has no tags."
        tags = self.confident()
        if not tags:
            lines = [f"No tag of {name} is confident enough (none reaches p={self.threshold:.2f})."]
        else:
            windows = f"{self.windows} window{'s' if self.windows > 1 else ''} of 3 s"
            lines = [f"Tags of {name} ({windows}): "
                     + ", ".join(f"{t.label} {t.probability:.2f} ({t.head}, {t.source})" for t in tags)]
        for s in self.sections:
            words = ", ".join(dict.fromkeys(t.label for t in s.tags)) or "nothing confident"
            lines.append(f"  {_clock(s.start)}-{_clock(s.end)}: {words}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain JSON-ready data."""
        return asdict(self)


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


@functools.lru_cache(maxsize=4)
def _musicnn(name: str):
    from tools.models import load as load_model

    return load_model(name)


def _window_scores(path, names: tuple[str, ...]) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
    """(duration, start second of each kept window, model name -> (windows, labels) probabilities)."""
    from core.audio_io import load_audio
    from tools.models.musicnn import log_mel

    first = _musicnn(names[0])
    config = first.config
    audio = load_audio(path, sample_rate=config.sample_rate)
    if audio.is_silent:
        return audio.duration, np.zeros(0), {}
    if audio.duration < MIN_SECONDS:
        raise ToolError(f"{audio.path.name} is only {audio.duration:.1f} s long; tagging needs at least "
                        f"{MIN_SECONDS:.0f} s of music, so send a longer recording.")
    rep = log_mel(audio.samples, config)
    # Short clips need windows that overlap by half; a long track has windows enough side by side (half the work).
    hop = config.n_frames // 2 if audio.duration < OVERLAP_BELOW_SECONDS else config.n_frames
    patches = first.patches(rep, hop_frames=hop)
    starts = np.arange(len(patches)) * hop * config.hop
    size = config.n_frames * config.hop
    peaks = np.array([np.abs(audio.samples[s:s + size]).max(initial=0.0) for s in starts])
    keep = 20 * np.log10(np.maximum(peaks, 1e-10)) >= WINDOW_PEAK_DBFS
    keep = keep if keep.any() else peaks == peaks.max()
    scores = {name: _musicnn(name).tag_patches(patches[keep]) for name in names}
    return audio.duration, starts[keep] / config.sample_rate, scores


def _tag_list(names: tuple[str, ...], means: dict[str, np.ndarray]) -> tuple[TagScore, ...]:
    tags = [TagScore(label.lower(), ASPECTS.get(label.lower(), "other"), round(float(p), 3), name)
            for name in names for label, p in zip(_musicnn(name).config.labels, means[name])]
    return tuple(sorted(tags, key=lambda t: -t.probability))


def tag_track(path, *, model: str = DEFAULT_TAGGER, section_seconds: float = SECTION_SECONDS,
              threshold: float = THRESHOLD) -> TrackTags:
    """Every tag of the recording at ``path`` averaged over its 3 s windows, plus per-section tags when it lasts
    at least two sections. ``model``: ``musicnn`` (both taxonomies), ``musicnn-mtt`` or ``musicnn-msd``.

    Silence gives ``TrackTags(silent=True)`` and no tags. Raises ToolError for an unreadable file, a clip
    under a second, or an unknown model.
    """
    names = MUSICNN.get(model)
    if names is None:
        raise ToolError(f"There is no whole-track tagger called {model!r}; use one of {', '.join(MUSICNN)}.")
    duration, starts, scores = _window_scores(path, names)
    if not scores:
        return TrackTags(str(path), round(duration, 3), 0, (), silent=True, threshold=threshold)
    tags = _tag_list(names, {n: s.mean(0) for n, s in scores.items()})
    sections = []
    if duration >= 2 * section_seconds:
        for begin in np.arange(0.0, duration, section_seconds):
            inside = (starts >= begin) & (starts < begin + section_seconds)
            if inside.any():
                part = _tag_list(names, {n: s[inside].mean(0) for n, s in scores.items()})
                sections.append(SectionTags(float(begin), round(float(min(begin + section_seconds, duration)), 3),
                                            tuple(t for t in part if t.probability >= threshold)[:5]))
    return TrackTags(str(path), round(duration, 3), len(starts), tags, tuple(sections), threshold=threshold)


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
    from tools.models.tagger import load

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


def tag_audio(path, *, model: AudioTagger | str = DEFAULT_TAGGER, threshold: float | None = None) -> list[TagScore]:
    """The confident predicted tags of the recording at ``path``, most likely first (silence gives none).

    ``model``: ``musicnn`` (default), ``musicnn-mtt``, ``musicnn-msd``, or the synthetic-render tagger
    (``audio-tagger`` or a checkpoint path), which gives each head's most likely label.
    Raises ToolError for an unreadable file, a clip under a second or a bad checkpoint.
    """
    if isinstance(model, str) and model in MUSICNN:
        return tag_track(path, model=model).confident(threshold)
    probs = predict_audio(path, model=model)
    tagger = _cached(str(model)) if isinstance(model, (str, Path)) else model
    threshold = tagger.config.threshold if threshold is None else threshold
    tags = []
    for head, dist in probs.items():
        label, p = max(dist.items(), key=lambda kv: kv[1])
        if p >= threshold:
            tags.append(TagScore(label=label, head=head, probability=round(p, 3)))
    return sorted(tags, key=lambda t: -t.probability)
