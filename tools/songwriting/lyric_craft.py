"""Lyrics written the way a songwriter works, so that a small model (the embedded 1.5B) writes songs, not
prose: plan the song (title, hook line, images), draft it section by section, then fix the lines that
miss the rhyme scheme, run long or short against the parallel lines, or repeat: a few candidate lines
ending on suggested rhymes are sampled and the best kept. Every line the embedded model writes leans
toward the rhymes it needs (``endings`` of :class:`core.textgen.TextGenerator`: those words' tokens made
likelier once the line is under way), since asked in words for a line "ENDING with one of: ..." a 1.5B
model mostly ignores the list. Optionally (:class:`CraftOptions`), a line's last word is first swapped for
a rhyme the model itself finds natural there.

Rhymes and syllables are checked with :mod:`tools.songwriting.prosody` (CMU Pronouncing Dictionary),
staying on theme with the sentence encoder. A fix costs one short call; :class:`CraftOptions` caps them,
since on 2 cores the embedded model reads ~75 prompt tokens and writes ~27 tokens a second. The prompts are ``tools/prompts/lyrics_*.md``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from statistics import median

from core.errors import ToolError
from core.textgen import Endings, EndingScorer, TextGenerator, Until
from tools import PROMPTS_DIR
from tools.songwriting.lyric_theme import ThemeScorer
from tools.songwriting.lyrics import Lyrics, LyricSection, make_line, parse_lyrics
from tools.songwriting.prosody import (
    check_scheme,
    end_word,
    line_syllables,
    repeats,
    rhymable_words,
    rhyme_pairs,
    rhymes,
    rhymes_for,
)

log = logging.getLogger(__name__)

SCHEMES = ("AABB", "ABAB")   # a 4-line section keeps whichever its draft is closer to; 2 lines: AA
# Small models loop without a repeat penalty; 1.15 keeps them on track without garbling rhymes.
REPEAT_PENALTY = 1.15


@dataclass(frozen=True)
class CraftOptions:
    """How hard to work on the lines: candidates sampled per fix, fix calls per song, syllables of slack, and
    whether a line's last word may first be swapped by ear (measured in bench/lyrics_quality.py: with the
    fix calls leaning toward their rhymes, two more fix calls rhyme more, and sooner, than the swaps)."""

    candidates: int = 2
    max_fixes: int = 8
    syllable_slack: int = 2
    lines: int = 4           # lines of a verse or chorus (a bridge has half)
    swap_by_ear: bool = False


@dataclass(frozen=True)
class SongPlan:
    """What the song is before a line is written: its title, the hook (the chorus's first line), images."""

    title: str
    hook: str
    images: tuple[str, ...]


@dataclass
class _Writer:
    """One song being written: the brief's words, the title, the calls made and the fixes left."""

    llm: TextGenerator
    theme: str
    genre_words: str
    details: str
    seed: int
    options: CraftOptions
    scorer: ThemeScorer
    title: str = ""
    calls: int = 0
    fixes_left: int = 0
    last_prompt: str = ""
    section_prompt: str = ""     # the prompt the section being fixed was drafted from

    def ending_scores(self, before: list[str], prefix: str, words: list[str]) -> list[float] | None:
        """How natural each word is as the end of ``prefix`` (a line cut before its last word) in the section
        drafted from :attr:`section_prompt`; None when the model cannot score."""
        if not self.options.swap_by_ear or not isinstance(self.llm, EndingScorer) or not self.section_prompt:
            return None
        return self.llm.ending_logprobs(self.section_prompt, "\n".join([*before, prefix]), words, system=_system())

    def ask(self, template: str, max_tokens: int, temperature: float = 0.8, endings: Endings | None = None,
            until: Until | None = None, **fields: str) -> str:
        prompt = (PROMPTS_DIR / template).read_text(encoding="utf-8").format(
            theme=self.theme, genre_words=self.genre_words, details=self.details, title=self.title or "untitled",
            **fields)
        prompt = re.sub(r"\n{2,}", "\n", prompt).strip()
        self.calls += 1
        self.last_prompt = prompt
        return self.llm.generate(prompt, system=_system(), max_tokens=max_tokens, temperature=temperature,
                                 seed=self.seed + self.calls, repeat_penalty=REPEAT_PENALTY, endings=endings,
                                 until=until)


def _system() -> str:
    return (PROMPTS_DIR / "lyrics_craft_system.md").read_text(encoding="utf-8").strip()


def warm_up(llm: TextGenerator | None) -> None:
    """Load what writing lyrics uses: the rhyme dictionary, the sentence encoder and, given ``llm``, the
    model's reading of the lyrics' system prompt and its lean toward rhymes (one call of a token). A
    long-running server calls it at start: a process's first song spent ~3 s on these on 2 cores."""
    rhymable_words()
    ThemeScorer("leaving home").rank(list(_RHYMABLE))
    if llm is not None:
        llm.generate("Write one line about home.", system=_system(), max_tokens=1, temperature=0.8,
                     repeat_penalty=REPEAT_PENALTY, endings=lambda lines: ["home"])


def _reply_lines(reply: str) -> list[str]:
    """The lyric lines of a reply (headings, chatter and loops dropped); none when it holds no lyrics."""
    try:
        parsed = parse_lyrics(reply, from_model=True)
    except ToolError:
        return []
    return [ln.text for s in parsed.sections for ln in s.lines
            if len(ln.text.split()) >= 3 and not _WORD_LIST.fullmatch(ln.text)]


_WORD_LIST = re.compile(r"\W*(\w+\W*,\s*){2,}\w+\W*")   # "Mine, time, wine, sign": rhymes asked for, echoed


def plan_song(writer: _Writer, title: str | None) -> SongPlan:
    """Ask for the title, hook and images in a fixed form; anything missing is filled in later."""
    reply = writer.ask("lyrics_plan.md", max_tokens=56, temperature=0.7,
                       title_rule=f', use "{title}"' if title else "")
    fields = {m.group(1).lower(): m.group(2).strip().strip("\"“”*,;")
              for m in re.finditer(r"^\W*(title|hook|images)\W*:\s*(.+)$", reply, re.IGNORECASE | re.MULTILINE)}
    fields = {k: "" if "(" in v else v for k, v in fields.items()}  # a model echoing the form's hints
    images = tuple(w.strip(" .\"") for w in fields.get("images", "").split(",") if w.strip(" .\""))[:5]
    return SongPlan(title=title or fields.get("title", ""), hook=fields.get("hook", ""), images=images)


def title_from_hook(hook: str, planned: str = "") -> str:
    """The song's title: the planned one when the hook sings it, else the end of the hook's longest phrase."""
    if planned and planned.lower().strip("!?. ") in hook.lower():
        return planned.strip("!?. ")
    clauses = [re.sub(r"[^\w' ]", "", c).split() for c in re.split(r"[,;:.!?]", hook)]
    words = max(reversed(clauses), key=len, default=[])   # the longest clause, the later one on a tie
    return " ".join(w.capitalize() for w in words[-5:]) or planned or "Untitled"


def write_crafted(brief_theme: str, details: str, llm: TextGenerator, *, structure: tuple[str, ...],
                  title: str | None = None, genre_words: str = "", seed: int = 0,
                  options: CraftOptions = CraftOptions()) -> Lyrics:
    """Plan, draft and fix the lyrics of ``structure`` (labels like "Verse 1", "Chorus"); a chorus is
    written once and sung as written each time. Raises ToolError when the chorus cannot be written."""
    writer = _Writer(llm, brief_theme, genre_words, details, seed, options, ThemeScorer(brief_theme))
    total_fixes = options.max_fixes
    plan = plan_song(writer, title)
    writer.title = plan.title
    hook = plan.hook if 3 <= len(plan.hook.split()) <= 12 else ""
    order = sorted(dict.fromkeys(structure), key=lambda label: _kind(label) != "chorus")
    written: dict[str, list[str]] = {}
    schemes: dict[str, str] = {}
    for done, label in enumerate(order):
        kind = _kind(label)
        share = -(-total_fixes // (len(order) - done))   # a fair share of the fixes left
        writer.fixes_left = share
        lines = _draft(writer, plan, hook, label, written, schemes.get(kind, SCHEMES[0]))
        if kind == "chorus" and lines:
            hook = hook or lines[0]
            lines = [hook, *[ln for ln in lines if not repeats(ln, [hook])]]
        count = options.lines // 2 if kind == "bridge" else options.lines
        lines = lines[:count]
        if kind == "chorus" and len(lines) < 2:
            raise ToolError(f"The language model ({getattr(llm, 'name', 'LLM')}) did not write a usable chorus; "
                            "try again, or give the lyrics yourself.")
        first_of_kind = next((lbl for lbl in written if _kind(lbl) == kind), None)
        scheme = schemes.get(kind) or _best_scheme(lines, count)
        schemes[kind] = scheme
        targets = _targets(written.get(first_of_kind, []), lines, count)
        others = [ln for lbl, ls in written.items() for ln in ls]
        written[label] = _fix(writer, lines, scheme, targets, others, fixed=1 if kind == "chorus" else 0,
                              parallel=first_of_kind is not None)
        total_fixes -= share - writer.fixes_left
    final_title = title or title_from_hook(hook or written[order[0]][0], plan.title)
    sections = tuple(LyricSection(kind=_kind(label), label=label, lines=tuple(make_line(t) for t in written[label]))
                     for label in structure if written.get(label))
    return Lyrics(title=final_title, sections=sections)


def _kind(label: str) -> str:
    word = label.split()[0].lower()
    return "pre-chorus" if word.startswith("pre") else word


def _draft(writer: _Writer, plan: SongPlan, hook: str, label: str, written: dict[str, list[str]],
           scheme: str = "AABB") -> list[str]:
    """A first draft of the section, its lines leaning toward rhymes in ``scheme`` (the embedded model), lines
    repeating the rest of the song left out."""
    kind = _kind(label)
    count = writer.options.lines // 2 if kind == "bridge" else writer.options.lines
    first = next((ls for lbl, ls in written.items() if _kind(lbl) == kind), None)
    syllables = round(median(line_syllables(ln) for ln in first)) if first else 8
    about = {"chorus": f"Start with the hook line: {hook}" if hook else "The first line is the hook.",
             "verse": "Tell the story with the images, the same feeling in new words.",
             "bridge": "A new angle on the theme, before the last chorus."}.get(kind, "")
    if first:
        about += f" Lines as long as in the {next(lbl for lbl in written if _kind(lbl) == kind)}."
    # The chorus only: shown its earlier verse, a small model copies it line by line, and every section shown
    # is read again (the bridge's draft read the whole song, ~200 tokens, ~3 s on 2 cores).
    song = "\n".join(f"[{lbl}]\n" + "\n".join(ls) for lbl, ls in written.items()
                     if ls and _kind(lbl) == "chorus" != kind)
    others = [ln for ls in written.values() for ln in ls]
    scheme = scheme if count > 2 else "AA"
    for attempt in range(2):
        reply = writer.ask("lyrics_draft.md", max_tokens=14 * count + 12, temperature=0.85 - 0.15 * attempt,
                           endings=_scheme_endings(scheme, others), until=_lines(count),
                           hook=hook or "(not yet written)",
                           images=", ".join(plan.images) or "your choice", song=song, label=label,
                           lines=str(count), syllables=str(syllables), about=about,
                           rhyme_hint="in pairs" if count > 2 else "with each other")
        lines = [ln for ln in _reply_lines(reply) if not repeats(ln, others)]
        lines = [ln for i, ln in enumerate(lines) if not repeats(ln, lines[:i])]
        if len(lines) >= min(2, count):
            writer.section_prompt = writer.last_prompt
            return lines
    return []


def _scheme_endings(scheme: str, others: list[str]) -> Endings:
    """For a section being drafted: the words each line should end on to rhyme with its partner in ``scheme``,
    none for a line that opens a rhyme."""
    partner = {j: i for i, j in rhyme_pairs(scheme)}

    def endings(lines: list[str]) -> list[str]:
        lyric = lines                 # the reply's lyric lines so far, headings left out
        i = partner.get(len(lyric))
        if i is None:
            return []
        used = {end_word(ln) for ln in [*lyric, *others]}
        return [w for w in rhymes_for(end_word(lyric[i])) if w not in used]

    return endings


def _lines(count: int) -> Until:
    """Enough once ``count`` lines are written."""
    return lambda lines: len(lines) >= count


def _best_scheme(lines: list[str], count: int) -> str:
    if count <= 2:
        return "AA"
    return max(SCHEMES, key=lambda s: (check_scheme(lines, s).rate, s == SCHEMES[0]))


def _targets(parallel: list[str], lines: list[str], count: int) -> list[int]:
    """Syllables each line should have: the parallel line's in an earlier section of the kind, else the
    draft's median (5 to 12)."""
    if parallel:
        counts = [line_syllables(ln) for ln in parallel]
        return [counts[i % len(counts)] for i in range(count)]
    base = round(median(line_syllables(ln) for ln in lines)) if lines else 8
    return [min(12, max(5, base))] * count


def _fix(writer: _Writer, lines: list[str], scheme: str, targets: list[int], others: list[str],
         fixed: int = 0, parallel: bool = False) -> list[str]:
    """Complete the section, then replace unrhymed lines and (in a ``parallel`` section, sung to the same
    melody as an earlier one) badly scanned lines while fix calls last; the first ``fixed`` lines (the
    chorus's hook) stay. Missing lines are written whatever the budget: a section is always whole."""
    partner = {j: i for i, j in rhyme_pairs(scheme)}
    lines = list(lines)
    for _ in range(len(targets)):     # missing lines: one call's candidates fill as many as they can
        if len(lines) >= len(targets):
            break
        i = partner.get(len(lines))
        found = _candidates(writer, lines, end_word(lines[i]) if i is not None else "", targets[len(lines)],
                            others + lines)
        while found and len(lines) < len(targets):
            i = partner.get(len(lines))
            chosen = _choose(writer, found, end_word(lines[i]) if i is not None else "", targets[len(lines)],
                             others + lines)
            if chosen is None:
                break
            lines.append(chosen)
            found = [c for c in found if not c.startswith(chosen)]   # a line cut at its rhyme is used up too

    for j in range(len(lines)):       # unrhymed pairs: first a last word swapped by ear (every pair before any
        i = partner.get(j)            # new call, so the model reads the section's prompt once for all of them)
        if i is not None and not rhymes(lines[i], lines[j]):
            lines = _rhyme_by_ear(writer, lines, i, j, fixed, others) or lines
    for j in range(len(lines)):       # then rewrite the later line, or the earlier one when only the later one
        i = partner.get(j)            # ends on a word with rhymes in the vocabulary
        if i is None or rhymes(lines[i], lines[j]) or writer.fixes_left <= 0:
            continue
        if i >= fixed and not rhymes_for(end_word(lines[i])):
            if rhymes_for(end_word(lines[j])):
                i, j = j, i
            elif writer.fixes_left >= 2:   # neither end has a rhyme to offer ("engine", "rusty"): the first
                writer.fixes_left -= 1     # line is written again to end on a word that has some
                lines[i] = _better_line(writer, lines, i, None, targets[i], others) or lines[i]
        if not rhymes_for(end_word(lines[i])):
            continue                       # asked to rhyme with "story", the model could not (4 calls a song)
        writer.fixes_left -= 1
        lines[j] = _better_line(writer, lines, j, i, targets[j], others) or lines[j]
    slack = writer.options.syllable_slack
    for j in range(fixed, len(lines)):
        if parallel and writer.fixes_left > 0 and abs(line_syllables(lines[j]) - targets[j]) > slack:
            writer.fixes_left -= 1
            lines[j] = _better_line(writer, lines, j, partner.get(j), targets[j], others) or lines[j]
    return lines[: len(targets)]


# How natural a swapped-in last word must be (log-probability of the word and the line's end, under the
# model writing the song): "We sang along to every beat" scores -5.2, "tears in my way" -8.8.
ENDING_FLOOR = -6.0


def _rhyme_by_ear(writer: _Writer, lines: list[str], i: int, j: int, fixed: int,
                  others: list[str]) -> list[str] | None:
    """``lines`` with the last word of line ``j`` (or ``i``) swapped for a rhyme of the other line's, when the
    model finds the new word natural there (above :data:`ENDING_FLOOR`): no call to write a new line. None
    when no swap is natural enough, or the model cannot score words (a server's API)."""
    used = {end_word(ln) for ln in [*lines, *others]}
    best: tuple[float, int, str] | None = None
    sides = [(target, [w for w in rhymes_for(end_word(lines[anchor])) if w not in used][:12])
             for target, anchor in ((j, i), (i, j)) if target >= fixed]
    for target, words in sides:
        prefix = _drop_words(lines[target], 1)
        if not words or len(prefix.split()) < 3:
            continue
        scores = writer.ending_scores(lines[:target], prefix, words)
        if scores is None:
            return None
        for word, score in zip(words, scores):
            if score >= ENDING_FLOOR and (best is None or score > best[0]):
                best = (score, target, f"{prefix} {word}")
    if best is None:
        return None
    log.debug("rhymed by ear (%.1f): %r -> %r", best[0], lines[best[1]], best[2])
    swapped = list(lines)
    swapped[best[1]] = best[2]
    return swapped


def _drop_words(line: str, count: int) -> str:
    """``line`` without its last ``count`` words (and the punctuation after them)."""
    words = line.rstrip(" ,.;:!?").split()
    return " ".join(words[: max(0, len(words) - count)])


def _better_line(writer: _Writer, lines: list[str], j: int, i: int | None, syllables: int,
                 others: list[str]) -> str | None:
    """The best of line ``j`` (if there is one) and a few sampled candidates to rhyme with line ``i``."""
    have = lines[j] if j < len(lines) else None
    rhyme_with = end_word(lines[i]) if i is not None else ""
    cut = _cut_at_rhyme(have, rhyme_with) if have and rhyme_with else None
    if cut and not repeats(cut, others + lines[:j]):
        return cut                                        # the rhyme was already in the line: no call needed
    found = _candidates(writer, lines[:j], rhyme_with, syllables, others + lines)
    rest = others + lines[:j] + lines[j + 1:]
    return _choose(writer, [c for c in [have, *found] if c], rhyme_with, syllables, rest)


def _candidates(writer: _Writer, before: list[str], rhyme_with: str, syllables: int, avoid: list[str]) -> list[str]:
    """A few sampled lines to follow ``before``, ending on suggested rhymes of ``rhyme_with``."""
    sung = " ".join(before).lower().split()
    if rhyme_with:
        fitting = [w for w in rhymes_for(rhyme_with) if w not in sung]
    else:                               # a line that opens a rhyme: toward any word that has rhymes
        fitting = [w for w in rhymable_words() if w not in sung]
    words = writer.scorer.rank(fitting if rhyme_with else [w for w in _RHYMABLE if w not in sung])[:6]
    # named in the prompt; the lean uses them all
    ending = "one of: " + ", ".join(words) if words else f'a word that rhymes with "{rhyme_with}"'
    # The lines so far, then the task: asked for lines "to follow" a quoted line, the model sang that line
    # again first in 10 of 32 fixes (a candidate lost, ~8 tokens wasted); asked for lines "to come next", in none.
    reply = writer.ask("lyrics_fix.md", max_tokens=14 * writer.options.candidates + 6, temperature=0.9,
                       endings=(lambda lines: fitting) if fitting else None,
                       until=_lines(writer.options.candidates),
                       section="\n".join(before), count=str(writer.options.candidates),
                       syllables=str(syllables), ending=ending)
    return [ln for ln in _reply_lines(reply) if not repeats(ln, avoid)]


def _cut_at_rhyme(line: str, rhyme_with: str) -> str | None:
    """``line`` ended at its last word that rhymes with ``rhyme_with``, at least four words in, where a
    phrase ends (punctuation, or a preposition, conjunction, pronoun, article or -ing word next): a small
    model asked for a line ending on "apart" often sings it mid-line ("I can't help feeling apart from you")."""
    words = line.rstrip(" ,.;:!?").split()
    for k in range(len(words) - 1, 2, -1):
        word, after = words[k].lower(), words[k + 1].lower() if k + 1 < len(words) else ""
        at_phrase_end = not after or word[-1] in ",;:.!?" or after in _PHRASE_STARTS or after.endswith("ing")
        if at_phrase_end and end_word(word) not in _FUNCTION_WORDS and rhymes(rhyme_with, word):
            return " ".join(words[: k + 1]).rstrip(",;:")
    return None


_PHRASE_STARTS = set("and but or so as at from to in on with for like when while where that until till "
                     "because if into through across beneath under over the a an my your his her our their "
                     "this i you we he she they it there now tonight again".split())
_FUNCTION_WORDS = set("a an the of to for by from with at in on into through my your our their his her its "
                      "i you we they and but or so too do is are was while when where that than if as".split())


_TACKED_ON = re.compile(r"\w[,;:]\s+\w+\W*$")   # the line's last word alone after a comma

_RHYMABLE = ("night", "home", "heart", "away", "free", "fire", "rain", "down", "alone", "tonight", "light", "know")




def _choose(writer: _Writer, options: list[str], rhyme_with: str, syllables: int, avoid: list[str]) -> str | None:
    """The best line: rhyming where it should, scanning like its parallel line, on theme, not a repeat."""
    if rhyme_with:
        options = options + [cut for o in options if (cut := _cut_at_rhyme(o, rhyme_with)) and cut != o]
    options = [o for o in options if not repeats(o, avoid)] or options
    if not options:
        return None
    theme = writer.scorer.similarity(options)

    def score(k: int) -> float:
        line = options[k]
        if rhyme_with:
            rhyme = 3.0 if rhymes(rhyme_with, line) else 0.0
        else:                         # a line that opens a rhyme ends best on a word that has rhymes
            rhyme = 3.0 if rhymes_for(end_word(line)) else 1.5
        if rhyme_with and _TACKED_ON.search(line):
            rhyme -= 3.0                      # "we'll never return, learn": a rhyme tacked on is no rhyme
        meter = -0.5 * max(0, abs(line_syllables(line) - syllables) - 1)
        repeat = -5.0 if repeats(line, avoid) else 0.0
        return rhyme + meter + repeat + 2.0 * theme[k]

    return options[max(range(len(options)), key=score)]

