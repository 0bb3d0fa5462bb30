"""Genre from lyrics (zero-shot with the shipped MiniLM encoder) and genre names users type."""

import pytest

from tools.music.genres import GENRES
from tools.songwriting.arrangement import STYLES
from tools.songwriting.genre import classify_genre, resolve_genre

REQUIRED = {"pop", "rock", "hip hop", "country", "folk", "metal", "jazz", "blues", "electronic", "r&b"}


def test_every_required_genre_is_classified_and_arranged():
    assert REQUIRED <= set(GENRES)
    assert set(GENRES) == set(STYLES)


@pytest.mark.parametrize("lyrics, genre", [
    ("My old pickup truck rolls down the dirt road\nPast Mama's front porch and the Sunday church\n"
     "A cold beer and cowboy boots on a Friday night in this small town", "country"),
    ("Started from the bottom with my crew on the block\nSpitting rhymes on the mic, stacking money, never stop\n"
     "Haters talk but I keep on getting paid", "hip hop"),
    ("Blood and fire, the darkness calls my name\nDemons rise from graves of endless pain\n"
     "War and death, the world will burn in flame", "metal"),
])
def test_classify_genre_ranks_the_fitting_genre_first(lyrics, genre):
    ranked = classify_genre(lyrics)
    assert ranked[0].genre == genre
    assert sorted(g.genre for g in ranked) == sorted(GENRES)
    assert sum(g.score for g in ranked) == pytest.approx(1.0, abs=1e-3)
    assert all(a.score >= b.score for a, b in zip(ranked, ranked[1:]))


@pytest.mark.parametrize("name, genre, noted", [
    ("rock", "rock", False), ("R&B", "r&b", False), ("Hip Hop", "hip hop", False),
    ("rap", "hip hop", True), ("Hip-Hop", "hip hop", True), ("techno", "electronic", True),
    ("indie folk", "folk", True), ("folk rock", "rock", True), ("countri", "country", True),
    ("bossa nova", "jazz", True),
])
def test_resolve_genre_finds_the_closest_supported_genre(name, genre, noted):
    match = resolve_genre(name, use_encoder=False)
    assert match.genre == genre
    assert (match.note is not None) == noted
    if noted:
        assert name in match.note and genre in match.note


def test_unknown_genre_goes_to_the_nearest_description_by_embedding():
    match = resolve_genre("polka")
    assert match.genre in GENRES and "polka" in match.note and match.genre in match.note


def test_unknown_genre_without_encoder_falls_back_to_pop_and_says_so():
    match = resolve_genre("zzxq", use_encoder=False)
    assert match.genre == "pop" and "closest" in match.note
