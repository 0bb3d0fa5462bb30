"""The trained genre head: frozen encoder + MLP over a CSV of lyrics, ranked scores, and bad inputs."""

import csv

import pytest
import typer
from typer.testing import CliRunner

from core.errors import ToolError
from tests.support import REPO
from tests.support.tiny_encoder import tiny_bert
from tools.models.genre_head import GenreHeadConfig, load
from tools.music.genres import GENRES
from training.train_genre import GenreTrainConfig, read_lyrics_csv, train_genre

DEV = REPO / "bench" / "data" / "genre_dev.csv"


def test_dev_set_has_ten_labelled_lyrics_per_genre():
    rows = read_lyrics_csv(DEV)
    assert {g: sum(r.genre == g for r in rows) >= 10 for g in GENRES} == {g: True for g in GENRES}


def test_head_on_a_tiny_encoder_trains_saves_and_ranks(tmp_path):
    folder = tiny_bert(tmp_path / "bert", hidden=16)
    rows = read_lyrics_csv(DEV)
    result = train_genre(rows, tmp_path / "head.pt", config=GenreTrainConfig(epochs=30),
                         head_config=GenreHeadConfig.tiny(GENRES, str(folder), 16), log=lambda _: None)
    head = load(result.path, device="cpu")
    assert head.config.encoder == str(folder) and head.meta["data_hash"] and result.genres == GENRES
    ranked = head.classify("Whiskey and the blues on a rainy night")
    assert sorted(g.genre for g in ranked) == sorted(GENRES)
    assert sum(g.score for g in ranked) == pytest.approx(1.0, abs=1e-3)
    assert all(a.score >= b.score for a, b in zip(ranked, ranked[1:]))
    with pytest.raises(ToolError, match="no lyrics"):
        head.classify("  \n ")


def test_minilm_head_beats_chance_on_held_out_lyrics(tmp_path):
    rows = read_lyrics_csv(DEV)
    train = [r for i, r in enumerate(rows) if i % 4]
    held = [r for i, r in enumerate(rows) if i % 4 == 0]
    result = train_genre(train, tmp_path / "head.pt", validation=held, log=lambda _: None)
    assert result.metrics["accuracy"] > 0.4 and result.metrics["macro_f1"] > 0.35   # chance is 0.1


def test_labels_map_to_supported_genres(tmp_path):
    path = tmp_path / "l.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "style"])
        w.writerows([["Spitting rhymes", "Rap"], ["Honky tonk heart", "country"], ["", "pop"], ["Soul", "Soul"]])
    rows = read_lyrics_csv(path, text_column="text", label_column="style")
    assert [r.genre for r in rows] == ["hip hop", "country", "r&b"]


def _app():
    from cli.train import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """bandmate (test)"""

    register(app)
    return app


def test_training_csv_without_the_columns_is_one_clear_error(tmp_path, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("BANDMATE_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    bad = tmp_path / "bad.csv"
    bad.write_text("song,label\nla la,pop\n")
    out = tmp_path / "head.pt"
    result = CliRunner().invoke(_app(), ["train", "genre", str(bad), "--out", str(out)])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "no column 'lyrics' or 'genre'" in result.output and "Traceback" not in result.output
    assert not out.exists()
    with pytest.raises(ToolError, match="does not exist"):
        read_lyrics_csv(tmp_path / "missing.csv")
