"""Start a bot against a fake service with a real assistant (real tools, routed fake LLM), for tests and the bench."""

from __future__ import annotations

import asyncio
import math
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import numpy as np
import soundfile as sf

from assistant.api import Assistant
from bots.adapter import BotCore
from bots.config import BotSettings
from core.settings import Settings
from tests.support.bots.fake_llm import RoutedChatModel

TOOLS = ["render_music", "analyze_audio", "compose_song", "revise_song"]


def make_assistant(home: Path) -> Assistant:
    """An assistant with real tools and the routed fake chat model, keeping everything under ``home``."""
    return Assistant(Settings(_env_file=None, home=home), chat_model=RoutedChatModel(), tools=TOOLS)


def bot_settings(**overrides) -> BotSettings:
    """Bot settings for tests: quick progress edits, everything else default unless overridden."""
    return BotSettings(_env_file=None, **{"progress_interval_seconds": 0.2, **overrides})


def tone_wav(seconds: float = 2.0, freq: float = 440.0, rate: int = 22050) -> bytes:
    """A real WAV file's bytes: a sine tone."""
    import io

    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, (0.4 * np.sin(2 * math.pi * freq * t)).astype("float32"), rate, format="WAV")
    return buf.getvalue()


@asynccontextmanager
async def running_discord(home: Path, monkeypatch, *, channels: int = 4, reject_token: bool = False,
                          **overrides) -> AsyncIterator[tuple]:
    """A DiscordBot connected to a FakeDiscord with ``channels`` text channels; yields (fake, bot) once ready."""
    from bots.discord_bot import DiscordBot
    from tests.support.bots.discord_wire import FakeDiscord

    fake = FakeDiscord(channels)
    fake.reject_token = reject_token
    await fake.start()
    fake.point_discord_py_here(monkeypatch)
    settings = bot_settings(**overrides)
    bot = DiscordBot(BotCore(make_assistant(home), settings, "discord"), settings)
    task = fake.client_task = asyncio.create_task(bot.start("fake-token"))
    try:
        ready = asyncio.create_task(fake.ready.wait())
        await asyncio.wait([ready, task], timeout=60, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        while not bot.is_ready():
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield fake, bot
        await bot.core.dispatcher.drain()
    finally:
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await fake.stop()


@asynccontextmanager
async def running_slack(home: Path, *, bad_tokens: set[str] = frozenset(), **overrides) -> AsyncIterator[tuple]:
    """A SlackBot connected over Socket Mode to a FakeSlack; yields (fake, bot)."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bots.slack_bot import SlackBot
    from tests.support.bots.slack_wire import APP_TOKEN, BOT_TOKEN, FakeSlack

    fake = FakeSlack()
    fake.bad_tokens = set(bad_tokens)
    await fake.start()
    settings = bot_settings(**overrides)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    bot = SlackBot(BotCore(make_assistant(home), settings, "slack"), settings, client)
    try:
        await bot.connect(APP_TOKEN)
        await asyncio.wait_for(fake.connected.wait(), 30)
        yield fake, bot
    finally:
        await bot.close()
        await fake.stop()
