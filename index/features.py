"""What the index stores about one clip: tags, a caption, a text embedding and an audio-feature vector.

``describe_audio(path)`` does the heavy, per-file part (decode, :func:`tools.listening.analyze.analyze_audio`,
the audio-feature vector) and is what runs in worker processes or Ray workers; it returns a
picklable :class:`Described` or :class:`Failed`. Captioning (:func:`caption_clip`, optionally by an LLM) and the text
embedding happen in the process that writes the index, in batches.

The pretrained tagger (:func:`tools.listening.tagger.tag_track`, musicnn) adds what analysis cannot hear
to a clip's tags (instruments, voices, genre, mood, era), so a text query such as "string orchestra"
finds a real recording.

The audio vector is for "more like this": a fixed-scale summary of timbre (MFCC means and
spreads, spectral contrast), rhythm (tempo, onset density, drums), tonality (mode, mean
chroma relative to the key) and the tagger's 100 tag probabilities, each block unit-length and
weighted, the whole unit-length. Fixed scales (not collection statistics) keep a clip's vector
the same however large the collection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.audio_io import SILENCE_PEAK_DBFS
from core.errors import ToolError
from core.textgen import TextGenerator

TEXT_DIM = 384                  # all-MiniLM-L6-v2
AUDIO_SAMPLE_RATE = 22050
N_MFCC = 20
# Weights of the audio-vector blocks: timbre and the tags decide "sounds like" most, then rhythm, then tonality.
BLOCK_WEIGHTS = {"timbre": 1.0, "tags": 1.0, "rhythm": 0.7, "tonal": 0.4}
TAG_DIM = 100                   # musicnn-mtt + musicnn-msd probabilities
AUDIO_DIM = 2 * (N_MFCC - 1) + 7 + 6 + 13 + TAG_DIM
TAG_THRESHOLD = 0.2             # tagger tags at least this likely join a clip's tags
# Measured tags that a known tag about the same aspect replaces ("slow tempo" known beats "fast tempo" measured).
_ASPECT_WORDS = ("tempo", "bpm", "key", "drums", "percussion", "meter")


@dataclass(frozen=True)
class Described:
    """One analysed clip, ready to caption, embed and store."""

    path: str
    content_hash: str
    size: int
    mtime_ns: int
    duration: float
    tags: list[str]                         # the tagger's confident tags, then the measured ones
    analysis: dict                          # Analysis.to_dict()
    audio_vector: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Failed:
    """A file that could not be indexed and the one-sentence reason."""

    path: str
    reason: str


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """BLAKE2b of the file's bytes: the identity of a clip wherever it lives."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def describe_audio(path: str | Path, digest: str | None = None) -> Described | Failed:
    """Analyse ``path`` and build its audio vector; a :class:`Failed` (never an exception) for a bad file."""
    from tools.listening.analyze import analyze_audio
    from tools.listening.caption import tags_from_analysis

    path = Path(path)
    try:
        stat = path.stat()
        digest = digest or content_hash(path)
        analysis = analyze_audio(path)
        if analysis.silent:
            return Failed(str(path), f"{path.name} is silent (nothing above {SILENCE_PEAK_DBFS:.0f} dBFS), "
                                     "so there is nothing to index.")
        predicted, probabilities = tag_clip(path)
        vector = audio_vector(path, analysis, probabilities)
    except ToolError as exc:
        return Failed(str(path), str(exc))
    except OSError as exc:
        return Failed(str(path), f"{path.name} could not be read ({exc.strerror or exc}).")
    except Exception as exc:  # a decoder or analysis bug on one odd file must not stop a 1,000-file ingest
        return Failed(str(path), f"{path.name} could not be analysed ({type(exc).__name__}: {exc}).")
    return Described(path=str(path), content_hash=digest, size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                     duration=round(analysis.duration, 3), tags=merge_tags(predicted, tags_from_analysis(analysis)),
                     analysis=analysis.to_dict(), audio_vector=vector)


def tag_clip(path: str | Path) -> tuple[list[str], np.ndarray]:
    """The tagger's confident tag words for ``path`` and its ``TAG_DIM`` probabilities (MTT then MSD labels);
    no words and zeros for a clip it cannot tag (under a second long)."""
    from tools.listening.tagger import tag_track

    try:
        track = tag_track(path)
    except ToolError:
        return [], np.zeros(TAG_DIM, np.float32)
    by_source = {(t.source, t.label): t.probability for t in track.tags}
    probabilities = np.array([by_source.get(key, 0.0) for key in sorted(by_source)], np.float32)
    words = list(dict.fromkeys(t.label for t in track.confident(TAG_THRESHOLD)))
    return words, np.pad(probabilities, (0, TAG_DIM - len(probabilities)))


def audio_vector(path: str | Path, analysis, tag_probabilities: np.ndarray | None = None) -> np.ndarray:
    """The unit-length "sounds like" vector (``AUDIO_DIM`` floats) of a clip, its analysis and its tag
    probabilities (:func:`tag_clip`; None: a zero block)."""
    import librosa

    from core.audio_io import load_audio
    from tools.listening.analyze import key_pitch_class

    audio = load_audio(path, sample_rate=AUDIO_SAMPLE_RATE)
    y = audio.samples
    mel = librosa.feature.melspectrogram(y=y, sr=AUDIO_SAMPLE_RATE, n_fft=2048, hop_length=512, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-10), n_mfcc=N_MFCC)[1:]  # c0 is loudness
    contrast = librosa.feature.spectral_contrast(y=y, sr=AUDIO_SAMPLE_RATE, n_fft=2048, hop_length=512)
    timbre = np.concatenate([mfcc.mean(axis=1) / 40.0, mfcc.std(axis=1) / 20.0, contrast.mean(axis=1) / 30.0])

    tempo = analysis.tempo_bpm or 0.0
    drums = {True: 1.0, False: -1.0, None: 0.0}[analysis.drums_present]
    rhythm = np.array([np.log2(tempo / 100.0) if tempo else 0.0, 1.0 if tempo else -1.0,
                       min(analysis.onset_rate or 0.0, 12.0) / 4.0, drums,
                       np.log2(max(analysis.brightness_hz or 1000.0, 100.0) / 1500.0),
                       ((analysis.loudness_dbfs or -30.0) + 20.0) / 10.0])

    chroma = librosa.feature.chroma_stft(S=np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2,
                                         sr=AUDIO_SAMPLE_RATE).mean(axis=1)
    mode = 0.0
    if analysis.key:                          # chroma relative to the tonic: transposed copies sound alike
        tonic, key_mode = key_pitch_class(analysis.key)
        chroma, mode = np.roll(chroma, -tonic), 1.0 if key_mode == "major" else -1.0
    tonal = np.concatenate([chroma / (np.linalg.norm(chroma) + 1e-9), [mode]])

    tags = np.zeros(TAG_DIM, np.float32) if tag_probabilities is None else np.sqrt(tag_probabilities)
    blocks = [(timbre, "timbre"), (tags, "tags"), (rhythm, "rhythm"), (tonal, "tonal")]
    vec = np.concatenate([BLOCK_WEIGHTS[name] * b / (np.linalg.norm(b) + 1e-9) for b, name in blocks])
    return (vec / (np.linalg.norm(vec) + 1e-9)).astype(np.float32)


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length all-MiniLM-L6-v2 embeddings, float32 (len(texts), TEXT_DIM)."""
    from tools.models.encoder import embed_texts as encode

    if not texts:
        return np.zeros((0, TEXT_DIM), np.float32)
    return np.asarray(encode(list(texts)), dtype=np.float32)


@dataclass(frozen=True)
class ClipCaption:
    """A clip's caption, the model that wrote it, and the text embedded for search (the caption and its tags)."""

    text: str
    model: str
    embedded_text: str


def merge_tags(known: Sequence[str], measured: Sequence[str]) -> list[str]:
    """Known tags first, then measured ones about aspects the known tags don't already cover."""
    covered = {t.split()[-1] for t in known if t.split() and t.split()[-1] in _ASPECT_WORDS}
    if "drums" in covered:
        covered.add("percussion")
    extra = [t for t in measured if not (t.split() and t.split()[-1] in covered) and t not in known]
    return list(dict.fromkeys([*known, *extra]))


def caption_clip(tags: list[str], llm: TextGenerator | None) -> ClipCaption:
    """Caption a clip's tags with ``llm``; without one, or when it fails, the tags joined (so one bad reply loses
    no clip)."""
    from tools.listening.caption import caption_tags, tag_concat

    if llm is not None:
        try:
            caption = caption_tags(tags, "writing", llm=llm)
            return ClipCaption(caption.text, caption.model, f"{caption.text} ({', '.join(tags)})")
        except ToolError:
            pass
    text = tag_concat(tags).text
    return ClipCaption(text, "tag_concat", text)
