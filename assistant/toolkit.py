"""The agent's toolkit: each capability in ``tools/`` wrapped as a langchain tool.

A wrapped tool returns ``(summary, artifact)``: the short summary goes back to the
model, the artifact (files, a display text for the person, structured data) goes to
the reply and never through the model's context. Errors a user can cause
(:class:`core.errors.ToolError`) go back to the model as the tool's result, so it can
explain them; the conversation carries on.
"""

from __future__ import annotations

import inspect
import logging
import tomllib
import typing
from collections.abc import Callable
from importlib import resources
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import Field, create_model

from assistant import capabilities
from assistant.context import ToolContext, ToolOutput
from assistant.llm import LLMConfigError
from core.errors import ToolError

log = logging.getLogger(__name__)


def load_tool_specs() -> dict[str, dict]:
    """Tool descriptions and argument descriptions, from the data file prompts/tools.toml."""
    text = resources.files("assistant").joinpath("prompts/tools.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def wrap(func: Callable[..., ToolOutput], ctx: ToolContext, spec: dict) -> BaseTool:
    """Make a langchain tool from ``func(ctx, out_dir, **arguments) -> ToolOutput``."""
    name = func.__name__
    params = list(inspect.signature(func).parameters.values())[2:]
    hints = typing.get_type_hints(func)
    arg_docs = spec.get("args", {})
    fields = {}
    for p in params:
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints[p.name], Field(default, description=arg_docs.get(p.name, "")))
    schema = create_model(f"{name}_arguments", **fields)

    def run(config: RunnableConfig = None, **kwargs: Any) -> tuple[str, dict]:
        thread_id = ((config or {}).get("configurable") or {}).get("thread_id", "default")
        try:
            out = func(ctx.for_thread(str(thread_id)), ctx.thread_dir(str(thread_id)), **kwargs)
        except (ToolError, LLMConfigError) as exc:   # the user can fix these: the sentence says how
            raise ToolException(str(exc)) from exc
        except Exception as exc:  # a bug, not the user's fault: say so, keep the conversation alive
            log.exception("tool %s failed", name)
            raise ToolException(f"The {name} tool failed unexpectedly ({type(exc).__name__}: {exc}).") from exc
        return out.summary, out.artifact()

    return StructuredTool.from_function(
        func=run,
        name=name,
        description=spec["description"],
        args_schema=schema,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=True,
        # An answer read off the conversation's state (or an edit's exact list of changes) is the reply
        # itself: the model does not paraphrase it, so it cannot change a fact.
        return_direct=bool(spec.get("return_direct", False)),
    )


def build_toolkit(ctx: ToolContext, names: list[str] | None = None) -> list[BaseTool]:
    """All capabilities as langchain tools (or only ``names``)."""
    specs = load_tool_specs()
    chosen = names or list(specs)
    unknown = [n for n in chosen if not hasattr(capabilities, n)]
    if unknown:
        raise ValueError(f"Unknown tools {unknown}; known: {sorted(specs)}")
    return [wrap(getattr(capabilities, n), ctx, specs[n]) for n in chosen]
