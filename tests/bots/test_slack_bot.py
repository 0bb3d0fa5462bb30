"""The Slack bot at the wire: slack-bolt in Socket Mode against a fake Slack (Web API, websocket) on 127.0.0.1.

The assistant is real (real tools, memory in SQLite); only the language model is
scripted (tests/bots_support/fake_llm.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.support.bots.harness import make_assistant, running_slack, tone_wav
from tests.support.bots.slack_wire import FakeSlack
from tools.feedback import load_ratings


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 240))


def answer_to(fake: FakeSlack, fragment: str):
    return next((c for c in fake.calls_to("chat.update") if fragment in c.text), None)


def test_a_mention_is_acked_at_once_and_answered_in_its_thread_with_progress_and_files(tmp_path):
    home = tmp_path / "home"

    async def scenario():
        async with running_slack(home) as (fake, bot):
            ts = await fake.mention("sleep 0.5 render C G Am F")
            await fake.wait_for(lambda: answer_to(fake, "Done with") and fake.calls_to("files.completeUploadExternal"), 120)
            return fake, ts

    fake, ts = run(scenario())
    (eid, sent), = fake.sent.items()
    assert fake.acks[eid] - sent < 3.0
    progress = fake.calls_to("chat.postMessage")[0]
    assert progress.args["thread_ts"] == ts and progress.text == "🎵 Working on it…"
    updates = [c.text for c in fake.calls_to("chat.update")]
    assert any("⏳ rendering audio" in u for u in updates) and "Done with 'sleep 0.5 render C G Am F'" in updates[-1]
    uploads = fake.calls_to("upload")
    folder = next(home.glob(f"outputs/slack_C1_{ts}/c-g-am-f*"))
    on_disk = {f"{folder.name}-{p.name}": p.stat().st_size for p in folder.iterdir()}
    names = [c.args["filename"] for c in uploads]
    assert names[0].endswith("lead-sheet-1.png")           # the engraved lead sheet first, with the audio
    assert sorted(n.rsplit("-", 1)[-1] for n in names) == ["1.png", "roll.png", "sheet.musicxml", "song.mid", "song.ogg"]
    assert all(on_disk[c.args["filename"]] == c.size for c in uploads)
    done = fake.calls_to("files.completeUploadExternal")[0].args
    assert done["channel_id"] == "C1" and done["thread_ts"] == ts and len(json.loads(done["files"])) == len(uploads)


def test_a_failed_upload_keeps_the_answer_and_says_so(tmp_path):
    async def scenario():
        async with running_slack(tmp_path / "home") as (fake, bot):
            fake.failing.add("files.completeUploadExternal")
            await fake.mention("render Dm G C")
            await fake.wait_for(lambda: any("refused the files" in c.text for c in fake.calls_to("chat.postMessage")), 60)
            return fake

    fake = run(scenario())
    assert fake.calls_to("chat.update")[-1].text.startswith("Done with 'render Dm G C'")
    assert fake.calls_to("chat.postMessage")[-1].text == "⚠️ Slack refused the files (fatal_error); ask me again for them."


def test_a_slash_command_starts_a_thread_that_follow_ups_continue(tmp_path):
    home = tmp_path / "home"

    async def scenario():
        async with running_slack(home) as (fake, bot):
            eid = await fake.command("what is a cadence?")
            await fake.wait_for(lambda: answer_to(fake, "You said: what is a cadence?") and eid in fake.acks)
            root = fake.calls_to("chat.postMessage")[0]
            root_ts = answer_to(fake, "You said").args["ts"]
            await fake.mention("and a plagal one?", thread_ts=root_ts)
            await fake.wait_for(lambda: answer_to(fake, "You said: and a plagal one?"))
            return fake, eid, root, root_ts

    fake, eid, root, root_ts = run(scenario())
    assert fake.acks[eid] - fake.sent[eid] < 3.0
    assert "thread_ts" not in root.args and root.text == "<@U1> asked: _what is a cadence?_\n🎵 Working on it…"
    assert answer_to(fake, "You said: what is a cadence?").text.startswith("<@U1> asked: _what is a cadence?_\n")
    follow_up = fake.calls_to("chat.postMessage")[1]
    assert follow_up.args["thread_ts"] == root_ts
    turns = make_assistant(home).history(f"slack:C1:{root_ts}")
    assert [t for r, t in turns if r == "user"] == ["what is a cadence?", "and a plagal one?"]


def test_a_dm_with_a_clip_is_downloaded_with_the_bot_token_and_analysed(tmp_path):
    home = tmp_path / "home"

    async def scenario():
        async with running_slack(home) as (fake, bot):
            clip = fake.shared_file("clip.wav", tone_wav(3.0))
            await fake.dm("analyze please", files=[clip])
            await fake.wait_for(lambda: answer_to(fake, "Analysis of"), 120)
            return fake

    fake = run(scenario())
    assert fake.download_auth == ["Bearer xoxb-test"]
    saved = list((home / "outputs" / "slack_D1_dm" / "uploads").glob("*clip.wav"))
    assert len(saved) == 1 and saved[0].read_bytes() == tone_wav(3.0)
    assert "thread_ts" not in fake.calls_to("chat.postMessage")[0].args  # a top-level DM gets a top-level answer


def test_errors_and_limits_are_told_never_silent(tmp_path):
    async def scenario():
        async with running_slack(tmp_path / "home", rate_limit=2) as (fake, bot):
            await fake.mention("crash now")
            await fake.wait_for(lambda: answer_to(fake, "⚠️"), 60)
            await fake.mention("second request")
            await fake.mention("third request")
            await fake.wait_for(lambda: any("Easy there!" in c.text for c in fake.calls_to("chat.postMessage")))
            await fake.command("compose a song about the sea")
            await fake.wait_for(lambda: fake.calls_to("response_url"))
            return fake

    fake = run(scenario())
    assert answer_to(fake, "⚠️").text == "⚠️ Sorry, something went wrong on my side (RuntimeError); please try again."
    limited = fake.calls_to("response_url")[0]
    assert "Easy there!" in limited.args["text"] and limited.args["response_type"] == "ephemeral"


def test_thumbs_on_a_song_become_ratings(tmp_path):
    home = tmp_path / "home"

    async def scenario():
        async with running_slack(home) as (fake, bot):
            await fake.mention("render Am F C G")
            done = await fake.wait_for(lambda: answer_to(fake, "Done with"), 120)
            await fake.react("C1", done.args["ts"], "+1", user="U7")
            await fake.react("C1", done.args["ts"], "thumbsdown::skin-tone-2", user="U8")
            await fake.react("C1", "1.000", "+1", user="U9")  # not a song of ours
            await fake.wait_for(lambda: len(load_ratings(home)) == 2, 20)
            await fake.react("C1", done.args["ts"], "+1", user="U7", removed=True)
            await fake.wait_for(lambda: len(load_ratings(home)) == 1, 20)
            return done

    done = run(scenario())
    (rating,) = load_ratings(home)
    assert (rating.source, rating.user_id, rating.rating) == ("slack", "U8", -1)
    assert rating.message_id == f"C1:{done.args['ts']}" and Path(rating.song_folder, "song.mid").exists()
