"""The craft of a lyric line, measured: syllables, rhyme keys, whether two words rhyme, whether a section
keeps its rhyme scheme.

Pronunciations come from the CMU Pronouncing Dictionary (the ``pronouncing`` package); a word it does
not know falls back to spelling (:func:`syllabify` and its last vowel group).
Two words rhyme when their stressed vowels and everything after match (night/light, apart/heart), or
when only the last consonant differs within one family (time/mine: both nasals), the "family rhymes"
songwriters use all the time. The same word twice is not a rhyme.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import pronouncing

from tools import PROMPTS_DIR

# Final consonants that sing alike (Pattison's consonant families).
_FAMILIES = (("M", "N", "NG"), ("B", "D", "G"), ("P", "T", "K"), ("V", "DH", "Z", "ZH", "JH"),
             ("F", "TH", "S", "SH", "CH"))
_VOWEL = re.compile(r"^[A-Z]+[012]$")


_SPLIT_PAIRS = ("ia", "io", "iu", "ua", "uo")


_KEEP_WITH_PREVIOUS = ("ck", "ng", "gh")


_KEEP_WITH_NEXT = ("th", "sh", "ch", "ph", "wh")


def _vowel_groups(core: str) -> list[list[int]]:
    """[start, end) spans of the vowel groups of a lower-case, letters-only word."""
    def is_vowel(i: int) -> bool:
        ch = core[i]
        if ch in "aeio":
            return True
        if ch == "u":  # the u of "qu" and "gu" + vowel is a consonant sound
            return not (i > 0 and core[i - 1] in "qg" and i + 1 < len(core) and core[i + 1] in "aeiouy")
        if ch == "y":  # consonant at the start (yes) and between vowels (beyond, player)
            if i == 0:
                return False
            between = core[i - 1] in "aeiou" and i + 1 < len(core) and core[i + 1] in "aeiou"
            return not between
        return False

    groups: list[list[int]] = []
    for i in range(len(core)):
        if is_vowel(i):
            if groups and groups[-1][1] == i and core[i - 1:i + 1] not in _SPLIT_PAIRS:
                groups[-1][1] = i + 1
            elif groups and groups[-1][1] == i and i >= 2 and core[i - 2] in "tscgx":
                groups[-1][1] = i + 1   # -tion, -sion, -cial stay one syllable
            else:
                groups.append([i, i + 1])
    # "being", "going": the i of -ing after a vowel starts its own syllable
    if core.endswith("ing") and len(groups) >= 1 and groups[-1][1] == len(core) - 2 and groups[-1][1] - groups[-1][0] > 1:
        groups[-1][1] -= 1
        groups.append([len(core) - 3, len(core) - 2])
    if len(groups) > 1:
        last = groups[-1]
        n = len(core)
        if last == [n - 1, n] and core.endswith("e"):
            if not (core.endswith("le") and n > 2 and core[-3] not in "aeiouy"):
                groups.pop()  # silent e: love, fire, time
        elif last == [n - 2, n - 1] and core[-2:] in ("ed", "es"):
            if core.endswith("ed") and core[-3] not in "td" and not (core[-3] == "r" and core[-4] not in "aeiou"):
                groups.pop()  # walked, loved
            elif core.endswith("es") and core[-3] not in "sxzcg" and core[-4:-2] not in ("ch", "sh"):
                groups.pop()  # makes, eyes (but boxes, places)
    return groups


def syllabify(word: str) -> tuple[str, ...]:
    """Split a word into sung syllables, heuristically: ``"remember"`` -> ``("re", "mem", "ber")``.

    Punctuation stays attached to the syllable beside it. Words without letters
    (numbers) count as one syllable; an empty string has none.
    """
    index = [i for i, ch in enumerate(word) if ch.isalpha()]
    if not index:
        return (word,) if word.strip() else ()
    # Accents off for the vowel test only (café, chérie), so indices still map onto the word.
    core = "".join(unicodedata.normalize("NFD", word[i])[0] for i in index).lower()
    if word[index[-1]] in "éÉ":
        core = core[:-1] + "a"  # a final é is sung (café), unlike a silent e
    groups = _vowel_groups(core)
    cuts = []
    for (_, end1), (start2, _) in zip(groups, groups[1:]):
        cluster = core[end1:start2]
        if len(cluster) == 0:
            cut = start2
        elif len(cluster) == 1:
            cut = end1
        elif start2 == len(core) - 1 and core.endswith("le"):
            cut = max(end1, start2 - 2)  # ta-ble, lit-tle
        elif cluster[:2] in _KEEP_WITH_PREVIOUS or cluster[0] == "x":
            cut = end1 + 2 if cluster[:2] in _KEEP_WITH_PREVIOUS else end1 + 1
        elif cluster[:2] in _KEEP_WITH_NEXT:
            cut = end1
        else:
            cut = end1 + 1
        cuts.append(index[cut] if cut < len(index) else len(word))
    bounds = [0, *cuts, len(word)]
    return tuple(word[a:b] for a, b in zip(bounds, bounds[1:]) if word[a:b])


def count_syllables(text: str) -> int:
    """Heuristic English syllable count of a line of text."""
    return sum(len(w) for w in split_words(text))


def split_words(text: str) -> tuple[tuple[str, ...], ...]:
    """The words of a line, each split into its sung syllables (dashes and slashes split words)."""
    tokens = re.sub(r"[-–—/]+", " ", text).split()
    return tuple(s for s in (syllabify(t) for t in tokens) if s)


def end_word(line: str) -> str:
    """The last word of a line, lower case, without punctuation (``"Hold on, tonight!"`` -> ``"tonight"``)."""
    words = re.findall(r"[A-Za-z][A-Za-z']*", line)
    return words[-1].lower().strip("'") if words else ""


@functools.lru_cache(maxsize=8192)
def _phones(word: str) -> tuple[str, ...]:
    word = word.lower().strip("'")
    found = pronouncing.phones_for_word(word)
    if not found and word.endswith("in'"):  # singin' -> singing
        found = pronouncing.phones_for_word(word[:-1] + "g")
    return tuple(found)


def word_syllables(word: str) -> int:
    """Syllables of one word as sung: the CMU dictionary's shortest pronunciation (fire: 1), else the
    spelling heuristic's count."""
    phones = _phones(re.sub(r"[^a-z']", "", word.lower()))
    if phones:
        return min(pronouncing.syllable_count(p) for p in phones)
    return len(syllabify(word))


def line_syllables(line: str) -> int:
    """Syllables of a line of lyrics (hyphenated words count as their parts)."""
    return sum(word_syllables(w) for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9']*", line))


def rhyme_keys(word: str) -> tuple[str, ...]:
    """The rhyming parts of ``word`` (its last stressed vowel and what follows, stress marks dropped):
    ``"apart"`` -> ``("AA R T",)``. Unknown words get a spelling key such as ``"~ight"``."""
    word = word.lower().strip("'")
    phones = _phones(word)
    if phones:
        return tuple(dict.fromkeys(re.sub(r"\d", "", pronouncing.rhyming_part(p)) for p in phones))
    groups = re.findall(r"[aeiouy]+[^aeiouy]*$", word)
    return (f"~{groups[-1]}",) if groups else ()


def _family_key(key: str) -> str | None:
    """A rhyme key with its final consonant replaced by its family (``"AY M"`` -> ``"AY <M,N,NG>"``)."""
    parts = key.split()
    if len(parts) < 2 or key.startswith("~"):
        return None
    family = next((f for f in _FAMILIES if parts[-1] in f), None)
    return " ".join(parts[:-1] + [f"<{','.join(family)}>"]) if family else None


def rhymes(a: str, b: str, *, near: bool = True) -> bool:
    """Do the words (or the last words of the lines) ``a`` and ``b`` rhyme? Perfect rhymes always;
    family rhymes (time/mine) too unless ``near`` is False. A word does not rhyme with itself."""
    wa, wb = end_word(a), end_word(b)
    if not wa or not wb or wa == wb:
        return False
    ka, kb = set(rhyme_keys(wa)), set(rhyme_keys(wb))
    if ka & kb:
        return True
    if near:
        fa = {_family_key(k) for k in ka} - {None}
        return bool(fa & {_family_key(k) for k in kb})
    return False


@dataclass(frozen=True)
class SchemeCheck:
    """How well lines keep a rhyme scheme: the pairs of line numbers that should rhyme and those that do."""

    scheme: str
    pairs: tuple[tuple[int, int], ...]
    rhymed: tuple[tuple[int, int], ...]

    @property
    def rate(self) -> float:
        """The share of the scheme's rhyme pairs that rhyme (1.0 for a scheme with no pairs)."""
        return len(self.rhymed) / len(self.pairs) if self.pairs else 1.0


def rhyme_pairs(scheme: str) -> tuple[tuple[int, int], ...]:
    """Which lines should rhyme in ``scheme`` (``"ABAB"`` -> ``((0, 2), (1, 3))``); each line with the
    last earlier line of its letter. ``X`` marks a line that rhymes with nothing."""
    last: dict[str, int] = {}
    pairs = []
    for i, letter in enumerate(scheme.upper()):
        if letter == "X":
            continue
        if letter in last:
            pairs.append((last[letter], i))
        last[letter] = i
    return tuple(pairs)


def check_scheme(lines: list[str] | tuple[str, ...], scheme: str) -> SchemeCheck:
    """Check ``lines`` against ``scheme`` (one letter per line; lines past the scheme are ignored)."""
    pairs = tuple((i, j) for i, j in rhyme_pairs(scheme[: len(lines)]))
    rhymed = tuple((i, j) for i, j in pairs if rhymes(lines[i], lines[j]))
    return SchemeCheck(scheme=scheme[: len(lines)], pairs=pairs, rhymed=rhymed)


@functools.lru_cache(maxsize=1)
def song_words() -> tuple[str, ...]:
    """Common, singable line-ending words (``tools/prompts/rhyme_words.txt``): the vocabulary rhymes are
    suggested from, so a suggestion is never an obscure name from the dictionary."""
    text = (PROMPTS_DIR / "rhyme_words.txt").read_text(encoding="utf-8")
    words = [w.lower() for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    return tuple(dict.fromkeys(words))


def rhymes_for(word: str, vocabulary: tuple[str, ...] | None = None) -> list[str]:
    """Words of ``vocabulary`` (default :func:`song_words`) that rhyme with ``word``, perfect rhymes first."""
    pool = vocabulary if vocabulary is not None else song_words()
    perfect = [w for w in pool if rhymes(word, w, near=False)]
    return perfect + [w for w in pool if w not in perfect and rhymes(word, w)]


@functools.lru_cache(maxsize=1)
def rhymable_words(min_rhymes: int = 2) -> tuple[str, ...]:
    """The song words with at least ``min_rhymes`` rhymes among the song words: where a line that opens a
    rhyme should end (an index of rhyme keys, not every pair: 420 words, milliseconds)."""
    index: dict[str, set[str]] = {}
    for word in song_words():
        for key in rhyme_keys(word):
            for k in (key, _family_key(key)):
                if k is not None:
                    index.setdefault(k, set()).add(word)
    return tuple(w for w in song_words()
                 if len(set().union(*(index.get(k, set()) for key in rhyme_keys(w) for k in (key, _family_key(key))
                                      if k is not None)) - {w}) >= min_rhymes)


def repeats(line: str, others: list[str] | tuple[str, ...]) -> bool:
    """Is ``line`` already among ``others``, ignoring case and punctuation, or nearly (three quarters of
    the words of either line shared: "I feel so alone..." / "I feel so lonely...")?"""
    words = set(_norm(line).split())
    for other in others:
        theirs = set(_norm(other).split())
        if _norm(other) == _norm(line) or (
                min(len(words), len(theirs)) >= 4 and len(words & theirs) >= 0.75 * max(len(words), len(theirs))):
            return True
    return False


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))
