"""Lyrics as song lyrics: the single-shot method and the crafted one side by side, with the configured LLM
(the embedded model by default), on the requests in bench/data/lyrics_requests.csv (3 per genre).

Per method: rhyme rate at the rhyme scheme's positions (each section scored against the scheme it fits
best: AABB or ABAB for 4 lines, AA for 2, couplets otherwise; a repeated chorus counts once), the
median spread of syllable counts across parallel lines (line k of every verse), distinct-2 (distinct
word pairs over all word pairs), similarity of the lyrics to the request (MiniLM), the share of lines
that repeat another line (a chorus sung again is not a repeat), seconds per song, and the LLM calls
and generated tokens behind them (which other work on the machine does not change). Then the default
song, made the way `bandmate compose` makes it (no length asked; the lyrics step timed inside it):
its duration and how many of the written sections it sings. Rhyme rate and theme similarity come with 95% bootstrap intervals over requests.
With --naturalness, also how natural the lines are to the embedded model (mean log-probability per token
of a song's lines read as its reply to "Write the lyrics of a song about ..."; higher is more natural,
and rhymes chosen for a line's end cost some), scored after all songs are timed.
Targets (issue 17): rhyme rate >= 0.7, spread <= 2, no looping lines, lyrics step <= 20 s on 2 cores.

    python bench/lyrics_quality.py                 # all 30 requests, both methods
    python bench/lyrics_quality.py --n 10          # the first 10 (one per genre)
    python bench/lyrics_quality.py --methods crafted --threads 2 --show

Run it with nothing else on the machine: the seconds are the model's, and other work slows them.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.songwriting.lyric_craft import CraftOptions  # noqa: E402
from tools.songwriting.lyric_writing import METHODS, LyricsBrief, write_lyrics  # noqa: E402
from tools.songwriting.lyrics import Lyrics  # noqa: E402
from tools.songwriting.prosody import check_scheme, line_syllables  # noqa: E402

REQUESTS = ROOT / "bench" / "data" / "lyrics_requests.csv"


@dataclass(frozen=True)
class Request:
    prompt: str
    genre: str
    mood: str


@dataclass(frozen=True)
class LyricsScore:
    """One song's lyrics, measured."""

    rhyme_pairs: int
    rhymed: int
    spread: float | None          # median syllable spread across parallel lines; None with one verse
    distinct_2: float
    repeated_share: float
    theme: float
    seconds: float
    lines: int
    calls: int = 0
    tokens: int = 0               # tokens the model generated for this song

    @property
    def rhyme_rate(self) -> float:
        return self.rhymed / self.rhyme_pairs if self.rhyme_pairs else 0.0


class CountingGenerator:
    """A text generator that counts the calls made to it and the tokens it generated (the model's own
    tokenizer when it has one, else characters / 4): how much work a method asks for, whatever the load."""

    def __init__(self, inner) -> None:
        self.inner, self.name = inner, inner.name
        self.calls = self.tokens = 0

    def generate(self, prompt: str, **kwargs) -> str:
        reply = self.inner.generate(prompt, **kwargs)
        count = getattr(getattr(self.inner, "chat", None), "count_tokens", None)
        self.calls += 1
        self.tokens += count(reply) if count else len(reply) // 4
        return reply

    def ending_logprobs(self, *args, **kwargs):
        """The inner model's line-ending scores (the crafted method's rhyme swaps), when it has them."""
        scores = getattr(self.inner, "ending_logprobs", None)
        return scores(*args, **kwargs) if scores else None


def read_requests(path: Path = REQUESTS) -> list[Request]:
    """The requests, interleaved by genre so that the first ten cover the ten genres."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [Request(r["prompt"], r["genre"], r["mood"]) for r in csv.DictReader(fh)]
    genres = list(dict.fromkeys(r.genre for r in rows))
    by_genre = {g: [r for r in rows if r.genre == g] for g in genres}
    return [by_genre[g][i] for i in range(max(map(len, by_genre.values()))) for g in genres if i < len(by_genre[g])]


def unique_sections(lyrics: Lyrics) -> list[list[str]]:
    """Each section's lines, a section sung again with the same lines (a chorus) counted once."""
    seen, out = set(), []
    for section in lyrics.sections:
        lines = [ln.text for ln in section.lines]
        if tuple(lines) not in seen:
            seen.add(tuple(lines))
            out.append(lines)
    return out


def best_scheme(count: int) -> tuple[str, ...]:
    """The schemes a section of ``count`` lines is scored against."""
    if count == 2:
        return ("AA",)
    couplets = "".join(chr(65 + i // 2) for i in range(count))
    alternate = "".join(chr(65 + 2 * (i // 4) + i % 2) for i in range(count))
    return (couplets, alternate)


def rhyme_counts(sections: list[list[str]]) -> tuple[int, int]:
    """(rhyme pairs, pairs that rhyme) over sections, each under the scheme it fits best."""
    pairs = rhymed = 0
    for lines in sections:
        if len(lines) < 2:
            continue
        best = max((check_scheme(lines, s) for s in best_scheme(len(lines))), key=lambda c: c.rate)
        pairs, rhymed = pairs + len(best.pairs), rhymed + len(best.rhymed)
    return pairs, rhymed


def parallel_spread(lyrics: Lyrics, kind: str = "verse") -> float | None:
    """Median over line positions of (most - fewest syllables) across the sections of ``kind``."""
    sections = [[line_syllables(ln.text) for ln in s.lines] for s in lyrics.sections if s.kind == kind]
    if len(sections) < 2:
        return None
    spreads = [max(col) - min(col) for col in zip(*sections)]
    return float(statistics.median(spreads)) if spreads else None


def distinct_2(lines: list[str]) -> float:
    """Distinct word bigrams over all word bigrams (within lines)."""
    grams = [(a, b) for ln in lines for a, b in zip(_words(ln), _words(ln)[1:])]
    return len(set(grams)) / len(grams) if grams else 0.0


def repeated_share(sections: list[list[str]]) -> float:
    """The share of lines (a repeated chorus counted once) whose words appear on another line too."""
    keys = [" ".join(_words(ln)) for lines in sections for ln in lines]
    return sum(keys.count(k) > 1 for k in keys) / len(keys) if keys else 0.0


def _words(line: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", line.lower())


def theme_similarity(prompt: str, lyrics: Lyrics) -> float:
    from tools.models.encoder import embed_texts

    text = " ".join(ln for lines in unique_sections(lyrics) for ln in lines)
    a, b = embed_texts([prompt, text])
    return float(a @ b)


def score(request: Request, lyrics: Lyrics, seconds: float, calls: int = 0, tokens: int = 0) -> LyricsScore:
    sections = unique_sections(lyrics)
    pairs, rhymed = rhyme_counts(sections)
    lines = [ln for s in sections for ln in s]
    return LyricsScore(pairs, rhymed, parallel_spread(lyrics), distinct_2(lines), repeated_share(sections),
                       theme_similarity(request.prompt, lyrics), seconds, len(lines), calls, tokens)


def naturalness(songs: list[tuple[str, Lyrics]]) -> list[float]:
    """Mean log-probability per token of each song's lines (a chorus once) under the embedded model, as its
    reply to a request for the song: a second copy of the model that keeps every position's logits."""
    import numpy as np
    from llama_cpp import Llama

    from assistant.model_files import embedded_model_path
    from core.settings import get_settings

    model = Llama(str(embedded_model_path(get_settings().models_dir)), n_ctx=1024, logits_all=True, verbose=False)
    out = []
    for prompt, lyrics in songs:
        asked = model.tokenize(f"<|im_start|>user\nWrite the lyrics of a song about {prompt}.<|im_end|>\n"
                               "<|im_start|>assistant\n".encode(), add_bos=False, special=True)
        text = "\n".join(ln for lines in unique_sections(lyrics) for ln in lines)
        reply = model.tokenize(text.encode(), add_bos=False, special=False)
        model.reset()
        model.eval(asked + reply)
        logits = np.asarray(model.scores[len(asked) - 1: len(asked) + len(reply) - 1], dtype=np.float64)
        logprobs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        out.append(float(np.mean(logprobs[np.arange(len(reply)), reply])))
    return out


def bootstrap(values: list[float], rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """A 95% bootstrap interval of the mean."""
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def default_song(request: Request, llm, method: str, seed: int) -> tuple[Lyrics, float, tuple[float, int, int]]:
    """The default song for ``request`` (no length asked, no audio rendered), its lyrics written with
    ``method``: (lyrics, seconds of the lyrics step, (song seconds, sections sung, sections written))."""
    from tools.song.compose import compose_song
    from tools.song.song import SongRequest

    with tempfile.TemporaryDirectory() as tmp:
        song = compose_song(SongRequest(prompt=request.prompt, genre=request.genre, mood=request.mood, seed=seed),
                            llm=llm, out_dir=tmp, render_audio=False, lyrics_method=method)  # type: ignore[arg-type]
    played = iter(s.label for s in song.sections if s.lines)
    sung = sum(any(label == written.label for label in played) for written in song.lyrics.sections)  # in order
    return song.lyrics, dict(song.timings)["lyrics"], (song.duration_seconds, sung, len(song.lyrics.sections))


def print_table(results: dict[str, list[LyricsScore]], songs: dict[str, list[tuple[float, int, int]]],
                natural: dict[str, list[float]] | None = None) -> None:
    head = (f"{'method':<12}{'songs':>6}{'rhyme rate [95% CI]':>24}{'spread':>8}{'distinct-2':>11}"
            f"{'theme [95% CI]':>22}{'repeated':>9}{'s/song med':>11}{'s max':>7}{'calls':>7}{'tokens':>8}"
            + (f"{'natural':>9}" if natural else ""))
    print(head)
    for method, rows in results.items():
        rates, themes = [r.rhyme_rate for r in rows], [r.theme for r in rows]
        spreads = [r.spread for r in rows if r.spread is not None]
        lo, hi = bootstrap(rates)
        tlo, thi = bootstrap(themes)
        pooled = sum(r.rhymed for r in rows) / max(1, sum(r.rhyme_pairs for r in rows))
        print(f"{method:<12}{len(rows):>6}{pooled:>8.2f} [{lo:.2f}, {hi:.2f}]     "
              f"{statistics.median(spreads) if spreads else float('nan'):>8.1f}"
              f"{statistics.fmean(r.distinct_2 for r in rows):>11.2f}"
              f"{statistics.fmean(themes):>8.2f} [{tlo:.2f}, {thi:.2f}]  "
              f"{statistics.fmean(r.repeated_share for r in rows):>9.2f}"
              f"{statistics.median(r.seconds for r in rows):>11.1f}{max(r.seconds for r in rows):>7.1f}"
              f"{statistics.fmean(r.calls for r in rows):>7.1f}{statistics.fmean(r.tokens for r in rows):>8.0f}"
              + (f"{statistics.fmean(natural[method]):>9.2f}" if natural else ""))
    if songs:
        print(f"\n{'method':<12}{'default song s (median, min-max)':>34}{'sections sung / written':>26}")
        for method, rows in songs.items():
            seconds = [s for s, _, _ in rows]
            sung, written = sum(r[1] for r in rows), sum(r[2] for r in rows)
            print(f"{method:<12}{statistics.median(seconds):>14.0f} ({min(seconds):.0f}-{max(seconds):.0f})"
                  f"{'':>10}{sung:>12} / {written} ({sum(r[1] == r[2] for r in rows)}/{len(rows)} whole)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="how many requests (interleaved by genre)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated: crafted,single-shot")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the embedded model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-song", action="store_true",
                        help="write the lyrics alone (with --fixes/--candidates), not the default song around them")
    parser.add_argument("--fixes", type=int, default=CraftOptions().max_fixes, help="crafted: fix calls per song")
    parser.add_argument("--candidates", type=int, default=CraftOptions().candidates, help="crafted: lines per fix")
    parser.add_argument("--by-ear", action="store_true", help="crafted: swap a line's last word by ear first")
    parser.add_argument("--show", action="store_true", help="print each song's lyrics")
    parser.add_argument("--naturalness", action="store_true",
                        help="score how natural the lines are to the embedded model (after the timings)")
    args = parser.parse_args()
    if args.threads:
        os.environ["BANDMATE_N_THREADS"] = str(args.threads)
    from assistant.llm import ChatTextGenerator, make_chat_model
    from core.settings import get_settings

    llm = ChatTextGenerator(make_chat_model(get_settings()))
    llm.generate("Say OK.", max_tokens=2)  # load the model outside the timings
    requests = read_requests()[: args.n]
    options = CraftOptions(candidates=args.candidates, max_fixes=args.fixes, swap_by_ear=args.by_ear)
    results: dict[str, list[LyricsScore]] = {}
    songs: dict[str, list[tuple[float, int, int]]] = {}
    written: dict[str, list[tuple[str, Lyrics]]] = {}
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        for i, request in enumerate(requests):
            counting = CountingGenerator(llm)
            if args.no_song:
                brief = LyricsBrief(prompt=request.prompt, genre=request.genre, mood=request.mood)
                start = time.perf_counter()
                lyrics = write_lyrics(brief, counting, seed=args.seed + i, method=method,  # type: ignore[arg-type]
                                      options=options)
                seconds = time.perf_counter() - start
            else:
                lyrics, seconds, song = default_song(request, counting, method, args.seed + i)
                songs.setdefault(method, []).append(song)
            row = score(request, lyrics, seconds, counting.calls, counting.tokens)
            written.setdefault(method, []).append((request.prompt, lyrics))
            results.setdefault(method, []).append(row)
            print(f"[{method} {i + 1}/{len(requests)}] {request.genre}: {lyrics.title!r} rhyme {row.rhyme_rate:.2f} "
                  f"spread {row.spread} theme {row.theme:.2f} {row.seconds:.1f} s, {row.calls} calls, {row.tokens} tokens",
                  file=sys.stderr, flush=True)
            if args.show:
                print(f"\n# {request.prompt} ({request.genre}, {method})\n{lyrics.title}\n{lyrics.text()}\n",
                      file=sys.stderr)
    print(f"\n{llm.name}, {len(requests)} requests, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    natural = {method: naturalness(pairs) for method, pairs in written.items()} if args.naturalness else None
    print_table(results, songs, natural)


if __name__ == "__main__":
    main()
