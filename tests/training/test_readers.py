"""Readers for the public formats users bring, on small fixtures written in those formats and on the real MusicCaps CSV."""

from __future__ import annotations

import pytest

from core.errors import ToolError
from tests.support import FIXTURES, SHARED_DATA
from training.readers import (
    JsonlLog,
    read_magnatagatune,
    read_musiccaps,
    read_musicinstruct,
    read_musicqa,
    read_tagged,
)

MUSICCAPS = SHARED_DATA / "musiccaps" / "musiccaps-train.csv"


def test_musiccaps_rows_become_tagged_clips_with_eval_split():
    clips = read_musiccaps(FIXTURES / "musiccaps_small.csv")
    assert [c.id for c in clips] == ["-0SdAVK79lg_30", "-5xOcMJpTUk_20"]
    assert clips[0].tags == ["guitar song", "piano backing", "slow tempo", "no voice"]
    assert clips[0].caption.startswith("This song features an electric guitar")
    assert [c.split for c in clips] == ["train", "eval"]
    assert clips[1].tags[-1] == "male vocal"


@pytest.mark.skipif(not MUSICCAPS.exists(), reason="shared MusicCaps data not present")
def test_real_musiccaps_csv_reads_every_row_with_tags():
    clips = read_musiccaps(MUSICCAPS)
    assert len(clips) > 1000
    assert sum(bool(c.tags) for c in clips) / len(clips) > 0.99
    assert all(c.caption for c in clips)


def test_magnatagatune_quoted_tab_separated_annotations():
    clips = read_magnatagatune(FIXTURES / "annotations_final_small.csv")
    assert [c.id for c in clips] == ["mtat_2", "mtat_6"]            # the clip without tags is left out
    assert clips[0].tags == ["no voice", "classical", "slow", "piano"]
    assert clips[1].audio == "f/some_artist-track-02-88-117.mp3"
    assert read_tagged(FIXTURES / "annotations_final_small.csv")[0].tags == clips[0].tags


def test_musicqa_conversations_split_into_pairs():
    pairs = read_musicqa(FIXTURES / "musicqa_small.json")
    assert [(p.audio, p.question) for p in pairs] == [("00000.wav", "What is the tempo of the music?"),
                                                      ("00001.mp3", "Describe the audio"),
                                                      ("00001.mp3", "Is there singing?")]
    assert pairs[2].answer == "No, it is instrumental."


def test_musicinstruct_pairs_point_at_musiccaps_audio():
    pairs = read_musicinstruct(FIXTURES / "musicinstruct_small.json")
    assert pairs[0].audio == "-0SdAVK79lg.wav" and pairs[1].answer == "Calm and peaceful."


def test_wrong_format_gives_one_sentence(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ToolError, match="not a MusicCaps CSV"):
        read_musiccaps(bad)
    with pytest.raises(ToolError, match="can't tell which dataset"):
        read_tagged(bad)
    (tmp_path / "q.json").write_text('[{"question": 1}]')
    with pytest.raises(ToolError, match="item 0"):
        read_musicqa(tmp_path / "q.json")
    with pytest.raises(ToolError, match="no file"):
        read_musicinstruct(tmp_path / "missing.json")


def test_jsonl_log_drops_a_half_written_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n{"id": ')
    log = JsonlLog(path)
    assert [r["id"] for r in log.rows] == [1, 2]
    log.append([{"id": 3}])
    assert [r["id"] for r in JsonlLog(path).rows] == [1, 2, 3]


def test_a_folder_of_unlabelled_recordings_is_tagged_by_the_pretrained_tagger(tmp_path):
    import shutil

    from tests.support import SHARED_DATA
    from training.readers import read_tagged

    for name in ("sorohanro_-_solo-trumpet-06.ogg", "Karissa_Hobbs_-_Lets_Go_Fishin.ogg"):
        shutil.copy(SHARED_DATA / "audio" / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not audio")
    clips = {c.id: c for c in read_tagged(tmp_path)}
    assert set(clips) == {"sorohanro_-_solo-trumpet-06", "Karissa_Hobbs_-_Lets_Go_Fishin"}
    assert clips["sorohanro_-_solo-trumpet-06"].tags == ["jazz"]          # its 0.44 "guitar" is below 0.7
    assert "female vocalists" in clips["Karissa_Hobbs_-_Lets_Go_Fishin"].tags
    assert all(t["source"].startswith("musicnn") for c in clips.values() for t in c.meta["tags"])
