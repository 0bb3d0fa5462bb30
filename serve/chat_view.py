"""One answer of the web chat as Gradio chat messages, growing as :meth:`Assistant.stream` events arrive.

A tool that starts becomes a collapsible "thought" with a spinner; when it finishes the spinner becomes
✓ or ✗ with what the tool told the person (or its one-sentence error). The reply's text follows, then its
files: a player per recording, every PNG picture (piano roll, engraved lead sheet), and downloads.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import gradio as gr

from assistant.api import Event, Reply
from core.outputs import OutputFile

#: Files offered for download (audio is also played inline; pictures are shown).
DOWNLOAD_KINDS = ("midi", "score", "audio", "json")
#: Among several encodings of one recording, the one the page plays.
PLAYER_PREFERENCE = (".ogg", ".mp3", ".flac", ".wav")
#: Pictures shown inline.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Where Gradio serves a file from an allowed folder.
FILE_ROUTE = "/gradio_api/file="


def tool_label(name: str) -> str:
    """A tool's name as words for the progress line (render_music -> render music)."""
    return name.replace("_", " ")


@dataclass
class _Step:
    tool: str
    started: float
    message: gr.ChatMessage


@dataclass
class AnswerView:
    """The messages of one answer so far; :meth:`apply` each event, then show :meth:`messages`."""

    steps: list[_Step] = field(default_factory=list)
    reply: Reply | None = None

    def apply(self, event: Event) -> None:
        """Update from one assistant event."""
        if event.kind == "tool_started" and event.tool:
            title = f"{tool_label(event.tool)}…"
            message = gr.ChatMessage(role="assistant", content="", metadata={"title": title, "status": "pending"})
            self.steps.append(_Step(event.tool, time.monotonic(), message))
        elif event.kind == "tool_finished" and event.step:
            step = event.step
            running = next((s for s in self.steps if s.tool == step.name and s.message.metadata["status"] == "pending"),
                           None)
            if running is None:
                running = _Step(step.name, time.monotonic(), gr.ChatMessage(role="assistant", content="", metadata={}))
                self.steps.append(running)
            mark = "✓" if step.ok else "✗"
            running.message.metadata = {"title": f"{mark} {tool_label(step.name)}",
                                        "duration": round(time.monotonic() - running.started, 1)}
            if step.ok:  # a finished step folds away; a failed one stays open, so its one sentence shows
                running.message.metadata["status"] = "done"
            running.message.content = (step.display or step.summary) if step.ok else step.summary
        elif event.kind == "reply":
            self.reply = event.reply

    def messages(self) -> list[gr.ChatMessage]:
        """Progress lines, then (once the reply is in) its text and files."""
        shown = [s.message for s in self.steps]
        if self.reply is None:
            return shown
        # A failed step already shows its sentence, open; a finished one folds its words away, so they are said again.
        said = {(s.message.content or "").strip() for s in self.steps if s.message.metadata.get("status") != "done"}
        if self.reply.text.strip() and self.reply.text.strip() not in said:
            shown.append(gr.ChatMessage(role="assistant", content=self.reply.text))
        return shown + file_messages(self.reply.files)

    def song_folder(self) -> Path | None:
        """The folder of the song or render this answer made (what 👍/👎 rates), or None."""
        for f in self.reply.files if self.reply else ():
            if f.kind in ("audio", "midi"):
                return f.path.parent
        return None


def file_messages(files: tuple[OutputFile, ...] | list[OutputFile]) -> list[gr.ChatMessage]:
    """A player per recording, each picture, then one downloads list (MIDI, MusicXML, audio, JSON, SVG)."""
    out = [gr.ChatMessage(role="assistant", content=gr.HTML(audio_player(f))) for f in players(files)]
    out += [gr.ChatMessage(role="assistant", content=gr.Image(value=str(f.path), label=_caption(f), buttons=["download"]))
            for f in pictures(files)]
    downloads = [str(f.path) for f in files
                 if f.kind in DOWNLOAD_KINDS or (f.kind == "image" and f.path.suffix.lower() not in PICTURE_SUFFIXES)]
    if downloads:
        out.append(gr.ChatMessage(role="assistant", content=gr.File(value=downloads, label="Downloads")))
    return out


def pictures(files: tuple[OutputFile, ...] | list[OutputFile]) -> list[OutputFile]:
    """The pictures shown inline: every PNG (or JPEG) a tool made, such as the piano roll and the engraved lead
    sheet; an SVG copy of one is offered as a download instead."""
    return [f for f in files if f.kind == "image" and f.path.suffix.lower() in PICTURE_SUFFIXES]


def players(files: tuple[OutputFile, ...] | list[OutputFile]) -> list[OutputFile]:
    """One audio file per recording (same folder and name), the most compact encoding the browser plays."""
    best: dict[Path, OutputFile] = {}
    for f in files:
        if f.kind != "audio" or f.path.suffix.lower() not in PLAYER_PREFERENCE:
            continue
        key = f.path.with_suffix("")
        held = best.get(key)
        if held is None or PLAYER_PREFERENCE.index(f.path.suffix.lower()) < PLAYER_PREFERENCE.index(held.path.suffix.lower()):
            best[key] = f
    return list(best.values())


def audio_player(f: OutputFile) -> str:
    """The browser's own audio player for a file the app serves (its folder is one of Gradio's allowed paths)."""
    src = html.escape(FILE_ROUTE + quote(str(f.path.resolve())))
    return (f'<figure class="bandmate-audio"><figcaption>{html.escape(_caption(f))}</figcaption>'
            f'<audio controls preload="metadata" src="{src}"></audio></figure>')


def _caption(f: OutputFile) -> str:
    return f"{f.path.parent.name}/{f.path.name}"
