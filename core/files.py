"""Atomic file writes: a crash mid-write leaves the last good file (or folder), never half of one; and
opening a SQLite store so that a damaged or unreachable one is a :class:`core.errors.StoreError` naming it.

Temporary files and folders are created beside their target, as ``open()`` and ``mkdir`` would
create them (the process umask applies: 0644 and 0755 under the usual 022), so the renamed
result has the permissions a plain write would have given it; a file that already exists keeps its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from core.errors import StoreError, ToolError

STALE_SECONDS = 24 * 3600      # a temporary entry older than this was left by a killed process
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}(\.old|\.tmp|\.[A-Za-z0-9]+)?$")   # what _create_beside names


def ensure_writable_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check it can be written, or raise a ToolError saying so."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"Cannot create the output folder {path} ({exc.strerror}); choose a folder you can write to.") from exc
    if not os.access(path, os.W_OK):
        raise ToolError(f"The output folder {path} is not writable; choose a folder you can write to.")
    return path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target).expanduser()
    tmp = _create_beside(target, target.suffix or ".tmp", _new_file)
    try:
        if target.is_file():
            tmp.chmod(stat.S_IMODE(target.stat().st_mode))   # rewriting a file keeps its permissions
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a new empty folder beside ``target``; it becomes ``target`` only if the block succeeds.

    An existing ``target`` is replaced whole: it is moved aside, the new folder renamed in, and then the
    old one deleted, so ``target`` is at every moment either the old folder or the new one.
    """
    target = Path(target).expanduser()
    tmp = _create_beside(target, "", os.mkdir)
    sweep_stale(target.parent, keep=tmp)
    try:
        yield tmp
        if target.exists():
            trash = _create_beside(target, ".old", os.mkdir)
            os.replace(target, trash / target.name)
            os.replace(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically and return the target path."""
    return atomic_write_bytes(target, text.encode("utf-8"))


def _new_file(path: Path) -> None:
    """Create an empty file that did not exist, with the mode ``open()`` gives a new file (0666 less the umask)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _create_beside(target: Path, suffix: str, create: Callable[[Path], None]) -> Path:
    """A new ``.<name>.<random><suffix>`` beside ``target`` (its folder made if needed), made by ``create``."""
    folder = ensure_writable_dir(target.parent)
    for _ in range(100):
        candidate = folder / f".{target.name}.{secrets.token_hex(4)}{suffix}"
        try:
            create(candidate)
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise ToolError(f"Cannot write into the output folder {folder} ({exc.strerror}); "
                            "choose a folder you can write to.") from exc
    raise ToolError(f"Cannot find a free temporary name in {folder}; remove the leftover .{target.name}.* entries.")


def sweep_stale(folder: str | Path, *, max_age: float = STALE_SECONDS, keep: Path | None = None) -> list[Path]:
    """Remove the temporary files and folders a killed write left in ``folder`` (``.<name>.<8 hex>...`` entries
    older than ``max_age`` seconds); returns what was removed. A live write's entry is younger, so it stays."""
    folder = Path(folder).expanduser()
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMPORARY.match(entry.name) or (keep is not None and Path(entry.path) == keep):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < max_age:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue                   # another process is sweeping it, or it is not ours to remove
        removed.append(Path(entry.path))
    return removed


def open_sqlite(path: str | Path, what: str, **connect: object) -> sqlite3.Connection:
    """Connect to the SQLite store at ``path`` (made if missing) and check it is one; ``what`` names it for the
    person ("conversation memory", "ratings", "clip index"). Raises StoreError naming the file and the fix."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the folder {path.parent} for the {what} ({exc.strerror}); set BANDMATE_HOME "
                         "(or home in bandmate.toml) to a folder you can write to.") from exc
    try:
        conn = sqlite3.connect(path, **connect)
    except sqlite3.Error as exc:
        raise store_error(path, what, exc) from exc
    try:
        conn.execute("PRAGMA schema_version").fetchone()     # reads the header: a file that is no database fails here
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(path, what, exc) from exc
    return conn


def store_error(path: str | Path, what: str, exc: BaseException) -> StoreError:
    """The one sentence for a SQLite store that failed with ``exc``: damaged, unwritable, locked or other."""
    path = Path(path)
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return StoreError(f"{path} is not a SQLite database (the {what} file is damaged); move it aside and "
                          "bandmate will start a new one.")
    if "locked" in lowered or "busy" in lowered:
        return StoreError(f"The {what} {path} is locked by another process; wait for it to finish, then try again.")
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered or isinstance(exc, OSError):
        return StoreError(f"Cannot open the {what} {path} ({text}); make {path.parent} writable or set BANDMATE_HOME "
                          "(or home in bandmate.toml) to a folder you can write to.")
    return StoreError(f"The {what} {path} cannot be used ({text}); move it aside and bandmate will start a new one.")
