"""The embedded backend: the tool-call grammar and its parsing (fast), and the real GGUF model end to end (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from assistant.context import ToolContext
from assistant.tool_calls import (
    RESPOND,
    _tools_still_allowed,
    drop_ungrounded_args,
    offered_arguments,
    parse_tool_reply,
    tool_call_schema,
    tools_prompt,
)
from assistant.toolkit import build_toolkit
from core.settings import Settings


@pytest.fixture(scope="module")
def openai_tools(tmp_path_factory):
    ctx = ToolContext(outputs=tmp_path_factory.mktemp("out"), text_generator=lambda: None)
    return [convert_to_openai_tool(t) for t in build_toolkit(ctx)]


def test_schema_offers_every_tool_and_respond(openai_tools):
    schema = tool_call_schema(openai_tools)
    names = [opt["properties"]["tool"]["const"] for opt in schema["anyOf"]]
    assert names[-1] == RESPOND and set(names[:-1]) == {t["function"]["name"] for t in openai_tools}
    caption = next(o for o in schema["anyOf"] if o["properties"]["tool"]["const"] == "caption_tags")
    assert caption["properties"]["arguments"]["required"] == ["tags"]
    # a closed set of instructions is an enum the grammar enforces
    assert "prediction_attribute" in json.dumps(caption["properties"]["arguments"]["properties"]["instruction"])


def test_grammar_compiles_for_the_whole_toolkit(openai_tools):
    llama_cpp = pytest.importorskip("llama_cpp")
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(tool_call_schema(openai_tools)), verbose=False)
    assert grammar is not None


def test_tools_prompt_lists_arguments_compactly(openai_tools):
    text = tools_prompt(openai_tools)
    assert "- compose_song:" in text and '"prompt" (string, required)' in text
    assert len(text) < 6000  # it is read on every call by a small model on 2 cores


def test_parse_reply_into_tool_calls_or_text():
    call = parse_tool_reply('{"tool": "analyze_audio", "arguments": {"path": "/a.wav"}}')
    assert call.tool_calls[0]["name"] == "analyze_audio" and call.tool_calls[0]["args"] == {"path": "/a.wav"}
    text = parse_tool_reply('{"tool": "respond", "arguments": {"text": " Hello! "}}')
    assert text.content == "Hello!" and not text.tool_calls
    cut = parse_tool_reply('{"tool": "respond", "arguments": {"text": "Hel')
    assert not cut.tool_calls and "again" in cut.content
    # a runaway optional argument cut off by max_tokens: the complete arguments before it survive
    runaway = parse_tool_reply('{"tool": "compose_song", "arguments": {"prompt": "a sad folk song", "genre": "folk", '
                               '"lyrics": "I\'ll miss the sun, I\'ll miss the rain, I\'ll miss')
    assert runaway.tool_calls[0]["args"] == {"prompt": "a sad folk song", "genre": "folk"}


def test_guessed_optional_arguments_are_dropped():
    schema = {"required": ["prompt"]}
    args = {"prompt": "leaving home", "genre": "folk", "mood": "sad", "key": "A minor", "tempo": 120, "length_seconds": 300}
    assert drop_ungrounded_args(args, schema, "write me a sad folk song about leaving home") == {
        "prompt": "leaving home", "genre": "folk", "mood": "sad"}
    kept = drop_ungrounded_args({"prompt": "x", "length_seconds": 180, "key": "E minor"}, schema,
                                "a three minute song in E minor")
    assert kept == {"prompt": "x", "length_seconds": 180, "key": "E minor"}


def test_the_model_is_not_offered_arguments_the_message_cannot_fill(openai_tools):
    """What drop_ungrounded_args would throw away is not written at all: no invented verse, tempo or yes/no."""
    def offered(text: str) -> dict:
        compose = next(t for t in offered_arguments(openai_tools, text) if t["function"]["name"] == "compose_song")
        return compose["function"]["parameters"]["properties"]

    plain = offered("write me a sad folk song about leaving home")
    assert "prompt" in plain and "genre" in plain and "key" in plain
    assert "lyrics" not in plain and "tempo" not in plain and "length_seconds" not in plain
    assert not any(v.get("type") == "boolean" for v in plain.values())
    assert "tempo" in offered("a folk song at 90 bpm") and "length_seconds" in offered("a two minute song")
    assert "lyrics" in offered("put these lyrics to music:\nwe ride at dawn\nthe road is long\nand home is gone")
    full = next(t for t in openai_tools if t["function"]["name"] == "compose_song")["function"]["parameters"]
    assert "lyrics" in full["properties"] and "tempo" in full["properties"]     # the tools themselves unchanged
    schema = tool_call_schema(offered_arguments(openai_tools, "hi"))
    for option in schema["anyOf"][:-1]:                                        # required arguments always stay
        args = option["properties"]["arguments"]
        assert set(args.get("required", [])) <= set(args.get("properties", {}))


def test_a_theme_copied_from_a_tool_description_becomes_the_users_words():
    schema = {"required": ["prompt"]}
    user = "write and record a blues song in E minor about losing my job\n\nAttached files: /tmp/a.ogg"
    assert drop_ungrounded_args({"prompt": "my first car", "genre": "blues"}, schema, user) == {
        "prompt": "write and record a blues song in E minor about losing my job", "genre": "blues"}
    assert drop_ungrounded_args({"prompt": "losing the job"}, schema, user) == {"prompt": "losing the job"}


def test_a_tool_that_answered_is_not_offered_again_in_the_same_turn(openai_tools):
    msgs = [HumanMessage("render C G"), AIMessage(content="", tool_calls=[{"name": "render_music", "args": {}, "id": "1"}]),
            ToolMessage("ok", tool_call_id="1", name="render_music")]
    allowed = {t["function"]["name"] for t in _tools_still_allowed(msgs, openai_tools)}
    assert "render_music" not in allowed and "caption_tags" in allowed
    msgs.append(HumanMessage("again please"))
    assert "render_music" in {t["function"]["name"] for t in _tools_still_allowed(msgs, openai_tools)}


def test_after_a_tool_the_reply_is_what_the_tool_shows_without_running_the_model(openai_tools, tmp_path):
    from assistant.local_llm import ChatLocalGGUF

    model = ChatLocalGGUF(model_path=str(tmp_path / "never-loaded.gguf"))   # loading it would fail
    msgs = [HumanMessage("write lyrics about rain"),
            AIMessage(content="", tool_calls=[{"name": "write_lyrics", "args": {}, "id": "1"}]),
            ToolMessage("Wrote lyrics (2 sections): ...", tool_call_id="1", name="write_lyrics",
                        artifact={"display": "[Verse]\nRain on the roof"})]
    reply = model.invoke(msgs, tools=openai_tools)
    assert reply.content == "[Verse]\nRain on the roof" and not reply.tool_calls
    failed = msgs[:2] + [ToolMessage("song.mid does not exist; check the path.", tool_call_id="1", status="error")]
    assert model.invoke(failed, tools=openai_tools).content == "song.mid does not exist; check the path."


def test_threads_follow_the_idle_cores():
    import os

    from assistant.local_llm import free_cores

    assert 1 <= free_cores(0.05) <= (os.cpu_count() or 1)


def test_a_new_turn_does_not_reuse_a_stale_count_of_idle_cores():
    """Measured at most every 5 s within a turn (the lyrics' dozen calls); a turn starts with a new measure."""
    import time

    from assistant import local_llm

    stale = time.monotonic()
    local_llm._FREE_CORES[:] = [(stale, 1)]         # taken while another process was busy
    assert local_llm._recent_free_cores() == 1      # reused within the turn
    local_llm.measure_cores_afresh()
    local_llm._recent_free_cores()
    assert local_llm._FREE_CORES[0][0] > stale


# -- the real embedded model (minutes on 2 cores) -----------------------------
@pytest.fixture(scope="module")
def local_model():
    from assistant.llm import make_chat_model

    return make_chat_model(Settings(_env_file=None))


@pytest.mark.slow
@pytest.mark.parametrize("text,tool", [
    ("write me a sad folk song about leaving home", "compose_song"),
    ("caption these tags: piano, calm, ambient", "caption_tags"),
    ("What key is this clip in?\n\nAttached files: /tmp/clip.ogg", "analyze_audio"),
    ("hi, what can you do?", None),
])
def test_embedded_model_routes_requests(local_model, openai_tools, text, tool):
    from assistant.agent import system_prompt

    reply = local_model.bind_tools(openai_tools).invoke([SystemMessage(system_prompt()), HumanMessage(text)])
    assert (reply.tool_calls[0]["name"] if reply.tool_calls else None) == tool
    if tool is None:
        assert reply.content.strip()


@pytest.mark.slow
def test_embedded_model_trims_history_to_fit_the_context(local_model, openai_tools):
    long_turns = []
    for i in range(40):
        long_turns += [HumanMessage(f"turn {i}: " + "tell me about chords " * 30), AIMessage(content="Chords are notes together. " * 20)]
    prompt = local_model.build_prompt([SystemMessage("sys"), *long_turns, HumanMessage("last")], openai_tools, reserve=400)
    assert local_model.count_tokens(prompt) <= local_model.n_ctx - 400
    assert "last" in prompt and "turn 0:" not in prompt


@pytest.mark.slow
def test_ask_end_to_end_on_the_embedded_model(tmp_path):
    """The README's main job: the CLI asks the embedded model for a song and gets real files."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDMATE_")}
    env["BANDMATE_OUTPUT_DIR"] = str(tmp_path / "out")
    proc = subprocess.run([sys.executable, "-m", "cli.app", "ask", "write me a sad folk song about leaving home"],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = list(Path(tmp_path / "out").rglob("*"))
    assert any(p.suffix == ".wav" for p in made) and any(p.suffix == ".mid" for p in made)
    assert "compose_song" in proc.stdout


def test_file_tools_are_offered_only_when_the_message_has_a_file(openai_tools):
    def names(text):
        return {t["function"]["name"] for t in _tools_still_allowed([HumanMessage(text)], openai_tools)}

    assert "analyze_audio" not in names("what is a minor key?")
    assert "answer_audio_question" not in names("describe music with violin, sad, slow")
    assert {"analyze_audio", "answer_audio_question", "caption_audio"} <= names("what key?\n\nAttached files: /tmp/a.ogg")
    assert "analyze_audio" in names("get me the bpm of /tmp/clips/demo.wav")
    assert "compose_song" in names("hello") and "search_similar" in names("find calm piano in my music")


def test_the_lyrics_classifier_is_offered_only_when_the_message_holds_lyrics(openai_tools):
    def offered(text):
        return "classify_genre" in {t["function"]["name"] for t in _tools_still_allowed([HumanMessage(text)], openai_tools)}

    assert not offered("Do you know what a minor key is?")
    assert not offered("what mood does this music have?\n\nAttached files: /tmp/waltz.ogg, /tmp/other.ogg")
    assert not offered("What genre is 'Hey Jude'?")  # a title, not lyrics
    assert offered("classify the genre of: 'We rise from the ashes, steel in our veins'")
    assert offered("what genre is this: we rise from the ashes with steel in our veins")
    assert offered("Which genre?\nI walk the line\nBecause you're mine\nI keep my eyes wide open")
    assert offered("genre of “the wheels on the bus go round and round”")


def _offered(openai_tools, *messages):
    from assistant.tool_calls import _tools_still_allowed

    return {t["function"]["name"] for t in _tools_still_allowed(list(messages), openai_tools)}


def test_a_message_about_the_current_song_is_not_offered_tools_that_make_new_things(openai_tools):
    from langchain_core.messages import HumanMessage

    from assistant.tool_calls import STATE_MESSAGE

    state = HumanMessage('Current song: "Goodbye" (version 1): folk, D minor.', name=STATE_MESSAGE)
    about_it = _offered(openai_tools, state, HumanMessage("give me new chords for the chorus"))
    assert {"revise_song", "recall"} <= about_it and not about_it & {"compose_song", "suggest_chords", "write_lyrics"}
    new_request = _offered(openai_tools, state, HumanMessage("now write me a jazz song about coffee"))
    assert "compose_song" in new_request
    lyrics_only = HumanMessage('Last lyrics written: "Goodbye".', name=STATE_MESSAGE)
    assert "compose_song" in _offered(openai_tools, lyrics_only, HumanMessage("make it a folk song"))


def test_lyrics_are_offered_only_when_words_are_asked_for(openai_tools):
    from langchain_core.messages import HumanMessage

    assert "write_lyrics" not in _offered(openai_tools, HumanMessage("write a blues song about the rain"))
    assert "write_lyrics" in _offered(openai_tools, HumanMessage("write lyrics about the moon"))
    assert "write_lyrics" in _offered(openai_tools, HumanMessage("a verse and chorus about city lights"))


def test_edits_without_it_and_with_no_song_yet(openai_tools):
    from langchain_core.messages import HumanMessage

    from assistant.tool_calls import STATE_MESSAGE, drop_ungrounded_args

    state = HumanMessage('Current song: "Goodbye" (version 1): folk, D minor.', name=STATE_MESSAGE)
    assert "compose_song" not in _offered(openai_tools, state, HumanMessage("no drums please"))
    assert "compose_song" not in _offered(openai_tools, HumanMessage("make it faster"))   # -> "no song yet"
    assert "compose_song" in _offered(openai_tools, HumanMessage("write a song and make it sad"))
    clip = HumanMessage("Last clip: trumpet.ogg (Tempo: about 96 BPM.)", name=STATE_MESSAGE)
    assert "suggest_chords" not in _offered(openai_tools, clip, HumanMessage("what chords did you hear in the clip?"))
    schema = {"properties": {"request": {"type": "string"}}, "required": ["request"]}
    assert drop_ungrounded_args({"request": "make it faster"}, schema, "make it 120 bpm") == {"request": "make it 120 bpm"}


def test_earlier_turns_are_read_in_brief_and_the_current_turn_whole():
    from assistant.local_llm import compact_history
    from assistant.tool_calls import STATE_MESSAGE

    chart = 'Made the song "Goodbye": folk, D minor, 82 BPM.\nVerse 1: Dm Gm Dm Dm\nChorus: Dm A Dm Gm'
    call = AIMessage(content="", tool_calls=[{"name": "compose_song", "args": {"prompt": "a folk song"}, "id": "c1"}])
    earlier = [
        HumanMessage("write me a folk song"), call,
        ToolMessage(chart, tool_call_id="c1", name="compose_song"),
        AIMessage(content='"Goodbye": folk, D minor, 82 BPM.\n\n[Verse 1]\nThe road runs out of town\n' + "la " * 400),
        HumanMessage("Current song: \"Goodbye\" (version 1)", name=STATE_MESSAGE),
        HumanMessage("make it faster"),
        AIMessage(content="Made it faster: 94 BPM.\nVerse 1: Dm Gm Dm Dm"),
    ]
    now = [HumanMessage('Current song: "Goodbye" (version 2)', name=STATE_MESSAGE), HumanMessage("what key is it in?")]
    shown = compact_history(earlier + now)

    assert shown[-2:] == now                                    # the current turn, state included, as it is
    texts = [m.content for m in shown[:-2]]
    assert 'Made the song "Goodbye": folk, D minor, 82 BPM.' in texts and not any("Verse 1" in t for t in texts)
    assert not any("[Verse 1]" in t or "la la" in t for t in texts)     # the lyrics the reply showed
    assert not any(getattr(m, "name", None) == STATE_MESSAGE for m in shown[:-2])   # a stale state message
    assert shown[1].tool_calls == call.tool_calls and "write me a folk song" in texts
    long = compact_history([HumanMessage("hi"), AIMessage(content="word " * 100), HumanMessage("and?")])
    assert len(long[1].content) <= 160 and long[1].content.endswith("…")


def test_an_earlier_reply_that_was_the_tools_own_words_is_not_read_twice():
    from assistant.local_llm import compact_history

    call = AIMessage(content="", tool_calls=[{"name": "compose_song", "args": {"prompt": "a folk song"}, "id": "c1"}])
    result = ToolMessage('Made the song "Goodbye": folk.', tool_call_id="c1", name="compose_song",
                         artifact={"display": '"Goodbye": folk, D minor.\n\n[Verse 1]\nThe road runs out of town'})
    echoed = AIMessage(content='"Goodbye": folk, D minor.\n\n[Verse 1]\nThe road runs out of town')
    written = AIMessage(content="I wrote you a folk song called Goodbye.")
    now = [HumanMessage("what key is it in?")]

    shown = compact_history([HumanMessage("write me a folk song"), call, result, echoed, *now])
    assert [type(m).__name__ for m in shown] == ["HumanMessage", "AIMessage", "ToolMessage", "HumanMessage"]
    kept = compact_history([HumanMessage("write me a folk song"), call, result, written, *now])
    assert kept[3].content == written.content                  # a reply the model wrote is read, in brief


@pytest.mark.slow
def test_embedded_model_hears_which_rhyme_ends_a_line_naturally(local_model):
    from assistant.llm import ChatTextGenerator

    llm = ChatTextGenerator(local_model)
    scores = llm.ending_logprobs("Write the chorus of a happy pop song about a summer road trip: 4 lines.",
                                 "Our hearts were racing in the summer heat\nWe sang along to every",
                                 ["beat", "feet", "seat"], system="You are a songwriter.")
    assert scores[0] == max(scores) and all(s < 0 for s in scores)


@pytest.mark.slow
def test_embedded_model_writes_at_least_min_tokens(local_model):
    from assistant.llm import ChatTextGenerator

    llm = ChatTextGenerator(local_model)
    ask = dict(system="Reply with one short sentence.", max_tokens=80, temperature=0.0, seed=0)
    short = llm.generate("Name a colour.", **ask)
    held = llm.generate("Name a colour.", min_tokens=40, **ask)
    count = local_model.count_tokens
    assert count(short) < 40 <= count(held) + 1           # +1: the first token may merge on re-tokenising
    assert "<|im_end|>" not in held and "<|endoftext|>" not in held


@pytest.mark.slow
def test_embedded_model_lines_lean_toward_the_endings_asked_for(local_model):
    from assistant.llm import ChatTextGenerator
    from tools.songwriting.prosody import end_word, rhymes

    llm = ChatTextGenerator(local_model)
    wanted = ["night", "light", "bright", "tonight", "right", "fight", "sight", "flight"]
    ask = dict(system="You are a songwriter. Reply with lyric lines only.", max_tokens=90, temperature=0.8)
    prompt = "Write 6 short lines of a song about a long drive home after a concert, ending with night or light."

    def rhymed(reply: str) -> int:
        return sum(rhymes("night", ln) or end_word(ln) in wanted for ln in reply.splitlines() if ln.strip())

    plain = sum(rhymed(llm.generate(prompt, seed=s, **ask)) for s in range(3))
    leaning = sum(rhymed(llm.generate(prompt, seed=s, endings=lambda lines: wanted, **ask)) for s in range(3))
    assert leaning > plain + 2, (plain, leaning)


@pytest.mark.slow
def test_a_rhyme_word_the_model_finds_unlikely_there_is_not_pushed(local_model):
    """The lean adds to a rhyme word's logit only where the model gives the word at least LEAN_FLOOR."""
    import numpy as np

    from assistant.local_llm import (
        ENDING_LEAN,
        LEAN_FLOOR,
        _lean_to_endings,
        _next_logprobs,
    )

    llama, _ = local_model._ensure_loaded()
    prompt = local_model._render("user", "Write a line about a city.") + "<|im_start|>assistant\n"
    base = llama.tokenize(prompt.encode(), add_bos=False, special=True)
    line = base + llama.tokenize(b"I walk the empty streets at", add_bos=False, special=False)
    words = {w: llama.tokenize(f" {w}".encode(), add_bos=False, special=False)[0] for w in ("night", "the", "sky")}
    raw = _next_logprobs(llama, line)
    lean = _lean_to_endings(llama, lambda lines: list(words))
    lean(np.array(base), np.zeros(llama.n_vocab(), dtype=np.float32))        # the reply starts here
    scores = raw.astype(np.float32)
    pushed = lean(np.array(line), scores.copy()) - scores
    likely = {w for w, t in words.items() if raw[t] >= LEAN_FLOOR}
    assert "night" in likely and likely != set(words), {w: float(raw[t]) for w, t in words.items()}
    assert {w for w, t in words.items() if pushed[t] > ENDING_LEAN - 0.01} == likely


@pytest.mark.slow
def test_embedded_model_stops_once_until_holds(local_model):
    from assistant.llm import ChatTextGenerator
    from assistant.timing import MODEL_CLOCK
    from core.textgen import lyric_lines

    llm = ChatTextGenerator(local_model)
    ask = dict(system="You are a songwriter. Reply with lyric lines only.", max_tokens=120, temperature=0.0, seed=0)
    prompt = "Write 8 lines of a song about a lighthouse keeper."
    whole = llm.generate(prompt, **ask)
    before = MODEL_CLOCK.snapshot().get("generated_tokens", 0)
    two = llm.generate(prompt, until=lambda lines: len(lines) >= 2, **ask)
    written = MODEL_CLOCK.snapshot().get("generated_tokens", 0) - before
    assert len(lyric_lines(whole + "\n")) > 2 and len(lyric_lines(two + "\n")) == 2
    assert written < local_model.count_tokens(whole) / 2      # it stopped writing, not only cut the text


@pytest.mark.slow
def test_embedded_model_reads_again_only_what_an_earlier_prompt_did_not_share(local_model):
    """Three calls A, B, A+more: the third starts like the first, not the second, and reads only the rest."""
    from assistant.llm import ChatTextGenerator
    from assistant.timing import MODEL_CLOCK

    llm = ChatTextGenerator(local_model)
    sheet = "Song: a folk song about a lighthouse keeper.\n" + "Images: fog, lamp, gulls, the night shift. " * 8
    ask = dict(system="You are a songwriter.", max_tokens=8, temperature=0.0, seed=0)
    llm.generate(sheet + "\nTask: a title.", **ask)
    llm.generate("Name a colour.", **ask)
    before = MODEL_CLOCK.snapshot().get("prompt_tokens", 0)
    llm.generate(sheet + "\nTask: a hook line.", **ask)
    read = MODEL_CLOCK.snapshot().get("prompt_tokens", 0) - before
    assert read < 40 < local_model.count_tokens(sheet), read


def _home_with_the_machines_prompt_states(tmp_path: Path) -> Settings:
    """Settings for a fresh home that starts with the default home's evaluated system prompts (the agent's took
    ~20 s to read on 2 cores), as a real home would have them after its first use."""
    import shutil

    settings = Settings(_env_file=None, home=tmp_path / "home")
    kept = Settings(_env_file=None).cache_dir / "llm"
    if kept.is_dir():
        shutil.copytree(kept, settings.cache_dir / "llm")
    return settings


@pytest.mark.slow
def test_a_thread_read_ahead_leaves_only_the_next_message_to_read(tmp_path):
    """After a turn, reading the thread's next prompt ahead (as the agent server does while the person reads)
    leaves the next decision only the new message to read, and it still routes; a message that comes in
    meanwhile stops the reading, and what was read stays."""
    from assistant.api import Assistant
    from assistant.local_llm import READ_AHEAD_CHUNK

    assistant = Assistant(_home_with_the_machines_prompt_states(tmp_path))
    first = assistant.chat("play C G Am F on piano", thread_id="ahead")
    assert [s.name for s in first.steps] == ["render_music"]
    asked = []                                  # a turn starts after the first chunk: reading gives way
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Assistant, "turns_running", property(lambda self: asked.append(1) or len(asked) - 1))
        stopped = assistant.read_ahead("ahead")
    assert stopped == READ_AHEAD_CHUNK
    other = assistant.stream("hello", thread_id="elsewhere")
    next(other)                                 # a turn under way in this process (a bot's other thread) ...
    assert assistant.read_ahead("ahead") == 0   # ... goes first: nothing read
    list(other)
    read = stopped + assistant.read_ahead("ahead")
    assert read > 30, read                      # the state message and the first turn, at least
    second = assistant.chat("hello, what can you do?", thread_id="ahead")
    assert second.text.strip() and not second.steps
    assert second.timings.prompt_tokens < 30 < read + second.timings.prompt_tokens, second.timings


@pytest.mark.slow
def test_a_servers_warm_up_leaves_no_conversation_behind_and_readies_the_lyrics(tmp_path):
    """``warm_up(songs=True)`` answers a throwaway message on a thread it then deletes, and reads the lyrics'
    system prompt, so the first lyrics call reads only its own prompt."""
    import sqlite3

    from assistant.api import Assistant
    from assistant.timing import MODEL_CLOCK
    from tools.songwriting import lyric_craft

    assistant = Assistant(_home_with_the_machines_prompt_states(tmp_path))
    assistant.warm_up(songs=True)
    with sqlite3.connect(assistant.settings.memory_db) as db:
        assert db.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0
    system = lyric_craft._system()
    before = MODEL_CLOCK.snapshot()["prompt_tokens"]
    assistant.text_generator.generate("Write one line about the sea.", system=system, max_tokens=4)
    read = MODEL_CLOCK.snapshot()["prompt_tokens"] - before
    assert read < 25 < assistant.chat_model.count_tokens(system), read


@pytest.mark.slow
def test_a_tools_system_prompt_is_read_once_per_machine_not_once_per_process(tmp_path):
    """A text generation's system prompt is saved like the agent's: a second model object (as in a new
    process) reads only the user's message, not the system prompt again."""
    from assistant.llm import ChatTextGenerator, make_chat_model
    from assistant.local_llm import ChatLocalGGUF
    from assistant.timing import MODEL_CLOCK

    path = make_chat_model(Settings(_env_file=None)).model_path
    system = "You are a songwriter. " + "Write short singable lines with concrete images. " * 10
    ask = dict(system=system, max_tokens=4, temperature=0.0, seed=0)
    first = ChatTextGenerator(ChatLocalGGUF(model_path=path, n_threads=1, state_cache_dir=str(tmp_path)))
    first.generate("Name a colour.", **ask)
    assert list(tmp_path.glob("prefix-*.state"))
    fresh = ChatTextGenerator(ChatLocalGGUF(model_path=path, n_threads=2, state_cache_dir=str(tmp_path)))
    before = MODEL_CLOCK.snapshot().get("prompt_tokens", 0)
    fresh.generate("Name a fruit.", **ask)
    read = MODEL_CLOCK.snapshot().get("prompt_tokens", 0) - before
    assert read < 20 < fresh.chat.count_tokens(system), read


@pytest.mark.slow
def test_the_grammar_checked_on_the_likeliest_tokens_writes_what_the_full_check_writes(local_model, openai_tools):
    """Greedy decoding: the tool call written with :class:`assistant.grammar_filter.GrammarFilter` (the likeliest
    40 tokens checked) is token for token the one llama.cpp's own grammar sampler (all 151,646 checked) writes."""
    import llama_cpp

    from assistant.grammar_filter import GrammarFilter

    llama, _ = local_model._ensure_loaded()
    for text in ["write me a sad folk song about leaving home", "caption these tags: piano, calm, ambient",
                 "What key is this clip in?\n\nAttached files: /tmp/clip.ogg"]:
        prompt = local_model.build_prompt([HumanMessage(text)], openai_tools, reserve=384)
        grammar = local_model._grammar(offered_arguments(openai_tools, text))
        ask = dict(prompt=prompt, max_tokens=120, temperature=0.0, repeat_penalty=1.1, seed=0, stop=["<|im_end|>"])
        full = llama.create_completion(grammar=grammar, **ask)["choices"][0]["text"]
        allowed = GrammarFilter(llama, grammar, repeat_penalty=1.1)
        try:
            likeliest = llama.create_completion(logits_processor=llama_cpp.LogitsProcessorList([allowed]),
                                                **ask)["choices"][0]["text"]
        finally:
            allowed.close()
        assert likeliest == full and json.loads(likeliest)["tool"]
