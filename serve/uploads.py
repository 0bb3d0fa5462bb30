"""What the web app accepts as an upload: an audio clip (to ask about) or a MIDI/MusicXML file (to render).

A file is checked before the assistant sees it, so a wrong or oversized file gets one sentence
saying what to send instead, and the conversation goes on.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from core.errors import ToolError

AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".flac")
SCORE_SUFFIXES = (".mid", ".midi", ".musicxml", ".mxl")
DEFAULT_MAX_BYTES = 25 * 2**20


def check_upload(path: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Raise a ToolError (one sentence) unless ``path`` (shown to the person as ``name``) is usable."""
    suffix = Path(name).suffix.lower()
    if suffix not in AUDIO_SUFFIXES + SCORE_SUFFIXES:
        raise ToolError(f"I can't use {name}: upload audio (WAV, FLAC, OGG or MP3) or MIDI/MusicXML.")
    size = path.stat().st_size
    if size > max_bytes:
        raise ToolError(f"{name} is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB upload limit; "
                        "upload a shorter clip or an OGG/MP3.")
    if size == 0:
        raise ToolError(f"{name} is empty; upload the file again.")
    if suffix in AUDIO_SUFFIXES and not _is_audio(path):
        raise ToolError(f"{name} is not audio I can read; upload a WAV, FLAC, OGG or MP3 file.")


def keep_upload(path: Path, name: str, folder: Path) -> Path:
    """Copy an upload into the conversation's ``uploads/`` folder (the thread's memory points at it later)."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name).strip("._") or "upload"
    kept = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}"
    shutil.copyfile(path, kept)
    return kept


def _is_audio(path: Path) -> bool:
    import soundfile as sf

    try:
        sf.info(str(path))
    except Exception:  # soundfile raises its own error type, or RuntimeError, for anything it can't open
        return False
    return True
