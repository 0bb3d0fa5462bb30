"""Settings: environment variables (BANDMATE_*), a .env file, and bandmate.toml.

Precedence, highest first: constructor arguments, environment, .env, bandmate.toml
(in the working directory, or the file named by BANDMATE_CONFIG), defaults.

:func:`get_settings` turns every mistake into a :class:`core.errors.SettingsError` that names the file or
variable, the bad value and what is allowed. A bad value of a chat-model setting (``llm_backend``,
``base_url``...) does not stop commands that need no chat model: it is kept in
:attr:`Settings.llm_problem` and raised when a chat model is made.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import SettingsError

MEMORY_FILE = "memory.sqlite"   # conversations and their music, under the home folder
CONFIG_FILE = "bandmate.toml"
# Settings only a chat model reads: a bad value of one of these stops only the commands that talk to one.
LLM_FIELDS = frozenset({"llm_backend", "model", "base_url", "api_key", "temperature", "request_timeout",
                        "n_threads", "n_ctx", "max_tool_steps"})


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
    n_threads: int | None = Field(None, description="CPU threads for the local model (default: the cores idle before each call).")
    n_ctx: int = Field(8192, description="Context window of the local model, in tokens.")
    max_tool_steps: int = Field(6, description="Most tool calls the agent may make for one message.")

    _llm_problem: str | None = PrivateAttr(None)

    @property
    def llm_problem(self) -> str | None:
        """Why the chat-model settings cannot be used (a bad value that was set aside), or None."""
        return self._llm_problem

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = config_file()
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


def config_file() -> Path:
    """The bandmate.toml in effect: BANDMATE_CONFIG's file (which must exist), else ./bandmate.toml."""
    named = os.environ.get("BANDMATE_CONFIG")
    if named is None:
        return Path(CONFIG_FILE)
    path = Path(named).expanduser()
    if not path.is_file():
        raise SettingsError(f"BANDMATE_CONFIG names {path}, which is not a file; point it at your bandmate.toml "
                            "or unset it.")
    return path


@lru_cache(maxsize=8)
def _settings_for(cwd: str, env: tuple[tuple[str, str], ...]) -> Settings:
    toml = config_file().resolve()
    try:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{toml} is not valid TOML ({exc}); fix that line or move the file aside.") from None
    except ValidationError as exc:
        problems = {str(e["loc"][0]): _describe(e, toml) for e in exc.errors()}
        blocking = [text for name, text in problems.items() if name not in LLM_FIELDS]
        if blocking:
            raise SettingsError(blocking[0]) from None
    # Only chat-model settings are wrong: use their defaults and say what was wrong when a chat model is made.
    defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True) for name in problems}
    settings = Settings(**defaults)
    settings._llm_problem = next(iter(problems.values()))
    return settings


def _describe(error: Any, toml: Path) -> str:
    """One sentence for one invalid setting: where it was set, its value, and what is allowed."""
    name = str(error["loc"][0])
    variable = f"BANDMATE_{name.upper()}"
    if any(key.upper() == variable for key in os.environ):
        where = f"The environment variable {variable}"
    elif variable in _dotenv_names():
        where = f"{variable} in {Path('.env').resolve()}"
    else:
        where = f"{name} in {toml}"
    expected = (error.get("ctx") or {}).get("expected")
    if expected:
        return f"{where} is {error['input']!r}, which is not allowed; use {expected}."
    return f"{where} is {error['input']!r}, which is not valid ({error['msg'].lower()}); fix or remove it."


def _dotenv_names() -> set[str]:
    try:
        from dotenv import dotenv_values

        return {key.upper() for key in dotenv_values(".env")}
    except (OSError, ValueError):
        return set()


get_settings.cache_clear = _settings_for.cache_clear  # type: ignore[attr-defined]
