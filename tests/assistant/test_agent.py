"""The agent with a scripted chat model: routing to real tools, artifacts, errors, memory across restarts."""

from __future__ import annotations

import sqlite3

import pytest
from langchain_core.messages import HumanMessage, ToolMessage

from assistant import Assistant, AssistantError
from core.settings import Settings
from tests.support import SHARED_DATA
from tests.support.fake_chat import ScriptedChatModel, call, say


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path / "home", _env_file=None)


def make(settings, *replies, tools=("render_music", "analyze_audio")):
    model = ScriptedChatModel.of(*replies)
    return Assistant(settings, chat_model=model, tools=list(tools)), model


def test_tool_call_runs_the_real_tool_and_returns_its_files(settings):
    assistant, model = make(settings, call("render_music", source="C G Am F", tempo=100, instrument="piano"),
                            say("Here are your four chords on piano."))
    reply = assistant.chat("play C G Am F on piano at 100 bpm", thread_id="t1")

    assert reply.text == "Here are your four chords on piano."
    assert [s.name for s in reply.steps] == ["render_music"] and reply.steps[0].ok
    # where the seconds went: the model's decision, the tool, the closing reply
    t = reply.timings
    assert t and t.tools > 0 and t.total >= t.decision + t.tools and t.model_calls == 0   # no embedded model here
    audio = reply.files_of("audio")
    assert audio and all(f.path.exists() and f.path.stat().st_size > 1000 for f in audio)
    assert reply.files_of("midi")
    # every file is under this thread's output folder
    assert all(settings.outputs / "t1" in f.path.parents for f in reply.files)
    # the model saw a short summary, never the artifact
    tool_msgs = [m for m in model.seen[-1] if isinstance(m, ToolMessage)]
    assert "Rendered" in tool_msgs[0].content and str(audio[0].path) not in tool_msgs[0].content
    assert model.bound_tools == ["render_music", "analyze_audio"]


def test_stream_yields_progress_events_then_the_reply(settings):
    assistant, _ = make(settings, call("render_music", source="Am F C G"), say("Done."))
    events = list(assistant.stream("render Am F C G", thread_id="t2"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "tool_started" and events[0].tool == "render_music"
    assert "tool_finished" in kinds and kinds[-1] == "reply"
    assert events[-1].reply.text == "Done."


def test_tool_error_goes_back_to_the_model_and_the_thread_survives(settings, tmp_path):
    bogus = tmp_path / "not-audio.wav"
    bogus.write_text("this is not a wav file")
    assistant, model = make(settings, call("analyze_audio", path=str(bogus)),
                            say("That file is not audio I can read; please send a WAV, FLAC, OGG or MP3."),
                            say("Still here."))
    reply = assistant.chat("what key is this?", thread_id="t3", attachments=[bogus])
    assert not reply.steps[0].ok
    error_msg = [m for m in model.seen[-1] if isinstance(m, ToolMessage)][0]
    assert error_msg.status == "error" and "Traceback" not in error_msg.content and error_msg.content
    assert "not audio" in reply.text
    # the conversation goes on in the same thread, with the failed turn remembered
    assert assistant.chat("are you there?", thread_id="t3").text == "Still here."
    assert [r for r, _ in assistant.history("t3")] == ["user", "assistant", "user", "assistant"]


def test_chit_chat_needs_no_tool(settings):
    assistant, _ = make(settings, say("Hi! I can write songs, analyse clips and more."))
    reply = assistant.chat("hello", thread_id="t4")
    assert reply.steps == () and reply.files == () and reply.text.startswith("Hi!")


def test_memory_survives_a_restart_and_threads_stay_apart(settings):
    first, _ = make(settings, say("Nice to meet you, Ada."))
    first.chat("my name is Ada", thread_id="discord:1")
    del first

    # a new process would open the same SQLite file: the old turn is part of what the model sees
    second, model = make(settings, say("Your name is Ada."), say("I don't know your name yet."))
    second.chat("what is my name?", thread_id="discord:1")
    shown = [m.content for m in model.seen[-1] if isinstance(m, HumanMessage)]
    assert shown == ["my name is Ada", "what is my name?"]
    second.chat("what is my name?", thread_id="discord:2")
    assert [m.content for m in model.seen[-1] if isinstance(m, HumanMessage)] == ["what is my name?"]
    # the memory really is a SQLite file under BANDMATE_HOME
    with sqlite3.connect(settings.memory_db) as conn:
        threads = {row[0] for row in conn.execute("select distinct thread_id from checkpoints")}
    assert {"discord:1", "discord:2"} <= threads


def test_missing_attachment_is_one_clear_sentence(settings, tmp_path):
    assistant, _ = make(settings, say("unused"))
    with pytest.raises(AssistantError, match="does not exist"):
        assistant.chat("analyse this", attachments=[tmp_path / "nope.wav"])


def test_runaway_tool_calls_stop_at_the_limit(settings):
    settings = settings.model_copy(update={"max_tool_steps": 2})
    loop = [call("render_music", source="C") for _ in range(6)]
    assistant, _ = make(settings, *loop, say("unreachable"))
    reply = assistant.chat("loop forever", thread_id="t5")
    assert len([s for s in reply.steps if s.ok]) == 2
    assert reply.text  # the user gets an answer, not an exception


def test_unknown_tool_name_from_the_model_is_reported_back(settings):
    assistant, model = make(settings, call("make_coffee", size="large"), say("I can't make coffee, but I can write a song."))
    reply = assistant.chat("make me coffee", thread_id="t6")
    assert "coffee" in reply.text
    err = [m for m in model.seen[-1] if isinstance(m, ToolMessage)][0]
    assert err.status == "error"


TRUMPET = SHARED_DATA / "audio/sorohanro_-_solo-trumpet-06.ogg"


@pytest.mark.skipif(not TRUMPET.exists(), reason="needs ../shared/data/audio")
def test_every_capability_through_the_agent(settings):
    """Each agent tool runs for real; only the LLM's words are scripted."""
    from tests.support.fakes import ScriptedTextGenerator
    from tests.support.song_replies import WHOLE_SONG

    writer = ScriptedTextGenerator([*WHOLE_SONG, "A calm ambient piece led by soft piano.", "It sounds lively."])
    model = ScriptedChatModel.of(
        call("write_lyrics", prompt="leaving home", mood="sad"), say("Lyrics done."),
        call("classify_genre", lyrics="pickup truck down a dirt road, whiskey and my old guitar"), say("Genre done."),
        call("suggest_chords", genre="jazz", bars=4), say("Chords done."),
        call("caption_tags", tags=["piano", "calm", "ambient"]), say("Caption done."),
        call("analyze_audio", path=str(TRUMPET)), say("Analysis done."),
        call("answer_audio_question", path=str(TRUMPET), question="What is the tempo?"), say("Answer done."),
    )
    assistant = Assistant(settings, chat_model=model, text_generator=writer)
    steps = {}
    for text in ["lyrics", "genre", "chords", "caption", "analyze", "question"]:
        reply = assistant.chat(text, thread_id="all")
        assert reply.steps and reply.steps[0].ok, reply.steps
        steps[reply.steps[0].name] = reply.steps[0]
    assert "Leave the porch light on for me" in steps["write_lyrics"].display
    assert steps["classify_genre"].summary.startswith("Most likely genres: country")
    assert "7" in steps["suggest_chords"].display  # jazz chords are sevenths
    assert steps["caption_tags"].display == "A calm ambient piece led by soft piano."
    assert "F" in steps["analyze_audio"].summary and steps["analyze_audio"].files[0].kind == "json"
    assert "BPM" in steps["answer_audio_question"].display


def test_search_similar_reads_the_users_clip_index(settings, tmp_path):
    from index import ClipIndex
    from tools.rendering.render import render_any

    clip = next(f.path for f in render_any("Am F C G", tmp_path / "clips", tempo=80, instrument="piano").files
                if f.path.suffix == ".wav")
    with ClipIndex(settings.home) as idx:
        assert idx.add([clip], progress=False).added
    assistant, model = make(settings, call("search_similar", query="calm piano"), say("Here is what I found."),
                            tools=["search_similar"])
    reply = assistant.chat("find calm piano in my music", thread_id="search")
    assert reply.steps[0].ok and clip.name in reply.steps[0].display
    empty, _ = make(settings, call("search_similar"), say("Tell me what to look for."), tools=["search_similar"])
    assert not empty.chat("search", thread_id="s2").steps[0].ok
