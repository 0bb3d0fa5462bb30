"""The agent: langchain's ``create_agent`` over the toolkit, with per-thread memory in SQLite."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from langchain.agents import create_agent
from langchain.agents.middleware import ToolCallLimitMiddleware
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.sqlite import SqliteSaver

from core.files import open_sqlite, store_error


def system_prompt() -> str:
    """The agent's system prompt, from the data file prompts/system.md."""
    return resources.files("assistant").joinpath("prompts/system.md").read_text(encoding="utf-8").strip()


def open_memory(db_path: Path) -> SqliteSaver:
    """Conversation memory keyed by thread id, in a SQLite file that survives restarts; a damaged or
    unreachable file is a StoreError naming it."""
    db_path = Path(db_path).expanduser()
    conn = open_sqlite(db_path, "conversation memory", check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        saver = SqliteSaver(conn)
        saver.setup()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise store_error(db_path, "conversation memory", exc) from exc
    return saver


def build_agent(model: BaseChatModel, tools: list[BaseTool], memory: SqliteSaver, max_tool_steps: int = 6):
    """The compiled agent graph: model -> tools -> model ... until the model answers in words."""
    return create_agent(
        model,
        tools=tools,
        system_prompt=system_prompt(),
        checkpointer=memory,
        middleware=[ToolCallLimitMiddleware(run_limit=max_tool_steps, exit_behavior="end")],
    )
