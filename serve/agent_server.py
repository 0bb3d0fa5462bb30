"""``bandmate serve agent``: the agent kept loaded, so that ``bandmate ask`` answers from a warm process.

A fresh ``bandmate ask`` on the embedded model loads the model, reads the agent's prompt state from disk and,
for a song, loads the sentence encoder and the rhyme dictionary before it writes a word: seconds before the
first tool call. With a server up, ``ask`` sends the message here and prints what comes back.

The server listens on 127.0.0.1 on a free port and writes where it is to ``<home>/agent-server.json``
(readable by this user only), with a token every request must carry. ``bandmate ask`` reads that file
(:func:`find_server`) and answers in its own process instead when no server is up, the server was started
with other settings, or it does not answer. One message at a time: a second waits for the first (the
embedded model runs one call at a time anyway). After each reply, while the person reads it, the server reads
the thread's next prompt up to its next message, so the next decision reads only that message; a message that
comes in meanwhile stops that reading. The wire: ``POST /ask`` with ``{text, thread, files}`` answers with one
JSON object a line (:func:`event_dict`): ``tool_started``, ``tool_finished``, then ``reply`` or ``error``.

This module's client half imports only the standard library, so that ``ask`` stays quick to start.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ADDRESS_FILE = "agent-server.json"


@dataclass(frozen=True)
class ServerAddress:
    """Where a running agent server listens, and the token it wants."""

    port: int
    token: str
    pid: int


def settings_key(settings: Any) -> str:
    """A short hash of every setting in effect: a server started with other settings (another model, another
    home) must not answer for this process."""
    dumped = json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(dumped.encode()).hexdigest()[:16]


def event_dict(event: Any) -> dict:
    """One :class:`assistant.api.Event` as the JSON object the wire carries (and the CLI prints)."""
    if event.kind == "tool_started":
        return {"kind": "tool_started", "tool": event.tool}
    if event.kind == "tool_finished":
        return {"kind": "tool_finished", "tool": event.step.name, "ok": event.step.ok, "display": event.step.display}
    if event.kind == "reply":
        reply = event.reply
        return {"kind": "reply", "text": reply.text, "shown": [s.display for s in reply.steps],
                "files": [{"kind": f.kind, "path": str(f.path)} for f in reply.files],
                "timings": reply.timings.to_dict() if reply.timings else None,
                "timings_line": reply.timings.line() if reply.timings else ""}
    return {"kind": event.kind, "text": event.text}


# -- client -------------------------------------------------------------------------------------------
def find_server(settings: Any, timeout: float = 2.0) -> ServerAddress | None:
    """The agent server started with these ``settings``, when one is up and answers; else None."""
    path = Path(settings.home_dir) / ADDRESS_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        address = ServerAddress(port=int(found["port"]), token=str(found["token"]), pid=int(found["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found.get("settings") != settings_key(settings):
        return None
    try:
        health = _request(address, "GET", "/health", timeout=timeout)
        ok = health.status == 200 and json.loads(health.read()).get("settings") == found["settings"]
    except (OSError, ValueError, http.client.HTTPException):
        return None
    return address if ok else None


def server_busy(address: ServerAddress) -> bool:
    """Whether the server is answering a message or reading ahead for the next (a bench waits for it)."""
    try:
        return bool(json.loads(_request(address, "GET", "/health").read()).get("busy"))
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise ConnectionError(str(exc)) from exc


def ask_server(address: ServerAddress, text: str, files: list[Path], thread: str) -> Iterator[dict]:
    """Send one message to the server; yield its events as they come (the last is ``reply`` or ``error``).
    Raises ConnectionError when the server goes away mid-answer."""
    body = {"text": text, "thread": thread, "files": [str(Path(f).expanduser().resolve()) for f in files]}
    try:
        response = _request(address, "POST", "/ask", body=body, timeout=None)
        if response.status != 200:
            raise ConnectionError(f"the agent server answered HTTP {response.status}")
        for line in response:
            if line.strip():
                event = json.loads(line)
                yield event
                if event["kind"] in ("reply", "error"):
                    return
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionError(str(exc)) from exc
    raise ConnectionError("the agent server closed the connection before answering")


def _request(address: ServerAddress, method: str, path: str, body: dict | None = None,
             timeout: float | None = 2.0) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", address.port, timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Authorization": f"Bearer {address.token}",
                                                   "Content-Type": "application/json"})
    return conn.getresponse()


# -- server -------------------------------------------------------------------------------------------
class AgentServer(ThreadingHTTPServer):
    """One :class:`assistant.api.Assistant` behind 127.0.0.1; :meth:`publish` tells ``bandmate ask`` where."""

    daemon_threads = True

    def __init__(self, assistant: Any, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.assistant = assistant
        self.token = secrets.token_urlsafe(24)
        self.settings_key = settings_key(assistant.settings)
        self.turn_lock = threading.Lock()
        self._ahead: threading.Thread | None = None
        self.address_file = Path(assistant.settings.home_dir) / ADDRESS_FILE

    def busy(self) -> bool:
        """Answering a message, or reading a thread ahead for the next one."""
        return self.turn_lock.locked() or (self._ahead is not None and self._ahead.is_alive())

    def read_ahead(self, thread: str) -> None:
        """While the person reads the reply, read the thread's next prompt up to its next message, in the
        background (:meth:`assistant.api.Assistant.read_ahead_in_background`): a message that comes in meanwhile
        starts a turn, and the reading gives way to it."""
        self._ahead = self.assistant.read_ahead_in_background(thread)

    def publish(self) -> None:
        """Write the address file (this user only), replacing one a server that is gone left behind."""
        self.address_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.address_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"port": self.server_address[1], "token": self.token, "pid": os.getpid(),
                       "settings": self.settings_key}, out)
        os.replace(tmp, self.address_file)

    def withdraw(self) -> None:
        """Remove the address file if it is still this server's."""
        try:
            if json.loads(self.address_file.read_text(encoding="utf-8")).get("token") == self.token:
                self.address_file.unlink()
        except (OSError, ValueError):
            pass


class _Handler(BaseHTTPRequestHandler):
    server: AgentServer
    protocol_version = "HTTP/1.0"     # the answer streams until the connection closes

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("agent server: " + format, *args)

    def _authorised(self) -> bool:
        if secrets.compare_digest(self.headers.get("Authorization", ""), f"Bearer {self.server.token}"):
            return True
        self._send_json(403, {"error": "wrong or missing token"})
        return False

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/health":
            self._send_json(404, {"error": "not found"})
        elif self._authorised():
            self._send_json(200, {"pid": os.getpid(), "settings": self.server.settings_key,
                                  "busy": self.server.busy()})

    def do_POST(self) -> None:
        if self.path != "/ask":
            self._send_json(404, {"error": "not found"})
            return
        if not self._authorised():
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            text, thread, files = str(body["text"]), str(body.get("thread") or "cli"), list(body.get("files") or [])
        except (ValueError, KeyError, TypeError):
            self._send_json(400, {"error": "the body must be JSON with text, thread and files"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        with self.server.turn_lock:
            for event in answer(self.server.assistant, text, thread, files):
                self._write_line(event)
            self.server.read_ahead(thread)

    def _write_line(self, event: dict) -> None:
        """Send one event; a client that left (Ctrl-C) is not written to, but the turn still runs to its end so
        that the conversation's memory stays whole."""
        try:
            self.wfile.write((json.dumps(event) + "\n").encode())
            self.wfile.flush()
        except OSError:
            pass


def answer(assistant: Any, text: str, thread: str, files: list[str]) -> Iterator[dict]:
    """The events of one turn as wire objects; a failure is the last event, ``error``, with ``fixable`` true for
    a problem the user can fix (a bad file, an unreachable model server), said in one sentence."""
    from assistant.api import AssistantError
    from assistant.llm import LLMConfigError
    from core.errors import ToolError

    try:
        for event in assistant.stream(text, thread_id=thread, attachments=files):
            if event.kind != "text":
                yield event_dict(event)
    except (AssistantError, LLMConfigError, ToolError) as exc:
        yield {"kind": "error", "message": str(exc), "fixable": True}
    except Exception as exc:   # the server goes on; the traceback is in its log
        log.exception("agent server: the turn failed")
        yield {"kind": "error", "message": f"{type(exc).__name__}: {exc}", "fixable": False}


def serve_agent(assistant: Any, *, port: int = 0, on_ready: Callable[[int], None] | None = None) -> None:
    """Load everything (:meth:`assistant.api.Assistant.warm_up` with ``songs=True``), publish the address and
    answer until Ctrl-C or SIGTERM. Raises AssistantError when another server for this home is up."""
    from assistant.api import AssistantError

    running = find_server(assistant.settings)
    if running is not None:
        raise AssistantError(f"A bandmate agent server is already running for {assistant.settings.home_dir} "
                           f"(pid {running.pid}); stop it first, or give this one another BANDMATE_HOME.")
    assistant.warm_up(songs=True)
    server = AgentServer(assistant, port)
    server.read_ahead("cli")             # `bandmate ask`'s own thread
    server.publish()
    try:
        if on_ready:
            on_ready(server.server_address[1])
        server.serve_forever(poll_interval=0.5)
    finally:
        server.withdraw()
        server.server_close()
