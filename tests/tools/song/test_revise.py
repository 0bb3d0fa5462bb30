"""Revising a song: real compose, real renders, the new files measured; untouched parts identical."""

from __future__ import annotations

import mido
import pytest

from core.errors import ToolError
from tests.support.fakes import ScriptedTextGenerator
from tools.listening.analyze import analyze_audio
from tools.music.harmony import parse_key
from tools.song.compose import compose_song
from tools.song.revise import Revision, previous_version, revise_song
from tools.song.revision_text import is_undo, parse_revision
from tools.song.song import SongRequest, load_song

LYRICS = """[Verse 1]
I packed my bags at the break of day
The old road called me far away
[Chorus]
Goodbye, goodbye, my little town
I'll carry you when the sun goes down
[Verse 2]
The station clock was ticking slow
The platform lights were burning low
[Chorus]
Goodbye, goodbye, my little town
I'll carry you when the sun goes down
"""


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    out = tmp_path_factory.mktemp("songs")
    return compose_song(SongRequest(prompt="leaving home", genre="folk", mood="sad", lyrics=LYRICS, seed=3,
                                    length_seconds=40), llm=None, out_dir=out)


def section_events(folder, song, label) -> list[tuple]:
    """Every note of one section (all tracks), with ticks relative to the section's start."""
    midi = mido.MidiFile(str(folder / "song.mid"))
    section = next(s for s in song.sections if s.label == label)
    per_bar = midi.ticks_per_beat * song.score.beats_per_bar
    lo, hi = section.start_bar * per_bar, (section.start_bar + section.bars) * per_bar
    events = []
    for index, track in enumerate(midi.tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type in ("note_on", "note_off") and lo <= tick < hi:
                events.append((index, msg.type, msg.note, msg.velocity, tick - lo))
    return sorted(events)


def test_a_song_reads_back_exactly_from_its_folder(song):
    again = load_song(song.folder)
    assert again.to_dict() == song.to_dict()
    assert (song.folder / "song.mid").read_bytes() == mido_bytes(again)


def mido_bytes(song):
    from tools.rendering.midi import score_to_midi
    return score_to_midi(song.score)


def test_faster_and_major_keeps_lyrics_and_chord_degrees_and_measures_right(song):
    revised = revise_song(song, Revision(tempo_factor=1.15, mode="major"))
    new = revised.song
    assert new.version == 2 and new.folder.name == song.folder.name + "-v2" and song.folder.is_dir()
    assert new.tempo == round(song.tempo * 1.15) and new.key == "D major" and song.key == "D minor"
    assert new.lyrics.text() == song.lyrics.text()
    assert [s.lines for s in new.sections] == [s.lines for s in song.sections]
    assert [len(s.chords) for s in new.sections] == [len(s.chords) for s in song.sections]
    assert "tempo 82 → 94 BPM" in revised.summary() and "D minor → D major" in revised.summary()
    analysis = analyze_audio(new.folder / "song.wav")
    assert abs(analysis.tempo_bpm - new.tempo) / new.tempo < 0.06
    assert parse_key(analysis.key) in (parse_key("D major"), parse_key("B minor"))


def test_instruments_only_change_the_programs(song):
    new = revise_song(song, Revision(instruments=("piano",))).song
    assert new.instruments == ("piano",)
    assert [(n.pitch, n.start) for n in new.melody] == [(n.pitch, n.start) for n in song.melody]
    programs = {m.program for t in mido.MidiFile(str(new.folder / "song.mid")).tracks for m in t
                if m.type == "program_change"}
    assert programs == {0}


def test_new_chorus_chords_leave_every_other_section_identical(song):
    new = revise_song(song, Revision(section="chorus", regenerate="chords")).song
    assert [s.chords for s in new.sections if s.label != "Chorus"] == \
           [s.chords for s in song.sections if s.label != "Chorus"]
    others = {s.label for s in song.sections} - {"Chorus"}
    assert {"Intro", "Verse 1"} <= others
    for label in others:
        assert section_events(new.folder, new, label) == section_events(song.folder, song, label)
    assert new.lyrics.text() == song.lyrics.text()


def test_one_section_gets_new_lyrics_and_the_rest_is_byte_identical(song):
    llm = ScriptedTextGenerator(["[Verse 1]\nThe station clock is ticking slow\nA paper ticket, nowhere to go\n"])
    revised = revise_song(song, Revision(section="verse 1", rewrite_lyrics=True, lyrics_about="the train station"),
                          llm=llm)
    new = revised.song
    assert "the train station" in llm.calls[0]["prompt"]
    old_sections = {s.label: s for s in song.lyrics.sections}
    for s in new.lyrics.sections:
        if s.label == "Verse 1":
            assert s.lines[1].text == "A paper ticket, nowhere to go"
        else:
            assert [ln.text for ln in s.lines] == [ln.text for ln in old_sections[s.label].lines]
    assert "lyrics" not in revised.kept


def test_form_edits_and_going_back(song):
    new = revise_song(song, Revision(drop_section="intro", repeat_last_chorus=True)).song
    labels = [s.label for s in new.sections]
    assert "Intro" not in labels and labels.count("Chorus") == [s.label for s in song.sections].count("Chorus") + 1
    back = previous_version(new)
    assert back.folder == song.folder and (back.folder / "song.mid").read_bytes() == (song.folder / "song.mid").read_bytes()


@pytest.mark.parametrize("revision, words", [
    (Revision(tempo=1000), "300"), (Revision(key="H# major"), "key"), (Revision(section="bridge", regenerate="chords"), "Verse 1"),
    (Revision(instruments=("kazoo-tron",)), "instrument"), (Revision(), "Say what to change"),
])
def test_impossible_edits_are_one_sentence_and_write_nothing(song, revision, words):
    before = sorted(p.name for p in song.folder.parent.iterdir())
    with pytest.raises(ToolError, match=words):
        revise_song(song, revision)
    assert sorted(p.name for p in song.folder.parent.iterdir()) == before
    assert load_song(song.folder).to_dict() == song.to_dict()


def test_a_first_version_has_nothing_to_go_back_to(song):
    with pytest.raises(ToolError, match="first version"):
        previous_version(song)


@pytest.mark.parametrize("text, expected", [
    ("make it faster and put it in a major key", Revision(tempo_factor=1.15, mode="major")),
    ("now play it on piano only", Revision(instruments=("piano",))),
    ("a bit slower", Revision(tempo_factor=0.93)),
    ("120 bpm please", Revision(tempo=120.0)),
    ("put it in G minor", Revision(key="G minor")),
    ("no drums, add strings", Revision(add_instruments=("strings",), remove_instruments=("drums",))),
    ("new chords for the chorus", Revision(section="chorus", regenerate="chords")),
    ("give me just the lyrics of a second verse about the train station",
     Revision(section="verse 2", rewrite_lyrics=True, lyrics_about="the train station")),
    ("drop the intro", Revision(drop_section="intro")),
    ("repeat the last chorus", Revision(repeat_last_chorus=True)),
    ("add a bridge about the ocean", Revision(add_section="bridge", lyrics_about="the ocean")),
    ("another take", Revision(new_take=True)),
    ("make it rock", Revision(genre="rock")),
])
def test_edits_in_words_become_typed_revisions(text, expected):
    assert parse_revision(text) == expected


def test_words_that_name_no_edit_are_one_clear_sentence():
    assert is_undo("go back to the previous version") and not is_undo("faster")
    with pytest.raises(ToolError, match="faster"):
        parse_revision("hmm, I don't know")
