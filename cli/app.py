"""The ``bandmate`` command line: ``ask`` and ``chat`` talk to the agent; one subcommand per capability
mirrors the Python API (they call the same functions the agent's tools call)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from cli.errors import fail, run, stop_on_sigterm
from cli.output import JsonOpt, console, print_json
from core.settings import get_settings

app = typer.Typer(
    name="bandmate",
    help="bandmate: a music assistant you can talk to. Songwriting, audio analysis, captions and retrieval with local models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


# -- the agent ----------------------------------------------------------------
def _ask_once(assistant, text: str, files: list[Path], thread: str, timings: bool = False) -> None:
    from serve.agent_server import event_dict

    _show((event_dict(e) for e in assistant.stream(text, thread_id=thread, attachments=files)),
          assistant.backend, timings)


def _ask_server(server, text: str, files: list[Path], thread: str, timings: bool = False) -> None:
    from serve.agent_server import ask_server

    try:
        _show(ask_server(server, text, files, thread), "the bandmate agent server", timings)
    except ConnectionError as exc:
        fail(f"The bandmate agent server stopped answering ({exc}); start it again with `bandmate serve agent`, "
             "or ask with --local.")


def _show(events, backend: str, timings: bool) -> None:
    """Print a turn's events (:func:`serve.agent_server.event_dict` objects) as they come: each tool, what it
    shows, the reply, the files made."""
    reply = None
    with console.status(f"thinking ({backend})…") as status:
        for event in events:
            if event["kind"] == "tool_started":
                status.update(f"running {event['tool']}…")
            elif event["kind"] == "tool_finished":
                mark = "[green]✓[/]" if event["ok"] else "[red]✗[/]"
                console.print(f"{mark} {event['tool']}", highlight=False)
                if event["display"]:
                    console.print(event["display"], highlight=False, markup=False, soft_wrap=True)
                status.update("thinking…")
            elif event["kind"] == "error":
                fail(event["message"] if event["fixable"] else
                     f"The bandmate agent server failed on this message ({event['message']}); try again, or ask "
                     "with --local (the server's log has the details).")
            elif event["kind"] == "reply":
                reply = event
    if reply is None:
        fail("No reply came back; try again.")
    if reply["text"].strip() not in {s.strip() for s in reply["shown"]}:
        console.print()   # a tool whose words are the reply (recall, revise_song) was shown above
        console.print(reply["text"], highlight=False, markup=False, soft_wrap=True)
    for f in reply["files"]:
        console.print(f"  [dim]{f['kind']:>5}[/]  {f['path']}", highlight=False, soft_wrap=True)
    if timings and reply["timings"]:
        print(f"timings: {reply['timings_line']}", file=sys.stderr)
        print(f"timings-json: {json.dumps(reply['timings'])}", file=sys.stderr)   # one line, for scripts


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="What you want, in words.")],
    file: Annotated[Optional[list[Path]], typer.Option("--file", "-f", help="Attach an audio or MIDI file (repeatable).")] = None,
    thread: Annotated[str, typer.Option(help="Conversation thread to continue.")] = "cli",
    timings: Annotated[bool, typer.Option("--timings", help="Print where the seconds went (model, tools, reply).")] = False,
    local: Annotated[bool, typer.Option("--local", help="Answer in this process even when `bandmate serve agent` "
                                                        "is running.")] = False,
) -> None:
    """Ask bandmate one thing, e.g. `bandmate ask "write me a sad folk song about leaving home"`. With
    `bandmate serve agent` running, the answer comes from that warm process."""
    from serve.agent_server import find_server

    server = None if local else find_server(get_settings())
    if server is not None:
        run(_ask_server, server, text, list(file or []), thread, timings)
        return
    from assistant.api import Assistant

    run(lambda: _ask_once(Assistant(), text, list(file or []), thread, timings))


@app.command()
def chat(thread: Annotated[str, typer.Option(help="Conversation thread (memory survives restarts).")] = "cli-chat") -> None:
    """Talk with bandmate in a loop (one memory thread). Attach files with `/file PATH`; quit with /quit."""
    from assistant.api import Assistant

    assistant = run(Assistant)
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
        try:
            run(_ask_once, assistant, line, attachments, thread)
        except typer.Exit as stop:  # an error the user can fix was printed: the conversation goes on
            if stop.exit_code == 130:
                return
        attachments = []


# -- capabilities (mirror the Python API) ------------------------------------
def _ctx():
    """A tool context for direct CLI use: files go to <outputs>/cli, text comes from the configured LLM."""
    from assistant.context import ToolContext
    from assistant.llm import ChatTextGenerator, make_chat_model

    settings = get_settings()
    cache = {}

    def text_generator():
        if "tg" not in cache:
            cache["tg"] = ChatTextGenerator(make_chat_model(settings))
        return cache["tg"]

    return ToolContext(outputs=settings.outputs, text_generator=text_generator, home=settings.home_dir)


def _register_capabilities() -> None:
    from cli import capabilities as cli_capabilities

    cli_capabilities.register(app, _ctx)
    from cli.bots import register as register_bots
    from cli.data import register as register_data
    from cli.index import register as register_index

    register_bots(app)
    from cli.serve import register as register_serve

    register_serve(app)  # serve web|mcp, in the serve group the bots made
    register_index(app, lambda: get_settings().home_dir, lambda: _ctx().text_generator())
    register_data(app)
    from cli.data import add_train_commands
    from cli.train import register as register_training

    add_train_commands(register_training(app))  # one `train` group: chords|reward|policy|genre|audio-qa, plus `rate`


@app.command("config")
def show_config(as_json: JsonOpt = False) -> None:
    """Show the settings in effect (from env vars, .env and bandmate.toml)."""
    from assistant.llm import describe_backend

    settings = get_settings()
    shown = {name: getattr(settings, name) for name in type(settings).model_fields}
    if shown.get("api_key"):
        shown["api_key"] = "***"
    shown["backend"] = describe_backend(settings)
    if as_json:
        print_json(shown)
        return
    for name, value in shown.items():
        console.print(f"{name:>16} = {value}", highlight=False)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    stop_on_sigterm()
    _register_capabilities()
    try:
        app()
    except Exception as exc:  # settings errors and the like: one line, no traceback
        if os.environ.get("BANDMATE_DEBUG"):
            raise
        err.print("[bold red]error:[/]", escape(str(exc)), highlight=False)   # the message's [brackets] are text
        sys.exit(1)


if __name__ == "__main__":
    main()
