"""Atomic writes: a failed write leaves the old file or folder, and the result has a plain write's permissions."""

from __future__ import annotations

import os
import stat
import time

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


def test_stale_temporary_entries_are_swept_and_live_ones_kept(tmp_path):
    from core.files import STALE_SECONDS, sweep_stale

    stale = tmp_path / ".song-1a2b3c4d.0badc0de"        # what a killed render leaves: a staging folder
    stale.mkdir()
    (stale / "song.wav").write_bytes(b"\0" * 1000)
    stale_file = tmp_path / ".vectors.json.12345678.json"
    stale_file.write_text("{}")
    live = tmp_path / ".other.abcdef01"                 # a write in progress right now
    live.mkdir()
    mine = tmp_path / ".hidden-notes"                   # not a name bandmate makes
    mine.write_text("keep me")
    old = time.time() - STALE_SECONDS - 60
    for path in (stale, stale_file, mine):
        os.utime(path, (old, old))
    removed = sweep_stale(tmp_path)
    assert sorted(p.name for p in removed) == sorted([stale.name, stale_file.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, mine.name])


def test_a_new_folder_write_sweeps_what_a_killed_one_left(tmp_path):
    from core.files import STALE_SECONDS

    leftover = tmp_path / ".song.deadbeef"
    leftover.mkdir()
    old = time.time() - STALE_SECONDS - 1
    os.utime(leftover, (old, old))
    with atomic_folder(tmp_path / "song") as tmp:
        (tmp / "a.txt").write_text("a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song"]


def test_a_file_that_is_not_a_database_is_named_with_the_fix(tmp_path):
    from core.errors import StoreError
    from core.files import open_sqlite

    db = tmp_path / "memory.sqlite"
    db.write_bytes(b"these bytes are not a SQLite file" * 100)
    with pytest.raises(StoreError) as caught:
        open_sqlite(db, "conversation memory")
    assert str(caught.value) == (f"{db} is not a SQLite database (the conversation memory file is damaged); "
                                 "move it aside and bandmate will start a new one.")
    assert db.read_bytes().startswith(b"these bytes")  # nothing of the user's was touched


def test_a_store_whose_folder_cannot_be_made_names_the_home_setting(tmp_path):
    from core.errors import StoreError
    from core.files import open_sqlite

    blocker = tmp_path / "a-file"
    blocker.write_text("x")                             # a file where the home folder should be (works as root too)
    with pytest.raises(StoreError, match=f"Cannot create the folder {blocker} for the ratings store.*BANDMATE_HOME"):
        open_sqlite(blocker / "feedback.sqlite", "ratings store")
