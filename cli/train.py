"""``bandmate train chords|reward|policy|genre`` and ``bandmate rate``: the training runs and the ratings store.

The defaults reproduce the shipped checkpoints; results go to ``<home>/models``
(where :func:`tools.models.chord_model.load` looks before the shipped files), or to
``--out`` (``--out tools/data/chords-supervised.pt`` refreshes a shipped one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.errors import run

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

DataOpt = Annotated[Path, typer.Option(help="Folder with nottingham/ (ABC files); default ../shared/data beside the repo.")]
OutOpt = Annotated[Optional[Path], typer.Option(help="Where to write the checkpoint (default: <home>/models/<name>.pt).")]


def _home() -> Path:
    from core.settings import get_settings

    return get_settings().home_dir


def train_group(app: typer.Typer) -> typer.Typer:
    """The app's ``train`` command group, created if no other module added it yet (data_cli adds audio-qa to it)."""
    for info in app.registered_groups:
        if info.name == "train" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="Train the embedded models (chord generator, reward model, RLHF policy, genre head, "
                             "audio-QA adapter).", no_args_is_help=True)
    app.add_typer(group, name="train")
    return group


def register(app: typer.Typer) -> typer.Typer:
    """Add ``train chords|reward|policy|genre`` and ``rate`` to the bandmate CLI; return the ``train`` group."""
    train = train_group(app)

    @train.command("chords")
    def train_chords_cmd(
        data: DataOpt = DEFAULT_DATA,
        out: OutOpt = None,
        epochs: Annotated[int, typer.Option(help="Passes over the training split.")] = 14,
        synthetic: Annotated[int, typer.Option(help="Synthetic template progressions per genre/mode/section (0: real data only).")] = 8,
        tiny: Annotated[bool, typer.Option(help="A tiny model, 2 epochs, the Nottingham tunes only: checks the pipeline in seconds.")] = False,
    ) -> None:
        """Train the supervised chord model (LSTM over lyrics embeddings) with teacher forcing and scheduled sampling."""
        from dataclasses import replace

        from tools.models.chord_model import ChordModelConfig
        from training.train_chords import (
            MODEL_GENRES,
            TrainConfig,
            train_chords,
            training_sequences,
        )

        def go():
            home = _home()
            config = TrainConfig.tiny() if tiny else replace(TrainConfig(), epochs=epochs, synthetic_per_pool=synthetic)
            seqs = training_sequences(data, home, synthetic_per_pool=config.synthetic_per_pool,
                                      sources=("nottingham",) if tiny else None)
            model_config = ChordModelConfig.tiny((), MODEL_GENRES) if tiny else None
            result = train_chords(seqs, out or home / "models" / "chords-supervised.pt", config=config,
                                  model_config=model_config)
            typer.echo(f"wrote {result.path} in {result.seconds:.0f} s: validation next-chord accuracy "
                       f"{result.metrics.get('accuracy', float('nan')):.3f}, perplexity {result.metrics.get('perplexity', float('nan')):.2f}")
        run(go)

    @train.command("reward")
    def train_reward_cmd(
        data: DataOpt = DEFAULT_DATA,
        out: OutOpt = None,
        chords: Annotated[str, typer.Option(help="Chord model whose vocabulary the reward model reads.")] = "chords-supervised",
        epochs: Annotated[int, typer.Option()] = 12,
    ) -> None:
        """Train the reward model on real vs corrupted progressions and the ratings in <home>/feedback.sqlite."""
        from dataclasses import replace

        from tools.feedback import load_ratings
        from tools.models.chord_model import load
        from training.train_chords import training_sequences
        from training.train_reward import RewardTrainConfig, train_reward

        def go():
            home = _home()
            ratings = load_ratings(home)
            vocab = load(chords, device="cpu").config.vocab
            seqs = training_sequences(data, home)
            result = train_reward(seqs, out or home / "models" / "chord-reward.pt", ratings=ratings, vocab=vocab,
                                  config=replace(RewardTrainConfig(), epochs=epochs))
            typer.echo(f"wrote {result.path} in {result.seconds:.0f} s from {result.ratings_used} user ratings: "
                       f"validation accuracy {result.metrics['val_accuracy']:.3f}")
        run(go)

    @train.command("policy")
    def train_policy_cmd(
        data: DataOpt = DEFAULT_DATA,
        out: OutOpt = None,
        supervised: Annotated[str, typer.Option(help="The supervised chord model to start from (and stay near).")] = "chords-supervised",
        reward: Annotated[str, typer.Option(help="The reward model.")] = "chord-reward",
        steps: Annotated[int, typer.Option()] = 150,
        beta: Annotated[float, typer.Option(help="KL penalty weight toward the supervised model.")] = 1.0,
        entropy: Annotated[float, typer.Option(help="Entropy bonus weight (keeps chord variety).")] = 0.05,
        match: Annotated[float, typer.Option(help="Reward shaping: weight of the squared gap between the policy's chord "
                                                  "tonal distance and the real training progressions', per genre (0: off).")] = 10.0,
        select_every: Annotated[int, typer.Option(help="Compare a checkpoint with the real training progressions every this "
                                                       "many steps and keep the best (0: keep the last).")] = 10,
    ) -> None:
        """RLHF: fine-tune the chord model with REINFORCE against the reward model, with a KL penalty."""
        from dataclasses import replace

        from tools.models import chord_model, reward_model
        from training.rlhf import RLHFConfig, train_policy
        from training.train_chords import training_sequences

        def go():
            home = _home()
            seqs = training_sequences(data, home)
            result = train_policy(chord_model.load(supervised, device="cpu"), reward_model.load(reward, device="cpu"),
                                  seqs, out or home / "models" / "chords-rlhf.pt",
                                  config=replace(RLHFConfig(), steps=steps, beta=beta, entropy_bonus=entropy,
                                                 match_weight=match, select_every=select_every))
            selection = result.selection
            kept = ("" if not selection else
                    f"; kept step {selection['step']} (reward on the real training progressions "
                    f"{selection['supervised']['reward']:.3f} -> {selection['kept']['reward']:.3f}), which "
                    + ("meets" if selection["target_met"] else "does not meet")
                    + " the target there")
            typer.echo(f"wrote {result.path} in {result.seconds:.0f} s: reward {result.reward_start:.3f} -> "
                       f"{result.reward_end:.3f}, KL to the supervised model {result.kl_end:.3f}, "
                       f"|CTD gap| to the real data {result.gap_end:.3f}{kept}")
        run(go)

    @train.command("genre")
    def train_genre_cmd(
        csv_path: Annotated[Path, typer.Argument(metavar="CSV", help="A CSV of lyrics and genres.")],
        text_column: Annotated[str, typer.Option(help="Column with the lyrics.")] = "lyrics",
        label_column: Annotated[str, typer.Option(help="Column with the genre.")] = "genre",
        encoder: Annotated[str, typer.Option(help="Frozen encoder: all-MiniLM-L6-v2 or a Hugging Face folder/name.")] = "all-MiniLM-L6-v2",
        validation: Annotated[Optional[Path], typer.Option(help="A held-out CSV (default: a tenth of CSV).")] = None,
        out: OutOpt = None,
    ) -> None:
        """Train the lyrics genre head (frozen encoder + MLP) on any CSV of lyrics and genres."""
        from tools.models.encoder import embed_texts
        from tools.models.genre_head import GenreHeadConfig
        from training.train_genre import read_lyrics_csv, train_genre

        def go():
            rows = read_lyrics_csv(csv_path, text_column=text_column, label_column=label_column)
            held = read_lyrics_csv(validation, text_column=text_column, label_column=label_column) if validation else None
            dim = int(embed_texts(["a"], encoder=encoder).shape[1])
            result = train_genre(rows, out or _home() / "models" / "genre-head.pt", validation=held,
                                 head_config=GenreHeadConfig(encoder=encoder, text_dim=dim))
            scores = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items()) or "no validation rows"
            typer.echo(f"wrote {result.path}: {result.train_rows} rows, genres {', '.join(result.genres)}; "
                       f"validation ({result.validation_rows} rows) {scores}")
        run(go)

    @app.command("rate")
    def rate_cmd(
        song_folder: Annotated[Path, typer.Argument(help="A song folder bandmate wrote (with song.json).")],
        verdict: Annotated[str, typer.Argument(metavar="up|down", help="up (+1) or down (-1).")],
        user: Annotated[Optional[str], typer.Option(help="Who is rating (optional).")] = None,
    ) -> None:
        """Rate a song's chords up or down; `bandmate train reward` learns from the ratings."""
        from core.errors import ToolError
        from tools.feedback import record_rating, song_chords

        def go():
            value = {"up": 1, "+1": 1, "+": 1, "down": -1, "-1": -1, "-": -1}.get(verdict.lower().strip())
            if value is None:
                raise ToolError(f"'{verdict}' is not a rating; say up or down.")
            chords = song_chords(song_folder)
            rating_id = record_rating(_home(), source="cli", rating=value, chords=chords, user_id=user,
                                      song_folder=str(Path(song_folder).expanduser().resolve()))
            typer.echo(f"recorded rating #{rating_id} ({'up' if value > 0 else 'down'}) for {song_folder}")
        run(go)

    @train.command("tagger")
    def train_tagger_cmd(
        clips: Annotated[int, typer.Option(help="Synthetic clips to render (reused when already rendered).")] = 320,
        epochs: Annotated[int, typer.Option(help="Full-batch training steps.")] = 400,
        out: OutOpt = None,
    ) -> None:
        """Train the audio tagger (instrument family, genre style) on a rendered synthetic corpus."""
        from dataclasses import replace

        from training.train_tagger import TrainConfig
        from training.train_tagger import train as train_tagger

        def go():
            home = _home()
            config = replace(TrainConfig(), corpus=str(home / "cache" / "synth-tagger"), n_clips=clips, epochs=epochs,
                             out=str(out or home / "models" / "audio-tagger.pt"))
            typer.echo(train_tagger(config).table())
        run(go)

    return train
