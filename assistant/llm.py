"""Chat-model backends behind one factory, and the text generator the tools use.

- ``local`` (default): the embedded GGUF model through llama-cpp-python
  (:class:`assistant.local_llm.ChatLocalGGUF`), offline on a CPU.
- ``openai``: any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server,
  Ollama) through langchain-openai's ``ChatOpenAI`` with native tool calls.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.model_files import (
    EMBEDDED_MODEL_NAME,
    ModelFilesError,
    embedded_model_path,
)
from core.settings import Settings
from core.textgen import Endings, Until, cut_when

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class LLMConfigError(RuntimeError):
    """The LLM backend is misconfigured or unreachable; the message names the setting to fix."""


def make_chat_model(settings: Settings) -> BaseChatModel:
    """Build the configured chat model, or raise LLMConfigError with one sentence saying what to fix."""
    if settings.llm_problem:
        raise LLMConfigError(settings.llm_problem)
    if settings.llm_backend == "openai":
        return _openai_chat(settings)
    return _local_chat(settings)


def _openai_chat(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    key = settings.resolved_api_key
    if not key:
        if settings.base_url is None:
            raise LLMConfigError(
                "The openai backend needs an API key: set BANDMATE_API_KEY (or OPENAI_API_KEY), "
                "or point BANDMATE_BASE_URL at a local OpenAI-compatible server."
            )
        key = "not-needed"  # local servers (vLLM, llama.cpp, Ollama) accept any key
    return ChatOpenAI(
        model=settings.model or DEFAULT_OPENAI_MODEL,
        base_url=settings.base_url,
        api_key=key,
        temperature=settings.temperature,
        timeout=settings.request_timeout,
        max_retries=1,
    )


def _local_chat(settings: Settings) -> BaseChatModel:
    from assistant.local_llm import ChatLocalGGUF

    if settings.model and settings.model.endswith(".gguf"):
        path = Path(settings.model).expanduser()
        if not path.exists():
            raise LLMConfigError(f"The model file {path} does not exist; fix BANDMATE_MODEL or unset it to use the embedded model.")
        name = path.stem
    else:
        try:
            path = embedded_model_path(settings.models_dir)
        except ModelFilesError as exc:
            raise LLMConfigError(str(exc)) from exc
        name = EMBEDDED_MODEL_NAME
    return ChatLocalGGUF(
        model_path=str(path),
        model_name=name,
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        temperature=settings.temperature,
        state_cache_dir=str(settings.cache_dir / "llm"),
    )


def describe_backend(settings: Settings) -> str:
    """A short human description of the configured backend, for status lines."""
    if settings.llm_backend == "openai":
        return f"openai-compatible {settings.model or DEFAULT_OPENAI_MODEL} at {settings.base_url or 'api.openai.com'}"
    return f"local {settings.model or EMBEDDED_MODEL_NAME}"


def explain_chat_error(exc: BaseException, *, base_url: str | None, model: str | None,
                       timeout: float | None) -> BaseException:
    """An OpenAI-compatible server's failure as LLMConfigError: one sentence naming the URL and the setting to fix
    (``exc`` itself when it is not such a failure)."""
    # Only an already-imported openai can have raised this; importing it here (0.5 s) would hold the GIL
    # in a bot's worker thread long enough to stall the event loop its heartbeat runs on.
    openai = sys.modules.get("openai")
    if openai is None:
        return exc
    where = base_url or "api.openai.com"
    if isinstance(exc, openai.AuthenticationError):
        return LLMConfigError(f"The chat server at {where} rejected the API key; check BANDMATE_API_KEY (or OPENAI_API_KEY).")
    if isinstance(exc, openai.APITimeoutError):
        return LLMConfigError(f"The chat server at {where} did not answer in {timeout or 0:.0f} s; check it is running "
                              "or raise BANDMATE_REQUEST_TIMEOUT.")
    if isinstance(exc, openai.APIConnectionError):
        return LLMConfigError(f"Cannot reach the chat server at {where}; start it or fix BANDMATE_BASE_URL.")
    if isinstance(exc, openai.NotFoundError):
        return LLMConfigError(f"The chat server at {where} does not know the model {model!r}; fix BANDMATE_MODEL.")
    if isinstance(exc, openai.APIStatusError):
        return LLMConfigError(f"The chat server at {where} answered with an error ({exc.status_code}); check its logs "
                              "and BANDMATE_MODEL.")
    return exc


def is_embedded(chat: BaseChatModel) -> bool:
    """Whether ``chat`` is the embedded llama.cpp model, which takes bandmate's own generation settings
    (``endings``, ``until``, a repeat penalty) and can score words."""
    return getattr(chat, "_llm_type", "") == "bandmate-local-gguf"


class ChatTextGenerator:
    """The ``core.textgen.TextGenerator`` interface over any langchain chat model (and, for the embedded model,
    ``core.textgen.EndingScorer``)."""

    def __init__(self, chat: BaseChatModel, name: str | None = None) -> None:
        self.chat = chat
        self.name = name or getattr(chat, "model_name", None) or type(chat).__name__

    def generate(
        self,
        prompt: str,
        *,
        system: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
        repeat_penalty: float | None = None,
        min_tokens: int = 0,
        endings: Endings | None = None,
        until: Until | None = None,
    ) -> str:
        """Complete ``prompt`` as one chat turn and return the text; the embedded model writes at least
        ``min_tokens``, leans each line toward the words ``endings`` names and stops once ``until`` holds for
        its lines (OpenAI's API has no such settings, so a server gets only what the prompt asks, its reply
        cut where ``until`` holds)."""
        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(prompt)]
        kwargs: dict = {"max_tokens": max_tokens, "temperature": temperature}
        local = is_embedded(self.chat)
        if seed is not None:
            kwargs["seed"] = seed
        if min_tokens and local:
            kwargs["min_tokens"] = min_tokens
        if endings is not None and local:
            kwargs["endings"] = endings
        if until is not None and local:
            kwargs["until"] = until
        if repeat_penalty is not None:
            if local:
                kwargs["repeat_penalty"] = repeat_penalty
            else:  # OpenAI-compatible servers know frequency_penalty, not llama.cpp's repeat penalty
                kwargs["frequency_penalty"] = min(2.0, max(0.0, (repeat_penalty - 1.0) * 2.0))
        try:
            reply = self.chat.invoke(messages, **kwargs)
        except Exception as exc:
            explained = explain_chat_error(exc, base_url=getattr(self.chat, "openai_api_base", None),
                                           model=getattr(self.chat, "model_name", None),
                                           timeout=getattr(self.chat, "request_timeout", None))
            if explained is exc:
                raise
            raise explained from exc
        content = reply.content
        text = content if isinstance(content, str) else "".join(
            str(c.get("text", c)) if isinstance(c, dict) else str(c) for c in content)
        return cut_when(text, until)

    def ending_logprobs(self, prompt: str, reply_start: str, words: Sequence[str], *,
                        system: str | None = None) -> list[float] | None:
        """log P(" word", then the line ends) for each word after ``reply_start``, the beginning of the reply to
        ``prompt``; None when the model cannot say (a server's API gives no such scores)."""
        if not is_embedded(self.chat):
            return None
        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(prompt)]
        return self.chat.ending_logprobs(self.chat.build_prompt(messages, None, reserve=16) + reply_start, words)
