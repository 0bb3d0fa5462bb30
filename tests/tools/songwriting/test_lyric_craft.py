"""The crafted lyrics method with a scripted model: plan, hook, section drafts, fixed rhymes and meter."""

import pytest

from core.errors import ToolError
from tests.support.fakes import ScriptedTextGenerator
from tests.support.song_replies import (
    BRIDGE,
    CHORUS,
    PLAN,
    VERSE_1,
    VERSE_2,
    WHOLE_SONG,
)
from tools.songwriting.lyric_craft import CraftOptions, title_from_hook
from tools.songwriting.lyric_writing import DEFAULT_STRUCTURE, LyricsBrief, write_lyrics
from tools.songwriting.prosody import check_scheme, line_syllables, rhymes

BRIEF = LyricsBrief(prompt="leaving home", genre="folk", mood="sad")


def _texts(section):
    return [ln.text for ln in section.lines]


def test_a_whole_song_is_planned_drafted_and_fixed():
    llm = ScriptedTextGenerator(list(WHOLE_SONG))
    lyrics = write_lyrics(BRIEF, llm, seed=2)

    assert [s.label for s in lyrics.sections] == list(DEFAULT_STRUCTURE)
    assert lyrics.title == "Porch Light"                      # the plan's title, sung in the hook
    choruses = [_texts(s) for s in lyrics.sections if s.kind == "chorus"]
    assert choruses[0][0] == "Leave the porch light on for me" and choruses.count(choruses[0]) == 3

    verse_1, verse_2 = (_texts(s) for s in lyrics.sections if s.kind == "verse")
    assert "Leave the porch light on for me" not in verse_1 and verse_1[0] == "My mother waves from the door"
    assert verse_2[3] == "I miss the river and the sun"       # the candidate that rhymes and scans
    for lines in (verse_1, verse_2):
        assert check_scheme(lines, "ABAB").rate == 1.0
    assert check_scheme(choruses[0], "AABB").rate == 1.0
    assert check_scheme(_texts(lyrics.sections[4]), "AA").rate == 1.0
    spread = [abs(line_syllables(a) - line_syllables(b)) for a, b in zip(verse_1, verse_2)]
    assert max(spread) <= 2

    prompts = [c["prompt"] for c in llm.calls]
    assert len(prompts) == 6 and "leaving home" in prompts[0] and "sad folk" in prompts[0]
    assert "[Chorus]" in prompts[1] and "Leave the porch light on for me" in prompts[1]
    # verse 2 sees the chorus and verse 1's length, not its lines (a small model would copy them)
    assert "I'm carrying the things you told" in prompts[3] and "My mother waves" not in prompts[3]
    assert "as long as in the Verse 1" in prompts[3]
    fix = prompts[4]
    assert "I count the houses one by one" in fix and "ENDING with one of:" in fix and "sun" in fix.split("ENDING")[1]
    assert fix.index("I count the houses") < fix.index("Task:") and "come next" in fix   # not a line to echo
    assert len({c["seed"] for c in llm.calls}) == 6


@pytest.mark.parametrize("request_text, theme, genre_words", [
    ("write me a sad folk song about leaving home", "leaving home", "sad folk "),
    ("Can you write an upbeat pop song about summer love?", "summer love", "upbeat pop "),
    ("a song of hope", "hope", ""),
    ("leaving my small town for the city", "leaving my small town for the city", ""),
    ("a story about my dog", "a story about my dog", ""),
])
def test_the_theme_is_the_request_without_its_framing(request_text, theme, genre_words):
    brief = LyricsBrief(prompt=request_text)
    assert (brief.theme, brief.genre_words) == (theme, genre_words)
    assert LyricsBrief(prompt=request_text, genre="rock").genre_words == "rock "   # the brief's genre wins


def test_a_request_in_a_sentence_is_asked_of_the_model_as_its_theme():
    llm = ScriptedTextGenerator(list(WHOLE_SONG))
    write_lyrics(LyricsBrief(prompt="write me a sad folk song about leaving home"), llm, seed=2)
    assert "a sad folk song about leaving home." in llm.calls[0]["prompt"]
    assert all("write me" not in c["prompt"] and c["prompt"].count("song about") == 1 for c in llm.calls)


def test_fixes_are_capped_so_the_lyrics_step_stays_short():
    llm = ScriptedTextGenerator([PLAN, CHORUS, VERSE_1, VERSE_2, BRIDGE])
    lyrics = write_lyrics(BRIEF, llm, options=CraftOptions(max_fixes=0))
    assert len(llm.calls) == 5
    verse_2 = _texts(lyrics.sections[2])
    assert verse_2[3].endswith("evening bells")               # kept as drafted: no fix was allowed


def test_a_plan_without_a_hook_takes_the_hook_and_title_from_the_chorus():
    llm = ScriptedTextGenerator(["I can't plan songs.", "[Chorus]\nCarry me home, carry me home tonight\n"
                                 "Under the stars I will find the light\n", VERSE_1, VERSE_2, "", BRIDGE])
    lyrics = write_lyrics(LyricsBrief(prompt="going home"), llm, structure=("Verse 1", "Chorus"),
                          options=CraftOptions(max_fixes=0))
    assert lyrics.title == "Carry Me Home Tonight"
    assert _texts(lyrics.sections[1])[0] == "Carry me home, carry me home tonight"


def test_a_planned_hook_in_quotes_with_a_comma_after_is_sung_without_them():
    plan = 'Title: Still Young\nHook: "In my heart, I\'m still young and strong",\nImages: stairs, noise, friends'
    llm = ScriptedTextGenerator([plan, "[Chorus]\nThe city hums below my window\nMy friends are waiting down below\n"])
    lyrics = write_lyrics(LyricsBrief(prompt="growing up"), llm, structure=("Chorus",),
                          options=CraftOptions(max_fixes=0))
    assert _texts(lyrics.sections[0])[0] == "In my heart, I'm still young and strong"


def test_a_given_title_wins():
    lyrics = write_lyrics(LyricsBrief(prompt="leaving home", title="Gravel Roads"),
                          ScriptedTextGenerator(list(WHOLE_SONG)), structure=("Chorus",))
    assert lyrics.title == "Gravel Roads"


def test_no_usable_chorus_is_a_tool_error():
    llm = ScriptedTextGenerator([PLAN.replace("Hook", "Nothing"), "Sure! I'd love to help.", "Here you go:"])
    with pytest.raises(ToolError, match="chorus"):
        write_lyrics(BRIEF, llm)


def test_unknown_method_is_a_tool_error():
    with pytest.raises(ToolError, match="single-shot"):
        write_lyrics(BRIEF, ScriptedTextGenerator([PLAN]), method="poetic")  # type: ignore[arg-type]


@pytest.mark.parametrize("hook, planned, title", [
    ("Leave the porch light on for me", "Porch Light", "Porch Light"),
    ("A sad song, I'm leaving home", "Farewell", "I'm Leaving Home"),
    ("Oh my, oh my, oh my", "", "Oh My"),
])
def test_the_title_comes_from_the_hook(hook, planned, title):
    assert title_from_hook(hook, planned) == title


def test_a_rhyme_sung_mid_line_ends_the_line_there():
    """Asked for a line ending on "sea", a small model sings "sea" mid-line; the line is cut after it.
    A drafted line that already holds the rhyme is cut without asking the model at all."""
    chorus = ("Leave the porch light on for me\nThe fire is warm inside the room\n"
              "I walk the empty streets alone\nI'm on my own beneath the silver rain\n")
    candidates = "The fire is burning low tonight\nI see the sea and the ships sailing by\nWe never knew\n"
    llm = ScriptedTextGenerator([PLAN, chorus, candidates])
    lyrics = write_lyrics(BRIEF, llm, structure=("Chorus",))
    assert _texts(lyrics.sections[0]) == ["Leave the porch light on for me", "I see the sea",
                                          "I walk the empty streets alone", "I'm on my own"]
    assert len(llm.calls) == 3


def test_a_line_ending_on_a_word_without_rhymes_is_the_one_rewritten():
    verse = ("[Verse 1]\nI sat alone inside the diner\nThe coffee cold, the window gray\n"
             "The jukebox played all through the night\nI watched the headlights drive away\n")
    llm = ScriptedTextGenerator([PLAN, verse, "I sat alone beneath the neon light\nThe diner\nCoffee cups\n"])
    lyrics = write_lyrics(BRIEF, llm, structure=("Verse 1",))
    lines = _texts(lyrics.sections[0])
    assert lines[0] == "I sat alone beneath the neon light" and check_scheme(lines, "ABAB").rate == 1.0
    suggested = llm.calls[2]["prompt"].split("ENDING with one of:")[1].strip().split(", ")
    assert suggested and all(rhymes("night", word) for word in suggested)   # rhymes for the line that has them


def test_a_pair_with_no_rhyme_to_offer_gets_a_new_first_line_then_a_rhyme_for_it():
    """"engine" / "rusty": neither word has rhymes to suggest, so asking for one was a wasted call; the first line
    is written again to end on a word that has rhymes (the lean offers them all), then its partner rhymes."""
    verse = ("[Verse 1]\nI'm standing by the old truck engine\nIt's old and it is rusty\n"
             "The windshield cracked beneath the light\nI hold the wheel and hold it tight\n")
    llm = ScriptedTextGenerator([PLAN, verse, "I sit beside the old truck alone\nThe engine roars\n",
                                 "Its rusty doors are cold as stone\nWe drove\n"])
    lyrics = write_lyrics(BRIEF, llm, structure=("Verse 1",))
    lines = _texts(lyrics.sections[0])
    assert lines[:2] == ["I sit beside the old truck alone", "Its rusty doors are cold as stone"]
    assert check_scheme(lines, "AABB").rate == 1.0 and len(llm.calls) == 4
    opener, rhyme = llm.calls[2], llm.calls[3]
    assert {"night", "home", "heart"} <= set(opener["endings"]([]))      # any word with rhymes
    assert "stone" in rhyme["endings"]([]) and "engine" not in rhyme["prompt"]


def test_a_hook_with_no_rhyme_to_offer_costs_no_call():
    plan = "Title: Old Truck\nHook: Standing by my father's rusty engine\nImages: rust, paint, glass, road"
    chorus = ("Standing by my father's rusty engine\nIt is old and it is always rusty\n"
              "The windshield cracked beneath the light\nI hold the wheel and hold it tight\n")
    llm = ScriptedTextGenerator([plan, chorus, "never asked\n"])
    lyrics = write_lyrics(BRIEF, llm, structure=("Chorus",))
    assert _texts(lyrics.sections[0])[0] == "Standing by my father's rusty engine" and len(llm.calls) == 2


def test_missing_lines_are_filled_from_one_call_for_several():
    draft = "Leave the porch light on for me\nI'll find my way back home, you'll see\n"
    llm = ScriptedTextGenerator([PLAN, draft, "The road is long, the night is cold\nI'm carrying the things you told\n"])
    lyrics = write_lyrics(BRIEF, llm, structure=("Chorus",))
    lines = _texts(lyrics.sections[0])
    assert len(lines) == 4 and len(llm.calls) == 3 and check_scheme(lines, "AABB").rate == 1.0
    assert set(lines[2:]) == {"The road is long, the night is cold", "I'm carrying the things you told"}


class _ScoringGenerator(ScriptedTextGenerator):
    """A scripted model that also scores line endings (as the embedded model does): ``natural`` words score
    -1, everything else -12; every scoring request is recorded."""

    def __init__(self, replies, natural):
        super().__init__(list(replies))
        self.natural, self.scored = set(natural), []

    def ending_logprobs(self, prompt, reply_start, words, *, system=None):
        self.scored.append((prompt, reply_start, list(words)))
        return [-1.0 if w in self.natural else -12.0 for w in words]


BY_EAR = CraftOptions(swap_by_ear=True)   # off by default: fix calls leaning toward their rhymes did better
VERSE_TO_SWAP = ("[Verse 1]\nWe packed the car before the dawn\nThe kitchen light was burning low\n"
                 "The dog was sleeping on the lawn\nAnd nobody said a single word\n")


def test_an_unrhymed_last_word_is_swapped_by_ear_without_a_call():
    llm = _ScoringGenerator([PLAN, VERSE_TO_SWAP], natural={"know"})
    lyrics = write_lyrics(BRIEF, llm, structure=("Verse 1",), options=BY_EAR)
    lines = _texts(lyrics.sections[0])
    assert lines[3] == "And nobody said a single know" and check_scheme(lines, "ABAB").rate == 1.0
    assert len(llm.calls) == 2                                  # plan and draft: no fix call was needed
    prompt, reply_start, words = llm.scored[0]
    assert "[Verse 1]" in prompt and reply_start.endswith("And nobody said a single")   # the line, cut
    assert words and all(rhymes("low", w) for w in words) and "low" not in words


def test_no_swap_when_no_rhyme_is_natural_there_and_a_line_is_rewritten():
    fix = "The morning came and I had to go\nThe road\nA bird\n"
    llm = _ScoringGenerator([PLAN, VERSE_TO_SWAP, fix], natural=set())
    lines = _texts(write_lyrics(BRIEF, llm, structure=("Verse 1",), options=BY_EAR).sections[0])
    assert lines[3] == "The morning came and I had to go" and len(llm.calls) == 3 and llm.scored


def test_without_the_swap_option_no_word_is_scored_and_the_line_is_rewritten():
    fix = "The morning came and I had to go\nThe road\n"
    llm = _ScoringGenerator([PLAN, VERSE_TO_SWAP, fix], natural={"know"})
    lines = _texts(write_lyrics(BRIEF, llm, structure=("Verse 1",)).sections[0])
    assert lines[3] == "The morning came and I had to go" and not llm.scored


def test_every_line_of_a_call_leans_toward_the_rhymes_it_needs():
    """The draft's lines lean toward rhymes of their partner in the scheme (none for a line that opens a
    rhyme); a fix call's lines toward rhymes of the line they must rhyme with."""
    fix = "The morning came and I had to go\nThe road\n"
    llm = ScriptedTextGenerator([PLAN, VERSE_TO_SWAP, fix])
    write_lyrics(BRIEF, llm, structure=("Verse 1",))
    draft, fix_call = llm.calls[1], llm.calls[2]
    lean = draft["endings"]                           # a first section is drafted toward AABB
    assert lean([]) == []            # given lyric lines only: the model drops headings (core.textgen.lyric_lines)
    second = lean(["We packed the car before the dawn"])
    assert second and all(rhymes("dawn", w) for w in second) and "dawn" not in second
    assert lean(["We packed the car before the dawn", "The kitchen light was burning low"]) == []
    words = fix_call["endings"](["anything"])
    assert words and all(rhymes("low", w) for w in words) and "low" not in words

