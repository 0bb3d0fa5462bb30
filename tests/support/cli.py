"""The `bandmate` command as a real process, for tests that need exit codes, signals and a clean environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without any BANDMATE_*/OPENAI_* setting, with ``home`` as BANDMATE_HOME plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDMATE_", "OPENAI_"))}
    env.update({"BANDMATE_HOME": str(home), **extra})
    return env


def run_bandmate(*args: str, cwd: Path, home: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """Run ``bandmate ARGS`` to the end in ``cwd`` and return what it printed and its exit code."""
    return subprocess.run([sys.executable, "-m", "cli.app", *args], capture_output=True, text=True,
                          env=cli_env(home, **env), cwd=cwd, timeout=timeout)


def start_bandmate(*args: str, cwd: Path, home: Path, **env: str) -> subprocess.Popen:
    """Start ``bandmate ARGS`` in ``cwd`` (stdout and stderr piped, as bytes) and return the process. It starts
    with Ctrl-C's default action, as from a terminal, whatever an earlier test left the test process ignoring
    (an ignored SIGINT is inherited, and Python then never raises KeyboardInterrupt)."""
    return subprocess.Popen([sys.executable, "-m", "cli.app", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=cli_env(home, **env), cwd=cwd,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
