"""The typed result every tool shares: a file it wrote and what kind of file it is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FileKind = Literal["audio", "midi", "image", "score", "json", "text"]


_KIND_BY_SUFFIX: dict[str, FileKind] = {
    ".wav": "audio", ".ogg": "audio", ".mp3": "audio", ".flac": "audio",
    ".mid": "midi", ".midi": "midi",
    ".png": "image", ".jpg": "image", ".svg": "image",
    ".musicxml": "score", ".mxl": "score", ".xml": "score",
    ".json": "json",
    ".txt": "text", ".md": "text",
}


@dataclass(frozen=True)
class OutputFile:
    """A file a tool wrote, with what kind of file it is (for uploads and display)."""

    path: Path
    kind: FileKind
    description: str = ""

    @classmethod
    def of(cls, path: str | Path, description: str = "") -> "OutputFile":
        """Build an OutputFile whose kind follows the file's suffix."""
        path = Path(path)
        kind = _KIND_BY_SUFFIX.get(path.suffix.lower(), "json" if path.suffix == ".json" else "text")
        return cls(path=path, kind=kind, description=description)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "description": self.description}
