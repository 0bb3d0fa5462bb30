"""The error a user can cause and fix: its message is one sentence saying what to do."""

from __future__ import annotations


class ToolError(Exception):
    """An error the user caused and can fix; its message is one sentence saying what to do.

    The agent sends the message back to the model as the tool result, the CLI
    prints it without a traceback.
    """
