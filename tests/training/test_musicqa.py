"""MusicQA pairs: exact label questions on the synthetic corpus, MusicQA tag questions, LLM open questions,
written as the seed's JSONL and as MU-LLaMA conversations (read back by the MusicQA reader)."""

from __future__ import annotations

import json

import pytest

from tests.support import FIXTURES
from tests.support.fakes import ScriptedTextGenerator
from training.captions import EndpointDown
from training.musicqa import (
    QAJob,
    generate_musicqa,
    label_qa,
    parse_qa_reply,
    tag_qa,
    write_conversations,
)
from training.readers import JsonlLog, TaggedClip, read_magnatagatune, read_musicqa

SYNTH = TaggedClip(id="s1", tags=["folk", "violin"], audio="clips/s1.wav", meta={
    "tempo_class": "fast", "key": "D major", "mode": "major", "instrument": "violin", "genre": "folk",
    "dynamics": "soft", "drums": "four_on_floor"})


def test_label_questions_answer_from_true_labels():
    pairs = {p.kind: p for p in label_qa(SYNTH)}
    assert pairs["tempo"].answer == "The tempo is fast."
    assert pairs["key"].answer == "It is in D major."
    assert pairs["instrument"].answer == "The lead instrument is the violin."
    assert pairs["drums"].answer == "Yes, with four on floor drums."
    assert pairs["dynamics"].answer == "It is played softly."
    assert all(p.audio == "clips/s1.wav" and p.question.endswith("?") for p in pairs.values())
    assert [p.question for p in label_qa(SYNTH)] == [p.question for p in label_qa(SYNTH)]


def test_magnatagatune_tags_become_musicqa_kinds():
    clip = read_magnatagatune(FIXTURES / "annotations_final_small.csv")[0]
    pairs = {p.kind: p.answer for p in tag_qa(clip)}
    assert pairs["describe"] == "This music features no voice, classical, slow and piano."
    assert pairs["instruments"] == "I can hear piano." and pairs["genre"] == "It is classical."
    assert pairs["tempo"] == "The tempo is slow."


def test_open_questions_parsed_from_llm_reply():
    reply = "Sure!\n1. Q: What instrument leads?\nA: A violin.\n\n**Q2:** Is it fast?\n**A2:** Yes, quite fast."
    assert parse_qa_reply(reply) == [("What instrument leads?", "A violin."), ("Is it fast?", "Yes, quite fast.")]


def test_generation_writes_jsonl_and_conversations_and_resumes(tmp_path):
    clips = [SYNTH, TaggedClip(id="m1", tags=["piano", "sad"], caption="A sad solo piano piece.", audio="m1.wav")]
    llm = ScriptedTextGenerator(["Q: What plays?\nA: A violin.", "Q: How does it feel?\nA: Sad."])
    out = tmp_path / "qa.jsonl"
    n = generate_musicqa(clips[:1], out, job=QAJob(open_per_clip=1), llm=llm, progress=False)
    n += generate_musicqa(clips, out, job=QAJob(open_per_clip=1), llm=llm, progress=False)
    rows = JsonlLog(out).rows
    assert n == len(rows) and len(llm.calls) == 2                    # s1 was not asked twice
    assert {"audio", "question", "answer"} <= set(rows[0])
    assert {r["kind"] for r in rows if r["id"] == "m1"} == {"describe", "instruments", "mood", "open"}
    assert "A sad solo piano piece." in llm.calls[1]["prompt"]
    conv = write_conversations(out, tmp_path / "MusicQA.json")
    data = json.loads(conv.read_text())
    assert data[0]["conversation"][0]["from"] == "human" and data[0]["conversation"][1]["from"] == "gpt"
    assert [p.answer for p in read_musicqa(conv)] == [r["answer"] for r in rows]


def test_open_questions_stop_cleanly_when_the_endpoint_is_down(tmp_path):
    class Down:
        name = "down"

        def generate(self, prompt, **kw):
            raise ConnectionError("refused")

    clip = TaggedClip(id="m1", tags=["piano"], caption="Piano.", audio="m1.wav")
    with pytest.raises(EndpointDown):
        generate_musicqa([clip], tmp_path / "qa.jsonl", job=QAJob(open_per_clip=2, retries=1, backoff_s=0), llm=Down(),
                         progress=False)
    assert JsonlLog(tmp_path / "qa.jsonl").rows == []
