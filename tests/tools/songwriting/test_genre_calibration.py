"""Calibrated genre probabilities and the "unclear" answer (issue #21), on the project's labelled snippets."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import REPO
from tools.music.genres import GENRES
from tools.songwriting.genre import (
    CALIBRATED_TEMPERATURE,
    MIN_GENRE_PROBABILITY,
    UNCLEAR,
    calibration_split,
    fit_temperature,
    genre_from_request,
    genre_similarities,
    guess_genre,
    lyrics_vector,
)
from training.train_genre import read_lyrics_csv

DEV = REPO / "bench" / "data" / "genre_dev.csv"


@pytest.fixture(scope="module")
def dev_set():
    rows = read_lyrics_csv(DEV)
    return genre_similarities(np.stack([lyrics_vector(r.text) for r in rows])), [r.genre for r in rows]


def test_the_shipped_temperature_is_the_one_fitted_on_the_calibration_half(dev_set):
    similarities, truth = dev_set
    fit, _ = calibration_split(truth)
    fitted = fit_temperature(similarities[fit], [truth[i] for i in fit])
    assert fitted == pytest.approx(CALIBRATED_TEMPERATURE, rel=0.05)


def test_probabilities_match_accuracy_on_the_held_out_half(dev_set):
    similarities, truth = dev_set
    fit, held = calibration_split(truth)
    assert not set(fit) & set(held) and {truth[i] for i in held} == set(GENRES)
    temperature = fit_temperature(similarities[fit], [truth[i] for i in fit])
    z = similarities[held] / temperature
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    confidence = probs.max(axis=1)
    correct = np.array([GENRES[k] == truth[i] for k, i in zip(probs.argmax(axis=1), held)])
    assert abs(confidence.mean() - correct.mean()) < 0.1
    for lo, hi in ((0.0, 0.6), (0.6, 0.8), (0.8, 1.01)):   # the reliability curve, in three bins
        inside = (confidence >= lo) & (confidence < hi)
        assert inside.sum() >= 5 and abs(confidence[inside].mean() - correct[inside].mean()) < 0.15


@pytest.mark.parametrize("text", [
    "Preheat the oven to 180 degrees\nMix the flour, sugar and two eggs in a bowl\n"
    "Add the melted butter and stir\nBake for 25 minutes until golden",
    "milk\neggs\nbread\n2 apples\ntoilet paper\ndish soap\ncoffee beans",
    "- batteries AA\n- garbage bags\n- oat milk\n- tomatoes x4\n- printer paper",
    "Tomorrow will be cloudy with a high of 14 degrees\nLight rain is expected in the afternoon\n"
    "Winds from the north at 20 km/h",
])
def test_a_recipe_a_shopping_list_or_a_forecast_is_unclear(text):
    guess = guess_genre(text)
    assert guess.genre is None and guess.label == UNCLEAR
    assert guess.probability == 0.0 and "not read like song lyrics" in guess.reason


def test_clear_lyrics_get_their_genre_with_a_probability():
    guess = guess_genre("My old pickup truck rolls down the dirt road\nPast Mama's front porch and the Sunday church\n"
                        "A cold beer and cowboy boots on a Friday night in this small town")
    assert guess.genre == "country" and guess.probability >= MIN_GENRE_PROBABILITY and guess.reason is None
    assert guess.scores[0].genre == "country" and sum(s.score for s in guess.scores) == pytest.approx(1, abs=1e-3)


def test_unclear_lyrics_fall_back_to_the_request_words_and_mood():
    assert genre_from_request("a bluesy song about the rain", None).genre == "blues"
    match = genre_from_request("a song about my dog", "happy")
    assert match.genre in GENRES and match.genre in match.note and "request" in match.note
