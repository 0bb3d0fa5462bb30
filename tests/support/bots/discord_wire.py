"""A local stand-in for Discord on 127.0.0.1: the REST API, the CDN and the gateway websocket.

discord.py talks to it exactly as it talks to Discord (its ``Route.BASE`` and
gateway URL are pointed here), so the bot under test is driven by real gateway
events (READY, GUILD_CREATE, INTERACTION_CREATE, MESSAGE_CREATE, reactions) and
every REST call it makes is recorded, multipart file uploads included, with the
time it arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import WSMsgType, web

APP_ID = 1000
GUILD_ID = 2000
NOW = "2025-01-01T00:00:00+00:00"
ALL_PERMISSIONS = str((1 << 50) - 1)


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str
    json: Any = None
    files: list[tuple[str, int]] = field(default_factory=list)  # (filename, bytes)
    at: float = field(default_factory=time.monotonic)

    @property
    def content(self) -> str | None:
        return (self.json or {}).get("content") if isinstance(self.json, dict) else None


def user(uid: int, name: str, bot: bool = False) -> dict:
    return {"id": str(uid), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


BOT_USER = user(APP_ID, "bandmate", bot=True)


class FakeDiscord:
    """Serve the Discord API and gateway; send events; record and await the bot's calls."""

    def __init__(self, channels: int = 4) -> None:
        self.channel_ids = [3000 + i for i in range(channels)]
        self.calls: list[Call] = []
        self.identify: dict | None = None
        self.messages: dict[int, dict] = {}
        self.originals: dict[str, int] = {}  # interaction token -> message id
        self.token_channel: dict[str, int] = {}
        self.cdn: dict[str, bytes] = {}
        self._ids = itertools.count(10_000)
        self._seq = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Event()
        self.ready = asyncio.Event()
        self.base = ""
        self.attachment_size_limit = 10 * 2**20  # what Discord tells the bot it may upload here
        self.client_task: asyncio.Task | None = None  # the bot's task: waiting stops if it dies
        self.reject_token = False  # answer 401 to the bot's login, as Discord does for a bad token
        self.reject_files = False  # answer 413 to any upload

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 2**20)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{name}", self._cdn)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self._runner.cleanup()

    def point_discord_py_here(self, monkeypatch) -> None:
        """Make discord.py use this server instead of discord.com (undone by ``monkeypatch``)."""
        import yarl
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        monkeypatch.setattr(Route, "BASE", f"{self.base}/api/v10")
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"ws://{self.base[7:]}/gateway"))

    # -- events the test sends ---------------------------------------------------
    async def send_event(self, name: str, data: dict) -> None:
        """Dispatch one gateway event to the bot."""
        assert self._ws is not None, "the bot has not connected to the gateway"
        await self._ws.send_str(json.dumps({"op": 0, "t": name, "s": next(self._seq), "d": data}))

    def next_id(self) -> int:
        return next(self._ids)

    def attachment(self, filename: str, data: bytes, content_type: str = "audio/wav") -> dict:
        """An attachment payload whose bytes the fake CDN serves."""
        aid = self.next_id()
        self.cdn[f"{aid}-{filename}"] = data
        url = f"{self.base}/cdn/{aid}-{filename}"
        return {"id": str(aid), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": content_type}

    async def slash(self, name: str, options: dict[str, Any] | None = None, *, channel: int | None = None,
                    user_id: int = 501, attachments: dict[str, dict] | None = None, dm: bool = False) -> str:
        """Send an INTERACTION_CREATE for a slash command; returns the interaction token."""
        iid = self.next_id()
        opts = [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()]
        resolved = {}
        for opt_name, att in (attachments or {}).items():
            opts.append({"name": opt_name, "type": 11, "value": att["id"]})
            resolved.setdefault("attachments", {})[att["id"]] = att
        channel = channel or self.channel_ids[0]
        payload = {
            "id": str(iid), "application_id": str(APP_ID), "type": 2, "token": f"tok{iid}", "version": 1,
            "channel_id": str(channel), "app_permissions": ALL_PERMISSIONS, "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "context": 1 if dm else 0,
            "attachment_size_limit": self.attachment_size_limit,
            "data": {"id": str(5000 + len(name)), "name": name, "type": 1, "options": opts, "resolved": resolved},
        }
        if dm:
            payload["user"] = user(user_id, f"user{user_id}")
            payload["channel"] = {"id": str(channel), "type": 1, "recipients": [payload["user"]]}
        else:
            payload.update(guild_id=str(GUILD_ID), guild_locale="en-US", channel=self._channel(channel),
                           member={"user": user(user_id, f"user{user_id}"), "roles": [], "joined_at": NOW,
                                   "deaf": False, "mute": False, "permissions": ALL_PERMISSIONS, "flags": 0})
        self.token_channel[payload["token"]] = channel
        await self.send_event("INTERACTION_CREATE", payload)
        return payload["token"]

    async def say(self, content: str, *, channel: int | None = None, user_id: int = 501, mention: bool = True,
                  attachments: list[dict] | None = None, dm: bool = False) -> int:
        """Send a MESSAGE_CREATE from a person (mentioning the bot unless told not to); returns its id."""
        mid = self.next_id()
        author = user(user_id, f"user{user_id}")
        data = {
            "id": str(mid), "channel_id": str(channel or self.channel_ids[0]), "author": author,
            "content": (f"<@{APP_ID}> " if mention else "") + content, "timestamp": NOW, "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [BOT_USER] if mention else [], "mention_roles": [],
            "attachments": attachments or [], "embeds": [], "pinned": False, "type": 0, "flags": 0,
        }
        if not dm:
            data.update(guild_id=str(GUILD_ID), member={"roles": [], "joined_at": NOW, "deaf": False, "mute": False})
        await self.send_event("MESSAGE_CREATE", data)
        return mid

    async def react(self, message_id: int, emoji: str, *, user_id: int = 501, channel: int | None = None,
                    remove: bool = False) -> None:
        """Send a MESSAGE_REACTION_ADD (or _REMOVE) for an emoji on a message."""
        data = {"user_id": str(user_id), "channel_id": str(channel or self.channel_ids[0]), "message_id": str(message_id),
                "guild_id": str(GUILD_ID), "emoji": {"id": None, "name": emoji}, "burst": False, "type": 0}
        await self.send_event("MESSAGE_REACTION_REMOVE" if remove else "MESSAGE_REACTION_ADD", data)

    # -- waiting on the bot -----------------------------------------------------
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until ``predicate()`` is truthy (checked after every request) and return its value."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if self.client_task is not None and self.client_task.done():
                self.client_task.result()
                raise AssertionError("the bot stopped")
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; calls so far: {[(c.method, c.path, c.content) for c in self.calls]}")
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass
        return value

    def calls_to(self, method: str, fragment: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]

    # -- the server -----------------------------------------------------------
    def _channel(self, cid: int) -> dict:
        return {"id": str(cid), "type": 0, "guild_id": str(GUILD_ID), "name": f"ch{cid}", "position": cid - 3000,
                "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None}

    def _guild(self) -> dict:
        return {
            "id": str(GUILD_ID), "name": "Test server", "icon": None, "owner_id": "1", "features": [], "emojis": [],
            "stickers": [], "roles": [{"id": str(GUILD_ID), "name": "@everyone", "permissions": ALL_PERMISSIONS,
                                       "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                                       "flags": 0}],
            "channels": [self._channel(c) for c in self.channel_ids], "threads": [], "members": [], "voice_states": [],
            "presences": [], "member_count": 2, "large": False, "unavailable": False, "joined_at": NOW,
            "premium_tier": 0, "mfa_level": 0, "verification_level": 0, "explicit_content_filter": 0,
            "default_message_notifications": 0, "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [], "preferred_locale": "en-US", "system_channel_flags": 0,
        }

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 30000}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2:
                self.identify = frame["d"]
                ready = {"v": 10, "user": BOT_USER, "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                         "session_id": "session", "resume_gateway_url": f"ws://{self.base[7:]}/gateway",
                         "application": {"id": str(APP_ID), "flags": 0}}
                await self.send_event("READY", ready)
                await self.send_event("GUILD_CREATE", self._guild())
                self.ready.set()
        return ws

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    async def _api(self, request: web.Request) -> web.Response:
        call = Call(request.method, "/" + request.match_info["tail"])
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                body = await part.read()
                if part.name == "payload_json":
                    call.json = json.loads(body)
                else:
                    call.files.append((part.filename, len(body)))
        elif request.can_read_body:
            call.json = await request.json()
        self.calls.append(call)
        try:
            status, body = self._answer(call, request)
        finally:
            self._changed.set()
        if body is None:
            return web.Response(status=status)
        # exactly 'application/json', as Discord sends it (discord.py compares the header verbatim)
        return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})

    def _answer(self, call: Call, request: web.Request) -> tuple[int, Any]:
        parts = call.path.strip("/").split("/")
        if call.files and self.reject_files:
            return 413, {"message": "Request entity too large", "code": 40005}
        if call.path == "/users/@me":
            return (401, {"message": "401: Unauthorized", "code": 0}) if self.reject_token else (200, BOT_USER)
        if call.path == "/oauth2/applications/@me":
            return 200, {"id": str(APP_ID), "name": "bandmate", "description": "", "icon": None, "bot_public": True,
                         "bot_require_code_grant": False, "verify_key": "0" * 64, "owner": user(1, "owner"), "flags": 0}
        if parts[0] == "applications" and call.method == "PUT":
            return 200, [dict(c, id=str(5000 + len(c["name"])), application_id=str(APP_ID), version="1")
                         for c in call.json]
        if parts[0] == "interactions":  # /interactions/{id}/{token}/callback
            token = parts[2]
            mid = self.next_id()
            self.originals[token] = mid
            data = call.json.get("data") or {}
            self.messages[mid] = self._message(mid, data.get("content") or "", [], webhook=True,
                                               channel=self.token_channel.get(token))
            kind = call.json["type"]
            return 200, {"interaction": {"id": parts[1], "type": 2, "response_message_id": str(mid),
                                         "response_message_loading": kind == 5,
                                         "response_message_ephemeral": bool(data.get("flags", 0) & 64)},
                         "resource": {"type": kind, "message": self.messages[mid]}}
        if parts[0] == "webhooks":  # /webhooks/{app}/{token}[/messages/@original]
            token = parts[2]
            if len(parts) == 3:  # a follow-up message
                mid = self.next_id()
                self.messages[mid] = self._message(mid, call.content or "", call.files, webhook=True,
                                                   channel=self.token_channel.get(token))
                return 200, self.messages[mid]
            return self._edit(self.originals[token], call)
        if parts[0] == "channels" and parts[2:3] == ["messages"]:
            if call.method == "POST" and len(parts) == 3:
                mid = self.next_id()
                self.messages[mid] = self._message(mid, call.content or "", call.files, channel=int(parts[1]))
                return 200, self.messages[mid]
            return self._edit(int(parts[3]), call)
        if parts[0] == "channels" and parts[2:3] == ["typing"]:
            return 204, None
        return 404, {"message": f"fake Discord has no route {call.method} {call.path}", "code": 0}

    def _edit(self, mid: int, call: Call) -> tuple[int, Any]:
        msg = self.messages[mid]
        if call.method == "GET":
            return 200, msg
        if call.json and "content" in call.json:
            msg["content"] = call.json["content"]
        if call.json and "attachments" in call.json:
            msg["attachments"] = [self._attachment_out(n, s) for n, s in call.files]
        return 200, msg

    def _attachment_out(self, name: str, size: int) -> dict:
        aid = self.next_id()
        return {"id": str(aid), "filename": name, "size": size, "url": f"{self.base}/cdn/{aid}",
                "proxy_url": f"{self.base}/cdn/{aid}"}

    def _message(self, mid: int, content: str, files: list, *, channel: int | None = None, webhook: bool = False) -> dict:
        msg = {"id": str(mid), "channel_id": str(channel or self.channel_ids[0]), "author": BOT_USER, "content": content,
               "timestamp": NOW, "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
               "mention_roles": [], "attachments": [self._attachment_out(n, s) for n, s in files], "embeds": [],
               "pinned": False, "type": 0, "flags": 0}
        if webhook:
            msg["webhook_id"] = str(APP_ID)
            msg["application_id"] = str(APP_ID)
        return msg
