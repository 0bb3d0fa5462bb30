"""CLI subcommands, one per capability, mirroring the Python API (they call assistant.capabilities)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from assistant import capabilities as cap

OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the files (default: <outputs>/cli).")]


def register(app: typer.Typer, make_ctx, out_dir, run, show) -> None:
    """Add the capability subcommands to ``app``."""

    @app.command()
    def compose(
        prompt: Annotated[str, typer.Argument(help="What the song is about, e.g. 'a sad folk song about leaving home'.")],
        genre: Annotated[Optional[str], typer.Option(help="pop, rock, folk, country, jazz, blues, electronic, hip hop, r&b, metal…")] = None,
        mood: Annotated[Optional[str], typer.Option(help="e.g. sad, happy, calm, energetic")] = None,
        key: Annotated[Optional[str], typer.Option(help="e.g. 'A minor', 'G', 'Bbm'")] = None,
        tempo: Annotated[Optional[float], typer.Option(help="BPM, 30-300")] = None,
        length: Annotated[Optional[float], typer.Option(help="Length in seconds")] = None,
        title: Annotated[Optional[str], typer.Option()] = None,
        artist: Annotated[Optional[str], typer.Option(help="Artist or band to write like")] = None,
        era: Annotated[Optional[str], typer.Option(help="e.g. 1970s")] = None,
        instrument: Annotated[Optional[list[str]], typer.Option("--instrument", "-i", help="Instrument (repeatable): piano, guitar, strings…")] = None,
        lyrics_file: Annotated[Optional[Path], typer.Option(help="Set these lyrics instead of writing new ones")] = None,
        seed: Annotated[int, typer.Option(help="Same request + same seed = the same song")] = 0,
        out: OutOpt = None,
    ) -> None:
        """Write and produce a song: lyrics, chords, melody, arrangement, MIDI, WAV, OGG, lead sheet, piano roll."""
        ctx = make_ctx()
        lyrics = lyrics_file.read_text(encoding="utf-8") if lyrics_file else None
        show(run(cap.compose_song, ctx, out_dir(ctx, out), prompt=prompt, genre=genre, mood=mood, key=key, tempo=tempo,
                 length_seconds=length, title=title, artist=artist, era=era, instruments=instrument, lyrics=lyrics, seed=seed))

    @app.command()
    def render(
        source: Annotated[str, typer.Argument(help="A .mid or .musicxml file, or chords like 'C G Am F'.")],
        tempo: Annotated[Optional[float], typer.Option(help="BPM, 30-300")] = None,
        instrument: Annotated[Optional[str], typer.Option(help="piano, guitar, strings…")] = None,
        out: OutOpt = None,
    ) -> None:
        """Render MIDI, MusicXML or a chord string to WAV, OGG, MIDI and a piano roll."""
        ctx = make_ctx()
        show(run(cap.render_music, ctx, out_dir(ctx, out), source=source, tempo=tempo, instrument=instrument))

    @app.command()
    def lyrics(
        prompt: Annotated[str, typer.Argument(help="What the lyrics are about.")],
        genre: Annotated[Optional[str], typer.Option()] = None,
        mood: Annotated[Optional[str], typer.Option()] = None,
        title: Annotated[Optional[str], typer.Option()] = None,
        artist: Annotated[Optional[str], typer.Option()] = None,
        era: Annotated[Optional[str], typer.Option()] = None,
    ) -> None:
        """Write lyrics only (sections with syllable counts)."""
        ctx = make_ctx()
        show(run(cap.write_lyrics, ctx, out_dir(ctx, None), prompt=prompt, genre=genre, mood=mood, title=title,
                 artist=artist, era=era))

    @app.command()
    def genre(lyrics: Annotated[str, typer.Argument(help="Lyrics text, or a path to a text file.")]) -> None:
        """Rank genres for some lyrics."""
        path = Path(lyrics)
        text = path.read_text(encoding="utf-8") if len(lyrics) < 4096 and path.is_file() else lyrics
        ctx = make_ctx()
        show(run(cap.classify_genre, ctx, out_dir(ctx, None), lyrics=text))

    @app.command()
    def chords(
        genre: Annotated[Optional[str], typer.Option()] = None,
        mood: Annotated[Optional[str], typer.Option()] = None,
        key: Annotated[Optional[str], typer.Option()] = None,
        lyrics: Annotated[Optional[str], typer.Option(help="Lyrics to fit")] = None,
        bars: Annotated[int, typer.Option(help="How many chords")] = 8,
        seed: Annotated[int, typer.Option()] = 0,
    ) -> None:
        """Suggest a chord progression."""
        ctx = make_ctx()
        show(run(cap.suggest_chords, ctx, out_dir(ctx, None), genre=genre, mood=mood, key=key, lyrics=lyrics,
                 bars=bars, seed=seed))

    @app.command()
    def analyze(path: Annotated[Path, typer.Argument(help="An audio file: wav, flac, ogg or mp3.")], out: OutOpt = None) -> None:
        """Measure tempo, beats, key, chords, loudness and drums in an audio file."""
        ctx = make_ctx()
        show(run(cap.analyze_audio, ctx, out_dir(ctx, out), path=str(path)))

    @app.command()
    def caption(
        tags: Annotated[list[str], typer.Argument(help="Tags, e.g. piano calm ambient (or one comma-separated string).")],
        instruction: Annotated[cap.Instruction, typer.Option(help="writing, summary, paraphrase or prediction_attribute")] = "writing",
    ) -> None:
        """Write a caption from tags (LP-MusicCaps style)."""
        split = [t.strip() for tag in tags for t in tag.split(",") if t.strip()]
        ctx = make_ctx()
        show(run(cap.caption_tags, ctx, out_dir(ctx, None), tags=split, instruction=instruction))

    @app.command("caption-audio")
    def caption_audio(path: Annotated[Path, typer.Argument(help="An audio file.")]) -> None:
        """Describe an audio clip in a sentence or two."""
        ctx = make_ctx()
        show(run(cap.caption_audio, ctx, out_dir(ctx, None), path=str(path)))

    @app.command()
    def qa(
        path: Annotated[Path, typer.Argument(help="An audio file.")],
        question: Annotated[str, typer.Argument(help="Your question about it.")],
    ) -> None:
        """Answer a question about an audio clip, grounded in what can be measured."""
        ctx = make_ctx()
        show(run(cap.answer_audio_question, ctx, out_dir(ctx, None), path=str(path), question=question))
