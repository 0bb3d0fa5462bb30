"""A jazz song written into its folder: the engraved lead sheet (PNG and SVG pages), its MusicXML read back by
music21, and two chords a bar kept through song.json, the lead sheet and the band."""

from __future__ import annotations

import re

import numpy as np
import pytest
from music21 import converter
from PIL import Image

from tools.song.compose import compose_song
from tools.song.song import SongRequest, load_song

LYRICS = """[Verse 1]
Blue lights hum along the avenue tonight
Every window hides a little slice of light
[Chorus]
Stay a while, the band is playing slow
Hold the moment, never let it go
"""


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    request = SongRequest(prompt="a late night club", lyrics=LYRICS, genre="jazz", seed=3)
    return compose_song(request, llm=None, out_dir=tmp_path_factory.mktemp("songs"))


def _pages(song, suffix):
    pages = sorted(song.folder.glob(f"lead-sheet-*.{suffix}"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert pages and [p.name for p in pages] == [f"lead-sheet-{n}.{suffix}" for n in range(1, len(pages) + 1)]
    return pages


def test_the_lead_sheet_is_engraved_as_png_pages_with_music_on_them(song):
    listed = {f.path.name: f for f in song.files}
    for page in _pages(song, "png"):
        assert listed[page.name].kind == "image" and "lead sheet" in listed[page.name].description
        pixels = np.asarray(Image.open(page).convert("L"), dtype=float)
        ink = (pixels < 128).mean()
        assert pixels.shape[1] >= 1000 and pixels.std() > 20 and 0.01 < ink < 0.3


def test_the_svg_shows_the_title_and_every_sung_syllable(song):
    text = " ".join(re.findall(r"<tspan[^>]*>([^<]+)</tspan>", "".join(p.read_text() for p in _pages(song, "svg"))))
    assert song.title in text
    words = set(text.split())
    sung = [n.lyric.strip() for n in song.melody if n.lyric]
    assert sung and all(syllable in words for syllable in sung)


def test_the_musicxml_reads_back_with_the_songs_notes_and_lyrics(song):
    sheet = converter.parse(str(song.folder / "lead-sheet.musicxml")).stripTies()
    notes = list(sheet.recurse().getElementsByClass("Note"))
    assert [(n.pitch.midi, n.lyric) for n in notes] == [(n.pitch, n.lyric.strip() if n.lyric else None) for n in song.melody]


def test_two_chords_a_bar_survive_song_json_the_lead_sheet_and_the_bass(song):
    bpb = song.score.beats_per_bar
    mid_bar = [s for s in song.chords if s.start % bpb]
    assert mid_bar, "a jazz song should change chords inside some bars"
    again = load_song(song.folder)
    assert again.chords == song.chords and [s.chords for s in again.sections] == [s.chords for s in song.sections]
    xml = (song.folder / "lead-sheet.musicxml").read_text()
    assert max(m.count("<harmony") for m in xml.split("<measure")) >= 2
    bass = next(p for p in song.score.parts if p.name == "bass")
    for span in mid_bar:
        assert any(n.start == span.start and n.pitch % 12 == span.chord.root_pc for n in bass.notes), span
    strong = [n for n in song.melody if n.start % 2 == 0]
    fits = [n.pitch % 12 in song.score.chord_at(n.start).chord.pitch_classes for n in strong]
    assert len(fits) >= 5 and sum(fits) / len(fits) >= 0.8
