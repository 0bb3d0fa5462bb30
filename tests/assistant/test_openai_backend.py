"""The `openai` backend against a real OpenAI-compatible HTTP server process on 127.0.0.1,
and the one-sentence errors a user gets when that backend is misconfigured."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, AssistantError
from assistant.llm import ChatTextGenerator, LLMConfigError, make_chat_model
from core.settings import Settings
from tests.support import SUPPORT

STUB = SUPPORT / "openai_stub_server.py"


@pytest.fixture
def stub_server(tmp_path):
    """Start the stub server with a script; yields (base_url, log_path, start)."""
    procs = []

    def start(script: list[dict], api_key: str | None = None) -> tuple[str, Path]:
        script_path, log = tmp_path / f"script{len(procs)}.json", tmp_path / f"log{len(procs)}.jsonl"
        script_path.write_text(json.dumps(script))
        args = [sys.executable, str(STUB), str(script_path), str(log)] + ([api_key] if api_key else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        port = int(proc.stdout.readline())
        return f"http://127.0.0.1:{port}/v1", log

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openai_settings(tmp_path, **kw) -> Settings:
    return Settings(_env_file=None, home=tmp_path / "home", llm_backend="openai", model="stub-model", **kw)


def test_native_tool_calls_over_the_wire(tmp_path, stub_server):
    url, log = stub_server([
        {"tool": "render_music", "arguments": {"source": "G D Em C", "tempo": 96}},
        {"text": "I rendered G D Em C at 96 BPM."},
    ])
    assistant = Assistant(openai_settings(tmp_path, base_url=url), tools=["render_music", "analyze_audio"])
    reply = assistant.chat("play G D Em C at 96 bpm", thread_id="wire")

    assert reply.text == "I rendered G D Em C at 96 BPM."
    assert reply.steps[0].name == "render_music" and reply.steps[0].ok
    assert reply.files_of("audio")
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(requests) == 2
    first, second = requests
    assert {t["function"]["name"] for t in first["tools"]} == {"render_music", "analyze_audio"}
    assert first["messages"][0]["role"] == "system" and "bandmate" in first["messages"][0]["content"]
    # the tool's result went back as a tool message bound to the call id, with the summary only
    tool_msg = [m for m in second["messages"] if m["role"] == "tool"][0]
    call_id = [m for m in second["messages"] if m.get("tool_calls")][0]["tool_calls"][0]["id"]
    assert tool_msg["tool_call_id"] == call_id and "Rendered" in tool_msg["content"]


def test_text_generator_uses_the_same_endpoint(tmp_path, stub_server):
    url, log = stub_server([{"text": "Verse 1\nline one"}])
    gen = ChatTextGenerator(make_chat_model(openai_settings(tmp_path, base_url=url)))
    out = gen.generate("write", system="you are a songwriter", max_tokens=50, temperature=0.5, repeat_penalty=1.15)
    assert out.startswith("Verse 1")
    sent = json.loads(log.read_text().splitlines()[0])
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 50
    assert sent["frequency_penalty"] == pytest.approx(0.3)
    assert sent["messages"][0] == {"role": "system", "content": "you are a songwriter"}


def test_a_servers_reply_is_cut_where_until_holds(tmp_path, stub_server):
    url, _ = stub_server([{"text": "[Verse]\nline one here\nline two here\nline three here"}])
    gen = ChatTextGenerator(make_chat_model(openai_settings(tmp_path, base_url=url)))
    out = gen.generate("write two lines", max_tokens=50, until=lambda lines: len(lines) >= 2)
    assert out == "[Verse]\nline one here\nline two here"


def test_wrong_api_key_is_one_sentence(tmp_path, stub_server):
    url, _ = stub_server([{"text": "never"}], api_key="right-key")
    assistant = Assistant(openai_settings(tmp_path, base_url=url, api_key="wrong-key"), tools=["render_music"])
    with pytest.raises(AssistantError, match="rejected the API key; check BANDMATE_API_KEY"):
        assistant.chat("hello")


def test_server_that_does_not_answer_is_one_sentence(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    assistant = Assistant(openai_settings(tmp_path, base_url=url, request_timeout=5), tools=["render_music"])
    with pytest.raises(AssistantError, match="Cannot reach the chat server .* fix BANDMATE_BASE_URL"):
        assistant.chat("hello", thread_id="down")
    # a failed turn is taken back out of the thread's memory, so it is never replayed to the model
    assert assistant.history("down") == []


def test_failed_turns_are_not_replayed_to_the_model(tmp_path, stub_server):
    down = f"http://127.0.0.1:{free_port()}/v1"
    for text in ("first, while the server is down", "second, still down"):
        with pytest.raises(AssistantError, match=f"Cannot reach the chat server at {down}"):
            Assistant(openai_settings(tmp_path, base_url=down), tools=["render_music"]).chat(text, thread_id="t")
    url, log = stub_server([{"text": "Hello again."}])
    assistant = Assistant(openai_settings(tmp_path, base_url=url), tools=["render_music"])   # the same home and memory
    assert assistant.chat("third, the server is up", thread_id="t").text == "Hello again."
    sent = json.loads(log.read_text().splitlines()[0])
    assert [m["content"] for m in sent["messages"] if m["role"] == "user"] == ["third, the server is up"]
    assert assistant.history("t") == [("user", "third, the server is up"), ("assistant", "Hello again.")]


def test_text_generation_with_the_server_down_names_the_url_and_setting(tmp_path):
    down = f"http://127.0.0.1:{free_port()}/v1"
    generator = ChatTextGenerator(make_chat_model(openai_settings(tmp_path, base_url=down, request_timeout=5)))
    with pytest.raises(LLMConfigError) as caught:
        generator.generate("write a verse")
    assert str(caught.value) == f"Cannot reach the chat server at {down}; start it or fix BANDMATE_BASE_URL."


def test_a_damaged_memory_file_is_a_typed_error_naming_it(tmp_path):
    from core.errors import StoreError

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "memory.sqlite").write_bytes(b"\x00\x01 definitely not SQLite" * 200)
    assistant = Assistant(openai_settings(tmp_path, base_url=f"http://127.0.0.1:{free_port()}/v1"), tools=["render_music"])
    with pytest.raises(StoreError, match=f"{tmp_path / 'home' / 'memory.sqlite'} is not a SQLite database .*move it aside"):
        assistant.chat("hello")


def test_openai_backend_without_a_key_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMConfigError, match="BANDMATE_API_KEY"):
        make_chat_model(openai_settings(tmp_path))


def run_cli(*args: str, env_extra: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDMATE_", "OPENAI_"))}
    env.update({"BANDMATE_HOME": str(tmp_path / "home"), **env_extra})
    return subprocess.run([sys.executable, "-m", "cli.app", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


def test_cli_without_key_exits_nonzero_with_one_line(tmp_path):
    proc = run_cli("ask", "hello", env_extra={"BANDMATE_LLM_BACKEND": "openai"}, tmp_path=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "BANDMATE_API_KEY" in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


def test_cli_with_server_down_exits_nonzero_with_one_line(tmp_path):
    proc = run_cli("ask", "hello", tmp_path=tmp_path, env_extra={
        "BANDMATE_LLM_BACKEND": "openai", "BANDMATE_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "BANDMATE_REQUEST_TIMEOUT": "5"})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "BANDMATE_BASE_URL" in proc.stderr


def test_settings_come_from_toml_env_and_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.startswith("BANDMATE_"):
            monkeypatch.delenv(k)
    (tmp_path / "bandmate.toml").write_text('llm_backend = "openai"\nmodel = "from-toml"\nbase_url = "http://toml/v1"\n')
    (tmp_path / ".env").write_text("BANDMATE_MODEL=from-dotenv\n")
    monkeypatch.setenv("BANDMATE_BASE_URL", "http://env/v1")
    s = Settings()
    assert (s.llm_backend, s.model, s.base_url) == ("openai", "from-dotenv", "http://env/v1")


def test_a_follow_up_over_the_wire_sees_the_song_and_revises_it(tmp_path, stub_server):
    from tests.tools.song.test_revise import LYRICS

    url, log = stub_server([
        {"tool": "compose_song", "arguments": {"prompt": "leaving home", "genre": "folk", "lyrics": LYRICS,
                                               "length_seconds": 30, "seed": 3}},
        {"text": "Here is your song."},
        {"tool": "revise_song", "arguments": {"request": "a bit slower"}},
    ])
    assistant = Assistant(openai_settings(tmp_path, base_url=url), tools=["compose_song", "revise_song", "recall"])
    assistant.chat("write a folk song about leaving home", thread_id="w")
    reply = assistant.chat("a bit slower", thread_id="w")
    assert reply.text.startswith('Version 2 of "Goodbye": tempo')
    third = [json.loads(line) for line in log.read_text().splitlines()][2]
    users = [m for m in third["messages"] if m["role"] == "user"]
    assert users[-1]["content"] == "a bit slower" and 'Current song: "Goodbye"' in users[-2]["content"]
