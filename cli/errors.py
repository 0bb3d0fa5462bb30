"""The CLI's one error wrapper: an error the user can fix is one line (or one JSON object) on stderr
and exit code 1, never a traceback; Ctrl-C is exit code 130, SIGTERM 143 (both unwind, so temporary
files and folders are removed on the way out)."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer

from core.errors import ToolError

T = TypeVar("T")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` (staging folders, worker pools) runs on the way out."""


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind the command as Ctrl-C does, instead of ending the process on the spot."""
    def raise_terminated(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)    # a second SIGTERM while cleaning up ends it at once
        raise Terminated()

    signal.signal(signal.SIGTERM, raise_terminated)


def _user_error_types() -> tuple[type[BaseException], ...]:
    """ToolError, plus the assistant's own user errors when the assistant is loaded (a command that
    never loaded it cannot have raised them, and importing it costs a second)."""
    types: list[type[BaseException]] = [ToolError]
    for module, name in (("assistant.api", "AssistantError"), ("assistant.llm", "LLMConfigError"),
                         ("bots.config", "StartError")):
        found = getattr(sys.modules.get(module), name, None)
        if found is not None:
            types.append(found)
    return tuple(types)


def fail(message: str, *, as_json: bool = False, code: int = 1) -> NoReturn:
    """End the command with ``message`` on stderr (as ``{"error": ...}`` with ``--json``)."""
    if as_json:
        print(json.dumps({"error": message}), file=sys.stderr)
    else:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def run(fn: Callable[..., T], *args, as_json: bool = False, **kwargs) -> T:
    """Call ``fn``; user-fixable errors end the command through :func:`fail`."""
    try:
        return fn(*args, **kwargs)
    except Terminated:
        fail("terminated", as_json=as_json, code=143)
    except KeyboardInterrupt:
        fail("interrupted", as_json=as_json, code=130)
    except Exception as exc:
        if isinstance(exc, _user_error_types()):
            fail(str(exc), as_json=as_json)
        raise
