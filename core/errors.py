"""The error a user can cause and fix: its message is one sentence saying what to do."""

from __future__ import annotations


class ToolError(Exception):
    """An error the user caused and can fix; its message is one sentence saying what to do.

    The agent sends the message back to the model as the tool result, the CLI
    prints it without a traceback.
    """


class StoreError(ToolError):
    """A store (conversation memory, ratings, the clip index) cannot be opened or is damaged; the message
    names its file and the fix."""


class SettingsError(ToolError):
    """A setting is wrong (a bandmate.toml that does not parse, a value that is not allowed, a missing
    BANDMATE_CONFIG file); the message names the file or variable, the bad value and what is allowed."""
