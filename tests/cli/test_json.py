"""`--json` on every command that reports something: the typed result on stdout, errors as JSON on stderr."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_app import bandmate


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clip")
    proc = bandmate("render", "Am F C G Am F C G", "--tempo", "96", "--out", str(tmp / "out"), tmp_path=tmp)
    assert proc.returncode == 0, proc.stderr
    return next((tmp / "out").rglob("song.wav"))


def as_json(*args: str, tmp_path) -> dict:
    proc = bandmate(*args, "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_analyze_and_tag_print_their_typed_results(clip, tmp_path):
    analysis = as_json("analyze", str(clip), tmp_path=tmp_path)
    assert 80 <= analysis["result"]["tempo_bpm"] <= 112
    assert analysis["files"][0]["path"].endswith(".analysis.json")
    tags = as_json("tag", str(clip), tmp_path=tmp_path)
    assert all({"label", "head", "probability"} <= set(t) for t in tags["result"]["tags"])


def test_chords_genre_and_config(tmp_path):
    chords = as_json("chords", "--genre", "jazz", "--key", "D minor", "--bars", "4", tmp_path=tmp_path)
    assert chords["result"]["key"] == "D minor" and len(chords["result"]["bars"]) == 4
    genre = as_json("genre", "whiskey and a pickup truck down a dirt road, my dog and my boots", tmp_path=tmp_path)
    scores = [g["score"] for g in genre["result"]["genres"]]
    assert scores == sorted(scores, reverse=True) and genre["result"]["genre"] == "country"
    recipe = as_json("genre", "Preheat the oven to 180 C. Mix 200 g flour, two eggs and 100 g butter; bake for "
                     "25 minutes.", tmp_path=tmp_path)
    assert recipe["result"]["genre"] == "unclear" and "unclear" in recipe["summary"]
    config = as_json("config", tmp_path=tmp_path)
    assert config["home"] == str(tmp_path / "home") and "backend" in config


def test_index_stats_and_search(clip, tmp_path):
    empty = bandmate("index", "search", "calm piano", "--json", tmp_path=tmp_path)
    assert empty.returncode == 1 and "bandmate index add" in json.loads(empty.stderr)["error"]
    assert bandmate("index", "add", str(clip), tmp_path=tmp_path).returncode == 0
    assert as_json("index", "stats", tmp_path=tmp_path)["clips"] == 1
    hits = as_json("index", "search", "calm piano", tmp_path=tmp_path)["hits"]
    assert [h["path"] for h in hits] == [str(clip)] and isinstance(hits[0]["score"], float)


def test_an_error_is_json_on_stderr_with_exit_1(tmp_path):
    proc = bandmate("analyze", str(tmp_path / "missing.wav"), "--json", tmp_path=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    error = json.loads(proc.stderr)
    assert "missing.wav" in error["error"]
