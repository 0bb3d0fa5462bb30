"""An answer as web chat messages, built from a real assistant's events (real tools, the routed fake model)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import gradio as gr

from core.outputs import OutputFile
from serve.chat_view import FILE_ROUTE, AnswerView, players
from tests.serve.scripted import web_assistant


def snapshots(assistant, text: str, thread: str) -> tuple[AnswerView, list[list[gr.ChatMessage]]]:
    view, seen = AnswerView(), []
    for event in assistant.stream(text, thread_id=thread):
        view.apply(event)
        seen.append([(m.metadata.get("title"), m.metadata.get("status"), m.content) for m in view.messages()])
    return view, seen


def test_progress_shows_while_the_tool_runs_then_the_files(home):
    view, seen = snapshots(web_assistant(home), "render C G Am F on piano", "web:test")
    assert seen[0] == [("render music…", "pending", "")]  # shown before the tool has finished
    assert seen[1][0][:2] == ("✓ render music", "done") and "Rendered 10.0 s" in seen[1][0][2]
    final = view.messages()
    players_html = [m.content.value for m in final if isinstance(m.content, gr.HTML)]
    assert len(players_html) == 1  # one player for the recording, though it exists as WAV and OGG
    src = unquote(re.search(r'<audio controls preload="metadata" src="([^"]+)"', players_html[0]).group(1))
    assert src.startswith(FILE_ROUTE) and src.endswith("song.ogg") and Path(src[len(FILE_ROUTE):]).is_file()
    made = {f.path.name for f in view.reply.files}
    shown = [Path(m.content.value["path"]).name for m in final if isinstance(m.content, gr.Image)]
    assert "piano-roll.png" in shown and set(shown) == {name for name in made if name.endswith(".png")}
    downloads = next(m.content for m in final if isinstance(m.content, gr.File))
    assert {"song.mid", "song.ogg", "song.wav"} <= {Path(f["path"]).name for f in downloads.value}
    assert view.song_folder() == Path(src[len(FILE_ROUTE):]).parent


def test_a_failed_tool_stays_open_with_its_one_sentence(home):
    view, _ = snapshots(web_assistant(home), "render C H# F on piano", "web:test")
    step = view.messages()[0]
    assert step.metadata["title"] == "✗ render music" and "status" not in step.metadata
    assert step.content.startswith("'H#' is not a chord symbol") and step.content.count(". ") == 0
    assert view.song_folder() is None


def test_the_player_prefers_the_compressed_copy_of_each_recording(tmp_path):
    files = [OutputFile.of(tmp_path / name) for name in ("a/song.wav", "a/song.ogg", "b/take.wav", "a/song.mid")]
    assert [f.path.relative_to(tmp_path).as_posix() for f in players(files)] == ["a/song.ogg", "b/take.wav"]
