"""The text-generation interface's helpers: which lines of a reply are lyric, and where a reply is cut."""

from core.textgen import cut_when, lyric_lines


def test_lyric_lines_skip_headings_blanks_and_the_line_being_written():
    text = "[Chorus]\nWe ride the night\n\nVerse 2:\nThe engine hums\nand the road"
    assert lyric_lines(text) == ["We ride the night", "The engine hums"]


def test_cut_when_ends_the_reply_at_the_first_line_where_it_holds():
    text = "[Verse]\nline one here\nline two here\n\nline three here\n"
    assert cut_when(text, lambda lines: len(lines) >= 2) == "[Verse]\nline one here\nline two here"
    assert cut_when(text, lambda lines: any(ln.endswith("three here") for ln in lines)).endswith("line three here")
    assert cut_when(text, lambda lines: len(lines) >= 9) == text
    assert cut_when(text, None) == text
