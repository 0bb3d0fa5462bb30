"""Syllables, rhymes and rhyme schemes on known words (CMU Pronouncing Dictionary)."""

import pytest

from tools.songwriting.prosody import (
    check_scheme,
    end_word,
    line_syllables,
    repeats,
    rhymable_words,
    rhyme_keys,
    rhyme_pairs,
    rhymes,
    rhymes_for,
    song_words,
    word_syllables,
)


@pytest.mark.parametrize("word, count", [
    ("love", 1), ("fire", 1), ("night", 1), ("walked", 1), ("tonight", 2), ("river", 2), ("people", 2),
    ("remember", 3), ("beautiful", 3), ("everybody", 4), ("singin'", 2),
])
def test_syllables_of_known_words(word, count):
    assert word_syllables(word) == count


def test_words_outside_the_dictionary_fall_back_to_spelling():
    assert word_syllables("blorptastic") == 3


def test_line_syllables_count_every_word():
    assert line_syllables("I walked along the river in the rain") == 10
    assert line_syllables("Hold on, hold on!") == 4


@pytest.mark.parametrize("a, b", [
    ("night", "light"), ("heart", "apart"), ("fire", "desire"), ("home", "alone"), ("time", "mine"),
    ("away", "stay"), ("I walk the empty streets at night", "Searching for a little light!"),
])
def test_words_that_rhyme(a, b):
    assert rhymes(a, b)


@pytest.mark.parametrize("a, b", [
    ("love", "move"), ("home", "home"), ("night", "day"), ("heart", "hard"), ("orange", "door"), ("", "night"),
])
def test_words_that_do_not_rhyme(a, b):
    assert not rhymes(a, b)


def test_family_rhymes_only_when_near_rhymes_are_allowed():
    assert rhymes("time", "mine") and not rhymes("time", "mine", near=False)
    assert rhymes("night", "light", near=False)


def test_rhyme_keys_and_end_words():
    assert rhyme_keys("apart") == ("AA R T",)
    assert rhyme_keys("zorblight")[0].startswith("~")
    assert end_word("Hold on, tonight!") == "tonight" and end_word("...") == ""


def test_scheme_pairs_and_checks():
    assert rhyme_pairs("ABAB") == ((0, 2), (1, 3))
    assert rhyme_pairs("AABB") == ((0, 1), (2, 3))
    assert rhyme_pairs("XAXA") == ((1, 3),)
    lines = ["I walk the empty streets at night", "The door is closed, I'm on my own",
             "Searching for a little light", "A long way from my home"]
    abab, aabb = check_scheme(lines, "ABAB"), check_scheme(lines, "AABB")
    assert abab.rate == 1.0 and abab.rhymed == ((0, 2), (1, 3))
    assert aabb.rate == 0.0 and aabb.pairs == ((0, 1), (2, 3))
    assert check_scheme(lines[:2], "AA").rate == 0.0


def test_rhymes_are_suggested_from_common_song_words():
    words = song_words()
    assert len(words) > 200 and "night" in words
    found = rhymes_for("home")
    assert {"alone", "stone"} <= set(found) and "home" not in found
    assert all(rhymes("home", w) for w in found)
    assert rhymes_for("night")[0] in {"light", "bright", "sight", "right", "tight", "fight", "white", "flight"}


def test_plural_line_endings_find_rhymes_and_the_rhymable_words_are_those_with_two():
    assert {"fires", "desires"} <= set(rhymes_for("tires")) and "scars" in rhymes_for("stars")
    assert {"luck", "stuck"} <= set(rhymes_for("truck"))
    rhymable = rhymable_words()
    assert rhymable == tuple(w for w in song_words() if len(rhymes_for(w)) >= 2)   # the index agrees with pairs
    assert {"night", "world"} <= set(rhymable) and "engine" not in song_words()
    assert all(w in song_words() for w in rhymable) and len(rhymable) < len(song_words())


def test_repeated_lines_are_found_even_when_a_word_changes():
    earlier = ["I feel so alone as if no one knows where I'm going", "Hold on"]
    assert repeats("i feel so alone, as if no one knows where I'm going!", earlier)
    assert repeats("I feel so lonely as if no one knows where I'm going", earlier)
    assert repeats("Hold on!", earlier) and not repeats("Hold me", earlier)
    assert not repeats("The city lights are fading in the rain", earlier)
