"""A small model's reply as a tool call: the JSON schema its grammar follows, the tools prompt it
reads, which tools are offered for a message, which arguments the user's words support, and
parsing the reply into an ``AIMessage`` with real ``tool_calls``."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)

RESPOND = "respond"
ATTACHED_FILES = "Attached files:"   # how a message lists the files attached to it (see assistant.api)
STATE_MESSAGE = "music_state"        # the name of the message that shows what the conversation made
# Tools that make or find something new. A message that points at the song already made ("make it
# faster", "new chords for the chorus", "show me the lyrics again") is about that song, so they are not
# offered for it.
_MAKERS = ("compose_song", "write_lyrics", "suggest_chords", "render_music", "search_similar")
_ABOUT_THE_SONG = re.compile(r"\b(it|its|the (\w+ )?(song|chorus|verse|bridge|intro|outro|melody|lyrics|tune|track))\b")
_EDITS = re.compile(r"\b(faster|slower|speed (it )?up|slow (it )?down|\d+\s*bpm|(major|minor) key|another take|go back|"
                    r"previous version|undo|(no|without|add|drop|remove|lose|mute)\s+(the\s+|some\s+|a\s+|an\s+)?\w+)\b")
_ABOUT_THE_CLIP = re.compile(r"\b(the|that|this|last) (clip|recording|track|audio|file|sample)\b")
_EDIT_OPENING = re.compile(r"^(now\s+)?(make|put|play|turn|change|transpose|speed|slow)\s+(it|the song|the track)\b")
_ASKS_FOR_WORDS = re.compile(r"\b(lyrics?|words|verses?|chorus|poem|text|lines|rhymes?|hook)\b")


def _schema_summary(params: dict) -> str:
    """A compact one-line rendering of a tool's parameters that a small model can read."""
    props = params.get("properties", {})
    required = set(params.get("required", []))
    parts = []
    for name, spec in props.items():
        kind = spec.get("type")
        if kind is None and "anyOf" in spec:
            kind = "|".join(s.get("type", "?") for s in spec["anyOf"] if s.get("type") != "null")
        if kind == "array":
            kind = f"list of {spec.get('items', {}).get('type', 'item')}"
        if "enum" in spec:
            kind = "one of " + "/".join(map(str, spec["enum"]))
        desc = spec.get("description", "")
        flag = "required" if name in required else "optional"
        parts.append(f'"{name}" ({kind}, {flag}){": " + desc if desc else ""}')
    return "; ".join(parts) if parts else "no arguments"


def _clean_schema(schema: dict) -> dict:
    """Drop keys the grammar converter does not need (titles, descriptions, defaults)."""
    if isinstance(schema, dict):
        return {k: _clean_schema(v) for k, v in schema.items() if k not in {"title", "description", "default", "examples"}}
    if isinstance(schema, list):
        return [_clean_schema(v) for v in schema]
    return schema


def tool_call_schema(tools: Sequence[dict]) -> dict:
    """The JSON schema of one reply: a call of one bound tool, or ``respond`` with text."""
    options = []
    for tool in tools:
        fn = tool["function"]
        params = _clean_schema(fn.get("parameters") or {"type": "object", "properties": {}})
        params.setdefault("type", "object")
        options.append(
            {
                "type": "object",
                "properties": {"tool": {"const": fn["name"]}, "arguments": params},
                "required": ["tool", "arguments"],
            }
        )
    options.append(
        {
            "type": "object",
            "properties": {
                "tool": {"const": RESPOND},
                "arguments": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
            },
            "required": ["tool", "arguments"],
        }
    )
    return {"anyOf": options}


def tools_prompt(tools: Sequence[dict]) -> str:
    """The part of the system prompt that lists the tools and the reply format."""
    lines = [
        "## How to reply",
        'Reply with exactly one JSON object: {"tool": NAME, "arguments": {...}}.',
        f'To answer the user in words (greetings, questions about you, after a tool has finished), use "{RESPOND}": '
        f'{{"tool": "{RESPOND}", "arguments": {{"text": "your answer"}}}}.',
        "",
        "## Tools",
    ]
    for tool in tools:
        fn = tool["function"]
        lines.append(f"- {fn['name']}: {fn.get('description', '').strip()}")
        lines.append(f"  arguments: {_schema_summary(fn.get('parameters') or {})}")
    return "\n".join(lines)


def _text_of(msg: BaseMessage) -> str:
    content = msg.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


_FILE_MENTION = re.compile(re.escape(ATTACHED_FILES) + r"|\.(wav|ogg|mp3|flac|m4a|aiff?|mid|midi|musicxml|mxl)\b|(^|\s)[~.]?/\S", re.I)


def _tools_still_allowed(messages: Sequence[BaseMessage], tools: Sequence[dict]) -> list[dict]:
    """The tools the model may call now.

    - After a tool has answered in this turn, not that tool again: a small model that
      has just seen a tool's result tends to call it again, and a request rarely needs
      the same tool twice.
    - A tool that requires a file (a required ``path`` argument) only when the user's
      message names or attaches one: without a file it cannot run, and a small model
      otherwise reaches for it on any question about music.
    - A tool that requires pasted lyrics (a required ``lyrics`` argument) only when the
      message holds a passage (quoted, after a colon, or on several lines): the small
      model otherwise classifies a question ("what is a minor key?") as if it were lyrics.
    - ``write_lyrics`` only when the message asks for words (lyrics, a verse, a poem...):
      "write a blues song about the rain" is a whole song.
    - No tool that makes or finds something new when the conversation has a current song (or
      clip) and the message points at it ("make it faster", "the chorus", "the clip"): that is an
      edit or a question.
    - ``recall`` only when the conversation has made or heard something: a question about
      music in general ("what is a minor key?") is answered in words.
    """
    called: set[str] = set()
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage):
            break
        if isinstance(msg, ToolMessage) and msg.status != "error" and msg.name:
            called.add(msg.name)
    text = _last_user_text(messages)
    has_file, has_passage = bool(_FILE_MENTION.search(text)), _has_passage(text)
    request = text.split(f"\n\n{ATTACHED_FILES}")[0].lower()
    state = _state_shown(messages)
    if "Current song:" in state:
        about_song = bool(_ABOUT_THE_SONG.search(request) or _EDITS.search(request)) and not has_file
    else:  # "make it faster" with no song yet: revise_song says there is none
        about_song = not state and bool(_EDIT_OPENING.search(request))
    about_song = about_song or ("Last clip:" in state and bool(_ABOUT_THE_CLIP.search(request)) and not has_file)
    allowed = []
    for tool in tools:
        fn = tool["function"]
        required = (fn.get("parameters") or {}).get("required") or []
        if fn["name"] in called or (about_song and fn["name"] in _MAKERS) or (fn["name"] == "recall" and not state):
            continue
        if fn["name"] == "write_lyrics" and not _ASKS_FOR_WORDS.search(request):
            continue
        if (has_file or "path" not in required) and (has_passage or "lyrics" not in required):
            allowed.append(tool)
    return allowed


def offered_arguments(tools: Sequence[dict], user_text: str) -> list[dict]:
    """``tools`` with the optional arguments the message cannot fill taken out of what the model may write:
    the embedded model fills every field with guesses (a whole verse in ``lyrics``, a tempo, a length, a seed:
    ~80 tokens, ~4 s on 2 cores, for "write me a sad folk song") that :func:`drop_ungrounded_args` then throws away. Out go
    an optional ``lyrics`` when the message holds no passage, a number when it holds no number, and a yes/no
    (never grounded)."""
    words = _words(user_text)
    has_number = any(w.isdigit() or w in _NUMBER_WORDS for w in words)
    has_passage = _has_passage(user_text)

    def unfillable(name: str, prop: dict) -> bool:
        kinds = {prop.get("type")} | {alt.get("type") for alt in prop.get("anyOf", [])}
        kinds.discard(None)
        kinds.discard("null")
        return ((name == "lyrics" and not has_passage) or kinds == {"boolean"}
                or (bool(kinds) and kinds <= {"integer", "number"} and not has_number))

    offered = []
    for tool in tools:
        params = tool["function"].get("parameters") or {}
        required = set(params.get("required") or [])
        props = params.get("properties") or {}
        kept = {k: v for k, v in props.items() if k in required or not unfillable(k, v)}
        if len(kept) < len(props):
            tool = {**tool, "function": {**tool["function"], "parameters": {**params, "properties": kept}}}
        offered.append(tool)
    return offered


def _state_shown(messages: Sequence[BaseMessage]) -> str:
    """The state message shown just before the user's words in this turn ("" when the conversation has none)."""
    users = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage) and m.name != STATE_MESSAGE]
    if not users or users[-1] == 0:
        return ""
    before = messages[users[-1] - 1]
    return _text_of(before) if getattr(before, "name", None) == STATE_MESSAGE else ""


_PASSAGE = re.compile(r"""["'“‘]([^"'”’]*\s){3,}[^"'”’]*["'”’]|:\s*(\S+\s+){5,}\S""")


def _has_passage(text: str) -> bool:
    """Does the message hold a passage of text: four or more quoted words, six or more after a colon,
    or several non-empty lines?"""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(ATTACHED_FILES)]
    return len(lines) >= 3 or bool(_PASSAGE.search(text))


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "twelve": 12, "sixteen": 16, "twenty": 20, "thirty": 30, "sixty": 60, "half": 0.5}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _mentioned(value: Any, words: list[str], numbers: set[float]) -> bool:
    """Did the user's words mention this value? (prefix match on words, numbers as digits or words, minutes)"""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return any(abs(value - n) < 1e-6 or abs(value - 60 * n) < 1e-6 for n in numbers)
    if isinstance(value, list):
        return any(_mentioned(v, words, numbers) for v in value)
    tokens = _words(str(value))
    if not tokens:
        return False

    def seen(token: str) -> bool:
        stem = token[:5]
        return any(w == token or (len(token) >= 3 and w.startswith(stem)) for w in words)

    long_tokens = [t for t in tokens if len(t) >= 3]
    return all(seen(t) for t in long_tokens) if long_tokens else any(seen(t) for t in tokens)


_FREE_TEXT = ("prompt", "query", "question", "request")
_VERBATIM = ("request",)   # the user's words as they are: an edit's numbers and names must not be paraphrased


def drop_ungrounded_args(args: dict, schema: dict, user_text: str) -> dict:
    """Remove optional arguments whose values the user never mentioned.

    Small models fill every optional field (a key, a tempo, a length) with guesses;
    a value the user did not ask for is better left to the tool's own defaults.
    Required arguments are kept as written, except a free-text one (``prompt``,
    ``query``, ``question``) that shares no word with the message: the small model
    sometimes copies an example from a tool's description there ("my first car"),
    and the user's own message is the better theme.
    """
    required = set(schema.get("required", []))
    words = _words(user_text)
    numbers = {float(w) for w in words if w.isdigit()} | {float(_NUMBER_WORDS[w]) for w in words if w in _NUMBER_WORDS}
    kept = {}
    for name, value in args.items():
        if name in required:
            content = [t for t in _words(value) if len(t) >= 3] if isinstance(value, str) else []
            own_words = user_text.split(f"\n\n{ATTACHED_FILES}")[0].strip()
            if name in _VERBATIM or (name in _FREE_TEXT and content and
                                     not any(_mentioned(t, words, numbers) for t in content)):
                value = own_words or value
            kept[name] = value
        elif isinstance(value, list):
            items = [v for v in value if _mentioned(v, words, numbers)]
            if items:
                kept[name] = items
        elif _mentioned(value, words, numbers):
            kept[name] = value
    return kept


def _last_user_text(messages: Sequence[BaseMessage]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage):
            return _text_of(msg)
    return ""


def _repair_truncated(raw: str, tries: int = 64) -> dict | None:
    """The longest prefix of a cut-off tool call that ends after a whole argument, closed and parsed."""
    cut = len(raw)
    for _ in range(tries):
        cut = raw.rfind(",", 0, cut)
        if cut <= 0:
            return None
        try:
            data = json.loads(raw[:cut] + "}}")
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("arguments"), dict) and data.get("tool") != RESPOND:
            return data
    return None


def parse_tool_reply(raw: str) -> AIMessage:
    """Turn the grammar-constrained JSON into an AIMessage (text or one tool call)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        # The grammar makes this rare: only when max_tokens cut the object short, typically a
        # runaway optional argument. Keep the complete arguments before it.
        data = _repair_truncated(raw)
        if data is None:
            return AIMessage(content="Sorry, I lost my train of thought there. Could you say that again, a little shorter?")
    name = data.get("tool")
    args = data.get("arguments") or {}
    if name == RESPOND:
        return AIMessage(content=str(args.get("text", "")).strip())
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}])
