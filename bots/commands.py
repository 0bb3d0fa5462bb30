"""The bot commands both services share: what each asks the assistant, the help text, attachment checks.

Discord exposes these as slash commands (``/compose``, ``/ask`` ...); Slack as
``/bandmate compose ...``. Either way the command becomes one message to the
assistant, in the conversation's memory thread, so follow-ups can refer to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: File types people may attach: audio for analysis and questions, MIDI/MusicXML to render.
AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".flac")
SCORE_SUFFIXES = (".mid", ".midi", ".musicxml", ".mxl")
ACCEPTED_SUFFIXES = AUDIO_SUFFIXES + SCORE_SUFFIXES

COMMANDS = {
    "compose": "write and produce a song: `compose a sad folk song about leaving home` (genre and mood optional)",
    "ask": "ask anything, optionally about an attached audio or MIDI file",
    "caption": "describe music from tags: `caption piano, calm, ambient`",
    "analyze": "measure an attached clip: tempo, key, chords, loudness",
    "similar": "find clips in your indexed collection that sound like a description (`bandmate index add` fills it)",
    "help": "show this help",
}

def help_text(prefix: str = "/") -> str:
    """What the bot can do, one command per line (``prefix`` is '/' on Discord, '/bandmate ' on Slack)."""
    lines = ["bandmate, a music assistant. Mention me or DM me to chat (one memory per channel/thread), or use:"]
    lines += [f"• `{prefix}{name}`: {what}" for name, what in COMMANDS.items()]
    lines.append("Attach audio (WAV, FLAC, OGG, MP3) or MIDI to ask about it. React 👍/👎 to a song to rate it.")
    return "\n".join(lines)


def compose_prompt(prompt: str, genre: str | None = None, mood: str | None = None) -> str:
    """The assistant message for a compose command."""
    extra = "".join(f" {label}: {value.strip()}." for label, value in (("Genre", genre), ("Mood", mood)) if value and value.strip())
    return f"Write and produce a song: {prompt.strip()}.{extra}"


def caption_prompt(tags: str) -> str:
    """The assistant message for a caption command (tags separated by commas or spaces)."""
    parts = [t.strip() for t in re.split(r"[,\n]+" if "," in tags else r"\s+", tags) if t.strip()]
    return f"Write a caption for music with these tags: {', '.join(parts)}."


def analyze_prompt(question: str = "") -> str:
    """The assistant message for an analyze command."""
    return question.strip() or "Analyse the attached audio: tempo, key, chords, loudness and whether it has drums."


def similar_prompt(text: str) -> str:
    """The assistant message for a similar command."""
    return f"Find clips in my collection that sound like: {text.strip()}"


@dataclass(frozen=True)
class TextCommand:
    """A command typed as text (Slack's ``/bandmate compose ...``): its name and the rest of the line."""

    name: str
    rest: str


def parse_text_command(text: str) -> TextCommand:
    """Split ``compose a sad song`` into (compose, a sad song); text with no known command is ``ask``."""
    head, _, rest = text.strip().partition(" ")
    name = head.lower().lstrip("/")
    if name in COMMANDS:
        return TextCommand(name, rest.strip())
    return TextCommand("ask", text.strip())


def prompt_for(command: TextCommand) -> str:
    """The assistant message for a text command (help is answered without the assistant)."""
    if command.name == "compose":
        return compose_prompt(command.rest)
    if command.name == "caption":
        return caption_prompt(command.rest)
    if command.name == "analyze":
        return analyze_prompt(command.rest)
    if command.name == "similar":
        return similar_prompt(command.rest)
    return command.rest


def check_attachment(name: str, size: int, max_bytes: int) -> str | None:
    """None if the file may be used, else one sentence saying what is wrong and what to send instead."""
    suffix = Path(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        return f"I can't use {name}: send audio (WAV, FLAC, OGG or MP3) or MIDI/MusicXML."
    if size > max_bytes:
        return f"{name} is {size / 2**20:.1f} MB, over my {max_bytes / 2**20:.0f} MB limit; send a shorter clip or an OGG/MP3."
    if size <= 0:
        return f"{name} is empty; send the file again."
    return None


def strip_mentions(text: str) -> str:
    """Message text without @-mentions (Discord ``<@123>``, Slack ``<@U123>``)."""
    return re.sub(r"<@[!&]?[A-Za-z0-9]+>", "", text).strip()


def rating_for(emoji: str) -> int | None:
    """+1 for a thumbs up, -1 for a thumbs down (any skin tone, Discord or Slack names), else None."""
    base = re.sub(r"[\U0001F3FB-\U0001F3FF]|::skin-tone-\d", "", emoji).strip(":")
    if base in ("👍", "+1", "thumbsup"):
        return 1
    if base in ("👎", "-1", "thumbsdown"):
        return -1
    return None
