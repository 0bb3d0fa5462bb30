"""Audio from MIDI: the ``fluidsynth`` command with the FluidR3 General MIDI soundfont (Debian packages
``fluidsynth`` and ``fluid-soundfont-gm``) renders 16-bit stereo WAV, and an Ogg Vorbis copy small
enough for a chat upload is encoded while it renders.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO

import numpy as np

from core.audio_io import SAMPLE_RATE, SILENCE_PEAK_DBFS
from core.errors import ToolError

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SILENCE = 10 ** (SILENCE_PEAK_DBFS / 20)  # the silence level as a linear amplitude (full scale = 1)


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The General MIDI soundfont to render with, or a ToolError saying which package provides it."""
    path = Path(soundfont or os.environ.get("BANDMATE_SOUNDFONT") or DEFAULT_SOUNDFONT)
    if not path.is_file():
        raise ToolError(f"The soundfont {path} is missing; install the Debian package fluid-soundfont-gm "
                        "(apt-get install fluid-soundfont-gm) or set BANDMATE_SOUNDFONT to a .sf2 file.")
    return path


class WavRender:
    """A fluidsynth render streaming in the background; :meth:`wait` finishes it.

    fluidsynth writes raw audio to a pipe. One thread drains the pipe as fast as
    fluidsynth fills it, another encodes the OGG copy from what has arrived, so
    synthesis, encoding and whatever the caller does meanwhile (the lead sheet,
    the pictures) run side by side. (Reading and encoding in one thread left
    fluidsynth blocked on a full pipe during every encode: the two took turns.)
    Start one with :func:`start_wav_render`.
    """

    _HOLD_SECONDS = 2.0  # audio kept back from the OGG until the end is known (trim, fade)
    _READ_BYTES = 1 << 18

    def __init__(self, proc: subprocess.Popen, errors: IO[bytes], wav: Path, ogg: Path | None,
                 rate: int, max_seconds: float | None, midi_name: str) -> None:
        self._proc, self._errors, self._wav, self._ogg = proc, errors, wav, ogg
        self._rate, self._max_seconds, self._midi_name = rate, max_seconds, midi_name
        self._chunks: list[np.ndarray] = []
        self._arrived: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
        self._encoder = None
        self._encoded = 0
        self._failure: BaseException | None = None
        self._threads = [threading.Thread(target=self._read, name="fluidsynth-reader", daemon=True)]
        if ogg is not None:
            self._threads.append(threading.Thread(target=self._encode_as_it_arrives, name="ogg-encoder", daemon=True))
        for thread in self._threads:
            thread.start()

    def _read(self) -> None:
        try:
            while data := self._proc.stdout.read(self._READ_BYTES):
                frames = np.frombuffer(data[: len(data) // 4 * 4], dtype="<i2").reshape(-1, 2)
                self._chunks.append(frames)
                self._arrived.put(frames)
        except BaseException as exc:  # reported by wait(), on the caller's thread
            self._failure = exc
        finally:
            self._arrived.put(None)

    def _encode_as_it_arrives(self) -> None:
        import soundfile as sf

        try:
            self._encoder = sf.SoundFile(str(self._ogg), "w", self._rate, 2, format="OGG", subtype="VORBIS")
            hold = int(self._HOLD_SECONDS * self._rate)
            # Never encode past the cut (score end + 0.5 s, less the fade): fluidsynth renders some tail beyond it.
            limit = int((self._max_seconds + 0.45) * self._rate) if self._max_seconds is not None else None
            pending: list[np.ndarray] = []
            total = 0
            while (frames := self._arrived.get()) is not None:
                pending.append(frames)
                total += len(frames)
                ready = total - hold if limit is None else min(total - hold, limit)
                if ready > self._encoded:
                    waiting = np.concatenate(pending)
                    count = ready - self._encoded
                    self._encode(waiting[:count])
                    pending = [waiting[count:]]
        except BaseException as exc:
            self._failure = exc

    def _encode(self, frames: np.ndarray) -> None:
        """Feed frames to the OGG encoder block-wise: libsndfile's Vorbis encoder crashes on very large writes."""
        for i in range(0, len(frames), 65536):
            self._encoder.write(frames[i:i + 65536])  # int16: libsndfile scales it
        self._encoded += len(frames)

    def cancel(self) -> None:
        """Stop the render if it is still running."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for thread in self._threads:
            thread.join()
        if self._encoder is not None and not self._encoder.closed:
            self._encoder.close()

    def wait(self) -> float:
        """Wait for fluidsynth, trim trailing silence, write the WAV (and OGG); returns the length in seconds.

        The release tail is cut (with a short fade) half a second after the
        score's end when ``max_seconds`` was given.
        """
        import soundfile as sf

        self._proc.wait()
        for thread in self._threads:
            thread.join()
        self._errors.seek(0)
        message = self._errors.read().decode(errors="replace").strip()
        if self._failure is not None:
            raise self._failure
        if self._proc.returncode != 0 or not self._chunks:
            raise ToolError(f"fluidsynth could not render {self._midi_name} ({message[:200] or 'no audio'}); "
                            "check that the file is a valid MIDI file.")
        audio = np.concatenate(self._chunks) if len(self._chunks) > 1 else self._chunks[0].copy()
        last = _last_sound(audio, self._rate)
        end = last + int(0.05 * self._rate) if last else 1
        if self._max_seconds is not None:
            end = min(end, int((self._max_seconds + 0.5) * self._rate))
        end = max(end, self._encoded, 1)  # the OGG already holds everything before `encoded`
        audio = audio[:end].copy()
        fade = min(len(audio) - self._encoded, int(0.05 * self._rate))
        if fade > 0:
            audio[len(audio) - fade:] = (audio[len(audio) - fade:] * np.linspace(1.0, 0.0, fade)[:, None]).astype(np.int16)
        sf.write(str(self._wav), audio, self._rate, subtype="PCM_16")
        if self._encoder is not None:
            self._encode(audio[self._encoded:])
            self._encoder.close()
        return len(audio) / self._rate


def _last_sound(audio: np.ndarray, rate: int) -> int:
    """Index just past the last frame above the silence threshold (0 for silence), scanning back from the end
    a second at a time: a song's silent tail is short, its audio is not."""
    threshold = SILENCE * 32768
    end = len(audio)
    while end > 0:
        block = audio[max(0, end - rate):end]
        loud = np.flatnonzero(np.abs(block.astype(np.int32)).max(axis=1) > threshold)
        if loud.size:
            return end - len(block) + int(loud[-1]) + 1
        end -= len(block)
    return 0


def start_wav_render(
    midi_path: str | Path,
    wav_path: str | Path,
    *,
    ogg_path: str | Path | None = None,
    max_seconds: float | None = None,
    soundfont: str | Path | None = None,
    sample_rate: int = SAMPLE_RATE,
    gain: float = 0.8,
) -> WavRender:
    """Start rendering a MIDI file to 16-bit stereo WAV (and an Ogg Vorbis copy) with fluidsynth and
    the GM soundfont; raises ToolError naming the Debian package when either is missing.
    """
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise ToolError("The fluidsynth program is not installed; install the Debian package fluidsynth "
                        "(apt-get install fluidsynth) to render audio.")
    sf2 = find_soundfont(soundfont)
    # synth.cpu-cores stays at 1: on two busy cores fluidsynth's own threads make it slower, not faster.
    # -z: fluidsynth writes one period per write(); its default of 64 frames meant ~100,000 tiny pipe
    # writes and reads a song, a third of the render's time.
    cmd = [binary, "-ni", "-q", "-T", "raw", "-O", "s16", "-F", "-", "-z", "8192", "-r", str(sample_rate),
           "-g", str(gain), str(sf2), str(midi_path)]
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
    return WavRender(proc, errors, Path(wav_path), Path(ogg_path) if ogg_path else None, sample_rate,
                     max_seconds, Path(midi_path).name)


def render_midi_to_wav(midi_path: str | Path, wav_path: str | Path, **options) -> float:
    """Render a MIDI file to 16-bit stereo WAV (and, given ``ogg_path``, a compressed Ogg Vorbis copy,
    about 1 MB a minute) with fluidsynth; returns the WAV's length in seconds. ``options`` are
    :func:`start_wav_render`'s.

    Trailing silence is trimmed, and the release tail is cut (with a short fade)
    half a second after ``max_seconds`` when given.
    """
    job = start_wav_render(midi_path, wav_path, **options)
    try:
        return job.wait()
    finally:
        job.cancel()
