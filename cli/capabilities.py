"""The capability commands (compose, render, lyrics, genre, chords, analyze, tag, caption, qa): each maps
its options to one function of :mod:`assistant.capabilities`, the same ones the agent's tools call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from assistant import capabilities as cap
from assistant.context import ToolContext, ToolOutput
from cli.errors import run
from cli.output import JsonOpt, show
from core.files import ensure_writable_dir

WRITERS = (cap.compose_song, cap.render_music, cap.analyze_audio)   # the commands that write files into --out
OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the files (default: <outputs>/cli).")]


def register(app: typer.Typer, make_ctx: Callable[[], ToolContext]) -> None:
    """Add the capability subcommands to ``app``."""

    def call(fn: Callable[..., ToolOutput], out: Path | None, as_json: bool, **arguments) -> None:
        def go() -> ToolOutput:
            ctx = make_ctx()
            folder = Path(out) if out else ctx.thread_dir("cli")
            if fn in WRITERS:
                ensure_writable_dir(folder)   # before the work: a long analysis must not end in "cannot write"
            return fn(ctx, folder, **arguments)
        show(run(go, as_json=as_json), as_json=as_json)

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
        as_json: JsonOpt = False,
    ) -> None:
        """Write and produce a song: lyrics, chords, melody, arrangement, MIDI, WAV, OGG, lead sheet, piano roll."""
        from tools.songwriting.lyrics import read_lyrics_file

        lyrics = run(lambda: read_lyrics_file(lyrics_file), as_json=as_json) if lyrics_file else None
        call(cap.compose_song, out, as_json, prompt=prompt, genre=genre, mood=mood, key=key, tempo=tempo,
             length_seconds=length, title=title, artist=artist, era=era, instruments=instrument, lyrics=lyrics, seed=seed)

    @app.command()
    def render(
        source: Annotated[str, typer.Argument(help="A .mid or .musicxml file, or chords like 'C G Am F'.")],
        tempo: Annotated[Optional[float], typer.Option(help="BPM, 30-300")] = None,
        instrument: Annotated[Optional[str], typer.Option(help="piano, guitar, strings…")] = None,
        out: OutOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Render MIDI, MusicXML or a chord string to WAV, OGG, MIDI and a piano roll."""
        call(cap.render_music, out, as_json, source=source, tempo=tempo, instrument=instrument)

    @app.command()
    def lyrics(
        prompt: Annotated[str, typer.Argument(help="What the lyrics are about.")],
        genre: Annotated[Optional[str], typer.Option()] = None,
        mood: Annotated[Optional[str], typer.Option()] = None,
        title: Annotated[Optional[str], typer.Option()] = None,
        artist: Annotated[Optional[str], typer.Option()] = None,
        era: Annotated[Optional[str], typer.Option()] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write lyrics only (sections with syllable counts)."""
        call(cap.write_lyrics, None, as_json, prompt=prompt, genre=genre, mood=mood, title=title, artist=artist, era=era)

    @app.command()
    def genre(
        lyrics: Annotated[str, typer.Argument(help="Lyrics text, or a path to a text file.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Rank genres for some lyrics."""
        path = Path(lyrics)
        text = path.read_text(encoding="utf-8") if len(lyrics) < 4096 and path.is_file() else lyrics
        call(cap.classify_genre, None, as_json, lyrics=text)

    @app.command()
    def chords(
        genre: Annotated[Optional[str], typer.Option()] = None,
        mood: Annotated[Optional[str], typer.Option()] = None,
        key: Annotated[Optional[str], typer.Option()] = None,
        lyrics: Annotated[Optional[str], typer.Option(help="Lyrics to fit")] = None,
        bars: Annotated[int, typer.Option(help="How many chords")] = 8,
        seed: Annotated[int, typer.Option()] = 0,
        as_json: JsonOpt = False,
    ) -> None:
        """Suggest a chord progression."""
        call(cap.suggest_chords, None, as_json, genre=genre, mood=mood, key=key, lyrics=lyrics, bars=bars, seed=seed)

    @app.command()
    def analyze(
        path: Annotated[Path, typer.Argument(help="An audio file: wav, flac, ogg or mp3.")],
        out: OutOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Measure tempo, beats, key, chords, loudness and drums in an audio file."""
        call(cap.analyze_audio, out, as_json, path=str(path))

    @app.command()
    def tag(
        path: Annotated[Path, typer.Argument(help="An audio file: wav, flac, ogg or mp3.")],
        model: Annotated[str, typer.Option(help="musicnn (both taxonomies), musicnn-mtt, musicnn-msd, or "
                                                "audio-tagger (trained on synthetic renders)")] = "musicnn",
        as_json: JsonOpt = False,
    ) -> None:
        """Predict tags (instruments, voices, genre, mood, era) of a whole audio file, and per section of a long one."""
        from cli.output import print_json
        from tools.listening.tagger import MUSICNN, tag_audio, tag_track

        if model in MUSICNN:
            track = run(lambda: tag_track(path, model=model), as_json=as_json)
            summary, result = track.summary(), track
        else:                                                                   # the synthetic-render tagger
            tags = run(lambda: tag_audio(path, model=model), as_json=as_json)
            summary = ", ".join(f"{t.label} {t.probability:.2f} ({t.head}, {model})" for t in tags) \
                or f"No tag of {path.name} is confident enough."
            result = {"path": str(path), "tags": tags}
        print_json({"summary": summary, "result": result, "files": []}) if as_json else typer.echo(summary)

    @app.command()
    def caption(
        tags: Annotated[list[str], typer.Argument(help="Tags, e.g. piano calm ambient (or one comma-separated string).")],
        instruction: Annotated[cap.Instruction, typer.Option(help="writing, summary, paraphrase or prediction_attribute")] = "writing",
        as_json: JsonOpt = False,
    ) -> None:
        """Write a caption from tags (LP-MusicCaps style)."""
        split = [t.strip() for tag in tags for t in tag.split(",") if t.strip()]
        call(cap.caption_tags, None, as_json, tags=split, instruction=instruction)

    @app.command("caption-audio")
    def caption_audio(
        path: Annotated[Path, typer.Argument(help="An audio file.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Describe an audio clip in a sentence or two."""
        call(cap.caption_audio, None, as_json, path=str(path))

    @app.command()
    def qa(
        path: Annotated[Path, typer.Argument(help="An audio file.")],
        question: Annotated[str, typer.Argument(help="Your question about it.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Answer a question about an audio clip, grounded in what can be measured."""
        call(cap.answer_audio_question, None, as_json, path=str(path), question=question)

    @app.command()
    def revise(
        request: Annotated[Optional[str], typer.Argument(help="The change in words: 'faster', 'in a major key', "
                                                              "'piano only', 'new chords for the chorus', 'go back'.")] = None,
        song: Annotated[Optional[Path], typer.Option(help="A song folder (default: the thread's current song).")] = None,
        thread: Annotated[str, typer.Option(help="Conversation thread whose song to change (`ask` uses cli, `chat` cli-chat).")] = "cli",
        tempo: Annotated[Optional[float], typer.Option(help="New tempo in BPM, 30-300")] = None,
        key: Annotated[Optional[str], typer.Option(help="New key, e.g. 'E minor'")] = None,
        genre: Annotated[Optional[str], typer.Option(help="Arrange it as another genre")] = None,
        instrument: Annotated[Optional[list[str]], typer.Option("--instrument", "-i", help="Play it on exactly these (repeatable)")] = None,
        section: Annotated[Optional[str], typer.Option(help="The section --new-chords, --new-melody or --new-lyrics change")] = None,
        new_chords: Annotated[bool, typer.Option("--new-chords", help="New chords (and melody) for --section")] = False,
        new_melody: Annotated[bool, typer.Option("--new-melody", help="A new melody for --section")] = False,
        new_lyrics: Annotated[Optional[str], typer.Option(help="New lyrics for --section, about this")] = None,
        another_take: Annotated[bool, typer.Option("--another-take", help="New chords and melody, same lyrics")] = False,
        undo: Annotated[bool, typer.Option("--undo", help="Go back to the previous version")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Change the last song (or a song folder) and keep the rest; each change is a new version beside it."""
        from dataclasses import replace

        from tools.song.revise import Revision
        from tools.song.revision_text import is_undo, parse_revision
        from tools.song.song import load_song

        def go() -> ToolOutput:
            ctx = make_ctx().for_thread(thread)
            current = load_song(song) if song else ctx.state().current_song()
            if undo or (request and is_undo(request)):
                ctx.remember(song=str(current.folder))
                return cap.revise_song(ctx, current.folder.parent, "go back to the previous version")
            revision = parse_revision(request) if request else Revision()
            options = {"tempo": tempo, "key": key, "genre": genre,
                       "instruments": tuple(instrument) if instrument else None,
                       "section": section, "regenerate": "chords" if new_chords else "melody" if new_melody else None,
                       "rewrite_lyrics": new_lyrics is not None or None, "lyrics_about": new_lyrics or None,
                       "new_take": another_take or None}
            revision = replace(revision, **{k: v for k, v in options.items() if v is not None})
            return cap.revise(ctx, revision, current)
        show(run(go, as_json=as_json), as_json=as_json)
