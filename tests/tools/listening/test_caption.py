"""Captions: LP-MusicCaps prompts through a scripted LLM, the baselines, and audio -> tags -> caption."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from core.errors import ToolError
from tests.support import SHARED_DATA
from tests.support.fakes import ScriptedTextGenerator
from tests.support.known_songs import render
from tools.listening.analyze import analyze_audio
from tools.listening.caption import (
    INSTRUCTIONS,
    caption_audio,
    caption_prompt,
    caption_tags,
    parse_attribute_prediction,
    tag_concat,
    tags_from_analysis,
    template_caption,
)

TAGS = ["video game theme", "no singer", "instrumental", "analog sounding", "small keyboard", "playful"]


@pytest.mark.parametrize("instruction, opening", [
    ("writing", "Write a song description sentence including the following attributes."),
    ("summary", "Write a single sentence that summarizes a song with the following attributes. "
                "Don't write the artist name or album name."),
    ("paraphrase", "Write a song description sentence including the following attributes. "
                   "Creative paraphrasing is acceptable."),
    ("prediction_attribute", "Write the answer as a Python dictionary with new_attribute and description as keys."),
])
def test_each_instruction_sends_the_paper_prompt_then_the_tags(instruction, opening):
    llm = ScriptedTextGenerator(['{"new_attribute": ["8-bit"], "description": "A playful chiptune."}'])
    caption_tags(TAGS, instruction, llm=llm, examples=0)
    prompt = llm.calls[0]["prompt"]
    assert prompt.startswith(opening)
    assert prompt.endswith("\n" + ", ".join(TAGS))
    assert llm.calls[0]["system"]            # keeps small models from chatting


def test_one_tag_uses_the_singular_form():
    system, prompt = caption_prompt(["piano"], "writing")
    assert prompt == "Write a song description sentence including the following single attribute.\npiano"
    assert "single attribute" in caption_prompt("piano", "prediction_attribute")[1]


def test_writing_caption_is_cleaned_of_chatter():
    llm = ScriptedTextGenerator(['Sure! Here is a description:\n\n"This **playful** instrumental video game theme '
                                 'is played on a small analog keyboard."\n\nLet me know if you need more!'])
    caption = caption_tags(TAGS, "writing", llm=llm)
    assert caption.text == "This playful instrumental video game theme is played on a small analog keyboard."
    assert caption.model == "scripted" and caption.tags == TAGS and caption.instruction == "writing"


def test_prediction_attribute_returns_new_attributes_and_only_the_description():
    llm = ScriptedTextGenerator(["Here you go:\n{'new_attribute': ['8-bit sound', 'chiptune style', 'retro vibe'], "
                                 "'description': 'A cheerful chiptune with a retro vibe.'}"])
    caption = caption_tags(TAGS, "attribute_prediction", llm=llm)
    assert caption.instruction == "prediction_attribute"
    assert caption.new_attributes == ["8-bit sound", "chiptune style", "retro vibe"]
    assert caption.text == "A cheerful chiptune with a retro vibe."
    assert parse_attribute_prediction('new_attribute: [lofi, chill]\ndescription: "A calm beat."') == \
        (["lofi", "chill"], "A calm beat.")


def test_baselines_need_no_llm():
    assert tag_concat("slow tempo, piano").text == "slow tempo, piano"
    assert template_caption(["slow tempo", "piano"]).text == "the music is characterized by slow tempo, piano"
    assert tag_concat(["x"]).model == "baseline"


def test_bad_requests_give_clear_errors():
    llm = ScriptedTextGenerator(["  "])
    with pytest.raises(ToolError, match="No tags"):
        caption_tags([" ", ""], llm=llm)
    with pytest.raises(ToolError, match="Unknown caption instruction"):
        caption_tags(TAGS, "poem", llm=llm)
    with pytest.raises(ToolError, match="empty caption"):
        caption_tags(TAGS, "writing", llm=llm)
    assert set(INSTRUCTIONS) == {"writing", "summary", "paraphrase", "prediction_attribute"}


@pytest.fixture(scope="module")
def pop_song(tmp_path_factory):
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth not installed")
    return render(tmp_path_factory.mktemp("caption"), "pop", ["C", "G", "Am", "F"], 120)


def test_audio_becomes_measured_tags_then_a_caption(pop_song):
    llm = ScriptedTextGenerator(["An upbeat medium-tempo track in C major with drums."])
    caption = caption_audio(pop_song, llm=llm, tagger=None)            # measured tags only (tagger: test_tagger*)
    assert "medium tempo" in caption.tags and "C major key" in caption.tags and "drums" in caption.tags
    assert "120 bpm" in caption.tags and "simple chord progression" in caption.tags
    assert not any(word in " ".join(caption.tags) for word in ("vocal", "singer", "guitar", "lyrics"))
    assert llm.calls[0]["prompt"].endswith(", ".join(caption.tags))
    assert caption.text.startswith("An upbeat") and any(f.startswith("Tempo:") for f in caption.facts)
    assert caption_audio(pop_song, llm=None).instruction == "tag_concat"


def test_a_solo_line_is_tagged_as_such():

    trumpet = SHARED_DATA / "audio" / "sorohanro_-_solo-trumpet-06.ogg"
    if not trumpet.exists():
        pytest.skip("shared/data/audio is not here")
    tags = tags_from_analysis(analyze_audio(trumpet))
    assert "solo melody" in tags and "medium tempo" in tags and "F minor key" in tags


def test_silent_or_broken_audio_is_refused(tmp_path):
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(22050, dtype=np.float32), 22050)
    llm = ScriptedTextGenerator(["A lovely song."])
    with pytest.raises(ToolError, match="silent"):
        caption_audio(silent, llm=llm)
    (tmp_path / "x.wav").write_text("not audio at all\n" * 20)
    with pytest.raises(ToolError, match="not an audio file"):
        caption_audio(tmp_path / "x.wav", llm=llm)
    assert llm.calls == []
