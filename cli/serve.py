"""``bandmate serve web|mcp|agent``: the local web chat, the MCP server and the agent kept loaded for
``bandmate ask``, beside ``serve discord|slack``.

Both listen on this computer only unless ``--allow-remote`` is given; a taken port, a missing extra or a
bad setting ends the command with one sentence on stderr and exit code 1.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from cli.errors import fail, run

err = Console(stderr=True)
HELP = ("Run bandmate as a chat bot (Discord, Slack), a local web chat, an MCP server for other AI apps, or an "
        "agent server that keeps the model loaded for `bandmate ask`.")

Host = Annotated[str, typer.Option(help="Interface to listen on; only this computer (127.0.0.1) unless --allow-remote.")]
AllowRemote = Annotated[bool, typer.Option("--allow-remote", help="Allow a --host other than this computer; anyone "
                                                                  "who can reach it can use bandmate.")]


def register(app: typer.Typer) -> None:
    """Add ``web``, ``mcp`` and ``agent`` to the ``serve`` group (made here if the bots have not made it)."""
    group = next((g.typer_instance for g in app.registered_groups if g.name == "serve"), None)
    if group is None:
        group = typer.Typer(no_args_is_help=True)
        app.add_typer(group, name="serve")
    group.info.help = HELP
    group.command("web")(serve_web)
    group.command("mcp")(serve_mcp)
    group.command("agent")(serve_agent)


def serve_web(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    allow_remote: AllowRemote = False,
    max_upload_mb: Annotated[int, typer.Option(help="Largest upload accepted, in MB.")] = 25,
) -> None:
    """Run the local web chat: talk, upload a clip, play and rate what bandmate makes (http://127.0.0.1:7860)."""
    _need("gradio")
    from assistant.api import Assistant
    from serve.network import check_listen_address
    from serve.web import WebOptions
    from serve.web import serve_web as serve

    options = WebOptions(host=host, port=port, allow_remote=allow_remote, max_upload_bytes=max_upload_mb * 2**20)
    run(check_listen_address, host, port, allow_remote=allow_remote)
    run(serve, Assistant(), options, on_ready=lambda url: err.print(f"bandmate web chat on {url} (Ctrl-C to stop)"))


def serve_mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")] = False,
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for --http.")] = 8765,
    allow_remote: AllowRemote = False,
    thread: Annotated[str, typer.Option(help="Conversation thread the calls share (what 'the song' refers to).")] = "mcp",
) -> None:
    """Serve bandmate's tools over the Model Context Protocol (stdio for a client that starts it, or --http)."""
    _need("mcp")
    import anyio

    from assistant.api import Assistant
    from serve.mcp_server import (
        BandmateTools,
        build_mcp_server,
        serve_http,
        serve_stdio,
    )
    from serve.network import check_listen_address

    if http:
        run(check_listen_address, host, port, allow_remote=allow_remote)
    server = build_mcp_server(BandmateTools.of(Assistant(), thread_id=thread))
    if http:
        err.print(f"bandmate MCP server on http://{host}:{port}/mcp (Ctrl-C to stop)")
        run(anyio.run, serve_http, server, host, port)
    else:
        run(anyio.run, serve_stdio, server)


def serve_agent() -> None:
    """Keep the agent and its model loaded, so that every `bandmate ask` answers without loading them (this
    computer only; `ask --local` answers in its own process anyway)."""
    from assistant.api import Assistant
    from serve.agent_server import serve_agent as serve

    err.print("bandmate agent server: loading the model and what songs use…")
    run(serve, Assistant(), on_ready=lambda port: err.print(
        f"bandmate agent server on 127.0.0.1:{port}; `bandmate ask` now answers here (Ctrl-C to stop)"))


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        fail(f"{module} is not installed; install the serve extra: pip install 'bandmate[serve]'.")
