"""``bandmate serve web``: a local web chat over the same :class:`Assistant` the CLI and the bots use.

Built on Gradio's Blocks: a chat with a message box that takes an audio (or MIDI) upload, tool progress as
it happens, players, pictures and downloads inline, 👍/👎 on a song (stored in the one ratings store,
:mod:`tools.feedback`), and a "New conversation" button. Each browser session is one conversation thread,
so the agent's memory and the thread's song carry from one message to the next.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from assistant.api import Assistant, AssistantError
from assistant.context import ToolContext
from core.errors import ToolError
from serve.chat_view import AnswerView
from serve.network import check_listen_address
from serve.uploads import DEFAULT_MAX_BYTES, check_upload, keep_upload
from tools import feedback

log = logging.getLogger(__name__)

RATING_SOURCE = "web"
PLACEHOLDER = "Ask for a song, type chords to hear (\"render C G Am F on piano\"), or drop an audio clip and ask about it."


@dataclass(frozen=True)
class WebOptions:
    """Where the web app listens and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 7860
    allow_remote: bool = False
    max_upload_bytes: int = DEFAULT_MAX_BYTES


@dataclass
class WebSession:
    """One browser session: its conversation thread, its chat so far, and which messages carry which song."""

    user_id: str
    thread_id: str
    messages: list[gr.ChatMessage] = field(default_factory=list)
    songs: dict[int, str] = field(default_factory=dict)  # chat message index -> song folder, for 👍/👎

    @classmethod
    def start(cls, user_id: str) -> "WebSession":
        """A fresh conversation for the browser session ``user_id``."""
        return cls(user_id=user_id, thread_id=f"web:{uuid.uuid4().hex[:12]}")


class WebChat:
    """The handlers behind the page; each takes and returns the session's :class:`WebSession`."""

    def __init__(self, assistant: Assistant, options: WebOptions) -> None:
        self.assistant = assistant
        self.options = options

    def answer(self, message: dict, session: WebSession | None,
               request: gr.Request) -> Iterator[tuple[list[gr.ChatMessage], dict, WebSession]]:
        """Answer one message (text plus any uploaded files), showing progress as the tools run."""
        session = session or WebSession.start(request.session_hash or "browser")
        text = (message or {}).get("text", "").strip()
        uploads = [Path(f if isinstance(f, str) else f["path"]) for f in (message or {}).get("files", [])]
        cleared = {"text": "", "files": []}
        if not text and not uploads:
            yield session.messages, cleared, session
            return
        try:
            kept = [self._keep(path, session) for path in uploads]
        except ToolError as exc:
            said = " ".join([f"📎 {p.name}" for p in uploads] + [text])
            session.messages += [_user(said.strip()), _error(str(exc))]
            yield session.messages, cleared, session
            return
        session.messages += [gr.ChatMessage(role="user", content={"path": str(p)}) for p in kept]
        if text:
            session.messages.append(_user(text))
        yield session.messages, cleared, session
        view = AnswerView()
        start = len(session.messages)
        try:
            for event in self.assistant.stream(text or "What can you tell me about this file?", session.thread_id,
                                               attachments=kept):
                view.apply(event)
                yield session.messages + view.messages(), cleared, session
            shown = view.messages()
            self.assistant.read_ahead_in_background(session.thread_id)   # while the person reads the reply
        except (AssistantError, ToolError) as exc:
            shown = view.messages() + [_error(str(exc))]
        except Exception as exc:  # a bug, not the person's doing: say so, keep the page alive
            log.exception("web request in %s failed", session.thread_id)
            shown = view.messages() + [_error(f"Sorry, something went wrong on my side ({type(exc).__name__}); "
                                              "please try again.")]
        session.messages += shown
        folder = view.song_folder()
        if folder is not None:
            session.songs.update({i: str(folder) for i in range(start, len(session.messages))})
        yield session.messages, cleared, session

    def rate(self, data: gr.LikeData, session: WebSession | None) -> None:
        """Store 👍/👎 on the song a message carries, in the ratings store the bots and `bandmate rate` use."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        folder = session.songs.get(index) if session else None
        if folder is None:
            gr.Info("Only a song or a render can be rated; that message has none.")
            return
        rating = 1 if data.liked is True or data.liked == "Like" else -1
        try:
            feedback.record_rating(self.assistant.settings.home_dir, source=RATING_SOURCE, rating=rating,
                                   chords=feedback.song_chords(folder, missing_ok=True), thread_id=session.thread_id,
                                   message_id=f"{session.thread_id}:{index}", user_id=session.user_id,
                                   song_folder=folder)
        except ToolError as exc:
            gr.Warning(str(exc))
            return
        gr.Info(f"Thanks, your thumbs {'up' if rating > 0 else 'down'} is saved.")

    def new_conversation(self, session: WebSession | None,
                         request: gr.Request) -> tuple[list[gr.ChatMessage], WebSession]:
        """Start over: a new thread with its own memory and no current song."""
        fresh = WebSession.start(session.user_id if session else (request.session_hash or "browser"))
        return fresh.messages, fresh

    def _keep(self, path: Path, session: WebSession) -> Path:
        check_upload(path, path.name, self.options.max_upload_bytes)
        outputs = self.assistant.settings.outputs
        folder = ToolContext(outputs=outputs, text_generator=lambda: None).thread_dir(session.thread_id) / "uploads"
        return keep_upload(path, path.name, folder)


def build_web_app(assistant: Assistant, options: WebOptions = WebOptions()) -> gr.Blocks:
    """The page: chat, message box with upload, and a New conversation button, wired to ``assistant``."""
    chat = WebChat(assistant, options)
    with gr.Blocks(title="bandmate", analytics_enabled=False) as app:
        gr.Markdown("## bandmate\nA music assistant on your own computer. Rate a song or a render with the thumbs "
                    "under it; that teaches bandmate's chord model.")
        session = gr.State(None)
        chatbot = gr.Chatbot(elem_id="chat", height="70vh", placeholder=PLACEHOLDER, feedback_options=("Like", "Dislike"),
                             buttons=["copy"], show_label=False)
        box = gr.MultimodalTextbox(elem_id="message", placeholder=PLACEHOLDER, file_count="single",
                                   sources=["upload"], show_label=False, autofocus=True)
        new = gr.Button("New conversation", elem_id="new-conversation", variant="secondary", size="sm")
        box.submit(chat.answer, [box, session], [chatbot, box, session], show_progress="hidden")
        chatbot.like(chat.rate, [session], None)
        new.click(chat.new_conversation, [session], [chatbot, session])
        chatbot.clear(chat.new_conversation, [session], [chatbot, session])  # the chat's own bin button, too
    return app


def launch(app: gr.Blocks, assistant: Assistant, options: WebOptions, *, block: bool = True) -> gr.Blocks:
    """Serve ``app`` on ``options.host:options.port`` (checked first); with ``block=False`` return at once."""
    check_listen_address(options.host, options.port, allow_remote=options.allow_remote)
    app.queue(default_concurrency_limit=1)  # one request at a time: the tools are CPU-bound
    app.launch(server_name=options.host, server_port=options.port, prevent_thread_lock=not block, share=False,
               allowed_paths=[str(assistant.settings.outputs)], max_file_size=4 * options.max_upload_bytes,
               show_error=False, footer_links=[], ssr_mode=False, quiet=True, inbrowser=False)
    return app


def serve_web(assistant: Assistant, options: WebOptions = WebOptions(),
              on_ready: Callable[[str], None] | None = None) -> None:
    """Run the web app until interrupted (the CLI's ``bandmate serve web``); ``on_ready`` gets its address."""
    check_listen_address(options.host, options.port, allow_remote=options.allow_remote)
    assistant.warm_up(songs=True)  # a configuration problem shows now, as one sentence; the first song is quick
    app = launch(build_web_app(assistant, options), assistant, options, block=False)
    if on_ready is not None:
        on_ready(app.local_url or f"http://{options.host}:{options.port}/")
    app.block_thread()


def _user(text: str) -> gr.ChatMessage:
    return gr.ChatMessage(role="user", content=text)


def _error(sentence: str) -> gr.ChatMessage:
    return gr.ChatMessage(role="assistant", content=f"⚠ {sentence}")
