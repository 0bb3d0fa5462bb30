"""``bandmate index ...``: the clip index from the command line, one subcommand per ClipIndex verb.

    register(app, home_getter, llm_getter)   # adds the ``index`` sub-command group to bandmate's app
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.errors import Terminated, run
from cli.output import JsonOpt, print_json
from core.textgen import TextGenerator
from index.clip_index import AddReport, ClipIndex, Hit

INDEX_TYPE_HELP = "FAISS index type: auto (flat while small, IVF when large), flat, ivf, ivfpq or hnsw."


def register(app: typer.Typer, home_getter: Callable[[], Path],
             llm_getter: Callable[[], TextGenerator | None]) -> typer.Typer:
    """Add the ``index`` command group to ``app``; the index lives in ``home_getter()/index``."""
    index_app = typer.Typer(name="index", help="Find music in your own collection by description or by example.",
                            no_args_is_help=True)
    app.add_typer(index_app, name="index")

    def open_index(index_type: str = "auto") -> ClipIndex:
        return ClipIndex(home_getter(), index_type=index_type)

    @index_app.command()
    def add(
        paths: Annotated[list[Path], typer.Argument(help="Audio files or folders (searched recursively).")],
        caption_with_llm: Annotated[bool, typer.Option(help="Write captions with the configured LLM (slower).")] = False,
        workers: Annotated[Optional[int], typer.Option(help="Analysis processes (default: one per core).")] = None,
        ray: Annotated[int, typer.Option(help="Analyse on Ray Data with this many workers (0: no Ray).")] = 0,
        ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: a local Ray).")] = None,
        index_type: Annotated[str, typer.Option(help=INDEX_TYPE_HELP)] = "auto",
    ) -> None:
        """Analyse, tag, caption and index audio files; unchanged files are skipped, so a stopped run can be resumed.
        Exits with 1 when any file could not be indexed (after indexing the rest)."""
        def go() -> None:
            llm = llm_getter() if caption_with_llm else None
            with open_index(index_type) as index:
                try:
                    report = index.add(paths, llm=llm, workers=workers, ray_workers=ray, ray_address=ray_address)
                except KeyboardInterrupt as stop:
                    typer.echo(f"{'terminated' if isinstance(stop, Terminated) else 'interrupted'}; "
                               f"{index.store.count()} clips are indexed. Run the same command again to continue.",
                               err=True)
                    raise typer.Exit(143 if isinstance(stop, Terminated) else 130)
                _print_report(report)
            if report.failed:   # every other file was still indexed; a script must see that some were not
                raise typer.Exit(1)
        run(go)

    @index_app.command()
    def search(
        text: Annotated[str, typer.Argument(help="What the music sounds like, e.g. 'upbeat electronic dance with heavy bass'.")],
        k: Annotated[int, typer.Option("-k", "--k", help="How many results.")] = 10,
        as_json: JsonOpt = False,
    ) -> None:
        """Find indexed clips that match a description."""
        _print_hits(run(lambda: open_index().search(text, k=k), as_json=as_json), as_json)

    @index_app.command()
    def similar(
        clip: Annotated[str, typer.Argument(help="An audio file (indexed or not) or a clip id.")],
        k: Annotated[int, typer.Option("-k", "--k", help="How many results.")] = 10,
        as_json: JsonOpt = False,
    ) -> None:
        """Find indexed clips that sound like CLIP."""
        hits = run(lambda: open_index().similar(int(clip) if clip.isdigit() else clip, k=k), as_json=as_json)
        _print_hits(hits, as_json)

    @index_app.command()
    def remove(items: Annotated[list[str], typer.Argument(help="Clip ids, files, or folders whose clips to remove.")]) -> None:
        """Remove clips from the index (the audio files are not touched)."""
        def go() -> None:
            report = open_index().remove([int(i) if i.isdigit() else i for i in items])
            typer.echo(f"removed {len(report.removed)} clip(s)")
            for item in report.not_found:
                typer.echo(f"  not in the index: {item}")
        run(go)

    @index_app.command()
    def prune() -> None:
        """Remove clips whose files were deleted."""
        report = run(lambda: open_index().prune())
        typer.echo(f"removed {len(report.removed)} clip(s) whose files are gone")

    @index_app.command()
    def stats(as_json: JsonOpt = False) -> None:
        """How many clips are indexed, and how."""
        s = run(lambda: open_index().stats(), as_json=as_json)
        if as_json:
            print_json(s)
            return
        typer.echo(f"{s.clips} clips, {s.total_seconds / 60:.1f} minutes of audio, in {s.home}")
        typer.echo(f"text index: {s.text_index}; audio index: {s.audio_index} (type setting: {s.index_type})")
        typer.echo(f"{s.vector_bytes / 1e6:.1f} MB of vectors, {s.disk_bytes / 1e6:.1f} MB on disk")

    @index_app.command()
    def rebuild(index_type: Annotated[Optional[str], typer.Option(help=INDEX_TYPE_HELP)] = None) -> None:
        """Rebuild the FAISS indexes from the clip table (optionally as another index type)."""
        def go() -> None:
            s = open_index().rebuild(index_type)
            typer.echo(f"rebuilt: {s.clips} clips; text index {s.text_index}, audio index {s.audio_index}")
        run(go)

    @index_app.command()
    def demo(
        clips: Annotated[int, typer.Option(help="How many clips to render.")] = 300,
        seed: Annotated[int, typer.Option(help="Seed of the arrangement plan.")] = 0,
        nottingham: Annotated[Optional[Path], typer.Option(help="Folder of Nottingham .abc files (default: the reels in music21's corpus).")] = None,
    ) -> None:
        """Render a demo collection from real compositions in many arrangements and index it."""
        def go() -> None:
            from training.index_demo import build_demo

            with open_index() as index:
                result = build_demo(index, n_clips=clips, seed=seed, nottingham=str(nottingham) if nottingham else None)
                _print_report(result.report)
            typer.echo(f'clips are in {result.corpus_dir}; try: bandmate index search "calm folk flute, slow tempo"')
        run(go)

    return index_app


def _print_hits(hits: list[Hit], as_json: bool = False) -> None:
    if as_json:
        print_json({"hits": hits})
        return
    for rank, hit in enumerate(hits, 1):
        typer.echo(f"{rank:>2}. {hit.score:.3f}  {hit.path}  ({hit.duration:.0f} s)")
        typer.echo(f"      {hit.caption}")


def _print_report(report: AddReport) -> None:
    typer.echo(report.summary())
    for item in report.updated:
        typer.echo(f"  updated {item.path}: {item.reason}")
    if report.failed:
        typer.echo("not indexed:")
        for item in report.failed:
            typer.echo(f"  {item.path}: {item.reason}")
