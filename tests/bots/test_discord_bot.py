"""The Discord bot at the wire: discord.py's own client against a fake Discord (REST, CDN, gateway) on 127.0.0.1.

The assistant is real (real tools, memory in SQLite); only the language model is
scripted (tests/bots_support/fake_llm.py routes each message by what it says).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.support.bots.discord_wire import FakeDiscord
from tests.support.bots.harness import make_assistant, running_discord, tone_wav
from tools.feedback import load_ratings

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 240))


def final_edit(fake: FakeDiscord, token: str):
    """The PATCH of an interaction's original message that carried files (the answer)."""
    return next((c for c in fake.calls_to("PATCH", f"{token}/messages/@original") if c.files), None)


def test_slash_command_defers_at_once_shows_progress_then_posts_the_files(tmp_path, monkeypatch):
    async def scenario():
        async with running_discord(tmp_path / "home", monkeypatch) as (fake, bot):
            assert fake.identify["intents"] & PRIVILEGED_INTENTS == 0
            sent = time.monotonic()
            token = await fake.slash("ask", {"question": "sleep 0.5 render C G Am F"})
            answer = await fake.wait_for(lambda: final_edit(fake, token), 120)
            return fake, answer, sent

    fake, answer, sent = run(scenario())
    callback = fake.calls_to("POST", "/callback")[0]
    assert callback.json["type"] == 5  # deferred "bandmate is thinking…"
    assert callback.at - sent < 3.0
    edits = fake.calls_to("PATCH", "/messages/@original")
    progress = [c.content for c in edits if not c.files]
    assert any("⏳ rendering audio" in p for p in progress), progress
    assert edits[-1] is answer and "Done with 'sleep 0.5 render C G Am F'" in answer.content
    names = [name for name, _ in answer.files]
    assert any(n.endswith("song.ogg") for n in names) and any(n.endswith("song.mid") for n in names)
    assert any(n.endswith("piano-roll.png") for n in names) and not any(n.endswith(".wav") for n in names)
    # what arrived is exactly the files on disk, and within Discord's limit
    folder = next((tmp_path / "home" / "outputs" / "discord_3000").glob("c-g-am-f*"))
    on_disk = {f"{folder.name}-{p.name}": p.stat().st_size for p in folder.iterdir()}
    assert all(on_disk[name] == size for name, size in answer.files)
    assert sum(size for _, size in answer.files) <= 10 * 2**20


def test_upload_limit_leaves_big_files_out_with_a_note(tmp_path, monkeypatch):
    async def scenario():
        async with running_discord(tmp_path / "home", monkeypatch, discord_upload_mb=0.06) as (fake, bot):
            token = await fake.slash("ask", {"question": "render Am F C G"})
            return await fake.wait_for(lambda: final_edit(fake, token), 120)

    answer = run(scenario())
    names = [n for n, _ in answer.files]
    assert not any(n.endswith(".ogg") for n in names) and any(n.endswith("song.mid") for n in names)
    assert sum(size for _, size in answer.files) <= 0.06 * 2**20
    assert "Not attached, over Discord's 0.1 MB upload limit" in answer.content and "song.ogg" in answer.content


def test_refused_files_still_leave_the_answer_with_a_note(tmp_path, monkeypatch):
    async def scenario():
        async with running_discord(tmp_path / "home", monkeypatch) as (fake, bot):
            fake.reject_files = True
            await fake.say("render Dm G C")
            await fake.wait_for(lambda: any("refused the files" in (c.content or "")
                                            for c in fake.calls_to("PATCH", "/channels/")), 60)
            return fake

    fake = run(scenario())
    last = fake.calls_to("PATCH", "/channels/")[-1]
    assert last.content.startswith("Done with 'render Dm G C'") and "⚠️ Discord refused the files (413)" in last.content
    assert last.files == [] and last.json["attachments"] == []


def test_mentions_and_dms_get_answers_with_one_memory_per_channel(tmp_path, monkeypatch):
    home = tmp_path / "home"

    async def scenario():
        async with running_discord(home, monkeypatch) as (fake, bot):
            await fake.say("nobody asked me", mention=False)
            first = await fake.say("hello from channel one")
            await fake.say("hello from channel two", channel=fake.channel_ids[1])
            await fake.say("and again in channel one")
            await fake.say("a private hello", dm=True, mention=False, channel=9999)

            def answered():
                texts = [c.content or "" for c in fake.calls_to("PATCH", "/channels/")]
                return sum(t.startswith("You said:") for t in texts) == 4

            await fake.wait_for(answered, 60)
            return fake, first

    fake, first = run(scenario())
    replies = fake.calls_to("POST", "/messages")
    assert all(c.json["content"] == "🎵 Working on it…" for c in replies) and len(replies) == 4
    assert int(replies[0].json["message_reference"]["message_id"]) == first
    assistant = make_assistant(home)
    assert [t for r, t in assistant.history("discord:3000") if r == "user"] == ["hello from channel one",
                                                                                 "and again in channel one"]
    assert [t for r, t in assistant.history("discord:3001") if r == "user"] == ["hello from channel two"]
    assert [t for r, t in assistant.history("discord:9999") if r == "user"] == ["a private hello"]
    assert not any("nobody asked me" in (c.content or "") for c in fake.calls)


def test_attachment_is_checked_downloaded_into_the_thread_folder_and_analysed(tmp_path, monkeypatch):
    home = tmp_path / "home"

    async def scenario():
        async with running_discord(home, monkeypatch) as (fake, bot):
            bad = fake.attachment("notes.pdf", b"%PDF-1.4", "application/pdf")
            refused = await fake.slash("analyze", attachments={"attachment": bad})
            await fake.wait_for(lambda: fake.calls_to("POST", f"{refused}/callback"))
            clip = fake.attachment("clip.wav", tone_wav(3.0))
            token = await fake.slash("analyze", attachments={"attachment": clip})
            return fake, refused, await fake.wait_for(
                lambda: [c for c in fake.calls_to("PATCH", f"{token}/messages/@original") if "Done with" in (c.content or "")],
                120)

    fake, refused, answer = run(scenario())
    refusal = fake.calls_to("POST", f"{refused}/callback")[0].json
    assert refusal["type"] == 4 and refusal["data"]["flags"] == 64  # an ephemeral message, not a deferral
    assert "can't use notes.pdf" in refusal["data"]["content"]
    saved = list((home / "outputs" / "discord_3000" / "uploads").glob("*clip.wav"))
    assert len(saved) == 1 and saved[0].read_bytes() == tone_wav(3.0)
    assert "Analysis of" in answer[-1].content and "clip.wav" in answer[-1].content  # the saved upload was measured


def test_a_failing_tool_and_a_crash_both_end_in_a_short_message(tmp_path, monkeypatch):
    async def scenario():
        async with running_discord(tmp_path / "home", monkeypatch) as (fake, bot):
            broken = fake.attachment("broken.wav", b"this is not a wav file at all")
            tool_fails = await fake.slash("ask", {"question": "analyze this"}, attachments={"attachment": broken})
            crashes = await fake.slash("ask", {"question": "crash please"}, channel=fake.channel_ids[1])

            def last(token):
                edits = fake.calls_to("PATCH", f"{token}/messages/@original")
                return edits and edits[-1].content.startswith(("Sorry", "⚠️")) and edits[-1].content

            return await fake.wait_for(lambda: last(tool_fails), 60), await fake.wait_for(lambda: last(crashes), 60)

    tool_failed, crashed = run(scenario())
    assert "⚠️ analyze_audio failed:" in tool_failed and "Traceback" not in tool_failed
    assert crashed == "⚠️ Sorry, something went wrong on my side (RuntimeError); please try again."


def test_queue_limit_and_rate_limit_answer_at_once_with_a_friendly_message(tmp_path, monkeypatch):
    async def scenario():
        async with running_discord(tmp_path / "home", monkeypatch, queue_limit=2, rate_limit=2) as (fake, bot):
            slow = [await fake.slash("ask", {"question": "sleep 1.5 hold on"}, user_id=600 + i,
                                     channel=fake.channel_ids[i]) for i in range(2)]
            over_queue = await fake.slash("ask", {"question": "one more"}, user_id=700, channel=fake.channel_ids[2])
            await fake.wait_for(lambda: fake.calls_to("POST", f"{over_queue}/callback"))
            for token in slow:
                await fake.wait_for(lambda: any("You said: hold on" in (c.content or "")
                                                for c in fake.calls_to("PATCH", f"{token}/messages")), 60)
            quick = [await fake.slash("ask", {"question": f"hi {i}"}, user_id=800) for i in range(3)]
            await fake.wait_for(lambda: fake.calls_to("POST", f"{quick[2]}/callback"))
            return fake, slow, over_queue, quick

    fake, slow, over_queue, quick = run(scenario())
    kind = {t: fake.calls_to("POST", f"{t}/callback")[0].json for t in [*slow, over_queue, *quick]}
    assert [kind[t]["type"] for t in slow] == [5, 5]
    assert kind[over_queue]["type"] == 4 and "already working on 2 requests" in kind[over_queue]["data"]["content"]
    assert [kind[t]["type"] for t in quick] == [5, 5, 4]
    assert "Easy there!" in kind[quick[2]]["data"]["content"] and kind[quick[2]]["data"]["flags"] == 64


def test_thumbs_on_a_song_become_ratings(tmp_path, monkeypatch):
    home = tmp_path / "home"

    async def scenario():
        async with running_discord(home, monkeypatch) as (fake, bot):
            token = await fake.slash("compose", {"prompt": "a sea shanty", "genre": "folk"})
            await fake.wait_for(lambda: final_edit(fake, token), 180)
            song_message = fake.originals[token]
            await fake.react(song_message, "👍", user_id=777)
            await fake.react(song_message, "👎🏽", user_id=778)
            await fake.react(song_message, "🎸", user_id=779)
            await fake.react(fake.next_id(), "👍", user_id=777)  # not a song of ours
            await fake.react(fake.originals[token], "👍", user_id=1000)  # the bot's own reaction
            await fake.wait_for(lambda: len(load_ratings(home)) >= 2, 20)
            await asyncio.sleep(0.5)
            return song_message, final_edit(fake, token)

    song_message, answer = run(scenario())
    ratings = load_ratings(home)
    assert sorted((r.user_id, r.rating) for r in ratings) == [("777", 1), ("778", -1)]
    assert {r.message_id for r in ratings} == {str(song_message)} and ratings[0].source == "discord"
    assert ratings[0].thread_id == "discord:3000" and Path(ratings[0].song_folder, "song.json").exists()
    sections = ratings[0].chords["sections"]  # what the reward trainer reads: the song's romans and chords
    assert sections and all(isinstance(c, str) for s in sections for c in s["chords"] + s["romans"])
    assert "👍" in answer.content and any(n.endswith("lead-sheet.musicxml") for n, _ in answer.files)


def test_similar_goes_to_the_assistant_and_help_is_private(tmp_path, monkeypatch):
    async def scenario():
        async with running_discord(tmp_path / "home", monkeypatch) as (fake, bot):
            similar = await fake.slash("similar", {"text": "dreamy synth pads"})
            help_ = await fake.slash("help")
            await fake.wait_for(lambda: fake.calls_to("POST", f"{help_}/callback"))
            answer = await fake.wait_for(lambda: next((c for c in fake.calls_to("PATCH", f"{similar}/messages/@original")
                                                       if "Find clips" in (c.content or "")), None), 60)
            return fake, similar, help_, answer

    fake, similar, help_, answer = run(scenario())
    assert fake.calls_to("POST", f"{similar}/callback")[0].json["type"] == 5  # deferred, then answered
    assert "Find clips in my collection that sound like: dreamy synth pads" in answer.content
    help_answer = fake.calls_to("POST", f"{help_}/callback")[0].json["data"]
    assert help_answer["flags"] == 64 and "/compose" in help_answer["content"]
    synced = fake.calls_to("PUT", "/applications/1000/commands")[0].json
    assert sorted(c["name"] for c in synced) == ["analyze", "ask", "caption", "compose", "help", "similar"]


def test_each_channel_keeps_its_own_song_and_a_follow_up_edits_it(tmp_path, monkeypatch):
    home = tmp_path / "home"

    async def scenario():
        async with running_discord(home, monkeypatch) as (fake, bot):
            await fake.say("Write and produce a song: the sea.")
            await fake.say("Write and produce a song: the hills.", channel=fake.channel_ids[1])
            await fake.wait_for(lambda: sum((c.content or "").startswith("Done with") for c in
                                            fake.calls_to("PATCH", "/channels/")) == 2, 120)
            await fake.say("make it faster")
            await fake.wait_for(lambda: any("Version 2 of" in (c.content or "") for c in
                                            fake.calls_to("PATCH", "/channels/")), 120)
            return fake

    fake = run(scenario())
    edited = next(c for c in fake.calls_to("PATCH", "/channels/") if "Version 2 of" in (c.content or ""))
    assert "tempo" in edited.content and edited.files   # the new version's files are posted with it
    states = make_assistant(home)
    from assistant.conversation import ThreadStates

    memory = ThreadStates(states.settings.memory_db)
    one, two = memory.get("discord:3000").current_song(), memory.get("discord:3001").current_song()
    assert one.version == 2 and two.version == 1 and one.folder.parent != two.folder.parent
