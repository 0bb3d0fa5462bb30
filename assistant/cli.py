"""The ``bandmate`` command line: ``ask`` and ``chat`` talk to the agent; one subcommand per capability
mirrors the Python API (they call the same functions the agent's tools call)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from assistant.config import get_settings

app = typer.Typer(
    name="bandmate",
    help="bandmate: a music assistant you can talk to. Songwriting, audio analysis, captions and retrieval with local models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _run(fn, *args, **kwargs):
    """Call ``fn``; user-fixable errors become one line on stderr and exit code 1, never a traceback."""
    from assistant.api import AssistantError
    from assistant.llm import LLMConfigError
    from tools.types import ToolError

    try:
        return fn(*args, **kwargs)
    except (ToolError, AssistantError, LLMConfigError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130)


def _print_output(out) -> None:
    """Print a capability's result: the display text for people, then its files."""
    console.print(out.display or out.summary, highlight=False, markup=False, soft_wrap=True)
    for f in out.files:
        console.print(f"  [dim]{f.kind:>5}[/]  {f.path}", highlight=False, soft_wrap=True)


# -- the agent ----------------------------------------------------------------
def _ask_once(assistant, text: str, files: list[Path], thread: str) -> None:
    with console.status(f"thinking ({assistant.backend})…") as status:
        for event in assistant.stream(text, thread_id=thread, attachments=files):
            if event.kind == "tool_started":
                status.update(f"running {event.tool}…")
            elif event.kind == "tool_finished":
                step = event.step
                mark = "[green]✓[/]" if step.ok else "[red]✗[/]"
                console.print(f"{mark} {step.name}", highlight=False)
                if step.display:
                    console.print(step.display, highlight=False, markup=False, soft_wrap=True)
                status.update("thinking…")
            elif event.kind == "reply":
                reply = event.reply
    console.print()
    console.print(reply.text, highlight=False, markup=False, soft_wrap=True)
    for f in reply.files:
        console.print(f"  [dim]{f.kind:>5}[/]  {f.path}", highlight=False, soft_wrap=True)


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="What you want, in words.")],
    file: Annotated[Optional[list[Path]], typer.Option("--file", "-f", help="Attach an audio or MIDI file (repeatable).")] = None,
    thread: Annotated[str, typer.Option(help="Conversation thread to continue.")] = "cli",
) -> None:
    """Ask bandmate one thing, e.g. `bandmate ask "write me a sad folk song about leaving home"`."""
    from assistant.api import Assistant

    _run(_ask_once, Assistant(), text, list(file or []), thread)


@app.command()
def chat(thread: Annotated[str, typer.Option(help="Conversation thread (memory survives restarts).")] = "cli-chat") -> None:
    """Talk with bandmate in a loop (one memory thread). Attach files with `/file PATH`; quit with /quit."""
    from assistant.api import Assistant

    assistant = Assistant()
    console.print(f"bandmate ({assistant.backend}). Type /quit to leave, /file PATH to attach a file to your next message.")
    attachments: list[Path] = []
    while True:
        try:
            line = console.input("[bold cyan]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not line:
            continue
        if line in {"/quit", "/exit"}:
            return
        if line.startswith("/file "):
            attachments.append(Path(line[6:].strip()))
            continue
        from assistant.api import AssistantError
        from assistant.llm import LLMConfigError

        try:
            _ask_once(assistant, line, attachments, thread)
        except (AssistantError, LLMConfigError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
        attachments = []


# -- capabilities (mirror the Python API) ------------------------------------
def _ctx():
    """A tool context for direct CLI use: files go to <outputs>/cli, text comes from the configured LLM."""
    from assistant.llm import ChatTextGenerator, make_chat_model
    from assistant.toolkit import ToolContext

    settings = get_settings()
    cache = {}

    def text_generator():
        if "tg" not in cache:
            cache["tg"] = ChatTextGenerator(make_chat_model(settings))
        return cache["tg"]

    return ToolContext(outputs=settings.outputs, text_generator=text_generator, home=Path(settings.home).expanduser())


def _out_dir(ctx, out: Optional[Path]) -> Path:
    return Path(out) if out else ctx.thread_dir("cli")


def _register_capabilities() -> None:
    from assistant import cli_capabilities

    cli_capabilities.register(app, _ctx, _out_dir, _run, _print_output)
    from bots.cli import register as register_bots
    from index.cli import register as register_index
    from training.data_cli import register as register_data

    register_bots(app)
    register_index(app, lambda: get_settings().home, lambda: _ctx().text_generator())
    register_data(app)
    from training.cli import register as register_training
    from training.data_cli import add_train_commands

    add_train_commands(register_training(app))  # one `train` group: chords|reward|policy|genre|audio-qa, plus `rate`


@app.command("config")
def show_config() -> None:
    """Show the settings in effect (from env vars, .env and bandmate.toml)."""
    from assistant.llm import describe_backend

    settings = get_settings()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name == "api_key" and value:
            value = "***"
        console.print(f"{name:>16} = {value}", highlight=False)
    console.print(f"{'backend':>16} = {describe_backend(settings)}", highlight=False)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    _register_capabilities()
    try:
        app()
    except Exception as exc:  # settings errors and the like: one line, no traceback
        if os.environ.get("BANDMATE_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
