"""`bandmate serve discord|slack`: missing or rejected tokens end in one sentence and a non-zero exit."""

from __future__ import annotations

import asyncio

import discord
import pytest
import typer
from typer.testing import CliRunner

from bots.config import StartError
from cli.bots import explain_start_error, register
from tests.support.bots.harness import running_discord, running_slack


@pytest.fixture
def cli(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = typer.Typer()
    app.command("version")(lambda: None)  # a second command, as in the real CLI
    register(app)
    return lambda *args: CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("args, variable", [
    (("serve", "discord"), "DISCORD_TOKEN"),
    (("serve", "slack"), "SLACK_BOT_TOKEN"),
])
def test_a_missing_token_names_its_variable(cli, args, variable):
    result = cli(*args)
    assert result.exit_code == 1
    assert variable in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_slack_needs_the_app_token_too(cli, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    result = cli("serve", "slack")
    assert result.exit_code == 1 and "SLACK_APP_TOKEN is not set" in result.output


def test_a_bad_limit_setting_is_one_sentence(cli, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("BANDMATE_BOT_WORKERS", "many")
    result = cli("serve", "discord")
    assert result.exit_code == 1 and "BANDMATE_BOT_WORKERS is invalid" in result.output


def test_a_rejected_discord_token_is_explained(tmp_path, monkeypatch):
    async def scenario():
        with pytest.raises(discord.LoginFailure) as caught:
            async with running_discord(tmp_path / "home", monkeypatch, reject_token=True):
                pass
        return caught.value

    message = explain_start_error(asyncio.run(scenario()))
    assert message.startswith("Discord rejected DISCORD_TOKEN")


def test_rejected_slack_tokens_are_explained(tmp_path):
    async def scenario(bad):
        with pytest.raises(StartError) as caught:
            async with running_slack(tmp_path / "home", bad_tokens={bad}):
                pass
        return str(caught.value)

    assert asyncio.run(scenario("xoxb-test")).startswith("Slack rejected SLACK_BOT_TOKEN (invalid_auth)")
    assert asyncio.run(scenario("xapp-test")).startswith("Slack rejected SLACK_APP_TOKEN (invalid_auth)")


def test_a_damaged_memory_file_stops_the_bot_at_start_up_in_one_line(tmp_path, monkeypatch):
    from core.errors import StoreError

    home = tmp_path / "home"
    home.mkdir()
    (home / "memory.sqlite").write_bytes(b"not a database, just bytes" * 100)

    async def scenario():
        with pytest.raises(StoreError) as caught:
            async with running_discord(home, monkeypatch):
                pass
        return caught.value

    message = explain_start_error(asyncio.run(scenario()))
    assert message == (f"{home / 'memory.sqlite'} is not a SQLite database (the conversation memory file is damaged); "
                       "move it aside and bandmate will start a new one.")
