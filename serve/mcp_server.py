"""``bandmate serve mcp``: bandmate's tools over the Model Context Protocol (the official ``mcp`` SDK).

The tools are the agent's own toolkit (:func:`assistant.toolkit.build_toolkit`): the same names,
descriptions (``assistant/prompts/tools.toml``) and argument schemas the agent's model is shown, and the
same call path, so a tool behaves exactly as it does in a conversation. A result is the tool's summary
plus every file it wrote, as a path in the text, a ``resource_link`` the client can read back
(``resources/read``), and the structured data. A mistake the caller can fix (bad arguments, a file that
is not audio) is an error result with one sentence; the server keeps running.

All calls share one conversation thread (``mcp`` by default), so "revise the song" and "render that"
refer to what an earlier call made, as they do in a chat.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp.server import Server
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from assistant.api import Assistant
from assistant.context import ToolContext
from assistant.toolkit import build_toolkit
from core.outputs import OutputFile

log = logging.getLogger(__name__)

SERVER_NAME = "bandmate"
INSTRUCTIONS = ("bandmate's music tools: write and produce songs, revise them, write lyrics, suggest chords, render "
                "chords or MIDI to audio, analyse, tag, caption and answer questions about audio files, and search "
                "the user's clip index. Paths are paths on the machine bandmate runs on; results list the files "
                "made, readable as resources.")
_MIME = {".musicxml": "application/vnd.recordare.musicxml+xml", ".mxl": "application/vnd.recordare.musicxml",
         ".mid": "audio/midi", ".midi": "audio/midi", ".ogg": "audio/ogg", ".flac": "audio/flac"}
_TEXT_KINDS = ("json", "text", "score")


@dataclass
class BandmateTools:
    """The toolkit as MCP sees it: definitions, calls in one thread, and the files the calls made."""

    tools: dict[str, BaseTool]
    outputs: Path
    thread_id: str = "mcp"
    made: list[OutputFile] = field(default_factory=list)

    @classmethod
    def of(cls, assistant: Assistant, thread_id: str = "mcp", names: list[str] | None = None) -> "BandmateTools":
        """The assistant's tools (its settings, its text model for tools that write words)."""
        settings = assistant.settings
        ctx = ToolContext(outputs=settings.outputs, text_generator=lambda: assistant.text_generator,
                          home=settings.home_dir)
        return cls({t.name: t for t in build_toolkit(ctx, names)}, settings.outputs, thread_id)

    def definitions(self) -> list[types.Tool]:
        """Each tool's name, description and JSON input schema, exactly as the agent's model is shown them."""
        out = []
        for tool in self.tools.values():
            spec = convert_to_openai_tool(tool)["function"]
            out.append(types.Tool(name=spec["name"], description=spec["description"], input_schema=spec["parameters"]))
        return out

    def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Run one tool (blocking) and turn its summary, files and data into an MCP result."""
        tool = self.tools.get(name)
        if tool is None:
            return _error(f"There is no bandmate tool called {name!r}; list the tools to see their names.")
        try:
            tool.args_schema.model_validate(arguments)
        except ValidationError as exc:
            return _error(_explain_arguments(name, exc))
        call = {"name": name, "args": arguments, "id": f"mcp_{uuid.uuid4().hex[:8]}", "type": "tool_call"}
        message: ToolMessage = tool.invoke(call, {"configurable": {"thread_id": self.thread_id}})
        if message.status == "error":
            return _error(str(message.content))
        artifact = message.artifact if isinstance(message.artifact, dict) else {}
        files = [OutputFile(Path(f["path"]), f["kind"], f.get("description", "")) for f in artifact.get("files", [])]
        self.made.extend(f for f in files if f not in self.made)
        text = str(message.content)
        if files:
            text += "\nFiles:\n" + "\n".join(f"- {f.path} ({f.kind})" for f in files)
        structured = {"summary": str(message.content), "files": [f.to_dict() for f in files],
                      "data": json.loads(json.dumps(artifact.get("data", {}), default=str))}
        return types.CallToolResult(content=[types.TextContent(type="text", text=text), *map(_link, files)],
                                    structured_content=structured)

    def resources(self) -> list[types.Resource]:
        """The files the calls so far have made (newest last)."""
        return [types.Resource(name=f.path.name, uri=f.path.resolve().as_uri(), description=f.description or f.kind,
                               mime_type=_mime(f.path), size=f.path.stat().st_size)
                for f in self.made if f.path.is_file()]

    def read(self, uri: str) -> types.ReadResourceResult:
        """A file under the outputs folder, as text or base64 bytes."""
        path = _path_of(uri)
        if path is None or not path.is_file() or not path.is_relative_to(self.outputs.resolve()):
            raise MCPError(-32002, f"{uri} is not a file bandmate made; use a resource_link from a tool result.")
        mime = _mime(path)
        if OutputFile.of(path).kind in _TEXT_KINDS:
            return types.ReadResourceResult(contents=[types.TextResourceContents(
                uri=uri, mime_type=mime, text=path.read_text(encoding="utf-8", errors="replace"))])
        blob = base64.b64encode(path.read_bytes()).decode("ascii")
        return types.ReadResourceResult(contents=[types.BlobResourceContents(uri=uri, mime_type=mime, blob=blob)])


def build_mcp_server(tools: BandmateTools) -> Server:
    """A low-level MCP server whose tools and resources are ``tools``'s."""

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.definitions())

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:  # tools are blocking CPU work: run them off the event loop
            return await anyio.to_thread.run_sync(tools.call, params.name, dict(params.arguments or {}))
        except Exception as exc:  # a bug, not the caller's doing: say so, keep serving
            log.exception("tool %s failed", params.name)
            return _error(f"The {params.name} tool failed unexpectedly ({type(exc).__name__}: {exc}).")

    async def list_resources(ctx, params) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=tools.resources())

    async def read_resource(ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        return await anyio.to_thread.run_sync(tools.read, str(params.uri))

    schemas = {t.name: t.input_schema for t in tools.definitions()}
    return Server(SERVER_NAME, version=_version(), instructions=INSTRUCTIONS, get_tool_input_schema=schemas.get,
                  on_list_tools=list_tools, on_call_tool=call_tool, on_list_resources=list_resources,
                  on_read_resource=read_resource)


async def serve_stdio(server: Server) -> None:
    """Serve one client over this process's stdin and stdout until it disconnects."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(server: Server, host: str, port: int) -> None:
    """Serve clients over streamable HTTP at ``http://host:port/mcp`` (address checked by the caller)."""
    import uvicorn

    app = server.streamable_http_app(host=host)
    await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).serve()


def _error(sentence: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=sentence)], is_error=True)


def _explain_arguments(name: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the arguments"
    count = exc.error_count()
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return f"The {name} tool's argument {where} is wrong: {first['msg'].lower()}{more}; see the tool's input schema."


def _link(f: OutputFile) -> types.ResourceLink:
    size = f.path.stat().st_size if f.path.is_file() else None
    return types.ResourceLink(type="resource_link", name=f.path.name, uri=f.path.resolve().as_uri(),
                              description=f.description or f.kind, mime_type=_mime(f.path), size=size)


def _mime(path: Path) -> str:
    return _MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _path_of(uri: str) -> Path | None:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return Path(unquote(parsed.path)).resolve() if parsed.scheme == "file" else None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bandmate")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0"
