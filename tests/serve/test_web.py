"""The web chat end to end, in a real headless browser (the system's chromium and chromedriver).

The app runs in this process on 127.0.0.1 with the routed fake chat model and real tools: the audio the
page plays is a real render, the tempo it reports was measured. The page is screenshotted to the run's
temporary ``outputs/`` folder (set BANDMATE_UPDATE_SCREENSHOT=1 to refresh docs/images/web.png as well).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import mido
import pytest
import soundfile as sf

from serve.web import RATING_SOURCE, WebOptions, build_web_app, launch
from tests.serve.conftest import bandmate_command, bandmate_env, free_port
from tests.serve.scripted import web_assistant
from tests.support import REPO
from tests.support.bots.harness import tone_wav
from tools.feedback import load_ratings
from tools.rendering.synth import render_midi_to_wav

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = 180  # seconds; generous, the machine is shared
needs_browser = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                                   reason="the browser test needs chromium and chromedriver "
                                          "(Debian: apt install chromium chromium-driver)")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The app on a free port, with its home folder; closed after the module."""
    home = tmp_path_factory.mktemp("web-home")
    assistant = web_assistant(home)
    options = WebOptions(port=free_port(), max_upload_bytes=2**20)
    app = launch(build_web_app(assistant, options), assistant, options, block=False)
    yield f"http://127.0.0.1:{options.port}/", home
    app.close()


@pytest.fixture(scope="module")
def browser(web):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,2600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # no download: an explicit driver
    driver.get(web[0])
    wait_for(driver, lambda d: d.find_elements("css selector", "#message textarea"))
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def send(driver, text: str, upload: Path | None = None) -> None:
    """Type ``text`` (after uploading ``upload``) into the message box and press Enter."""
    from selenium.webdriver.common.keys import Keys

    if upload is not None:
        driver.find_element("css selector", "#message input[type=file]").send_keys(str(upload))
        wait_for(driver, lambda d: d.find_elements("css selector", '#message [aria-label="File thumbnail"]'))
    box = driver.find_element("css selector", "#message textarea")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def chat_text(driver) -> str:
    return driver.find_element("id", "chat").text


def wait_for_text(driver, text: str) -> None:
    from selenium.common.exceptions import TimeoutException

    try:
        wait_for(driver, lambda d: text in chat_text(d))
    except TimeoutException:
        pytest.fail(f"the page never said {text!r}; it says:\n{chat_text(driver)}")


def bot_messages(driver) -> int:
    return len(driver.find_elements("css selector", "#chat .message-row"))


@pytest.fixture(scope="module")
def clip_at_100_bpm(tmp_path_factory) -> Path:
    """A real recording with a known tempo: piano chords on every beat at 100 BPM, played by fluidsynth."""
    folder = tmp_path_factory.mktemp("clip")
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100))])
    for chord in [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)] * 2:  # Am F C G, a bar each
        for _beat in range(4):  # 400 ticks of sound, 80 of rest: one beat
            track += [mido.Message("note_on", note=n, velocity=90, time=80 if i == 0 and len(track) > 1 else 0)
                      for i, n in enumerate(chord)]
            track += [mido.Message("note_off", note=n, time=400 if i == 0 else 0) for i, n in enumerate(chord)]
    midi.tracks.append(track)
    midi.save(folder / "clip.mid")
    render_midi_to_wav(folder / "clip.mid", folder / "clip.wav", ogg_path=folder / "clip.ogg")
    return folder / "clip.ogg"  # under the test's 1 MB upload limit


@needs_browser
def test_render_plays_real_audio_shows_the_piano_roll_and_takes_a_rating(web, browser, tmp_path):
    url, home = web
    send(browser, "render C G Am F on piano")
    wait_for_text(browser, "render music")  # the tool's progress line, there while it runs and after
    audio = wait_for(browser, lambda d: d.find_elements("css selector", "#chat audio[src]"))[0]
    assert "✓ render music" in chat_text(browser)
    src = audio.get_attribute("src")
    assert src.startswith(url) and src.endswith(".ogg")
    (tmp_path / "played.ogg").write_bytes(urllib.request.urlopen(src, timeout=30).read())
    played, rate = sf.read(tmp_path / "played.ogg")
    assert abs(len(played) / rate - 10.0) < 0.5 and abs(played).max() > 0.05  # ten seconds of real sound
    roll = wait_for(browser, lambda d: [i for i in d.find_elements("css selector", "#chat img")
                                        if "piano-roll.png" in i.get_attribute("src")])[0]
    assert int(roll.get_attribute("naturalWidth")) > 500
    assert {"song.mid", "song.wav"} <= set(chat_text(browser).split())  # the downloads

    browser.find_elements("css selector", '#chat button[aria-label="Like"]')[-1].click()
    rating = wait_for(browser, lambda d: [r for r in load_ratings(home) if r.source == RATING_SOURCE])[0]
    assert rating.rating == 1 and rating.thread_id.startswith("web:")
    assert Path(rating.song_folder).name == Path(src).parent.name and (Path(rating.song_folder) / "song.wav").is_file()


@needs_browser
def test_upload_a_clip_and_ask_its_tempo(web, browser, clip_at_100_bpm, tmp_path_factory):
    send(browser, "what's the tempo of this clip?", upload=clip_at_100_bpm)
    wait_for_text(browser, "Tempo: about 100 BPM")
    assert "✓ analyze audio" in chat_text(browser)
    shots = tmp_path_factory.mktemp("outputs")
    browser.find_element("id", "chat").screenshot(str(shots / "web-chat.png"))
    browser.save_screenshot(str(shots / "web.png"))
    print(f"screenshots: {shots}")
    if os.environ.get("BANDMATE_UPDATE_SCREENSHOT"):
        shutil.copyfile(shots / "web.png", REPO / "docs" / "images" / "web.png")


@needs_browser
def test_bad_input_is_one_sentence_and_the_page_keeps_working(web, browser, tmp_path):
    browser.find_element("id", "new-conversation").click()
    wait_for(browser, lambda d: bot_messages(d) == 0)

    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list")
    send(browser, "what is this?", upload=notes)
    wait_for_text(browser, "I can't use notes.txt: upload audio (WAV, FLAC, OGG or MP3) or MIDI/MusicXML.")

    long_clip = tmp_path / "long.wav"
    long_clip.write_bytes(tone_wav(seconds=40.0))
    send(browser, "and this one?", upload=long_clip)
    wait_for_text(browser, "long.wav is 1.7 MB, over the 1 MB upload limit; upload a shorter clip or an OGG/MP3.")

    send(browser, "render C H# F on piano")  # a tool error: its sentence, shown open under the failed step
    wait_for_text(browser, "'H#' is not a chord symbol I can read")
    assert "✗ render music" in chat_text(browser)

    send(browser, "render that")  # a new conversation remembers no chords
    wait_for_text(browser, "Say what to play: chords like 'C G Am F', or a .mid or .musicxml file.")

    send(browser, "are you still there?")  # and the server still answers
    wait_for_text(browser, "You said: are you still there?")


def test_serve_web_starts_on_localhost_and_refuses_a_taken_port(home):
    """The real command: it serves the page, and a second one on the same port says why it can't."""
    port = free_port()
    env = {**bandmate_env(home), "BANDMATE_LLM_BACKEND": "openai", "BANDMATE_BASE_URL": "http://127.0.0.1:9/v1",
           "GRADIO_ANALYTICS_ENABLED": "False"}  # a chat server that is never asked: no message is sent
    server = subprocess.Popen(bandmate_command("serve", "web", "--port", str(port)), env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        page = None
        deadline = time.monotonic() + 120
        while page is None and time.monotonic() < deadline:
            assert server.poll() is None, server.communicate()[1]
            try:
                page = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2).read())
            except OSError:
                time.sleep(0.5)
        assert page is not None and page["title"] == "bandmate"
        second = subprocess.run(bandmate_command("serve", "web", "--port", str(port)), env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert second.stderr.strip() == (f"error: Port {port} on 127.0.0.1 is already in use; stop the program using "
                                         "it or pass --port with another number.")
        assert server.poll() is None  # the first one is still serving
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_web_refuses_other_interfaces_unless_asked(home):
    done = subprocess.run(bandmate_command("serve", "web", "--host", "0.0.0.0"), env=bandmate_env(home), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "pass --allow-remote to listen on 0.0.0.0" in done.stderr


def test_after_a_reply_the_page_reads_the_thread_ahead_and_not_after_bad_input(home, monkeypatch):
    """While the person reads the reply, the next prompt is read ahead (a no-op off the embedded model)."""
    from types import SimpleNamespace

    from serve.web import WebChat

    chat = WebChat(web_assistant(home), WebOptions())
    ahead: list[str] = []
    monkeypatch.setattr(chat.assistant, "read_ahead_in_background", ahead.append)
    request = SimpleNamespace(session_hash="tab-1")
    *_, (messages, _, session) = chat.answer({"text": "render C G Am F on piano"}, None, request)
    assert ahead == [session.thread_id]
    assert any("render C G Am F on piano" in str(m.content) for m in messages if m.role == "assistant")
    notes = home / "notes.txt"
    notes.write_text("not music")
    *_, (messages, _, _) = chat.answer({"text": "", "files": [str(notes)]}, session, request)
    assert ahead == [session.thread_id] and "notes.txt" in str(messages[-1].content)
