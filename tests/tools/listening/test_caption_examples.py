"""MusicCaps examples in the caption prompt: nearest tags, split by clip, never the row being captioned."""

from __future__ import annotations

import json

import pytest

from tests.support import SHARED_DATA
from tests.support.fakes import ScriptedTextGenerator
from tools.listening.caption import INSTRUCTIONS, caption_prompt, caption_tags
from tools.listening.caption_examples import (
    EXAMPLES_FILE,
    ExampleBank,
    default_bank,
    held_out,
    read_musiccaps,
    write_examples,
)

MUSICCAPS = SHARED_DATA / "musiccaps" / "musiccaps-train.csv"
REPLY = ('{"new_attribute": ["brass section"], "description": "The low quality recording features a mellow '
         'trumpet solo over soft piano chords."}')


def test_the_shipped_examples_hold_no_held_out_clip():
    clips = [json.loads(line)["clip_id"] for line in EXAMPLES_FILE.read_text().splitlines()]
    assert len(clips) > 1500 and len(set(clips)) == len(clips)
    assert not any(held_out(c) for c in clips)


@pytest.mark.skipif(not MUSICCAPS.exists(), reason="../shared/data/musiccaps is not on this machine")
def test_a_fifth_of_musiccaps_is_held_out_by_clip():
    rows = read_musiccaps(MUSICCAPS)
    share = sum(held_out(r.clip_id) for r in rows) / len(rows)
    assert 0.15 < share < 0.25
    shipped = {json.loads(line)["clip_id"] for line in EXAMPLES_FILE.read_text().splitlines()}
    assert shipped == {r.clip_id for r in rows if not held_out(r.clip_id)}


def test_nearest_examples_share_the_tags_meaning():
    found = default_bank().nearest(["solo trumpet", "jazz", "slow tempo"], 3)
    assert len(found) == 3
    assert any("trumpet" in " ".join(ex.tags).lower() or "trumpet" in ex.caption.lower() or "jazz" in ex.tags
               for ex in found)
    assert all(ex.words <= 60 for ex in found)


def test_the_row_being_captioned_is_never_its_own_example():
    bank = default_bank()
    row = bank.examples[123]
    first = bank.nearest(row.tags, 3)
    assert first[0].clip_id == row.clip_id or row.words > 60       # its own tags are nearest of all
    again = bank.nearest(row.tags, 3, exclude={row.clip_id})
    assert row.clip_id not in {ex.clip_id for ex in again} and len(again) == 3
    llm = ScriptedTextGenerator(["A caption."])
    caption = caption_tags(list(row.tags), "writing", llm=llm, exclude={row.clip_id}, examples=2)
    assert row.clip_id not in caption.examples and len(caption.examples) == 2
    assert row.caption not in llm.calls[0]["prompt"]


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_every_instruction_keeps_its_paper_sentence_after_the_examples(instruction):
    llm = ScriptedTextGenerator([REPLY])
    tags = ["trumpet", "jazz", "mellow"]
    caption = caption_tags(tags, instruction, llm=llm)
    prompt = llm.calls[0]["prompt"]
    assert prompt.count("Description: ") == len(caption.examples) >= 1 and prompt.endswith("\n" + ", ".join(tags))
    system, zero_shot = caption_prompt(tags, instruction)
    assert zero_shot.splitlines()[0] in prompt                 # the LP-MusicCaps instruction, unchanged
    assert "voice" in llm.calls[0]["system"] and "voice" not in system
    if instruction == "prediction_attribute":
        assert caption.new_attributes == ["brass section"]
        assert caption.text.startswith("The low quality recording")


def test_the_caption_is_held_to_about_the_examples_length():
    tags = ["trumpet", "jazz", "mellow"]
    shown = default_bank().nearest(tags, 1)
    words = shown[0].words
    for instruction, expected in (("writing", words), ("paraphrase", words), ("summary", words // 2),
                                  ("prediction_attribute", 0)):      # a dictionary reply: its length isn't the caption's
        llm = ScriptedTextGenerator([REPLY])
        caption_tags(tags, instruction, llm=llm, examples=1)
        asked = llm.calls[0]
        if expected:
            assert f"about {max(15, min(60, expected))} words" in asked["prompt"].splitlines()[-2]
        assert asked["min_tokens"] == (max(15, min(60, expected)) if expected else 0)
    zero_shot = ScriptedTextGenerator(["A caption."])
    caption_tags(tags, "writing", llm=zero_shot, examples=0)          # the paper's prompt, untouched
    assert zero_shot.calls[0]["min_tokens"] == 0 and "words" not in zero_shot.calls[0]["prompt"]


def test_the_prompt_fits_the_embedded_models_context():
    bank = default_bank()
    longest = sorted(bank.examples, key=lambda ex: len(ex.tags))[-1]
    _, prompt = caption_prompt(list(longest.tags), "prediction_attribute", bank.nearest(longest.tags, 3))
    assert len(prompt) / 3 < 2048            # ~3+ characters a token: far inside the 8192-token window


def test_a_reply_that_echoes_the_example_layout_is_cleaned():
    llm = ScriptedTextGenerator(["Description: This song features a mellow trumpet."])
    assert caption_tags(["trumpet"], "writing", llm=llm).text == "This song features a mellow trumpet."


@pytest.mark.skipif(not MUSICCAPS.exists(), reason="../shared/data/musiccaps is not on this machine")
def test_examples_are_rebuilt_from_musiccaps(tmp_path):
    lines = MUSICCAPS.read_text(encoding="utf-8").splitlines(keepends=True)
    small = tmp_path / "musiccaps-small.csv"
    small.write_text("".join(lines[:60]), encoding="utf-8")         # header + rows (one caption a line)
    out = tmp_path / "examples.jsonl"
    count = write_examples(small, out)
    assert 30 < count < 60
    bank = ExampleBank.load(out)
    assert len(bank.examples) == count and bank.vectors.shape == (count, 384)
    assert list(tmp_path.glob("examples.*.npy"))
