"""``bandmate serve mcp`` as an MCP client sees it: a real subprocess driven by the official SDK's client.

Tools render real audio with fluidsynth and measure it; nothing is faked (no LLM is needed by these tools).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import anyio
import httpx
import pytest
import soundfile as sf
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from assistant.context import ToolContext
from assistant.toolkit import build_toolkit, load_tool_specs
from tests.serve.conftest import bandmate_command, bandmate_env, free_port
from tests.support import REPO


def stdio_server(home: Path) -> StdioServerParameters:
    command = bandmate_command("serve", "mcp")
    return StdioServerParameters(command=command[0], args=command[1:], env=bandmate_env(home), cwd=str(REPO))


def path_of(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def test_the_tools_are_the_agents_own_definitions(home):
    async def main():
        async with Client(stdio_server(home), read_timeout_seconds=120) as client:
            return (await client.list_tools()).tools

    listed = {t.name: t for t in anyio.run(main)}
    assert set(listed) == set(load_tool_specs())  # every tool in tools.toml, and only those
    agent_tools = build_toolkit(ToolContext(outputs=home / "outputs", text_generator=lambda: None, home=home))
    for tool in agent_tools:
        seen_by_agent = convert_to_openai_tool(tool)["function"]
        assert listed[tool.name].description == seen_by_agent["description"]
        assert listed[tool.name].input_schema == seen_by_agent["parameters"]
    assert listed["render_music"].input_schema["properties"]["source"]["description"].startswith("The chord symbols")


def test_render_then_analyze_measures_the_rendered_tempo(home):
    async def main():
        async with Client(stdio_server(home), read_timeout_seconds=180) as client:
            rendered = await client.call_tool("render_music", {"source": "C G Am F", "tempo": 100, "instrument": "piano"})
            links = [c for c in rendered.content if c.type == "resource_link"]
            wav = next(path_of(link.uri) for link in links if link.name == "song.wav")
            resource = await client.read_resource(next(link.uri for link in links if link.name == "song.ogg"))
            analysed = await client.call_tool("analyze_audio", {"path": str(wav)})
            return rendered, links, wav, resource, analysed

    rendered, links, wav, resource, analysed = anyio.run(main)
    assert not rendered.is_error
    assert rendered.content[0].text.startswith("Rendered 10.0 s of audio at 100 BPM.")
    assert {link.name for link in links} >= {"song.wav", "song.ogg", "song.mid", "piano-roll.png"}
    assert all(path_of(link.uri).is_file() and link.size == path_of(link.uri).stat().st_size for link in links)
    assert str(wav) in rendered.content[0].text  # the paths are in the text too, for clients that show only text
    audio, rate = sf.read(wav)
    assert abs(len(audio) / rate - 10.0) < 0.5 and abs(audio).max() > 0.05
    assert resource.contents[0].mime_type == "audio/ogg" and len(resource.contents[0].blob) > 10_000

    assert not analysed.is_error
    assert abs(analysed.structured_content["data"]["tempo_bpm"] - 100) < 2
    assert "Tempo: about 100 BPM" in analysed.content[0].text
    report = next(path_of(c.uri) for c in analysed.content if c.type == "resource_link")
    assert report.suffix == ".json" and report.is_file()


def test_a_callers_mistake_is_one_sentence_and_the_server_keeps_serving(home, tmp_path):
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("these are my notes, not a recording")

    async def main():
        async with Client(stdio_server(home), read_timeout_seconds=120) as client:
            results = [await client.call_tool("analyze_audio", {"path": str(not_audio)}),
                       await client.call_tool("render_music", {"source": "C H# F"}),
                       await client.call_tool("render_music", {"tempo": "fast"}),
                       await client.call_tool("make_coffee", {})]
            try:
                await client.read_resource("file:///etc/passwd")
                refused = None
            except Exception as exc:  # the SDK raises the server's JSON-RPC error
                refused = str(exc)
            after = await client.call_tool("render_music", {"source": "Am F"})
            return results, refused, after

    results, refused, after = anyio.run(main)
    for result in results:
        assert result.is_error
        text = result.content[0].text
        assert text.count(". ") == 0 and text.endswith((".", ".)")) and "Traceback" not in text, text
    assert "notes.wav" in results[0].content[0].text
    assert "H#" in results[1].content[0].text
    assert "tempo" in results[2].content[0].text
    assert "'make_coffee'" in results[3].content[0].text
    assert "is not a file bandmate made" in refused
    assert not after.is_error and after.content[0].text.startswith("Rendered")


def test_streamable_http_on_localhost(home):
    port = free_port()
    server = subprocess.Popen(bandmate_command("serve", "mcp", "--http", "--port", str(port)), env=bandmate_env(home),
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert server.poll() is None, server.communicate()[1]
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.3)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=120) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                rendered = await client.call_tool("render_music", {"source": "Dm G C"})
                return names, rendered

        names, rendered = anyio.run(main)
        assert "analyze_audio" in names and "render_music" in names
        assert not rendered.is_error and any(c.type == "resource_link" and c.name == "song.wav" for c in rendered.content)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("args", [["--http", "--host", "0.0.0.0"], ["--http", "--port", "{busy}"]])
def test_http_refuses_other_interfaces_and_a_taken_port_in_one_sentence(home, args):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        command = bandmate_command("serve", "mcp", *[a.format(busy=busy) for a in args])
        done = subprocess.run(command, env=bandmate_env(home), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert ("--allow-remote" in lines[0]) if "0.0.0.0" in args else (f"Port {busy} on 127.0.0.1 is already in use" in lines[0])
