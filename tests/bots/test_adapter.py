"""The shared bot layer without any chat service: reply rendering, file choice, admission, progress, feedback."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import mido
import pytest
import soundfile as sf

from assistant.api import OutputFile, Reply, ToolStep
from bots.adapter import BotCore, ChatRequest, ProgressThrottle
from bots.commands import (
    check_attachment,
    parse_text_command,
    prompt_for,
    rating_for,
    strip_mentions,
)
from bots.dispatch import Dispatcher, Refusal, Ticket
from bots.feedback import FeedbackStore
from bots.loopwatch import LoopWatch
from bots.render import (
    RATING_HINT,
    ServiceLimits,
    choose_uploads,
    render_reply,
    split_text,
)
from core.errors import ToolError
from tests.support.bots.harness import bot_settings, make_assistant, tone_wav
from tools.feedback import load_ratings

DISCORD = ServiceLimits("Discord", 2000, 10 * 2**20, 10)


def song_folder(tmp_path: Path, with_ogg: bool = True) -> tuple[Path, list[OutputFile]]:
    """A folder like the render tools write: WAV (+ OGG), MIDI, a piano roll, a lead sheet, JSON."""
    folder = tmp_path / "outputs" / "discord_1" / "sea-song-abc123"
    folder.mkdir(parents=True)
    (folder / "song.wav").write_bytes(tone_wav(seconds=6.0, rate=44100))
    if with_ogg:
        data, rate = sf.read(folder / "song.wav")
        sf.write(folder / "song.ogg", data, rate, format="OGG", subtype="VORBIS")
    midi = mido.MidiFile()
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60, time=480)])
    midi.tracks.append(track)
    midi.save(folder / "song.mid")
    (folder / "piano-roll.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20_000))
    (folder / "lead-sheet.musicxml").write_text("<score-partwise/>" * 100)
    (folder / "song.json").write_text(json.dumps({"key": "A minor", "genre": "folk", "sections": [
        {"kind": "verse", "bars": 2, "romans": ["i", "VI"], "chords": ["Am", "F"]},
        {"kind": "chorus", "bars": 2, "romans": ["III", "VII"], "chords": ["C", "G"]}]}))
    files = [OutputFile.of(p) for p in sorted(folder.iterdir())]
    return folder, files


# -- reply rendering -------------------------------------------------------------------
def test_split_text_keeps_every_word_under_the_limit_and_breaks_at_paragraphs():
    text = "\n\n".join(f"Paragraph {i}: " + "la " * 150 for i in range(12))
    chunks = split_text(text, 2000)
    assert all(len(c) <= 2000 for c in chunks) and len(chunks) > 1
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    assert all(c.startswith("Paragraph") for c in chunks)
    assert split_text("x" * 4500, 2000) == ["x" * 2000, "x" * 2000, "x" * 500]  # no break anywhere: cut hard


def test_uploads_prefer_compressed_audio_and_skip_text_files(tmp_path):
    folder, files = song_folder(tmp_path)
    uploads, notes = choose_uploads(files, DISCORD)
    assert [u.path.name for u in uploads] == ["song.ogg", "song.mid", "piano-roll.png", "lead-sheet.musicxml"]
    assert notes == []
    assert uploads[0].filename == "sea-song-abc123-song.ogg"
    assert all(u.size == u.path.stat().st_size for u in uploads)


def test_the_engraved_lead_sheet_goes_first_page_by_page_and_svg_stays_home(tmp_path):
    folder, _ = song_folder(tmp_path)
    for page in (1, 2, 10):   # page 10 sorts after page 2, not before it
        (folder / f"lead-sheet-{page}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5_000))
        (folder / f"lead-sheet-{page}.svg").write_text("<svg/>")
    files = [OutputFile.of(p) for p in sorted(folder.iterdir())]
    uploads, _ = choose_uploads(files, DISCORD)
    assert [u.path.name for u in uploads] == ["lead-sheet-1.png", "lead-sheet-2.png", "lead-sheet-10.png", "song.ogg",
                                              "song.mid", "piano-roll.png", "lead-sheet.musicxml"]


def test_a_wav_alone_is_compressed_to_fit(tmp_path):
    folder, files = song_folder(tmp_path, with_ogg=False)
    wav_size = (folder / "song.wav").stat().st_size
    limits = ServiceLimits("Discord", 2000, wav_size // 2, 10)
    uploads, notes = choose_uploads(files, limits)
    audio = [u for u in uploads if u.kind == "audio"]
    assert audio and audio[0].path.suffix == ".ogg" and audio[0].size < wav_size // 2
    assert sf.info(str(audio[0].path)).duration == pytest.approx(6.0, abs=0.05)  # a real, whole recording
    assert sum(u.size for u in uploads) <= limits.upload_bytes and not notes


def test_files_over_the_upload_limit_are_left_out_with_a_note(tmp_path):
    folder, files = song_folder(tmp_path)
    limit = (folder / "song.ogg").stat().st_size - 1
    limits = ServiceLimits("Discord", 2000, limit, 10)
    uploads, notes = choose_uploads(files, limits)
    assert "song.ogg" not in [u.path.name for u in uploads] and "song.mid" in [u.path.name for u in uploads]
    assert sum(u.size for u in uploads) <= limit
    assert len(notes) == 1 and "song.ogg" in notes[0] and "Discord's" in notes[0]


def test_rendered_reply_shows_tool_text_failures_and_the_rating_hint(tmp_path):
    folder, files = song_folder(tmp_path)
    steps = (ToolStep("compose_song", {}, "Made it", True, display="Verse: Am F", files=tuple(files)),
             ToolStep("analyze_audio", {}, "clip.wav is not audio I can read.", False))
    rendered = render_reply(Reply("Here is your song.", "t", tuple(files), steps), DISCORD)
    text = "\n".join(rendered.chunks)
    assert text.startswith("Here is your song.") and "Verse: Am F" in text
    assert "⚠️ analyze_audio failed: clip.wav is not audio I can read." in text
    assert RATING_HINT in text and rendered.song_folder == folder
    assert RATING_HINT not in "\n".join(render_reply(Reply("Hi!", "t"), DISCORD).chunks)


def test_a_very_long_reply_is_cut_to_a_few_messages():
    rendered = render_reply(Reply("word " * 5000, "t"), DISCORD)
    assert len(rendered.chunks) <= DISCORD.max_messages and all(len(c) <= 2000 for c in rendered.chunks)
    assert "cut short" in rendered.chunks[-1]


# -- commands --------------------------------------------------------------------------
def test_command_helpers():
    assert [rating_for(e) for e in ("👍", "👍🏽", "+1", "thumbsup::skin-tone-3", "👎", "-1", "🎵")] == [1, 1, 1, 1, -1, -1, None]
    assert check_attachment("clip.ogg", 1000, 2**20) is None
    assert "can't use notes.pdf" in check_attachment("notes.pdf", 1000, 2**20)
    assert "over my 1 MB limit" in check_attachment("big.wav", 5 * 2**20, 2**20)
    assert parse_text_command("compose a sea shanty").name == "compose"
    assert parse_text_command("what key is C major?").rest == "what key is C major?"
    assert strip_mentions("<@123> <@!45> render C G") == "render C G"
    assert prompt_for(parse_text_command("similar dreamy pads")) == "Find clips in my collection that sound like: dreamy pads"


# -- admission and order ---------------------------------------------------------------
def test_rate_limit_and_queue_limit_refuse_kindly():
    async def scenario():
        clock = [0.0]
        d = Dispatcher(workers=1, queue_limit=2, rate_limit=2, rate_window_seconds=60, clock=lambda: clock[0])
        a, b = d.reserve("g", "c1", "ann"), d.reserve("g", "c1", "ann")
        assert isinstance(a, Ticket) and isinstance(b, Ticket) and b.ahead == 1
        too_fast = d.reserve("g2", "c9", "ann")
        assert isinstance(too_fast, Refusal) and "try again in 60 s" in too_fast.message
        full = d.reserve("g", "c2", "bob")
        assert isinstance(full, Refusal) and "already working on 2 requests" in full.message
        d.release(a)
        assert isinstance(d.reserve("g", "c2", "bob"), Ticket)
        clock[0] = 61.0
        assert isinstance(d.reserve("g2", "c9", "ann"), Ticket)  # the window moved on

    asyncio.run(scenario())


def test_requests_run_in_order_per_conversation_and_at_most_workers_at_once():
    async def scenario():
        d = Dispatcher(workers=2, queue_limit=100, rate_limit=100, rate_window_seconds=60)
        log: list[tuple[str, str, int]] = []
        running = [0, 0]  # now, most

        def job(conv: str, i: int):
            async def run():
                running[0] += 1
                running[1] = max(running)
                log.append(("start", conv, i))
                await asyncio.sleep(0.01 * (5 - i))  # later requests are quicker: order must not depend on speed
                log.append(("end", conv, i))
                running[0] -= 1
            return run

        for i in range(5):
            for conv in ("a", "b", "c"):
                d.start(d.reserve("g", conv, f"u{i}{conv}"), job(conv, i))
        await d.drain()
        for conv in ("a", "b", "c"):
            assert [i for kind, c, i in log if c == conv and kind == "start"] == list(range(5))
        assert running[1] == 2 and d.outstanding("g") == 0

    asyncio.run(scenario())


def test_progress_edits_are_throttled_and_the_last_text_wins():
    async def scenario():
        shown: list[tuple[float, str]] = []

        async def show(text: str) -> None:
            shown.append((time.monotonic(), text))

        throttle = ProgressThrottle(show, interval=0.2)
        for i in range(10):
            throttle.update(f"step {i}")
            await asyncio.sleep(0.03)
        await asyncio.sleep(0.3)
        await throttle.close()
        assert shown[0][1] == "step 0" and shown[-1][1] == "step 9"
        assert len(shown) <= 3
        assert all(b[0] - a[0] >= 0.19 for a, b in zip(shown, shown[1:]))

    asyncio.run(scenario())


def test_the_assistant_runs_off_the_event_loop(tmp_path):
    """A model call that takes a second must not stall the loop the gateway heartbeat runs on."""

    class Recorder:
        limits = DISCORD
        answer_id = None
        texts: list[str] = []

        async def progress(self, text):
            self.texts.append(text)

        async def reply(self, rendered):
            self.texts.append(rendered.chunks[0])

        async def error(self, text):
            self.texts.append("error: " + text)

    async def scenario():
        core = BotCore(make_assistant(tmp_path / "home"), bot_settings(), "discord")
        surface = Recorder()
        async with LoopWatch(interval=0.02) as watch:
            await core.answer(ChatRequest("sleep 1.0 hello", "discord:1", "u", "g"), surface)
            await core.answer(ChatRequest("crash now", "discord:1", "u", "g"), surface)
        core.close()
        return watch, surface.texts

    watch, texts = asyncio.run(scenario())
    assert texts[0] == "You said: hello"
    assert texts[1] == "error: Sorry, something went wrong on my side (RuntimeError); please try again."
    assert watch.ticks > 20 and watch.max_lag < 0.5  # a blocked loop would lag by the whole 1 s call


def test_after_a_reply_is_posted_the_thread_is_read_ahead_and_not_after_a_failure(tmp_path, monkeypatch):
    """While the person reads the reply, the next prompt is read ahead (a no-op off the embedded model)."""
    said: list[str] = []

    class Recorder:
        limits = DISCORD
        answer_id = None

        async def progress(self, text):
            pass

        async def reply(self, rendered):
            said.append("reply")

        async def error(self, text):
            said.append("error")

    async def scenario():
        core = BotCore(make_assistant(tmp_path / "home"), bot_settings(), "discord")
        monkeypatch.setattr(core.assistant, "read_ahead_in_background", lambda thread: said.append(f"ahead {thread}"))
        await core.answer(ChatRequest("hello", "discord:7", "u", "g"), Recorder())
        await core.answer(ChatRequest("crash now", "discord:7", "u", "g"), Recorder())
        core.close()

    asyncio.run(scenario())
    assert said == ["reply", "ahead discord:7", "error"]


# -- feedback --------------------------------------------------------------------------
def test_ratings_are_stored_with_the_songs_chords(tmp_path):
    folder, _ = song_folder(tmp_path)
    home = tmp_path / "home"
    store = FeedbackStore(home)
    first = store.record_rating("discord", "discord:1", "m1", "ann", 1, folder)
    chords = [c for section in first.chords["sections"] for c in section["chords"]]
    assert chords[:4] == ["Am", "F", "C", "G"] and first.rating == 1
    store.record_rating("discord", "discord:1", "m1", "bob", -1, folder)
    store.record_rating("discord", "discord:1", "m1", "ann", -1, folder)  # ann changed her mind
    no_json = tmp_path / "render-only"
    no_json.mkdir()
    store.record_rating("slack", "slack:C1:1.0", "C1:1.0", "cy", 1, no_json)
    ratings = load_ratings(home)
    assert [(r.user_id, r.rating) for r in ratings] == [("ann", -1), ("bob", -1), ("cy", 1)]
    assert ratings[-1].chords is None and ratings[-1].source == "slack"
    assert store.remove_rating("discord", "m1", "bob", -1) and len(load_ratings(home)) == 2
    with sqlite3.connect(home / "feedback.sqlite") as conn:
        columns = [row[1] for row in conn.execute("pragma table_info(ratings)")]
    assert columns == ["id", "source", "thread_id", "message_id", "user_id", "rating", "song_folder", "chords_json",
                       "created_at"]
    with pytest.raises(ToolError):
        store.record_rating("cli", "t", "m", "u", 2, folder)
    assert load_ratings(tmp_path / "nowhere") == []
