"""How commands print a typed result: readable text for people, or ``--json`` for scripts."""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (errors as JSON on stderr).")]


def jsonable(value: Any) -> Any:
    """Dataclasses, paths, enums, tuples and numpy scalars as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return jsonable(value.to_dict())
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def print_json(value: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(jsonable(value), indent=1, ensure_ascii=False))


def show(out: Any, *, as_json: bool = False) -> None:
    """Print a capability's :class:`~assistant.capabilities.ToolOutput`: its display text and files, or its
    typed data, summary and files as JSON."""
    if as_json:
        print_json({"summary": out.summary, "result": out.data, "files": [f.to_dict() for f in out.files]})
        return
    console.print(out.display or out.summary, highlight=False, markup=False, soft_wrap=True)
    for f in out.files:
        console.print(f"  [dim]{f.kind:>5}[/]  {f.path}", highlight=False, soft_wrap=True)
