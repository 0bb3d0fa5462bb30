"""Whole-track tags from the pretrained musicnn tagger on the real shared recordings: windows averaged, both
taxonomies with their source, sections of a long file, short clips repeated, silence and slivers refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from core.errors import ToolError
from tests.cli.test_app import bandmate
from tests.support import SHARED_DATA
from tools.listening.tagger import TrackTags, tag_audio, tag_track

AUDIO = SHARED_DATA / "audio"
FISHIN = AUDIO / "Karissa_Hobbs_-_Lets_Go_Fishin.ogg"           # 133 s, a woman singing
TRUMPET = AUDIO / "sorohanro_-_solo-trumpet-06.ogg"            # 5.3 s jazz trumpet loop


@pytest.fixture(scope="module")
def fishin() -> TrackTags:
    return tag_track(FISHIN)


def test_a_long_track_gets_averaged_tags_from_both_taxonomies_and_per_section_tags(fishin):
    assert fishin.windows >= 0.9 * fishin.duration / 3 and not fishin.silent   # every 3 s of a long track is heard
    assert {t.source for t in fishin.tags} == {"musicnn-mtt", "musicnn-msd"}
    assert len(fishin.tags) == 100
    assert [t.probability for t in fishin.tags] == sorted((t.probability for t in fishin.tags), reverse=True)
    heard = {t.label for t in fishin.confident()}
    assert "female vocalists" in heard and "male vocalists" not in heard
    assert fishin.probability("female vocalists") > 3 * fishin.probability("male vocalists")
    assert {t.head for t in fishin.aspect("singer")} == {"singer"}
    assert len(fishin.sections) == 5 and fishin.sections[0].start == 0 and fishin.sections[-1].end == fishin.duration
    assert all(t.probability >= fishin.threshold for s in fishin.sections for t in s.tags)
    lines = fishin.summary().splitlines()
    assert "female vocalists" in lines[0] and lines[1].strip().startswith("0:00-0:30:")


def test_a_clip_shorter_than_a_window_is_repeated_and_a_sliver_refused(tmp_path):
    audio, rate = sf.read(TRUMPET)
    sf.write(tmp_path / "two.wav", audio[: 2 * rate], rate)
    short = tag_track(tmp_path / "two.wav")
    assert short.windows == 1 and short.confident()[0].label == "jazz"
    sf.write(tmp_path / "sliver.wav", audio[: rate // 2], rate)
    with pytest.raises(ToolError, match="only 0.5 s long.*at least 1 s"):
        tag_track(tmp_path / "sliver.wav")


def test_silence_is_no_music_detected_never_tags(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(16000 * 4, dtype=np.float32), 16000)
    track = tag_track(tmp_path / "silence.wav")
    assert track.silent and track.tags == () and track.windows == 0
    assert track.summary().startswith("No music detected")
    assert tag_audio(tmp_path / "silence.wav") == []


def test_an_unknown_tagger_name_says_which_exist():
    with pytest.raises(ToolError, match="musicnn-mtt"):
        tag_track(TRUMPET, model="musicnn-big")


def test_the_tag_command_prints_tags_and_json(tmp_path):
    text = bandmate("tag", str(TRUMPET), tmp_path=tmp_path)
    assert text.returncode == 0 and "jazz" in text.stdout and "musicnn-msd" in text.stdout
    data = json.loads(bandmate("tag", str(TRUMPET), "--json", tmp_path=tmp_path).stdout)
    assert data["result"]["tags"][0] == {"label": "jazz", "head": "genre",
                                         "probability": data["result"]["tags"][0]["probability"],
                                         "source": "musicnn-msd"}
    missing = bandmate("tag", str(tmp_path / "nope.ogg"), tmp_path=tmp_path)
    assert missing.returncode == 1 and "There is no file" in missing.stderr


def test_caption_audio_gathers_the_pretrained_tags_as_predicted_facts():
    from tools.listening.caption import caption_audio

    caption = caption_audio(TRUMPET, llm=None)
    assert "jazz" in caption.tags and caption.instruction == "tag_concat"
    assert any(f.startswith("Predicted genre: jazz (p=") and "musicnn-msd" in f for f in caption.facts)
    assert any(f.startswith("Tempo:") for f in caption.facts)                      # measured facts stay
