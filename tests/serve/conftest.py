"""What the serve tests share: a free port, a clean environment for a `bandmate serve` subprocess."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from tests.support import REPO


def free_port() -> int:
    """A port nothing on 127.0.0.1 listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bandmate_command(*args: str) -> list[str]:
    """``bandmate ARGS`` run from this checkout with this interpreter (what the console script runs)."""
    return [sys.executable, "-m", "cli.app", *args]


def bandmate_env(home: Path) -> dict[str, str]:
    """Environment for a bandmate subprocess: everything under ``home``, offline, this checkout importable."""
    return {"BANDMATE_HOME": str(home), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(home))}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh bandmate home (memory, outputs, ratings) for one test."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder
