"""Ratings of a song folder store the song's chords, read from its song.json through a typed object."""

from __future__ import annotations

import json

import pytest

from core.errors import ToolError
from tools.feedback import SectionChords, load_ratings, record_rating, song_chords


def test_a_song_folders_chords_are_read_typed_and_stored_as_json(tmp_path):
    folder = tmp_path / "song"
    folder.mkdir()
    (folder / "song.json").write_text(json.dumps({
        "title": "River", "key": "G major", "genre": "folk", "chord_generator": "rule-based",
        "sections": [{"label": "Verse 1", "kind": "verse", "start_bar": 0, "bars": 2, "chords": ["G", "C"],
                      "romans": ["I", "IV"], "lines": ["The river runs"]}]}))
    chords = song_chords(folder)
    assert chords.key == "G major" and chords.generator == "rule-based"
    assert chords.sections == (SectionChords("verse", 2, ("I", "IV"), ("G", "C")),)
    record_rating(tmp_path / "home", source="cli", rating=1, chords=chords, song_folder=str(folder))
    (rating,) = load_ratings(tmp_path / "home")
    assert rating.chords == {"key": "G major", "genre": "folk", "generator": "rule-based",
                             "sections": [{"kind": "verse", "bars": 2, "romans": ["I", "IV"], "chords": ["G", "C"]}]}


def test_a_folder_without_a_readable_song_json_is_named(tmp_path):
    with pytest.raises(ToolError, match="has no song.json"):
        song_chords(tmp_path)
    assert song_chords(tmp_path, missing_ok=True) is None
    (tmp_path / "song.json").write_text("[1, 2]")
    with pytest.raises(ToolError, match="not a song file"):
        song_chords(tmp_path)


def _song(tmp_path):
    folder = tmp_path / "song"
    folder.mkdir()
    (folder / "song.json").write_text(json.dumps({
        "title": "River", "key": "G major", "genre": "folk",
        "sections": [{"kind": "verse", "bars": 2, "chords": ["G", "C"], "romans": ["I", "IV"]}]}))
    return folder


def test_rating_a_song_again_replaces_the_rating(tmp_path):
    folder, home = _song(tmp_path), tmp_path / "home"
    ids = [record_rating(home, source="cli", rating=r, chords=song_chords(folder), song_folder=str(folder))
           for r in (1, 1, -1)]
    assert len(set(ids)) == 1
    assert [r.rating for r in load_ratings(home)] == [-1]
    record_rating(home, source="cli", rating=1, chords=song_chords(folder), song_folder=str(folder), user_id="ana")
    assert [(r.user_id, r.rating) for r in load_ratings(home)] == [(None, -1), ("ana", 1)]  # another person


def test_a_damaged_ratings_store_is_named_with_the_fix(tmp_path):
    from core.errors import StoreError

    home = tmp_path / "home"
    home.mkdir()
    (home / "feedback.sqlite").write_bytes(b"not sqlite at all" * 64)
    with pytest.raises(StoreError, match=f"{home / 'feedback.sqlite'} is not a SQLite database .*move it aside"):
        record_rating(home, source="cli", rating=1, chords=["C", "G"])
    with pytest.raises(StoreError, match="feedback.sqlite is not a SQLite database"):
        load_ratings(home)
