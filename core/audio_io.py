"""Load any audio file a user hands us, or say in one sentence why it can't be used.

Every music-understanding tool reads audio through :func:`load_audio`, so bad
input (missing, empty, truncated, not audio at all, too long) fails the same
clear way everywhere, and silence is detected before any model is asked to
find a tempo in it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ToolError

MAX_SECONDS = 20 * 60
# The project's working rate: renders are written at it and analysis reads at it (madmom's networks
# were trained on 44.1 kHz), so a rendered song is analysed without resampling.
SAMPLE_RATE = 44100
SILENCE_PEAK_DBFS = -60.0    # a clip whose peak stays below this is silence: nothing to measure, tag or index
SUPPORTED = "WAV, FLAC, OGG or MP3"

# First bytes of the containers we accept, to tell "not audio" from "broken audio".
_MAGIC = {
    b"RIFF": "WAV", b"RF64": "WAV", b"fLaC": "FLAC", b"OggS": "OGG",
    b"ID3": "MP3", b"FORM": "AIFF",
}


@dataclass(frozen=True)
class Audio:
    """Decoded mono audio and where it came from."""

    samples: np.ndarray          # float32, mono, in [-1, 1]
    sample_rate: int
    path: Path
    channels: int                # channels in the file before the mono mix
    file_sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    @property
    def peak_dbfs(self) -> float:
        """Highest sample level in dB relative to full scale (-inf for digital silence)."""
        return amplitude_to_dbfs(float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0)

    @property
    def is_silent(self) -> bool:
        """True when nothing in the clip rises above ``SILENCE_PEAK_DBFS`` (-60 dBFS)."""
        return self.peak_dbfs < SILENCE_PEAK_DBFS


def amplitude_to_dbfs(amplitude: float) -> float:
    """Convert a linear amplitude (1.0 = full scale) to dBFS."""
    return float(20 * np.log10(amplitude)) if amplitude > 0 else float("-inf")


def load_audio(path: str | Path, *, sample_rate: int | None = None,
               max_seconds: float = MAX_SECONDS) -> Audio:
    """Decode ``path`` to mono float32, resampled to ``sample_rate`` when given.

    Raises a ToolError naming the problem for a missing, empty, non-audio,
    truncated, unreadable or over-long (> ``max_seconds``) file.
    """
    import soundfile as sf

    path = Path(path).expanduser()
    if not path.exists():
        raise ToolError(f"There is no file at {path}; check the path and try again.")
    if path.is_dir():
        raise ToolError(f"{path} is a folder, not an audio file; give the path of a {SUPPORTED} file.")
    size = path.stat().st_size
    if size == 0:
        raise ToolError(f"{path.name} is empty (0 bytes); export or copy the audio again.")

    kind = _sniff(path)
    try:
        info = sf.info(str(path))
    except Exception as exc:  # libsndfile raises its own error types for every bad header
        if kind is None:
            raise ToolError(f"{path.name} is not an audio file (its contents are not {SUPPORTED}); "
                            f"send a {SUPPORTED} recording.") from exc
        raise ToolError(f"{path.name} looks like {kind} but cannot be decoded (corrupt or truncated); "
                        f"re-export or re-download it.") from exc

    declared = _declared_frames(path, kind, info)
    if declared / max(info.samplerate, 1) > max_seconds:
        raise ToolError(f"{path.name} is {declared / info.samplerate / 60:.1f} minutes long, over the "
                        f"{max_seconds / 60:.0f}-minute limit; trim it to a shorter excerpt first.")
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ToolError(f"{path.name} could not be decoded past its start (truncated or corrupt); "
                        f"re-export or re-download it.") from exc

    if len(data) == 0:
        if size > 4096:
            raise ToolError(f"{path.name} holds no decodable audio (it is probably truncated); "
                            f"re-export or re-download it.")
        raise ToolError(f"{path.name} contains no audio samples; send a recording that is at least a second long.")
    if declared and len(data) < 0.95 * declared:
        raise ToolError(f"{path.name} is truncated: its header promises {declared / file_sr:.1f} s but only "
                        f"{len(data) / file_sr:.1f} s could be read; re-export or re-download it.")
    if not np.isfinite(data).all():
        raise ToolError(f"{path.name} contains invalid (NaN or infinite) samples; re-export it as 16- or 24-bit audio.")

    mono = data.mean(axis=1).astype(np.float32)
    if sample_rate and sample_rate != file_sr:
        mono = resample(mono, file_sr, sample_rate)
    return Audio(samples=mono, sample_rate=sample_rate or file_sr, path=path,
                 channels=data.shape[1], file_sample_rate=file_sr)


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling (soxr through librosa)."""
    if orig_sr == target_sr:
        return samples
    import librosa

    return librosa.resample(samples, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq").astype(np.float32)


def _sniff(path: Path) -> str | None:
    """Name the audio container from the first bytes, or None when it is not one we know."""
    with path.open("rb") as fh:
        head = fh.read(12)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    # An MPEG audio frame starts with 11 set sync bits.
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "MP3"
    return None


def _declared_frames(path: Path, kind: str | None, info) -> int:
    """Frames the file's header promises (libsndfile quietly shortens truncated WAVs, so read RIFF ourselves)."""
    if kind == "WAV":
        wav = _wav_declared_frames(path)
        if wav is not None:
            return wav
    return int(info.frames)


def _wav_declared_frames(path: Path) -> int | None:
    """Frames promised by a RIFF/WAVE ``data`` chunk, or None when the header can't be parsed."""
    with path.open("rb") as fh:
        riff = fh.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return None
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"fmt ":
                fmt = fh.read(chunk_size)
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
                if chunk_size % 2:
                    fh.seek(1, 1)
            elif chunk_id == b"data":
                if not block_align or chunk_size in (0, 0xFFFFFFFF):  # streaming writers leave 0 / -1
                    return None
                return chunk_size // block_align
            else:
                fh.seek(chunk_size + (chunk_size % 2), 1)
