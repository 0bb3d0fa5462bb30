"""bandmate on Slack (slack-bolt, Socket Mode): app mentions, DMs, ``/bandmate``, 👍/👎 ratings.

Socket Mode needs no public URL: the app-level token opens a websocket to Slack.
Every event and command is acknowledged at once; the work runs in a lazy
listener, which hands it to :class:`bots.adapter.BotCore`. One memory thread per
Slack thread: a mention at the top of a channel starts a thread, replies in it
continue it; a slash command's answer starts a thread of its own.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from assistant.api import Assistant
from bots.adapter import BotCore, ChatRequest, IncomingFile
from bots.commands import (
    help_text,
    parse_text_command,
    prompt_for,
    rating_for,
    strip_mentions,
)
from bots.config import BotSettings, StartError
from bots.dispatch import Refusal
from bots.loopwatch import LoopWatch
from bots.render import RenderedReply, ServiceLimits

log = logging.getLogger(__name__)
TEXT_LIMIT = 3500  # Slack cuts messages at 40,000 characters but shows long ones badly; keep chunks readable
MAX_FILES = 10  # files per files_upload_v2 call
FILES_NEED_A_MESSAGE = "Slash commands can't carry files: mention me (or DM me) with the audio attached and say what you want."


class SlackSurface:
    """An answer in a Slack conversation: a progress message (chat.update edits it), the answer, then the files."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str | None, limits: ServiceLimits,
                 header: str = "") -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.limits = limits
        self.header = header  # kept above progress and answer (a slash command's question)
        self.ts: str | None = None

    @property
    def answer_id(self) -> str | None:
        return f"{self.channel}:{self.ts}" if self.ts else None

    async def start(self, text: str) -> str:
        """Post the progress message; returns its ts."""
        response = await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                                      text=self._head(text))
        self.ts = response["ts"]
        return self.ts

    async def progress(self, text: str) -> None:
        if self.ts is not None:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=self._head(text))

    async def reply(self, rendered: RenderedReply) -> str | None:
        thread = self.thread_ts or self.ts
        if self.ts is None:
            await self.start(rendered.chunks[0])
        else:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=self._head(rendered.chunks[0]))
        for chunk in rendered.chunks[1:]:
            await self.client.chat_postMessage(channel=self.channel, thread_ts=thread or self.ts, text=chunk)
        if rendered.uploads:
            try:
                await self.client.files_upload_v2(
                    channel=self.channel, thread_ts=thread or self.ts,
                    file_uploads=[{"file": str(u.path), "filename": u.filename, "title": u.filename}
                                  for u in rendered.uploads],
                )
            except Exception as exc:  # the answer stays; say what is missing
                log.warning("file upload failed: %s", exc)
                await self.client.chat_postMessage(channel=self.channel, thread_ts=thread or self.ts,
                                                   text=f"⚠️ Slack refused the files ({_reason(exc)}); ask me again for them.")
        return f"{self.channel}:{self.ts}"

    async def error(self, text: str) -> None:
        if self.ts is not None:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=self._head(f"⚠️ {text}"))
        else:
            await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=f"⚠️ {text}")


    def _head(self, text: str) -> str:
        return f"{self.header}\n{text}" if self.header else text


class SlackBot:
    """The Slack app: bolt listeners in, :class:`BotCore` requests out."""

    def __init__(self, core: BotCore, settings: BotSettings, client: AsyncWebClient) -> None:
        self.core = core
        self.settings = settings
        self.client = client
        self.limits = ServiceLimits("Slack", TEXT_LIMIT, settings.slack_upload_bytes, MAX_FILES)
        self.app = AsyncApp(client=client, request_verification_enabled=False)
        self.watch = LoopWatch()
        self.handler: AsyncSocketModeHandler | None = None
        self.app.event("app_mention")(ack=_ack, lazy=[self.on_mention])
        self.app.event("message")(ack=_ack, lazy=[self.on_message])
        self.app.event("reaction_added")(ack=_ack, lazy=[self.on_reaction])
        self.app.event("reaction_removed")(ack=_ack, lazy=[self.on_reaction])
        self.app.command("/bandmate")(ack=_ack, lazy=[self.on_command])

    # -- lifecycle ----------------------------------------------------------------
    async def connect(self, app_token: str) -> None:
        """Check both tokens, build the agent, and open the Socket Mode connection."""
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            raise StartError(f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')}); copy the Bot User OAuth Token (xoxb-...) again.") from exc
        try:
            await self.client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            raise StartError(f"Slack rejected SLACK_APP_TOKEN ({exc.response.get('error')}); create an app-level token (xapp-...) with connections:write and enable Socket Mode.") from exc
        self.watch.start()
        await self.core.warm_up()
        self.handler = AsyncSocketModeHandler(self.app, app_token, web_client=self.client)
        await self.handler.connect_async()

    async def close(self) -> None:
        """Close the connection and let running requests finish."""
        if self.handler is not None:
            await self.handler.close_async()
        await self.core.dispatcher.drain()
        await self.watch.stop()
        self.core.close()

    # -- listeners ------------------------------------------------------------------
    async def on_mention(self, event: dict, body: dict) -> None:
        await self._converse(event, body.get("team_id", ""), in_thread=True)

    async def on_message(self, event: dict, body: dict) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return
        await self._converse(event, body.get("team_id", ""), in_thread=bool(event.get("thread_ts")))

    async def on_command(self, body: dict, respond) -> None:
        command = parse_text_command(body.get("text", ""))
        if command.name == "analyze":
            await respond(text=FILES_NEED_A_MESSAGE, response_type="ephemeral")
            return
        if command.name == "help" or not command.rest:
            await respond(text=help_text("/bandmate "), response_type="ephemeral")
            return
        channel, user = body["channel_id"], body["user_id"]
        request = ChatRequest(prompt_for(command), f"slack:{channel}:command:{body.get('trigger_id', '')}", user,
                              f"team:{body.get('team_id', '')}")
        verdict = self.core.check(request)
        if isinstance(verdict, Refusal):
            await respond(text=verdict.message, response_type="ephemeral")
            return
        surface = SlackSurface(self.client, channel, None, self.limits,
                               header=f"<@{user}> asked: _{body.get('text', '').strip()[:300]}_")
        try:
            ts = await surface.start("🎵 Working on it…")
        except Exception as exc:
            self.core.dispatcher.release(verdict)
            await respond(text=f"⚠️ I couldn't post in this channel ({exc}); invite me to it first.", response_type="ephemeral")
            return
        self.core.submit(verdict, dataclasses.replace(request, thread_id=f"slack:{channel}:{ts}"), surface)

    async def on_reaction(self, event: dict) -> None:
        item = event.get("item", {})
        rating = rating_for(event.get("reaction", ""))
        if rating is None or item.get("type") != "message":
            return
        try:
            await self.core.rate(f"{item.get('channel')}:{item.get('ts')}", event.get("user", ""), rating,
                                 remove=event.get("type") == "reaction_removed")
        except Exception:
            log.exception("could not store a rating")

    async def _converse(self, event: dict, team: str, in_thread: bool) -> None:
        channel = event["channel"]
        thread_ts = (event.get("thread_ts") or event["ts"]) if in_thread else None
        memory = f"slack:{channel}:{event.get('thread_ts') or event['ts']}" if in_thread else f"slack:{channel}:dm"
        text = strip_mentions(event.get("text", ""))
        files = tuple(self._incoming(f) for f in event.get("files", []))
        if not text and not files:
            await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=help_text("/bandmate "))
            return
        request = ChatRequest(text or "What can you tell me about this file?", memory, event.get("user", ""),
                              f"team:{team}", files)
        verdict = self.core.check(request)
        if isinstance(verdict, Refusal):
            await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=verdict.message)
            return
        surface = SlackSurface(self.client, channel, thread_ts, self.limits)
        try:
            await surface.start("🎵 Working on it…")
        except Exception:
            self.core.dispatcher.release(verdict)
            log.exception("could not answer in %s", channel)
            return
        self.core.submit(verdict, request, surface)

    def _incoming(self, file: dict[str, Any]) -> IncomingFile:
        url = file.get("url_private_download") or file.get("url_private", "")

        async def fetch(path: Path) -> None:
            headers = {"Authorization": f"Bearer {self.client.token}"}
            async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
                response.raise_for_status()
                with path.open("wb") as out:
                    async for block in response.content.iter_chunked(1 << 16):
                        out.write(block)

        return IncomingFile(file.get("name", "attachment"), int(file.get("size", 0)), fetch)


def _reason(exc: Exception) -> str:
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else type(exc).__name__


async def _ack(ack) -> None:
    """Acknowledge at once (Slack wants it within 3 seconds); the work runs lazily."""
    await ack()


async def run_slack(bot_token: str, app_token: str, settings: BotSettings, assistant: Assistant) -> None:
    """Serve until the process is stopped."""
    import asyncio

    bot = SlackBot(BotCore(assistant, settings, "slack"), settings, AsyncWebClient(token=bot_token))
    await bot.connect(app_token)
    try:
        await asyncio.Event().wait()
    finally:
        await bot.close()
