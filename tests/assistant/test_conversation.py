"""Conversations that remember the music: a scripted chat model, real tools, real SQLite memory."""

from __future__ import annotations

from assistant import Assistant
from assistant.conversation import STATE_MESSAGE, ThreadStates
from core.settings import Settings
from tests.support.fake_chat import ScriptedChatModel, call, say
from tests.support.fakes import ScriptedTextGenerator
from tests.tools.song.test_revise import LYRICS

TOOLS = ["compose_song", "revise_song", "recall", "suggest_chords", "render_music", "write_lyrics"]


def assistant_for(tmp_path, *replies, lyricist=None):
    settings = Settings(home=tmp_path / "home", _env_file=None)
    model = ScriptedChatModel.of(*replies)
    return Assistant(settings, chat_model=model, text_generator=lyricist, tools=TOOLS), model, settings


def compose_call():
    return call("compose_song", prompt="leaving home", genre="folk", mood="sad", lyrics=LYRICS, seed=3,
                length_seconds=40)


def test_a_follow_up_edits_the_song_and_a_question_is_answered_from_it(tmp_path):
    bot, model, settings = assistant_for(
        tmp_path, compose_call(), say("Here is your song."),
        call("revise_song", request="make it faster and put it in a major key"),
        call("recall", question="what chords are in the chorus?"))
    first = bot.chat("write me a sad folk song about leaving home", thread_id="a")
    song_folder = first.steps[0].files[0].path.parent
    assert first.text == "Here is your song."

    edit = bot.chat("make it faster and put it in a major key", thread_id="a")
    assert [s.name for s in edit.steps] == ["revise_song"]
    assert edit.text.startswith('Version 2 of "Goodbye": tempo 82 → 94 BPM; D minor → D major')
    new_folder = edit.files[0].path.parent
    assert new_folder.name == song_folder.name + "-v2" and (new_folder / "song.wav").is_file()
    # the model was shown what exists before the user's words, and the edit's reply is the tool's own words
    shown = model.seen[2]
    state = [m for m in shown if getattr(m, "name", None) == STATE_MESSAGE]
    assert state and 'Current song: "Goodbye" (version 1)' in state[-1].content
    assert shown.index(state[-1]) == len(shown) - 2

    answer = bot.chat("what chords are in the chorus?", thread_id="a")
    assert [s.name for s in answer.steps] == ["recall"]   # no generator ran
    chorus = next(s for s in ThreadStates(settings.memory_db).get("a").current_song().sections if s.label == "Chorus")
    assert answer.text.startswith(f"Chorus chords: {' '.join(chorus.chords)}")
    assert ("user", "make it faster and put it in a major key") in bot.history("a")
    assert all(STATE_MESSAGE not in text for _, text in bot.history("a"))


def test_state_survives_a_restart_threads_stay_apart_and_undo_restores_files(tmp_path):
    bot, _, settings = assistant_for(tmp_path, compose_call(), say("Done."),
                                     call("revise_song", request="piano only"))
    bot.chat("write a folk song", thread_id="one")
    v2 = bot.chat("piano only", thread_id="one").files[0].path.parent

    restarted, _, _ = assistant_for(tmp_path, call("revise_song", request="go back to the previous version"),
                                    call("revise_song", request="make it faster"))
    back = restarted.chat("go back to the previous version", thread_id="one")
    v1 = back.files[0].path.parent
    assert back.text.startswith('Back to version 1 of "Goodbye"') and v1.name + "-v2" == v2.name
    assert ThreadStates(settings.memory_db).get("one").song == str(v1)
    assert {f.path.name for f in back.files} >= {"song.mid", "song.wav", "lead-sheet.musicxml"}

    other = restarted.chat("make it faster", thread_id="two")
    assert other.text == "There is no song in this conversation yet; ask me to write one first."
    assert not other.steps[0].ok and ThreadStates(settings.memory_db).get("two").song is None


def test_an_impossible_edit_is_one_sentence_and_the_song_is_untouched(tmp_path):
    bot, _, settings = assistant_for(tmp_path, compose_call(), say("Done."),
                                     call("revise_song", request="make it 1000 bpm"),
                                     call("revise_song", request="new chords for the bridge"))
    bot.chat("a folk song", thread_id="t")
    before = ThreadStates(settings.memory_db).get("t").song
    too_fast = bot.chat("make it 1000 bpm", thread_id="t")
    assert "300" in too_fast.text and len(too_fast.text.splitlines()) == 1
    no_bridge = bot.chat("new chords for the bridge", thread_id="t")
    assert "no bridge" in no_bridge.text and "Verse 1" in no_bridge.text
    assert ThreadStates(settings.memory_db).get("t").song == before


def test_render_that_plays_the_chords_just_suggested(tmp_path):
    bot, _, settings = assistant_for(tmp_path, call("suggest_chords", genre="jazz", key="D minor", bars=4),
                                     say("Try these."), call("render_music", source="that"), say("Playing them."))
    bot.chat("suggest jazz chords in D minor, 4 bars", thread_id="c")
    remembered = ThreadStates(settings.memory_db).get("c").chords
    rendered = bot.chat("render that", thread_id="c")
    chart = next(f.path for f in rendered.files if f.path.name == "chords.txt").read_text()
    assert [c.replace(",", " ") for c in remembered.chords.split()] and all(
        chord in chart for chord in remembered.chords.replace(",", " ").split())


def test_make_that_into_a_song_sets_the_lyrics_just_written(tmp_path):
    lyricist = ScriptedTextGenerator([LYRICS])
    bot, _, _ = assistant_for(tmp_path, call("write_lyrics", prompt="leaving home", mood="sad"), say("Lyrics done."),
                              call("compose_song", prompt="that", genre="folk", length_seconds=40), say("Song done."),
                              lyricist=lyricist)
    bot.chat("write lyrics about leaving home", thread_id="l")
    calls_for_the_lyrics = len(lyricist.calls)
    song = bot.chat("make that into a song", thread_id="l")
    data = next(s for s in song.steps if s.name == "compose_song")
    assert "Goodbye, goodbye, my little town" in data.display
    # the song set the lyrics already written, it did not write new ones
    assert calls_for_the_lyrics and len(lyricist.calls) == calls_for_the_lyrics


def test_play_it_on_piano_after_a_song_plays_that_song_on_piano(tmp_path):
    bot, _, settings = assistant_for(tmp_path, compose_call(), say("Done."),
                                     call("render_music", instrument="piano"), say("On piano now."))
    bot.chat("write a folk song", thread_id="p")
    reply = bot.chat("now play it on piano only", thread_id="p")
    song = ThreadStates(settings.memory_db).get("p").current_song()
    assert song.version == 2 and song.instruments == ("piano",)
    assert reply.steps[0].summary.startswith('Version 2 of "Goodbye": instruments')
