"""Settings: environment variables (BANDMATE_*), a .env file, and bandmate.toml.

Precedence, highest first: constructor arguments, environment, .env, bandmate.toml
(in the working directory, or the file named by BANDMATE_CONFIG), defaults.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


MEMORY_FILE = "memory.sqlite"   # conversations and their music, under the home folder


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "bandmate"


class Settings(BaseSettings):
    """Everything a user can configure; each field maps to BANDMATE_<FIELD> in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="BANDMATE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        toml_file="bandmate.toml",
    )

    llm_backend: Literal["local", "openai"] = Field(
        "local", description="Chat model backend: 'local' (embedded GGUF model, offline) or 'openai' (any OpenAI-compatible server)."
    )
    model: str | None = Field(
        None,
        description="Model name for the 'openai' backend (e.g. gpt-4o-mini, or the name your vLLM/Ollama server serves), "
        "or a path to a .gguf file for the 'local' backend. Default: gpt-4o-mini / the embedded Qwen2.5-Coder-1.5B.",
    )
    base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1.")
    api_key: str | None = Field(None, description="API key for the 'openai' backend (OPENAI_API_KEY is read too).")
    home: Path = Field(default_factory=_default_home, description="Where bandmate keeps memory, indexes, outputs and checkpoints.")
    output_dir: Path | None = Field(None, description="Folder for generated files (default: <home>/outputs).")
    temperature: float = Field(0.2, description="Sampling temperature for the agent's planning steps.")
    request_timeout: float = Field(120.0, description="Seconds to wait for the 'openai' backend before giving up.")
    n_threads: int | None = Field(None, description="CPU threads for the local model (default: all cores).")
    n_ctx: int = Field(8192, description="Context window of the local model, in tokens.")
    max_tool_steps: int = Field(6, description="Most tool calls the agent may make for one message.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("BANDMATE_CONFIG", "bandmate.toml")
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    @property
    def resolved_api_key(self) -> str | None:
        """The API key from BANDMATE_API_KEY, else OPENAI_API_KEY."""
        return self.api_key or os.environ.get("OPENAI_API_KEY")

    @property
    def home_dir(self) -> Path:
        """The home folder with ``~`` expanded: memory, indexes, ratings, models, caches and outputs live here."""
        return Path(self.home).expanduser()

    @property
    def outputs(self) -> Path:
        """The root folder for generated files."""
        return Path(self.output_dir or self.home_dir / "outputs").expanduser()

    @property
    def memory_db(self) -> Path:
        """SQLite file holding conversation memory."""
        return self.home_dir / MEMORY_FILE

    @property
    def models_dir(self) -> Path:
        """Folder for model files bandmate assembles or trains; loaders look here before the shipped files."""
        return self.home_dir / "models"

    @property
    def cache_dir(self) -> Path:
        """Folder for caches that can be rebuilt (the local model's evaluated prompts, encoders' outputs)."""
        return self.home_dir / "cache"


_SETTINGS_ENV = ("XDG_DATA_HOME", "OPENAI_API_KEY")


def get_settings() -> Settings:
    """The settings in effect: read once per environment (a changed ``BANDMATE_*`` variable or working
    directory reads them again), so every loader and trainer sees the same home."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("BANDMATE_") or k in _SETTINGS_ENV))
    return _settings_for(os.getcwd(), env)


@lru_cache(maxsize=8)
def _settings_for(cwd: str, env: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()


get_settings.cache_clear = _settings_for.cache_clear  # type: ignore[attr-defined]
