"""Bot settings: service tokens (DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN) and BANDMATE_BOT_* limits.

The assistant's own settings (model, home folder) stay in :mod:`core.settings`;
these are only what a chat front end adds: who may ask how often, how many
requests wait, how often progress is edited, and how big files may be.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class BotSettings(BaseSettings):
    """Front-end settings; limits map to BANDMATE_BOT_<FIELD>, tokens to the services' usual variable names."""

    model_config = SettingsConfigDict(
        env_prefix="BANDMATE_BOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    discord_token: SecretStr | None = Field(None, validation_alias="DISCORD_TOKEN", description="Discord bot token.")
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN", description="Slack bot token (xoxb-...).")
    slack_app_token: SecretStr | None = Field(
        None, validation_alias="SLACK_APP_TOKEN", description="Slack app-level token for Socket Mode (xapp-...)."
    )

    workers: int = Field(2, ge=1, description="Requests worked on at once (each runs the assistant in a worker thread).")
    queue_limit: int = Field(6, ge=1, description="Requests waiting or running per Discord server / Slack workspace.")
    rate_limit: int = Field(5, ge=1, description="Requests one person may make per rate window.")
    rate_window_seconds: float = Field(60.0, gt=0, description="Length of the per-person rate window.")
    progress_interval_seconds: float = Field(1.5, ge=0, description="Least time between two edits of a progress message.")
    max_attachment_mb: float = Field(25.0, gt=0, description="Largest audio or MIDI attachment accepted.")
    discord_upload_mb: float = Field(10.0, gt=0, description="Most bytes of files per Discord message (the server's own limit applies if lower).")
    slack_upload_mb: float = Field(100.0, gt=0, description="Most bytes of files per Slack reply.")
    discord_guild_id: int | None = Field(
        None, description="Sync slash commands to this one server (instant) instead of globally (up to an hour)."
    )

    @property
    def max_attachment_bytes(self) -> int:
        return int(self.max_attachment_mb * MB)

    @property
    def discord_upload_bytes(self) -> int:
        return int(self.discord_upload_mb * MB)

    @property
    def slack_upload_bytes(self) -> int:
        return int(self.slack_upload_mb * MB)


def secret(value: SecretStr | None) -> str:
    """The plain text of a token setting, or '' when unset."""
    return value.get_secret_value().strip() if value is not None else ""


class StartError(RuntimeError):
    """A bot cannot start for a reason the person running it can fix (a rejected token); one sentence."""
