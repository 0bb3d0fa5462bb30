"""The capabilities the agent and the CLI share: thin calls into ``tools/`` that return ToolOutput.

Each function is ``name(ctx, out_dir, **arguments) -> ToolOutput``; its typed
arguments become the tool's schema (descriptions live in prompts/tools.toml), and
the CLI subcommands call the same functions, so both paths do the same thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.outputs import OutputFile
from core.settings import get_settings
from core.textgen import TextGenerator


@dataclass
class ToolContext:
    """What tools need from the assistant: where to write files and which LLM writes text."""

    outputs: Path
    text_generator: Callable[[], TextGenerator]
    home: Path = field(default_factory=lambda: get_settings().home_dir)
    extra: dict[str, Any] = field(default_factory=dict)

    def thread_dir(self, thread_id: str) -> Path:
        """The output folder of one conversation thread (thread ids like 'discord:123' become safe names)."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", thread_id).strip("._") or "default"
        return self.outputs / safe


@dataclass
class ToolOutput:
    """What a tool function returns: text for the model, and files/display text for the person."""

    summary: str
    files: list[OutputFile] = field(default_factory=list)
    display: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def artifact(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "display": self.display, "data": self.data}


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
    """Write and produce a whole song (lyrics, chords, melody, arrangement, audio and score files)."""
    from tools.song.compose import SongRequest
    from tools.song.compose import compose_song as compose

    request = SongRequest(prompt=prompt, title=title, artist=artist, genre=genre, era=era, mood=mood, key=key,
                          tempo=tempo, length_seconds=length_seconds, instruments=instruments or None,
                          lyrics=lyrics, seed=seed)
    song = compose(request, llm=None if lyrics else ctx.text_generator(), out_dir=out_dir)
    kinds = ", ".join(sorted({f.kind for f in song.files}))
    summary = f"Made the song {song.summary()}\nFiles made: {kinds}."
    display = f"{song.summary()}\n\n{song.lyrics.text()}".strip()
    return ToolOutput(summary=summary, files=list(song.files), display=display, data=song.to_dict())


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
    from tools.songwriting.lyrics import write_lyrics as write

    brief = {"prompt": prompt, "genre": genre, "mood": mood, "title": title, "artist": artist, "era": era}
    lyrics = write(brief, ctx.text_generator())
    text = lyrics.text()
    return ToolOutput(summary=f"Wrote lyrics ({len(lyrics.sections)} sections):\n{text}", display=text, data=lyrics.to_dict())


def classify_genre(ctx: ToolContext, out_dir: Path, lyrics: str) -> ToolOutput:
    """Rank the genres some lyrics fit."""
    from tools.songwriting.genre import classify_genre as classify

    scores = classify(lyrics)[:5]
    ranked = ", ".join(f"{s.genre} {s.score:.0%}" for s in scores)
    return ToolOutput(summary=f"Most likely genres: {ranked}.", display=f"Genre: {ranked}",
                      data={"genres": [{"genre": s.genre, "score": s.score} for s in scores]})


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
    from tools.songwriting.chords import suggest_progression

    prog = suggest_progression(genre=genre, mood=mood, key=key, lyrics=lyrics, bars=bars, seed=seed)
    return ToolOutput(summary=prog.summary(), display=prog.summary(), data=prog.to_dict())


def render_music(
    ctx: ToolContext,
    out_dir: Path,
    source: str,
    tempo: float | None = None,
    instrument: str | None = None,
) -> ToolOutput:
    """Render chords typed as text, a MIDI file or a MusicXML file to audio."""
    from tools.rendering.render import render_any

    result = render_any(source, out_dir, tempo=tempo, instrument=instrument)
    summary = f"Rendered {result.duration_seconds:.1f} s of audio at {result.tempo:g} BPM."
    if result.notes:
        summary += " " + " ".join(result.notes)
    return ToolOutput(summary=summary, files=list(result.files), display=summary,
                      data={"duration_seconds": result.duration_seconds, "tempo": result.tempo})


def analyze_audio(ctx: ToolContext, out_dir: Path, path: str) -> ToolOutput:
    """Measure tempo, beats, key, chords, loudness and drums; the full analysis is saved as JSON."""
    from core.files import atomic_write_text
    from tools.listening.analyze import analyze_audio as analyze

    analysis = analyze(path)
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
    from tools.listening.caption import caption_audio as caption

    result = caption(path, llm=ctx.text_generator())
    return ToolOutput(summary=f"Caption: {result.text}\nTags: {', '.join(result.tags)}", display=result.text,
                      data=asdict(result))


def answer_audio_question(ctx: ToolContext, out_dir: Path, path: str, question: str) -> ToolOutput:
    """Answer a question about a clip, grounded in its measured facts."""
    from tools.listening.audio_qa import answer_audio_question as answer

    result = answer(path, question, llm=ctx.text_generator())
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
