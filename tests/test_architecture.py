"""The layout's rules, checked on the source (docs/architecture.md explains them).

Every import of ours, at module level or inside a function, points down the layers; there are
no import circles; only the CLI imports typer.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO

PACKAGES = ("core", "tools", "index", "training", "assistant", "bots", "serve", "cli")

# What each layer may import (besides itself). Sub-packages of tools/ are layers of their own.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "tools": {"core"},
    "tools.music": {"core", "tools"},
    "tools.models": {"core", "tools", "tools.music"},
    "tools.listening": {"core", "tools", "tools.music", "tools.models"},
    "tools.songwriting": {"core", "tools", "tools.music", "tools.models"},
    "tools.rendering": {"core", "tools", "tools.music", "tools.songwriting"},
    "tools.song": {"core", "tools", "tools.music", "tools.models", "tools.songwriting", "tools.rendering"},
}
TOOLS = {layer for layer in ALLOWED if layer.startswith("tools")}
ALLOWED |= {
    "index": {"core"} | TOOLS,
    "training": {"core", "index"} | TOOLS,
    "assistant": {"core", "index"} | TOOLS,
    "bots": {"core", "assistant"} | TOOLS,
    "serve": {"core", "assistant"} | TOOLS,  # beside bots: neither imports the other
    "cli": {"core", "index", "training", "assistant", "bots", "serve"} | TOOLS,
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "tools" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Our modules that ``path`` imports, anywhere in the file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known}


def third_party(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
    return out


def test_imports_point_down_the_layers():
    known = modules()
    wrong = []
    for name, path in known.items():
        for target in imports(path, known):
            if layer(target) != layer(name) and layer(target) not in ALLOWED[layer(name)]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_there_are_no_import_circles():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    for package in list(graph):  # importing a package runs its __init__: a package depends on it
        for target in list(graph[package]):
            parent = target.rpartition(".")[0]
            if parent in graph and parent != package and not package.startswith(parent + "."):
                graph[package].add(parent)
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_only_the_cli_imports_typer():
    known = modules()
    users = sorted(name for name, path in known.items() if "typer" in third_party(path) and layer(name) != "cli")
    assert users == []


def test_core_imports_nothing_of_ours():
    known = modules()
    outside = {name: sorted(m for m in imports(path, known) if layer(m) != "core")
               for name, path in known.items() if layer(name) == "core"}
    assert {name: found for name, found in outside.items() if found} == {}


def test_the_readme_layout_names_every_folder():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    architecture = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    folders = sorted({".".join(p.relative_to(REPO).parts[:-1]) for p in modules().values()} - {""})
    for folder in folders:
        shown = folder.split(".")[-1] + "/"   # sub-folders are indented under their parent
        assert shown in readme, f"README's layout section does not show {folder}"
        assert shown in architecture, f"docs/architecture.md does not show {folder}"
