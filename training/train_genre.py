"""Train the lyrics genre head (frozen encoder + MLP) on any CSV of lyrics and genres.

    bandmate train genre lyrics.csv --text-column lyrics --label-column genre

Genre labels are mapped to bandmate's genres the way user requests are
(:func:`tools.songwriting.genre.resolve_genre`: "rap" is hip hop, "soul" is r&b). Lyrics are
embedded once (the encoder is frozen); the head trains full-batch in seconds. A
tenth of the rows (by a hash of the lyrics) is held out unless a validation CSV is given.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from core.errors import ToolError
from tools.models.checkpoints import save_checkpoint
from tools.models.genre_head import GenreHead, GenreHeadConfig
from tools.music.genres import GENRES
from tools.songwriting.genre import resolve_genre
from training.metrics import classification_scores


@dataclass(frozen=True)
class LabelledLyrics:
    text: str
    genre: str


@dataclass(frozen=True)
class GenreTrainConfig:
    epochs: int = 300
    lr: float = 2e-3
    weight_decay: float = 1e-2
    seed: int = 0


@dataclass(frozen=True)
class GenreResult:
    path: Path
    metrics: dict[str, float]
    genres: tuple[str, ...]
    train_rows: int
    validation_rows: int
    seconds: float


def read_lyrics_csv(path: str | Path, *, text_column: str = "lyrics", label_column: str = "genre"
                    ) -> list[LabelledLyrics]:
    """Rows of (lyrics, genre) from a CSV; ToolError for a missing file, missing columns or no usable rows."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ToolError(f"{path} does not exist; give a CSV file with '{text_column}' and '{label_column}' columns.")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (text_column, label_column) if c not in (reader.fieldnames or [])]
        if missing:
            raise ToolError(f"{path.name} has no column {' or '.join(repr(c) for c in missing)}; its columns are "
                            f"{', '.join(reader.fieldnames or []) or 'none'} (choose them with --text-column/--label-column).")
        rows = [LabelledLyrics(r[text_column].strip(), resolve_genre(r[label_column], use_encoder=False).genre)
                for r in reader if (r.get(text_column) or "").strip() and (r.get(label_column) or "").strip()]
    if not rows:
        raise ToolError(f"{path.name} has no rows with both lyrics and a genre.")
    return rows


def is_validation(text: str) -> bool:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % 10 == 0


def train_genre(rows: Sequence[LabelledLyrics], out: str | Path, *, validation: Sequence[LabelledLyrics] | None = None,
                config: GenreTrainConfig = GenreTrainConfig(), head_config: GenreHeadConfig | None = None,
                log: Callable[[str], None] = print) -> GenreResult:
    """Fit the head on ``rows`` (minus a held-out tenth unless ``validation`` is given); save to ``out`` atomically."""
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    if validation is None:
        train = [r for r in rows if not is_validation(r.text)]
        validation = [r for r in rows if is_validation(r.text)]
    else:
        train = list(rows)
    genres = tuple(g for g in GENRES if any(r.genre == g for r in train))
    if len(genres) < 2:
        raise ToolError("The training rows need at least two different genres.")
    head_config = head_config or GenreHeadConfig(genres=genres)
    head = GenreHead(GenreHeadConfig(genres, head_config.encoder, head_config.text_dim, head_config.d_hidden,
                                     head_config.dropout))
    x = head.embed([r.text for r in train])
    y = torch.tensor([genres.index(r.genre) for r in train])
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for epoch in range(config.epochs):
        head.train()
        loss = F.cross_entropy(head(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (epoch + 1) % max(1, config.epochs // 5) == 0:
            log(f"epoch {epoch + 1}/{config.epochs}  loss {loss.item():.3f}")
    head.eval()
    metrics: dict[str, float] = {}
    valid = [r for r in validation if r.genre in genres]
    if valid:
        with torch.no_grad():
            predicted = [genres[i] for i in head(head.embed([r.text for r in valid])).argmax(-1).tolist()]
        scores = classification_scores([r.genre for r in valid], predicted)
        metrics = {"accuracy": scores.accuracy, "macro_f1": scores.macro_f1}
    digest = hashlib.sha256("\n".join(f"{r.genre}\t{r.text}" for r in train).encode()).hexdigest()[:16]
    path = save_checkpoint(head, out, data_hash=digest, metrics=metrics, train_config=asdict(config),
                           trained_on={"rows": len(train), "genres": list(genres)})
    return GenreResult(path, metrics, genres, len(train), len(valid), time.perf_counter() - start)
