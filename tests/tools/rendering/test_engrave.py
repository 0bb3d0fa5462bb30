"""The engraved lead sheet: verovio's SVG pages and cairosvg's PNG pages of a real MusicXML lead sheet."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import ToolError
from tools.music.harmony import ChordSpan, parse_chord, parse_key
from tools.music.score import Note, Part, Score, SectionMark
from tools.rendering.engrave import engrave
from tools.rendering.leadsheet import write_musicxml

WORDS = ["moon", "light", "on", "the", "wa", "ter"]


def _long_tune(bars: int) -> Score:
    """A lead sheet long enough for several pages: a quarter note a beat with a syllable, two chords a bar."""
    scale = [62, 64, 65, 67, 69, 67, 65, 64]
    melody = [Note(scale[i % 8], float(i), 1.0, lyric=WORDS[i % 6], syllabic="single") for i in range(4 * bars)]
    cycle = ["Dm7", "G7b9", "Cmaj7", "A7#5"]
    chords = [ChordSpan(parse_chord(cycle[i % 4]), "", 2.0 * i, 2.0) for i in range(2 * bars)]
    return Score("Moonlight Test", parse_key("C"), 120, 4, [Part("melody", 0, melody)], chords,
                 [SectionMark("Verse", "verse", 0, bars // 2), SectionMark("Chorus", "chorus", bars // 2, bars // 2)])


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engraved")
    return engrave(write_musicxml(_long_tune(96), folder / "lead-sheet.musicxml"), folder)


def test_a_long_lead_sheet_takes_several_pages_each_an_svg_and_a_png(pages):
    assert pages.pages >= 2 and len(pages.pngs) == pages.pages
    assert [p.name for p in pages.pngs] == [f"lead-sheet-{n}.png" for n in range(1, pages.pages + 1)]
    for png in pages.pngs:
        pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
        assert pixels.std() > 20 and 0.01 < (pixels < 128).mean() < 0.3


def test_the_svg_pages_carry_title_marks_chords_and_lyrics(pages):
    first, every = pages.svgs[0].read_text(), "".join(p.read_text() for p in pages.svgs)
    assert "Moonlight" in first and "Verse" in first and "Chorus" in every
    assert all(f">{word}<" in every for word in WORDS)
    assert every.count('class="harm"') == 2 * 96


@pytest.mark.parametrize("text", ["<score-partwise><part-list/></score-partwise>", "this is not MusicXML", "<html/>"])
def test_a_file_without_music_is_one_clear_sentence(tmp_path, text):
    bad = tmp_path / "broken.musicxml"
    bad.write_text(text)
    with pytest.raises(ToolError, match="broken.musicxml could not be engraved") as error:
        engrave(bad, tmp_path)
    assert str(error.value).count(". ") == 0 and not list(tmp_path.glob("*.svg"))


def test_songs_engraved_at_once_in_several_threads_all_come_out(tmp_path):
    """Chats engrave in worker threads, several at once: verovio finds its fonts in every one of them."""
    from concurrent.futures import ThreadPoolExecutor

    sheet = write_musicxml(_long_tune(4), tmp_path / "lead-sheet.musicxml")
    from tools.rendering.engrave import engrave_svg

    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda _: engrave_svg(sheet), range(12)))
    assert all(len(p) == 1 and "Moonlight" in p[0] for p in pages)
