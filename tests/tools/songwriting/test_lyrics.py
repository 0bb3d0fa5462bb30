"""Lyrics from a (scripted) LLM: prompts, heading styles, chatter, loops and syllables."""

import pytest

from core.errors import ToolError
from tests.support.fakes import ScriptedTextGenerator
from tools.songwriting.lyric_writing import (
    REPEAT_PENALTY,
    LyricsBrief,
    write_lyrics,
    write_section,
)
from tools.songwriting.lyrics import (
    MAX_LYRICS_CHARS,
    check_lyrics_size,
    parse_lyrics,
    read_lyrics_file,
)
from tools.songwriting.prosody import count_syllables, syllabify

CHATTY_REPLY = """Sure! Here's a song about leaving a small town:

**Title: "Gravel Roads"**

[Verse 1]
The gravel road is calling me away
I packed my bag before the break of day
The gravel road is calling me away
The gravel road is calling me away
The gravel road is calling me away

**Chorus:**
So long, my little town
I'm never looking back
So long, my little town

Verse 2: My mother's porch light fading in the rain
The diner and the church all look the same

## Bridge
Every mile's a story I will tell

[Chorus]

I hope you enjoy this song! Let me know if you'd like any changes.
"""


def test_write_lyrics_asks_like_a_songwriter_and_cleans_the_reply():
    llm = ScriptedTextGenerator([CHATTY_REPLY])
    lyrics = write_lyrics(LyricsBrief(prompt="leaving a small town", genre="country", mood="bittersweet"), llm, seed=7,
                          method="single-shot")

    call = llm.calls[0]
    assert "songwriter" in call["system"].lower() and "[Verse 1]" in call["system"]
    assert "leaving a small town" in call["prompt"] and "country" in call["prompt"] and "bittersweet" in call["prompt"]
    assert call["repeat_penalty"] == pytest.approx(REPEAT_PENALTY) and 1.1 <= REPEAT_PENALTY <= 1.2
    assert call["seed"] == 7

    assert lyrics.title == "Gravel Roads"
    assert [s.label for s in lyrics.sections] == ["Verse 1", "Chorus", "Verse 2", "Bridge", "Chorus"]
    assert "Sure" not in lyrics.text() and "enjoy" not in lyrics.text() and "Title" not in lyrics.text()
    verse = [line.text for line in lyrics.sections[0].lines]
    assert verse.count("The gravel road is calling me away") == 2  # the model's loop is cut
    assert lyrics.sections[-1].lines == lyrics.sections[1].lines  # a bare [Chorus] repeats the chorus
    assert all(line.syllable_count == count_syllables(line.text) > 0 for s in lyrics.sections for line in s.lines)


@pytest.mark.parametrize("verse, chorus", [
    ("[Verse 1]", "[Chorus]"), ("Verse 1:", "Chorus:"), ("**Verse 1**", "**Chorus**"),
    ("## Verse 1", "## Chorus"), ("(Verse 1)", "(Chorus)"), ("VERSE 1", "CHORUS"), ("Verse One", "Refrain"),
])
def test_every_heading_style_starts_a_section(verse, chorus):
    lyrics = parse_lyrics(f"{verse}\nWalking down the line\nSunshine in my mind\n\n{chorus}\nHold on, hold on\nHold on till the dawn\n")
    assert [(s.kind, len(s.lines)) for s in lyrics.sections] == [("verse", 2), ("chorus", 2)]


def test_text_without_headings_splits_at_blank_lines_and_finds_the_chorus():
    text = ("Stars are falling down tonight\nI can see them shining bright\n\n"
            "Hold me close and never go\nDance with me so soft and slow\n\n"
            "City lights are fading fast\nNothing good was meant to last\n\n"
            "Hold me close and never go\nDance with me so soft and slow\n")
    lyrics = parse_lyrics(text, title="Falling Stars")
    assert [s.label for s in lyrics.sections] == ["Verse 1", "Chorus", "Verse 2", "Chorus"]
    assert lyrics.title == "Falling Stars"


def test_a_reply_without_lyrics_is_retried_then_refused():
    llm = ScriptedTextGenerator(["Sure! I'd love to help.", "[Verse]\nOne small line\nAnd another one\n"])
    lyrics = write_lyrics(LyricsBrief("a tiny song"), llm, method="single-shot")
    assert len(llm.calls) == 2 and llm.calls[1]["seed"] != llm.calls[0]["seed"]
    assert lyrics.sections[0].lines[0].text == "One small line"

    with pytest.raises(ToolError, match="lyrics"):
        write_lyrics(LyricsBrief("a tiny song"), ScriptedTextGenerator(["Here is your song:", ""]), method="single-shot")


@pytest.mark.parametrize("word, count", [
    ("love", 1), ("fire", 1), ("walked", 1), ("makes", 1), ("eyes", 1), ("the", 1), ("night", 1),
    ("heaven", 2), ("little", 2), ("wanted", 2), ("tonight", 2), ("dancing", 2), ("river", 2),
    ("boxes", 2), ("people", 2), ("going", 2), ("beyond", 2), ("table", 2), ("nation", 2),
    ("hundred", 2), ("highway", 2), ("café", 2), ("remember", 3), ("yesterday", 3), ("beautiful", 3), ("radio", 3),
])
def test_syllable_counts_of_common_words(word, count):
    assert len(syllabify(word)) == count


def test_syllables_rebuild_the_word_with_its_punctuation():
    for word in ["remember,", "don't", "beautiful!", "highway", "little"]:
        assert "".join(syllabify(word)) == word


def test_line_syllables_and_sung_roles():
    line = parse_lyrics("[Verse]\nRemember me tonight\n").sections[0].lines[0]
    assert line.syllable_count == 6
    assert line.sung() == [("Re", "begin"), ("mem", "middle"), ("ber", "end"), ("me", "single"),
                           ("to", "begin"), ("night", "end")]


def test_empty_lyrics_are_a_tool_error():
    with pytest.raises(ToolError, match="No lyric lines"):
        parse_lyrics("Sure! Here you go:\n\n")


def test_lyric_lines_that_look_like_chatter_are_kept_and_notes_after_the_song_are_dropped():
    lyrics = parse_lyrics("[Verse]\nI hope you find your way back home\nThe song of the sea is calling\n"
                          "Let me know you're there\n\nNote: this song uses a simple AABB rhyme scheme.\nIt could be slower.\n")
    assert [ln.text for ln in lyrics.sections[0].lines] == [
        "I hope you find your way back home", "The song of the sea is calling", "Let me know you're there"]


def test_a_model_talking_about_its_lines_is_not_sung():
    lyrics = parse_lyrics("[Verse]\nThese lines could be part of the same song\nThe apartment hums at night\n"
                          "Every window full of light\n", from_model=True)
    assert [ln.text for ln in lyrics.sections[0].lines] == ["The apartment hums at night", "Every window full of light"]


def test_one_section_is_rewritten_with_the_rest_of_the_song_in_view():
    song = parse_lyrics(CHATTY_REPLY)
    llm = ScriptedTextGenerator(["Sure!\n[Verse 2]\nThe station clock is ticking slow\nA paper ticket, nowhere to go\n"
                                 "The train pulls in through falling snow\nI wave to everyone I know\n"])
    verse = write_section(LyricsBrief("leaving a small town"), song, "Verse 2", llm, about="the train station")
    prompt = llm.calls[0]["prompt"]
    assert "the train station" in prompt and "[Verse 2]" in prompt
    assert song.sections[0].lines[0].text in prompt           # the rest of the song is in view
    assert verse.label == "Verse 2" and verse.kind == "verse"
    assert [ln.text for ln in verse.lines][0] == "The station clock is ticking slow"


OH_MY = "\n".join([
    "[Verse 1]", "I woke up late", "The sky was gray", "Oh my, oh my", "Oh my, oh my",
    "[Chorus]", "Oh my, oh my, oh my", "Leave me alone", "Please let me go", "Oh my, oh my, oh my",
    "[Verse 2]", "The phone rang twice", "I let it ring", "Oh my, oh my", "Oh my, oh my",
    "[Chorus]", "[Verse 3]", "The door is shut", "The lights are low", "Oh my, oh my", "Oh my, oh my",
    "[Chorus]", "[Bridge]", "Maybe tomorrow", "Maybe not", "Maybe tomorrow", "Maybe not", "[Chorus]",
])


def test_lyrics_a_user_wrote_keep_every_section_and_line():
    lyrics = parse_lyrics(OH_MY)
    assert [s.label for s in lyrics.sections] == [
        "Verse 1", "Chorus", "Verse 2", "Chorus", "Verse 3", "Chorus", "Bridge", "Chorus"]
    assert [len(s.lines) for s in lyrics.sections] == [4] * 8 and not lyrics.notes
    model = parse_lyrics(OH_MY, from_model=True)              # a model's reply: loops and a 4th chorus go
    assert sum(s.kind == "chorus" for s in model.sections) == 3


def test_a_long_section_a_user_wrote_is_split_and_said():
    verse = "\n".join(f"Line number {i} of the long verse" for i in range(1, 13))
    lyrics = parse_lyrics(f"[Verse]\n{verse}\n[Chorus]\nHold on\nHold on tight\n")
    assert [(s.label, len(s.lines)) for s in lyrics.sections] == [("Verse 1", 6), ("Verse 2", 6), ("Chorus", 2)]
    assert lyrics.notes == ("A verse of 12 lines is sung as Verse 1 and Verse 2 (at most 8 lines a section).",)


def test_lyrics_files_that_cannot_be_a_song_are_refused(tmp_path):
    empty, huge, good = tmp_path / "empty.txt", tmp_path / "huge.txt", tmp_path / "good.txt"
    empty.write_text("  \n\n")
    huge.write_text("Oh my, oh my, oh my\n" * 2500)
    good.write_text("[Verse]\nOne small line\n")
    with pytest.raises(ToolError, match="empty"):
        read_lyrics_file(empty)
    with pytest.raises(ToolError, match=f"{MAX_LYRICS_CHARS:,}"):
        read_lyrics_file(huge)
    with pytest.raises(ToolError, match="Cannot read"):
        read_lyrics_file(tmp_path / "missing.txt")
    assert read_lyrics_file(good) == "[Verse]\nOne small line\n"
    with pytest.raises(ToolError, match="50,000 characters"):
        check_lyrics_size("x" * 50_000)
