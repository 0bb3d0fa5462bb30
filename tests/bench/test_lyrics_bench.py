"""The lyrics bench's measures on lyrics whose numbers are known."""

from __future__ import annotations

import sys

import pytest

from tests.support import REPO
from tests.support.fakes import ScriptedTextGenerator
from tests.support.song_replies import WHOLE_SONG
from tools.songwriting.lyric_writing import LyricsBrief, write_lyrics
from tools.songwriting.lyrics import parse_lyrics

sys.path.insert(0, str(REPO / "bench"))

from lyrics_quality import (  # noqa: E402
    CountingGenerator,
    Request,
    best_scheme,
    bootstrap,
    default_song,
    distinct_2,
    naturalness,
    parallel_spread,
    read_requests,
    repeated_share,
    rhyme_counts,
    unique_sections,
)

SONG = parse_lyrics("""[Verse 1]
I walk the empty streets at night
The door is closed, I'm on my own
Searching for a little light
A long way from my home
[Chorus]
Hold on, hold on
Hold on until the end
[Verse 2]
The morning comes in gold and gray
My suitcase waiting by the door
The train will take me far away
I won't be coming back here any more
[Chorus]
Hold on, hold on
Hold on until the end
""")


def test_a_repeated_chorus_counts_once():
    assert [len(s) for s in unique_sections(SONG)] == [4, 2, 4]


def test_rhyme_pairs_are_scored_under_the_best_fitting_scheme():
    assert best_scheme(4) == ("AABB", "ABAB") and best_scheme(2) == ("AA",)
    pairs, rhymed = rhyme_counts(unique_sections(SONG))
    # verse 1 ABAB: both pairs; chorus AA: on/end do not rhyme; verse 2 ABAB: gray/away, door/more
    assert (pairs, rhymed) == (5, 4)


def test_parallel_line_spread_distinct_pairs_and_repeats():
    # syllables: verse 1 = 8, 8, 7, 6; verse 2 = 8, 8, 8, 10: spreads 0, 0, 1, 4
    assert parallel_spread(SONG) == 0.5
    assert distinct_2(["hold on hold on", "hold on"]) == pytest.approx(2 / 4)
    assert repeated_share([["a line", "another line", "a line!"], ["more"]]) == pytest.approx(2 / 4)
    assert repeated_share(unique_sections(SONG)) == 0.0


def test_requests_cover_every_genre_in_the_first_ten():
    requests = read_requests()
    assert len(requests) == 30 and len({r.genre for r in requests[:10]}) == 10


def test_bootstrap_interval_holds_the_mean():
    values = [0.5, 0.7, 0.9, 0.6, 0.8] * 4
    lo, hi = bootstrap(values)
    assert lo < 0.7 < hi and hi - lo < 0.2


def test_the_work_behind_a_song_is_counted_in_calls_and_tokens():
    counting = CountingGenerator(ScriptedTextGenerator(list(WHOLE_SONG)))
    write_lyrics(LyricsBrief(prompt="leaving home"), counting)
    assert counting.calls == len(WHOLE_SONG)
    assert counting.tokens == sum(len(reply) // 4 for reply in WHOLE_SONG)   # no tokenizer: characters / 4


def test_the_default_song_is_made_as_compose_makes_it_and_sings_every_written_section():
    counting = CountingGenerator(ScriptedTextGenerator(list(WHOLE_SONG)))
    lyrics, seconds, (duration, sung, written) = default_song(Request("leaving home", "folk", "sad"), counting,
                                                              "crafted", 0)
    assert [s.label for s in lyrics.sections] == ["Verse 1", "Chorus", "Verse 2", "Chorus", "Bridge", "Chorus"]
    assert sung == written == 6 and counting.calls == len(WHOLE_SONG)
    assert seconds >= 0 and 100 <= duration <= 240


@pytest.mark.slow
def test_naturalness_prefers_lines_that_make_sense_to_the_same_words_shuffled():
    shuffled = parse_lyrics("""[Verse 1]
night empty at the streets I walk
own closed on my the door I'm is
light little searching a for
home my from way a long
""")
    sensible, salad = naturalness([("leaving home", SONG), ("leaving home", shuffled)])
    assert sensible < 0 and salad < 0 and sensible > salad + 1.0
