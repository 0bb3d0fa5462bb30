"""``bandmate serve discord|slack``: run bandmate as a chat bot.

Tokens come from DISCORD_TOKEN, or SLACK_BOT_TOKEN and SLACK_APP_TOKEN; limits
from BANDMATE_BOT_* (see :class:`bots.config.BotSettings`). Anything the person
running the bot can fix (a missing or rejected token, a missing extra) ends the
command with one sentence on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

import typer
from rich.console import Console

from cli.errors import fail

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command group to the ``bandmate`` CLI."""
    serve = typer.Typer(help="Run bandmate as a chat bot on Discord or Slack.", no_args_is_help=True)
    serve.command("discord")(serve_discord)
    serve.command("slack")(serve_slack)
    app.add_typer(serve, name="serve")


def serve_discord() -> None:
    """Run the Discord bot: slash commands, mentions and DMs (token from DISCORD_TOKEN)."""
    from bots.config import secret

    settings = _bot_settings()
    token = secret(settings.discord_token)
    if not token:
        fail("DISCORD_TOKEN is not set; create a bot at https://discord.com/developers/applications and export its token as DISCORD_TOKEN.")
    _need("discord", "discord.py")
    from bots.discord_bot import run_discord

    _serve(lambda assistant: run_discord(token, settings, assistant))


def serve_slack() -> None:
    """Run the Slack bot in Socket Mode: mentions, DMs and /bandmate (tokens from SLACK_BOT_TOKEN, SLACK_APP_TOKEN)."""
    from bots.config import secret

    settings = _bot_settings()
    bot_token, app_token = secret(settings.slack_bot_token), secret(settings.slack_app_token)
    if not bot_token:
        fail("SLACK_BOT_TOKEN is not set; install your Slack app and export its Bot User OAuth Token (xoxb-...) as SLACK_BOT_TOKEN.")
    if not app_token:
        fail("SLACK_APP_TOKEN is not set; enable Socket Mode for your Slack app and export an app-level token (xapp-...) as SLACK_APP_TOKEN.")
    _need("slack_bolt", "slack-bolt")
    from bots.slack_bot import run_slack

    _serve(lambda assistant: run_slack(bot_token, app_token, settings, assistant))


def explain_start_error(exc: BaseException) -> str | None:
    """One sentence for a failure the person running the bot can fix, or None for a bug."""
    from assistant.api import AssistantError
    from assistant.llm import LLMConfigError
    from bots.config import StartError
    from core.errors import ToolError

    if isinstance(exc, (AssistantError, LLMConfigError, StartError, ToolError)):   # ToolError: a store, a setting
        return str(exc)
    try:
        import discord
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, discord.LoginFailure):
        return "Discord rejected DISCORD_TOKEN; reset the bot's token in the Developer Portal and export it again."
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return "Discord refused an intent this bot asked for; turn it on under Bot > Privileged Gateway Intents."
    if isinstance(exc, (OSError, discord.GatewayNotFound)):
        return f"Cannot reach the chat service ({exc}); check the network connection."
    return None


def _serve(make: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
    from assistant.api import Assistant

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _quiet_voice_warnings()
    try:
        asyncio.run(make(Assistant()))
    except KeyboardInterrupt:
        err.print("stopped")
    except Exception as exc:
        message = explain_start_error(exc)
        if message is None or os.environ.get("BANDMATE_DEBUG"):
            raise
        fail(message)


def _bot_settings():
    from pydantic import ValidationError

    from bots.config import BotSettings

    try:
        return BotSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"BANDMATE_BOT_{str(first['loc'][0]).upper()} is invalid ({first['msg']}); fix it in the environment or .env.")


def _need(module: str, package: str) -> None:
    try:
        __import__(module)
    except ImportError:
        fail(f"{package} is not installed; install the bots extra: pip install 'bandmate[bots]'.")


def _quiet_voice_warnings() -> None:
    """bandmate never joins voice channels; discord.py's 'voice will NOT be supported' warnings are noise."""
    try:
        from discord import VoiceClient

        VoiceClient.warn_nacl = False
        VoiceClient.warn_dave = False
    except ImportError:  # pragma: no cover
        pass
