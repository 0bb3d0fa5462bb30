"""scripts/setup.sh's check for a local torch wheel, run as the script runs it (bash, set -euo pipefail)."""

from __future__ import annotations

import subprocess

from tests.support import REPO

SETUP = REPO / "scripts" / "setup.sh"


def check(fake_pip_body: str) -> int:
    """Exit code of has_local_torch_wheel with a fake pip whose output is ``fake_pip_body``."""
    script = f"""
set -euo pipefail
eval "$(sed -n '/^has_local_torch_wheel() {{/,/^}}/p' {SETUP})"
fake_pip() {{ {fake_pip_body}; }}
has_local_torch_wheel fake_pip
"""
    return subprocess.run(["bash", "-c", script], capture_output=True, timeout=60).returncode


def test_the_local_wheel_is_found_even_when_pip_writes_on_after_naming_it():
    # pip names the wheel early and keeps writing: a `| grep -q` check died of SIGPIPE here.
    assert check('echo "Would install torch-2.13.0+cpu"; seq 1 200000') == 0


def test_no_local_wheel_means_the_cpu_index():
    assert check('echo "Would install torch-2.13.0"') == 1


def test_a_failing_pip_means_the_cpu_index():
    assert check("echo 'Would install torch-2.13.0+cpu'; return 1") == 1


def test_the_check_is_defined_once_and_used():
    text = SETUP.read_text(encoding="utf-8")
    assert text.count("has_local_torch_wheel()") == 1
    assert 'if has_local_torch_wheel "${PIP[@]}"; then' in text
    assert "grep -q" not in text
