"""``bandmate serve agent`` and ``bandmate ask`` through it: a real HTTP server on 127.0.0.1 with real tools
(the routed fake chat model in-process; the OpenAI-compatible stub server as the model for the processes)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.api import AssistantError
from serve.agent_server import (
    ADDRESS_FILE,
    AgentServer,
    ServerAddress,
    ask_server,
    find_server,
    serve_agent,
    server_busy,
)
from tests.serve.conftest import bandmate_command, bandmate_env
from tests.serve.scripted import web_assistant
from tests.support import REPO, SUPPORT


@pytest.fixture
def running(home):
    """An agent server in this process (its own thread), published in ``home``; yields (server, assistant)."""
    assistant = web_assistant(home)
    server = AgentServer(assistant)
    server.publish()
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    worker.start()
    yield server, assistant
    server.shutdown()
    server.withdraw()
    server.server_close()


def test_a_message_sent_to_the_server_runs_its_tools_and_streams_the_reply(running):
    server, assistant = running
    address = find_server(assistant.settings)
    assert address is not None and address.port == server.server_address[1]
    events = list(ask_server(address, "render C G Am F on piano", [], "t1"))
    assert [e["kind"] for e in events] == ["tool_started", "tool_finished", "reply"]
    assert events[1]["tool"] == "render_music" and events[1]["ok"]
    reply = events[-1]
    wavs = [f["path"] for f in reply["files"] if f["kind"] == "audio"]
    assert wavs and Path(wavs[0]).stat().st_size > 10_000
    assert "render C G Am F on piano" in reply["text"] and reply["timings"]["total"] > 0
    # the conversation is the server's: the same thread remembers the turn
    assert ("user", "render C G Am F on piano") in assistant.history("t1")


def test_a_message_that_comes_in_during_a_read_ahead_stops_it_and_goes_first(running, monkeypatch):
    """After a reply the server reads the thread's next prompt ahead in the background (the scripted model has
    no prompt to read: a slow stand-in that gives way as the real one does, once a turn is running); a message
    sent meanwhile does not wait for it, and the reading stops."""
    _, assistant = running
    reading, ended = threading.Event(), []

    def slow_read_ahead(thread):                    # the first would take 30 s unless a turn starts; then 1 s
        def work():
            reading.set()
            started, length = time.monotonic(), 1 if ended else 30
            while time.monotonic() - started < length and not assistant.turns_running:
                time.sleep(0.01)
            ended.append(time.monotonic() - started)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        return worker

    monkeypatch.setattr(assistant, "read_ahead_in_background", slow_read_ahead)
    address = find_server(assistant.settings)
    assert list(ask_server(address, "render C G Am F on piano", [], "t5"))[-1]["kind"] == "reply"
    assert reading.wait(5) and server_busy(address)     # reading ahead counts as busy
    started = time.monotonic()
    events = list(ask_server(address, "render Am F C G on piano", [], "t5"))
    assert events[-1]["kind"] == "reply" and "Am F C G" in events[-1]["text"]
    assert ended and ended[0] < 10 and time.monotonic() - started < 20
    deadline = time.monotonic() + 10
    while server_busy(address) and time.monotonic() < deadline:    # the second read-ahead runs its 1 s
        time.sleep(0.1)
    assert not server_busy(address) and len(ended) == 2


def test_a_missing_attachment_comes_back_as_one_fixable_sentence(running, tmp_path):
    _, assistant = running
    events = list(ask_server(find_server(assistant.settings), "analyze this", [tmp_path / "nope.wav"], "t2"))
    assert events[-1]["kind"] == "error" and events[-1]["fixable"]
    assert "nope.wav does not exist" in events[-1]["message"] and events[-1]["message"].count(". ") == 0


def test_a_server_with_other_settings_a_wrong_token_or_none_listening_is_not_used(running, home):
    server, assistant = running
    path = home / ADDRESS_FILE
    published = json.loads(path.read_text())
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text(json.dumps({**published, "token": "guessed"}))
    assert find_server(assistant.settings) is None
    path.write_text(json.dumps({**published, "settings": "another-model"}))
    assert find_server(assistant.settings) is None
    server.shutdown()
    path.write_text(json.dumps(published))
    server.server_close()           # nothing listens on the port now: no hang, no server
    started = time.monotonic()
    assert find_server(assistant.settings) is None and time.monotonic() - started < 3


def test_a_second_server_for_the_same_home_is_refused_in_one_sentence(running, home):
    with pytest.raises(AssistantError, match=r"already running .* stop it first"):
        serve_agent(web_assistant(home))


def test_the_client_says_so_when_the_server_goes_away_mid_answer(home):
    dead = ServerAddress(port=_closed_port(), token="x", pid=0)
    with pytest.raises(ConnectionError):
        list(ask_server(dead, "hello", [], "t"))


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bandmate_ask_answers_through_a_running_server_without_loading_the_assistant(home, tmp_path):
    """Two real processes and a real model server: `bandmate serve agent` over the OpenAI-compatible stub,
    then a fresh `bandmate ask` that only talks HTTP (it never builds the agent or loads a model)."""
    script, log = tmp_path / "script.json", tmp_path / "stub.jsonl"
    script.write_text(json.dumps([{"tool": "render_music", "arguments": {"source": "G D Em C"}},
                                  {"text": "I played G D Em C."}]))
    stub = subprocess.Popen([sys.executable, str(SUPPORT / "openai_stub_server.py"), str(script), str(log)],
                            stdout=subprocess.PIPE, text=True)
    env = {**bandmate_env(home), "BANDMATE_LLM_BACKEND": "openai", "BANDMATE_MODEL": "stub-model",
           "BANDMATE_BASE_URL": f"http://127.0.0.1:{int(stub.stdout.readline())}/v1"}
    server = subprocess.Popen(bandmate_command("serve", "agent"), env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (home / ADDRESS_FILE).exists():
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "the agent server did not start"
            time.sleep(0.2)
        light = ("import sys; from cli.app import main; sys.argv = ['bandmate'] + sys.argv[1:]\n"
                 "try: main()\nexcept SystemExit as stop: code = stop.code\n"
                 "loaded = {'langchain.agents', 'assistant.api', 'llama_cpp'} & set(sys.modules)\n"
                 "print('loaded:', sorted(loaded), file=sys.stderr); sys.exit(code)")
        done = subprocess.run([sys.executable, "-c", light, "ask", "play G D Em C", "--timings"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "render_music" in done.stdout and "I played G D Em C." in done.stdout
        wav = next(ln.split()[-1] for ln in done.stdout.splitlines() if ln.strip().startswith("audio"))
        assert Path(wav).is_file()
        assert "loaded: []" in done.stderr and "timings: " in done.stderr
        assert len([ln for ln in log.read_text().splitlines() if ln.strip()]) == 2   # both model calls, once
    finally:
        server.terminate()
        server.wait(timeout=30)
        stub.terminate()
        stub.wait(timeout=10)
    assert not (home / ADDRESS_FILE).exists()     # a stopped server leaves no address behind
