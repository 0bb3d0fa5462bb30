"""Atomic writes: a failed write leaves the old file or folder, and the result has a plain write's permissions."""

from __future__ import annotations

import os
import stat

import pytest

from core.files import atomic_folder, atomic_path, atomic_write_text


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_permissions_a_plain_write_gives(tmp_path, umask):
    atomic_write_text(tmp_path / "a.json", "{}")
    (tmp_path / "plain.json").write_text("{}")
    assert mode(tmp_path / "a.json") == mode(tmp_path / "plain.json") == 0o644
    umask(0o027)
    atomic_write_text(tmp_path / "b.json", "{}")
    assert mode(tmp_path / "b.json") == 0o640


def test_rewriting_a_file_keeps_its_permissions(tmp_path, umask):
    target = tmp_path / "secret.txt"
    target.write_text("old")
    target.chmod(0o600)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "data.txt"
    target.write_text("good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path, umask):
    target = tmp_path / "song"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert [p.name for p in target.iterdir()] == ["a.txt"] and mode(target) == 0o755
    with atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("second")
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "c.txt").write_text("half")
        raise RuntimeError("crash mid-write")
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["song"]
