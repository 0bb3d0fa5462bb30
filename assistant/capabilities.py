"""The capabilities the agent and the CLI share: thin calls into ``tools/`` that return ToolOutput.

Each function is ``name(ctx, out_dir, **arguments) -> ToolOutput``; its typed
arguments become the tool's schema (descriptions live in prompts/tools.toml), and
the CLI subcommands call the same functions, so both paths do the same thing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assistant.context import ToolContext, ToolOutput
from core.outputs import OutputFile

if TYPE_CHECKING:
    from tools.song.revise import Revision
    from tools.song.song import Song

Instruction = Literal["writing", "summary", "paraphrase", "prediction_attribute"]


def compose_song(
    ctx: ToolContext,
    out_dir: Path,
    prompt: str,
    genre: str | None = None,
    mood: str | None = None,
    title: str | None = None,
    artist: str | None = None,
    era: str | None = None,
    key: str | None = None,
    tempo: float | None = None,
    length_seconds: float | None = None,
    instruments: list[str] | None = None,
    lyrics: str | None = None,
    seed: int = 0,
) -> ToolOutput:
    """Write and produce a whole song (lyrics, chords, melody, arrangement, audio and score files).

    "Make that into a song" right after lyrics were written sets those lyrics, on their theme.
    """
    from tools.song.compose import compose_song as compose
    from tools.song.song import SongRequest

    state = ctx.state()
    if lyrics is None and state.lyrics and state.last_made() == "lyrics" and refers_back(prompt):
        remembered = state.lyrics
        prompt, lyrics, title = remembered.prompt or prompt, remembered.text, title or remembered.title
        genre, mood = genre or remembered.genre, mood or remembered.mood
    request = SongRequest(prompt=prompt, title=title, artist=artist, genre=genre, era=era, mood=mood, key=key,
                          tempo=tempo, length_seconds=length_seconds, instruments=instruments or None,
                          lyrics=lyrics, seed=seed)
    song = compose(request, llm=None if lyrics else ctx.text_generator(), out_dir=out_dir)
    ctx.remember(song=str(song.folder))
    kinds = ", ".join(sorted({f.kind for f in song.files}))
    summary = f"Made the song {song.summary()}\nFiles made: {kinds}."
    display = f"{song.summary()}\n\n{song.lyrics.text()}".strip()
    return ToolOutput(summary=summary, files=list(song.files), display=display, data=song.to_dict())


def revise_song(ctx: ToolContext, out_dir: Path, request: str) -> ToolOutput:
    """Change the current song as asked in words ("faster", "in a major key", "piano only", "new chords for
    the chorus", "go back to the previous version"), keeping everything else."""
    from tools.song.revise import previous_version
    from tools.song.revision_text import is_undo, parse_revision

    song = ctx.state().current_song()
    if is_undo(request):
        earlier = previous_version(song)
        ctx.remember(song=str(earlier.folder))
        summary = f'Back to version {earlier.version} of "{earlier.title}": {earlier.summary().splitlines()[0]}'
        return ToolOutput(summary=summary, files=list(earlier.files), display=summary, data=earlier.to_dict())
    return revise(ctx, parse_revision(request), song)


def revise(ctx: ToolContext, revision: Revision, song: Song | None = None) -> ToolOutput:
    """Apply a typed :class:`tools.song.revise.Revision` to ``song`` (default: the thread's current song) and
    make the new version the current one. The CLI's ``bandmate revise`` options arrive here too."""
    from tools.song.revise import revise_song as apply

    song = song or ctx.state().current_song()
    needs_llm = revision.rewrite_lyrics or (revision.add_section not in (None, "solo", "instrumental"))
    revised = apply(song, revision, llm=ctx.text_generator() if needs_llm else None)
    new = revised.song
    ctx.remember(song=str(new.folder))
    display = revised.summary()
    if "lyrics" not in revised.kept:
        display += f"\n\n{new.lyrics.text()}"
    return ToolOutput(summary=revised.summary(), files=list(new.files), display=display,
                      data={**new.to_dict(), "changes": list(revised.changes), "kept": list(revised.kept)})


def recall(ctx: ToolContext, out_dir: Path, question: str) -> ToolOutput:
    """Answer a question about the song, chords, lyrics or clip of this conversation, from what was stored."""
    from assistant.recall import recall as answer

    text = answer(question, ctx.state())
    return ToolOutput(summary=text, display=text)


_BACK_WORDS = set("""that this it these those them lyrics words song songs tune track music into a an the make turn
use set put to with please now full whole real proper one of out from can you could would song's""".split())


def refers_back(text: str | None) -> bool:
    """Does ``text`` only point back at something already made ("that", "make it into a song")?"""
    words = [w for w in "".join(c if c.isalnum() or c == "'" else " " for c in (text or "").lower()).split()]
    return not words or all(w in _BACK_WORDS for w in words)


def write_lyrics(
    ctx: ToolContext,
    out_dir: Path,
    prompt: str,
    genre: str | None = None,
    mood: str | None = None,
    title: str | None = None,
    artist: str | None = None,
    era: str | None = None,
) -> ToolOutput:
    """Write lyrics only, in sections with syllable counts."""
    from assistant.conversation import LyricsMemory
    from tools.songwriting.lyric_writing import LyricsBrief
    from tools.songwriting.lyric_writing import write_lyrics as write

    brief = LyricsBrief(prompt=prompt, genre=genre, mood=mood, title=title, artist=artist, era=era)
    lyrics = write(brief, ctx.text_generator())
    text = lyrics.text()
    ctx.remember(lyrics=LyricsMemory(lyrics.title, text, prompt=prompt, genre=genre, mood=mood))
    return ToolOutput(summary=f"Wrote lyrics ({len(lyrics.sections)} sections):\n{text}", display=text, data=lyrics.to_dict())


def classify_genre(ctx: ToolContext, out_dir: Path, lyrics: str) -> ToolOutput:
    """Rank the genres some lyrics fit (calibrated probabilities), or say the genre is unclear and why."""
    from tools.songwriting.genre import guess_genre

    guess = guess_genre(lyrics)
    scores = guess.scores[:5]
    ranked = ", ".join(f"{s.genre} {s.score:.0%}" for s in scores)
    data = {"genre": guess.label, "probability": guess.probability, "reason": guess.reason,
            "genres": [{"genre": s.genre, "score": s.score} for s in scores]}
    if guess.genre is None:
        text = f"The genre is unclear: {guess.reason}."
        return ToolOutput(summary=f"{text} Closest: {ranked}.", display=text, data=data)
    return ToolOutput(summary=f"Most likely genres: {ranked}.", display=f"Genre: {ranked}", data=data)


def suggest_chords(
    ctx: ToolContext,
    out_dir: Path,
    genre: str | None = None,
    mood: str | None = None,
    key: str | None = None,
    lyrics: str | None = None,
    bars: int = 8,
    seed: int = 0,
) -> ToolOutput:
    """Suggest a chord progression for a genre, mood, key or lyrics."""
    from assistant.conversation import ChordsMemory
    from tools.songwriting.chords import suggest_progression

    prog = suggest_progression(genre=genre, mood=mood, key=key, lyrics=lyrics, bars=bars, seed=seed)
    ctx.remember(chords=ChordsMemory(" ".join(",".join(bar) for bar in prog.bars()), str(prog.key), prog.genre))
    return ToolOutput(summary=prog.summary(), display=prog.summary(), data=prog.to_dict())


def render_music(
    ctx: ToolContext,
    out_dir: Path,
    source: str | None = None,
    tempo: float | None = None,
    instrument: str | None = None,
) -> ToolOutput:
    """Render chords typed as text, a MIDI file or a MusicXML file to audio; "render that" plays the
    chords suggested last in this conversation, and "play it on piano" right after a song plays that song
    on piano (a revision of it)."""
    from assistant.conversation import ChordsMemory
    from core.errors import ToolError
    from tools.rendering.render import is_file_source, render_any

    state = ctx.state()
    if refers_back(source) and state.song and state.last_made() == "song":
        # "play it on piano" about the song just made: the song itself, on that instrument or tempo
        from tools.song.revise import Revision

        if not (instrument or tempo):
            song = state.current_song()
            return ToolOutput(summary=f"Here is {song.summary().splitlines()[0]}", files=list(song.files),
                              display=song.summary(), data=song.to_dict())
        return revise(ctx, Revision(instruments=(instrument,) if instrument else None, tempo=tempo))
    if refers_back(source) and state.lyrics and state.last_made() == "lyrics":
        # "set those lyrics to music": the lyrics just written, as a song
        return compose_song(ctx, out_dir, prompt="that", tempo=tempo, instruments=[instrument] if instrument else None)
    if refers_back(source) and state.chords:
        source = state.chords.chords.replace(",", " ")
    elif refers_back(source):
        raise ToolError("Say what to play: chords like 'C G Am F', or a .mid or .musicxml file.")
    result = render_any(source, out_dir, tempo=tempo, instrument=instrument)
    if not is_file_source(source):
        ctx.remember(chords=ChordsMemory(" ".join(source.split()), source="rendered"))
    summary = f"Rendered {result.duration_seconds:.1f} s of audio at {result.tempo:g} BPM."
    if result.notes:
        summary += " " + " ".join(result.notes)
    return ToolOutput(summary=summary, files=list(result.files), display=summary,
                      data={"duration_seconds": result.duration_seconds, "tempo": result.tempo})


def analyze_audio(ctx: ToolContext, out_dir: Path, path: str) -> ToolOutput:
    """Measure tempo, beats, key, chords, loudness and drums; the full analysis is saved as JSON."""
    from assistant.conversation import ClipMemory
    from core.files import atomic_write_text
    from tools.listening.analyze import analyze_audio as analyze

    analysis = analyze(path)
    ctx.remember(clip=ClipMemory(str(path), tuple(analysis.to_facts())))
    facts = analysis.summary()
    report = atomic_write_text(out_dir / f"{Path(path).stem}.analysis.json", json.dumps(analysis.to_dict(), indent=1))
    return ToolOutput(summary=f"Analysis of {Path(path).name}:\n{facts}", files=[OutputFile.of(report, "analysis")],
                      display=facts, data=analysis.to_dict())


def tag_audio(ctx: ToolContext, out_dir: Path, path: str) -> ToolOutput:
    """Predict tags (instrument family, genre style, mood) for a clip with the embedded tagger."""
    from tools.listening.tagger import tag_audio as tag

    tags = tag(path)
    if not tags:
        summary = f"No tag is confident enough for {Path(path).name}."
    else:
        summary = f"Tags of {Path(path).name}: " + ", ".join(f"{t.label} ({t.head}, p={t.probability:.2f})" for t in tags)
    return ToolOutput(summary=summary, display=summary, data={"tags": [asdict(t) for t in tags]})


def caption_tags(ctx: ToolContext, out_dir: Path, tags: list[str], instruction: Instruction = "writing") -> ToolOutput:
    """Write an LP-MusicCaps-style caption from tags."""
    from tools.listening.caption import caption_tags as caption

    result = caption(tags, instruction=instruction, llm=ctx.text_generator())
    summary = f"Caption: {result.text}"
    if result.new_attributes:
        summary += f"\nPredicted attributes: {', '.join(result.new_attributes)}"
    return ToolOutput(summary=summary, display=summary.removeprefix("Caption: "), data=asdict(result))


def caption_audio(ctx: ToolContext, out_dir: Path, path: str) -> ToolOutput:
    """Describe an audio clip from what its analysis measured."""
    from assistant.conversation import ClipMemory
    from tools.listening.caption import caption_audio as caption

    result = caption(path, llm=ctx.text_generator())
    ctx.remember(clip=ClipMemory(str(path)))
    return ToolOutput(summary=f"Caption: {result.text}\nTags: {', '.join(result.tags)}", display=result.text,
                      data=asdict(result))


def answer_audio_question(ctx: ToolContext, out_dir: Path, path: str, question: str) -> ToolOutput:
    """Answer a question about a clip, grounded in its measured facts."""
    from assistant.conversation import ClipMemory
    from tools.listening.audio_qa import answer_audio_question as answer

    result = answer(path, question, llm=ctx.text_generator())
    ctx.remember(clip=ClipMemory(str(path), tuple(result.facts)))
    return ToolOutput(summary=f"Answer: {result.text}", display=result.text, data=asdict(result))


def search_similar(
    ctx: ToolContext,
    out_dir: Path,
    query: str | None = None,
    path: str | None = None,
    k: int = 10,
) -> ToolOutput:
    """Search the user's clip index by description, or for clips like an audio file."""
    from core.errors import ToolError
    from index import ClipIndex

    if not (query or path):
        raise ToolError("Say what to search for: a description of the music, or an audio file to find more like it.")
    with ClipIndex(ctx.home) as idx:
        hits = idx.search(query, k=k) if query and not path else idx.similar(path, k=k)
    if not hits:
        return ToolOutput(summary="No clips in the index match.", display="No matches.")
    lines = [f"{i}. {Path(h.path).name} ({h.score:.2f}): {h.caption}" for i, h in enumerate(hits, 1)]
    what = f"'{query}'" if query and not path else Path(path).name
    summary = f"Found {len(hits)} clips like {what}:\n" + "\n".join(lines[:5])
    return ToolOutput(summary=summary, display="\n".join(lines),
                      data={"hits": [asdict(h) for h in hits]})
