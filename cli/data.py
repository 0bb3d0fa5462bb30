"""`bandmate data synth|captions|musicqa` and `bandmate train audio-qa`: the Python API of issue 7, one command each.

``register(app)`` adds the ``data`` sub-command group to the main CLI;
``add_train_commands(train_app)`` adds ``audio-qa`` to the ``train`` group that
cli/train.py owns. The LLM for captions and open questions is the one
configured for bandmate (embedded model or any OpenAI-compatible server).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.errors import fail, run

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _guarded(fn):
    """Run the command through the CLI's one error wrapper."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return run(fn, *args, **kwargs)
    return wrapper


def llm_from_settings(settings_data: dict | None = None):
    """The configured TextGenerator (a module-level function, so Ray can ship it to its workers)."""
    from assistant.llm import ChatTextGenerator, make_chat_model
    from core.settings import Settings, get_settings

    settings = Settings(**settings_data) if settings_data is not None else get_settings()
    return ChatTextGenerator(make_chat_model(settings))


def _factory():
    from core.settings import get_settings
    return functools.partial(llm_from_settings, get_settings().model_dump())


def _clips(path: Path, limit: int | None):
    from training.readers import read_audio_folder, read_tagged
    if path.is_dir():                       # unlabelled audio: the pretrained tagger gives the tags
        return read_audio_folder(path, limit=limit)
    clips = read_tagged(path)
    return clips[:limit] if limit else clips


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    data_app = typer.Typer(help="Make training data: a labelled synthetic corpus, pseudo-captions, QA pairs.",
                           no_args_is_help=True)

    @data_app.command("synth")
    @_guarded
    def synth(
        out: Annotated[Path, typer.Argument(help="Folder for clips/ and metadata.jsonl.")],
        clips: Annotated[int, typer.Option(help="Number of clips.")] = 1000,
        seed: Annotated[int, typer.Option(help="Same seed, same corpus.")] = 0,
        seconds: Annotated[float, typer.Option(help="Length of each clip.")] = 8.0,
        sample_rate: Annotated[int, typer.Option(help="WAV sample rate.")] = 22050,
        workers: Annotated[int, typer.Option(help="Render processes (0: one per core).")] = 0,
        nottingham: Annotated[Optional[Path], typer.Option(help="Folder of Nottingham .abc files to draw tunes from.")] = None,
    ) -> None:
        """Render a labelled corpus with fluidsynth (resumes a killed run)."""
        from training.data_synth import SynthConfig, synthesize
        corpus = synthesize(SynthConfig(n_clips=clips, seed=seed, seconds=seconds, sample_rate=sample_rate,
                                        workers=workers, nottingham=str(nottingham) if nottingham else None), out)
        typer.echo(f"{len(corpus.clips)} clips ({corpus.rendered} rendered now) in {out}/metadata.jsonl")

    @data_app.command("captions")
    @_guarded
    def captions(
        source: Annotated[Path, typer.Argument(help="metadata.jsonl, MusicCaps CSV, MagnaTagATune annotations_final.csv, or a folder of audio (tagged by musicnn).")],
        out: Annotated[Path, typer.Option(help="Captions JSONL (appended to; a rerun continues).")] = Path("captions.jsonl"),
        instructions: Annotated[str, typer.Option(help="Comma-separated LP-MusicCaps instructions.")] =
            "writing,summary,paraphrase,prediction_attribute",
        batch_size: Annotated[int, typer.Option(help="Requests in flight at once.")] = 8,
        limit: Annotated[Optional[int], typer.Option(help="Only the first N clips.")] = None,
        ray: Annotated[bool, typer.Option("--ray", help="Fan out over Ray Data workers.")] = False,
        workers: Annotated[int, typer.Option(help="Ray workers.")] = 2,
        ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: a local Ray).")] = None,
    ) -> None:
        """LP-MusicCaps pseudo-captions through the configured LLM."""
        from training.captions import CaptionJob, generate_captions
        job = CaptionJob(instructions=tuple(i.strip() for i in instructions.split(",") if i.strip()),
                         batch_size=batch_size)
        items = _clips(source, limit)
        if ray:
            from training.ray_jobs import ray_generate_captions
            report = ray_generate_captions(items, out, llm_factory=_factory(), job=job, num_workers=workers,
                                           ray_address=ray_address)
        else:
            report = generate_captions(items, out, llm=llm_from_settings(), job=job)
        typer.echo(f"{report.written} captions written ({report.already_done} from earlier runs, "
                   f"{report.failed} unusable replies to retry) -> {out}")

    @data_app.command("musicqa")
    @_guarded
    def musicqa(
        source: Annotated[Path, typer.Argument(help="metadata.jsonl, MusicCaps CSV, MagnaTagATune annotations_final.csv, or a folder of audio (tagged by musicnn).")],
        out: Annotated[Path, typer.Option(help="QA JSONL {audio, question, answer} (a rerun continues).")] = Path("qa.jsonl"),
        conversations: Annotated[Optional[Path], typer.Option(help="Also write MU-LLaMA's MusicQA JSON here.")] = None,
        open_questions: Annotated[int, typer.Option("--open", help="LLM-written open questions per clip.")] = 0,
        labels: Annotated[bool, typer.Option(help="Label questions (synthetic corpus).")] = True,
        tags: Annotated[bool, typer.Option(help="MusicQA tag questions.")] = True,
        limit: Annotated[Optional[int], typer.Option(help="Only the first N clips.")] = None,
        ray: Annotated[bool, typer.Option("--ray", help="Fan out over Ray Data workers.")] = False,
        workers: Annotated[int, typer.Option(help="Ray workers.")] = 2,
    ) -> None:
        """MusicQA-style question/answer pairs from tags, labels and captions."""
        from training.musicqa import QAJob, generate_musicqa, write_conversations
        job = QAJob(labels=labels, tags=tags, open_per_clip=open_questions)
        items = _clips(source, limit)
        if ray and open_questions:
            from training.ray_jobs import ray_generate_musicqa
            written = ray_generate_musicqa(items, out, llm_factory=_factory(), job=job, num_workers=workers).written
        else:
            written = generate_musicqa(items, out, job=job, llm=llm_from_settings() if open_questions else None)
        typer.echo(f"{written} QA pairs written -> {out}")
        if conversations:
            typer.echo(f"MU-LLaMA conversations -> {write_conversations(out, conversations)}")

    app.add_typer(data_app, name="data")


def add_train_commands(train_app: typer.Typer) -> None:
    """Add ``audio-qa`` to the ``train`` command group."""

    @train_app.command("audio-qa")
    @_guarded
    def audio_qa(
        train: Annotated[Path, typer.Argument(help="QA JSONL {audio, question, answer}.")],
        config: Annotated[Path, typer.Option(help="Training config (JSON).")] = CONFIGS / "audio_qa_tiny.json",
        eval: Annotated[Optional[Path], typer.Option(help="Held-out QA JSONL (default: hold out 20% of the clips).")] = None,
        out: Annotated[Path, typer.Option(help="Run folder: checkpoints and metrics.json.")] = Path("runs/audio_qa"),
        steps: Annotated[Optional[int], typer.Option(help="Training steps (overrides the config).")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the newest checkpoint in --out.")] = False,
        strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad line (default: skip and count).")] = False,
        num_processes: Annotated[int, typer.Option(help="Processes (GPUs, or CPU processes with --cpu); >1 uses accelerate launch.")] = 1,
        cpu: Annotated[bool, typer.Option("--cpu", help="Use CPU processes (gloo) even when GPUs are present.")] = False,
    ) -> None:
        """Fine-tune the audio-QA bridge (frozen encoder and LLM) with accelerate."""
        args = ["--config", str(config), "--train", str(train), "--out", str(out)]
        args += (["--eval", str(eval)] if eval else []) + (["--steps", str(steps)] if steps else [])
        args += (["--resume"] if resume else []) + (["--strict"] if strict else [])
        if num_processes > 1:
            launcher = shutil.which("accelerate") or fail("accelerate is not installed; install bandmate[train].")
            # torch.distributed.run starts the processes; without CUDA the script's Accelerator uses gloo
            # (accelerate's --cpu launcher would start only one process unless MPI is installed).
            cmd = [launcher, "launch", "--multi_gpu", "--num_processes", str(num_processes), "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "training.audio_qa_train", *args]
            env = {**os.environ, **({"CUDA_VISIBLE_DEVICES": ""} if cpu else {})}
            raise typer.Exit(subprocess.call(cmd, env=env))
        from training.audio_qa_train import main
        code = main(args)
        if code:
            raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    app = typer.Typer(no_args_is_help=True)
    register(app)
    train_app = typer.Typer(no_args_is_help=True)
    add_train_commands(train_app)
    app.add_typer(train_app, name="train")
    app(sys.argv[1:])
