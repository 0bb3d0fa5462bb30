"""A local stand-in for Slack on 127.0.0.1: the Web API, file up/downloads, response URLs and Socket Mode.

slack-bolt and slack-sdk talk to it as to Slack (the bot's ``AsyncWebClient``
gets this server's ``base_url``; ``apps.connections.open`` hands out this
server's websocket), so the bot is driven by real Socket Mode envelopes and every
Web API call it makes is recorded, file bytes included, with the time it came.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import WSMsgType, web

TEAM = "T0001"
BOT_USER = "UBOT"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"


@dataclass
class Call:
    """One Web API call (or upload, or response_url post) the bot made."""

    method: str
    args: dict[str, Any]
    size: int = 0  # bytes, for file uploads
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return str(self.args.get("text", ""))


class FakeSlack:
    """Serve Slack's APIs; send Socket Mode envelopes; record and await the bot's calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.sent: dict[str, float] = {}  # envelope id -> when it was sent
        self.acks: dict[str, float] = {}  # envelope id -> when the bot acknowledged it
        self.files: dict[str, bytes] = {}  # downloadable files by name
        self.uploads: dict[str, dict] = {}  # file id -> {"filename", "size"}
        self.download_auth: list[str] = []
        self.connected = asyncio.Event()
        self.bad_tokens: set[str] = set()
        self.failing: set[str] = set()  # Web API methods that answer ok: false
        self._ts = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Event()
        self.base = ""

    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 2**20)
        app.router.add_get("/link", self._socket)
        app.router.add_post("/upload/{fid}", self._upload)
        app.router.add_post("/respond/{rid}", self._respond)
        app.router.add_get("/files/{name}", self._download)
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # -- what the test sends -----------------------------------------------------
    async def envelope(self, kind: str, payload: dict) -> str:
        """Send one Socket Mode envelope; returns its id."""
        assert self._ws is not None, "the bot has not opened its Socket Mode connection"
        eid = uuid.uuid4().hex
        self.sent[eid] = time.monotonic()
        await self._ws.send_str(json.dumps({"envelope_id": eid, "type": kind, "payload": payload,
                                            "accepts_response_payload": kind != "events_api"}))
        return eid

    async def event(self, event: dict) -> str:
        body = {"token": "t", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback", "event": event,
                "event_id": f"Ev{uuid.uuid4().hex[:8]}", "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}
        return await self.envelope("events_api", body)

    def new_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def mention(self, text: str, *, channel: str = "C1", user: str = "U1", thread_ts: str | None = None,
                      files: list[dict] | None = None) -> str:
        """A person mentions the bot in a channel; returns the message ts."""
        ts = self.new_ts()
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel,
                 "event_ts": ts, **({"thread_ts": thread_ts} if thread_ts else {}), **({"files": files} if files else {})}
        await self.event(event)
        return ts

    async def dm(self, text: str, *, channel: str = "D1", user: str = "U1", files: list[dict] | None = None) -> str:
        ts = self.new_ts()
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": channel,
                 "event_ts": ts, **({"files": files, "subtype": "file_share"} if files else {})}
        await self.event(event)
        return ts

    async def command(self, text: str, *, channel: str = "C1", user: str = "U1") -> str:
        """``/bandmate text``; returns the envelope id."""
        body = {"token": "t", "team_id": TEAM, "team_domain": "test", "channel_id": channel, "channel_name": "general",
                "user_id": user, "user_name": user.lower(), "command": "/bandmate", "text": text, "api_app_id": "A1",
                "response_url": f"{self.base}/respond/{uuid.uuid4().hex[:6]}", "trigger_id": uuid.uuid4().hex}
        return await self.envelope("slash_commands", body)

    async def react(self, channel: str, ts: str, reaction: str, *, user: str = "U1", removed: bool = False) -> None:
        await self.event({"type": "reaction_removed" if removed else "reaction_added", "user": user,
                          "reaction": reaction, "item": {"type": "message", "channel": channel, "ts": ts},
                          "item_user": BOT_USER, "event_ts": self.new_ts()})

    def shared_file(self, name: str, data: bytes) -> dict:
        """A file object as Slack puts it in events, downloadable from this server."""
        self.files[name] = data
        return {"id": f"F{uuid.uuid4().hex[:8]}", "name": name, "size": len(data),
                "url_private_download": f"{self.base}/files/{name}", "mimetype": "audio/wav"}

    # -- waiting on the bot ---------------------------------------------------------
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; calls so far: {[(c.method, c.text[:80]) for c in self.calls]}")
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass
        return value

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- the server ---------------------------------------------------------------
    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(dict(await request.post()))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or str(args.get("token", ""))
        self._record(Call(method, args))
        if token in self.bad_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method in self.failing:
            return web.json_response({"ok": False, "error": "fatal_error"})
        return web.json_response({"ok": True, **self._answer(method, args)})

    def _answer(self, method: str, args: dict) -> dict:
        if method == "auth.test":
            return {"user_id": BOT_USER, "bot_id": "BBOT", "team_id": TEAM, "user": "bandmate", "team": "Test",
                    "url": "https://test.slack.com/"}
        if method == "apps.connections.open":
            return {"url": f"ws://{self.base[7:]}/link"}
        if method == "chat.postMessage":
            ts = self.new_ts()
            return {"channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text"), "ts": ts}}
        if method == "chat.update":
            return {"channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}
        if method == "files.getUploadURLExternal":
            fid = f"F{uuid.uuid4().hex[:8]}"
            self.uploads[fid] = {"filename": args.get("filename"), "size": None}
            return {"upload_url": f"{self.base}/upload/{fid}", "file_id": fid}
        if method == "files.completeUploadExternal":
            files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files", [])
            return {"files": [{"id": f["id"], "title": f.get("title"), "name": self.uploads[f["id"]]["filename"]}
                              for f in files]}
        return {}

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        fid = request.match_info["fid"]
        self.uploads[fid]["size"] = len(data)
        self._record(Call("upload", {"file_id": fid, "filename": self.uploads[fid]["filename"]}, size=len(data)))
        return web.Response(text="OK")

    async def _respond(self, request: web.Request) -> web.Response:
        self._record(Call("response_url", await request.json()))
        return web.Response(text="ok")

    async def _download(self, request: web.Request) -> web.Response:
        self.download_auth.append(request.headers.get("Authorization", ""))
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}}))
        self.connected.set()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            ack = json.loads(msg.data)
            if "envelope_id" in ack:
                self.acks[ack["envelope_id"]] = time.monotonic()
                self._changed.set()
        return ws
