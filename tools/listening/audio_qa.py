"""Questions about a clip, answered only from what the analysis measured (the embedded audio-QA tier).

Questions about measured facts (tempo, key, meter, chords, length, drums,
loudness) get a direct answer without any LLM. Questions about instruments,
vocals and the singer's gender, genre, mood and era are answered from the
pretrained tagger (:func:`tools.listening.tagger.tag_track`) with its probability,
and with "I can't tell" when no tag reaches its aspect's threshold
(``TAG_THRESHOLDS``, chosen by ``bench/audio_qa_real.py``). What neither measures
(lyrics, artist) gets an explicit "I can't tell". Anything else goes to the LLM
together with the facts; its answer is checked against the analysis (tempo, key,
meter, unmeasured topics) and, when it claims more than was measured, the model is
asked once more and then overruled.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from core.errors import ToolError
from core.textgen import TextGenerator
from tools import PROMPTS_DIR
from tools.listening.analyze import (
    Analysis,
    analyze_audio,
    canonical_key,
    dynamics_word,
    energy_word,
    relative_key,
    tempo_word,
)
from tools.listening.caption import clean_reply
from tools.listening.tagger import MUSICNN, TagScore

PROMPTS = PROMPTS_DIR

MEASURED_TOPICS = {
    "tempo": r"\b(tempo|bpm|beats? per minute|how fast|how slow|fast or slow|slow or fast|speed|pace)\b",
    "key": r"\b(key|tonality|tonal cent(er|re)|major or minor|minor or major|tonic)\b",
    "meter": r"\b(time signature|meter|metre|waltz|[2-9]/[48]|beats (per|in a|in each) bar)\b",
    "chords": r"\b(chords?|chord progression|progression|harmony)\b",
    "duration": r"\b(how long|duration|length|minutes long|seconds long)\b",
    "drums": r"\b(drums?|percussion|percussive|drummer|drum kit)\b",
    "loudness": r"\b(loud|loudness|volume|how quiet|dynamics?)\b",
}
UNMEASURED_TOPICS = {
    "lyrics": r"\b(lyrics?|words|saying|language)\b",
    "vocals": r"\b(vocals?|vocalist|sings?|singing|singers?|voices?|rap(per|ping)?|choir|male|female|gender)\b",
    "instruments": r"\b(instruments?|instrumentation|guitars?|piano|violins?|viola|cello|bass guitar|saxophone|sax|"
                   r"trumpets?|flute|synth(esizer)?s?|organ|strings|horns?|brass|clarinet|harp|ukulele|banjo|"
                   r"accordion|keyboards?)\b",
    "genre": r"\b(genres?|style of music|kind of music|type of music)\b",
    "artist or title": r"\b(who (is|are|wrote|made|performs|played|composed)|artist|band|composer|title|album|"
                       r"name of (the|this) (song|piece|track)|what year|when was)\b",
}
# Topics the tagger answers (vocals, instruments and genre are matched by UNMEASURED_TOPICS).
TAGGED_TOPICS = {
    "mood": r"\b(mood|moody|emotions?|sad|happy|cheerful|gloomy|melanchol(y|ic)|mellow|upbeat|calm|relaxing|"
            r"chill)\b",                         # not "feel": "how does it feel?" is an open question
    "era": r"\b(era|decades?|[1-9]0s|19[0-9]0s|20[0-2]0s|how old|old[- ]fashioned|oldies|modern|recent)\b",
}
# The lowest probability at which a tag answers a question of its aspect ("no vocals": the ceiling of the voice
# tags below which a clip is called instrumental). bench/audio_qa_real.py's sweep chose them on the 8 shared
# recordings: the lowest that leaves no confidently wrong answer (a bass guitar heard as "guitar" at 0.67).
TAG_THRESHOLDS = {"instruments": 0.7, "vocals": 0.2, "no vocals": 0.08, "singer": 0.2, "genre": 0.4, "mood": 0.3,
                  "era": 0.3}
# Instruments a question may name -> the tagger label that hears them (None: no tagger label does).
NAMED_INSTRUMENTS = {"guitar": "guitar", "piano": "piano", "violin": "violin", "strings": "strings",
                     "cello": "cello", "flute": "flute", "harp": "harp", "harpsichord": "harpsichord",
                     "sitar": "sitar", "synth": "synth", "synthesizer": "synth", "trumpet": None, "saxophone": None,
                     "sax": None, "clarinet": None, "organ": None, "brass": None, "horn": None, "banjo": None,
                     "ukulele": None, "accordion": None, "bass guitar": None, "viola": None}
_VOCAL = ("vocal", "vocals", "singing", "voice", "choir", "choral", "opera")
_NO_VOCAL = ("no vocals", "no vocal", "no voice", "instrumental")
_GENDER = {"female": ("female", "woman", "female vocal", "female voice", "female vocalists", "female vocalist"),
           "male": ("male", "man", "male vocal", "male voice", "male vocalists")}
_NEGATION = re.compile(r"\b(can't|cannot|can not|couldn't|not|no|unable|don't|doesn't|isn't|unknown|unclear)\b", re.I)
_FACT_PREFIX = {"tempo": "Tempo", "key": "Key", "meter": "Meter", "chords": "Chords", "duration": "Duration",
                "drums": "Drums", "loudness": "Loudness"}


@dataclass(frozen=True)
class Answer:
    """An answer about a clip. ``grounded`` is True when it states measured facts, False when it can't tell."""

    text: str
    facts: list[str]            # the measured facts the answer used (or was given)
    grounded: bool
    method: str                 # "measured" (no LLM), "llm", or "cannot_tell"
    question: str = ""
    unsupported: list[str] = field(default_factory=list)   # claims of the LLM that the analysis did not support


def answer_audio_question(path, question: str, *, llm: TextGenerator | None,
                          analysis: Analysis | None = None, seed: int | None = None,
                          tagger: str | None = "musicnn", tags=None) -> Answer:
    """Answer ``question`` about the clip at ``path`` from its analysis (reused when ``analysis`` is given).

    ``tagger`` answers instrument, vocals, singer, genre, mood and era questions: ``musicnn`` (the pretrained
    tagger; its :class:`~tools.listening.tagger.TrackTags` reused when ``tags`` is given), ``audio-tagger``
    or a checkpoint path (the synthetic-render tagger, which only adds a confident instrument-family guess),
    or None for analysis only.

    Raises ToolError for an empty question or an unreadable file.
    """
    question = " ".join((question or "").split())
    if not question:
        raise ToolError("The question is empty; ask something about the clip, such as 'What key is it in?'.")
    analysis = analysis or analyze_audio(path)
    facts = analysis.to_facts()
    if analysis.silent:
        return Answer("I can't tell: the clip is silent, so there is no tempo, key, chords or sound to describe.",
                      facts, grounded=False, method="cannot_tell", question=question)
    asked = question.lower()
    measured = [t for t, pattern in MEASURED_TOPICS.items() if re.search(pattern, asked)]
    unmeasured = [t for t, pattern in UNMEASURED_TOPICS.items() if re.search(pattern, asked)]
    tagged = [t for t in ("instruments", "vocals", "genre") if t in unmeasured]
    tagged += [t for t, pattern in TAGGED_TOPICS.items() if re.search(pattern, asked)]
    if tagger in MUSICNN and tagged:
        answer = _from_tags(path, analysis, question, measured, unmeasured, tagged, tagger, tags)
        if answer.grounded or measured or unmeasured:
            return answer               # an unsure mood or era question alone goes on to the LLM, as before
    if measured or unmeasured:
        guess = _instrument_guess(path, tagger) if "instruments" in unmeasured and tagger else None
        return _from_measurements(analysis, question, measured, unmeasured, guess)
    if llm is None:
        return Answer("Here is what I measured: " + " ".join(facts), facts, grounded=True, method="measured",
                      question=question)
    return _from_llm(analysis, question, facts, llm, seed)


def _instrument_guess(path, tagger: str) -> str | None:
    """The tagger's confident instrument-family guess as a sentence, or None."""
    from tools.listening.caption import predicted_tags

    guess = next((t for t in predicted_tags(path, tagger)[0] if t.head == "instrument"), None)
    if guess is None:
        return None
    return (f"A tagger trained on synthetic clips guesses the lead is probably a {guess.label}-family instrument "
            f"(p={guess.probability:.2f}); treat that as a likely guess, not a measurement.")


def _from_tags(path, analysis: Analysis, question: str, measured: list[str], unmeasured: list[str],
               tagged: list[str], tagger: str, tags) -> Answer:
    """Measured topics from the analysis, tagged ones from the tagger's tags, "I can't tell" for the rest."""
    from tools.listening.tagger import tag_track

    try:
        track = tags if tags is not None else tag_track(path, model=tagger)
    except ToolError as exc:                            # e.g. a clip under a second: answer what was measured
        answer = _from_measurements(analysis, question, measured, [*unmeasured, *tagged])
        return dataclasses.replace(answer, text=f"{answer.text} (No tags: {exc})")
    base = _from_measurements(analysis, question, measured, [t for t in unmeasured if t not in tagged]) \
        if measured or set(unmeasured) - set(tagged) else None
    parts, facts, known = ([base.text], list(base.facts), base.grounded) if base else ([], [], False)
    for topic in dict.fromkeys(tagged):
        sentence, used = tag_answer(track, topic, question)
        parts.append(sentence)
        facts += [t.fact() for t in used]
        known |= bool(used)
    text = " ".join(parts)
    if not known and not text.startswith("I can't tell"):
        text = "I can't tell for sure. " + text
    return Answer(text, facts, grounded=known, method="tagged" if known else "cannot_tell", question=question)


def tag_answer(track, topic: str, question: str = "") -> tuple[str, list]:
    """One sentence about ``topic`` from a :class:`~tools.listening.tagger.TrackTags`, and the tags it rests on
    (none when it can't tell)."""
    def best(labels, head=None) -> TagScore | None:
        pool = [t for t in track.tags if (t.label in labels if labels else t.head == head)]
        return max(pool, key=lambda t: t.probability, default=None)

    def said(t: TagScore) -> str:
        return f"{t.label} (p={t.probability:.2f}, {t.source})"

    if track.silent:
        return "I can't tell: no music detected (the clip is silent).", []
    cut = TAG_THRESHOLDS
    if topic == "instruments":
        asked = [name for name in NAMED_INSTRUMENTS if re.search(rf"\b{name}s?\b", question.lower())]
        unknown = [name for name in asked if NAMED_INSTRUMENTS[name] is None]
        if unknown:
            return (f"I can't tell whether there is a {unknown[0]}: the tagger knows "
                    f"{', '.join(sorted(set(filter(None, NAMED_INSTRUMENTS.values()))))} and drums, not "
                    f"{unknown[0]}s.", [])
        if asked:
            t = best((NAMED_INSTRUMENTS[asked[0]],))
            if t.probability >= cut["instruments"]:
                return f"Yes, probably: the tagger hears {said(t)}.", [t]
            return (f"I can't tell for sure whether there is a {asked[0]} (the tagger gives {said(t)}, below "
                    f"{cut['instruments']:.2f}).", [])
        heard = [t for t in track.aspect("instrument") if t.probability >= cut["instruments"]]
        if heard:
            return "The tagger hears " + " and ".join(said(t) for t in heard[:3]) + ".", heard[:3]
        top = best((), "instrument")
        return (f"I can't tell which instruments these are: the tagger's best guess, {said(top)}, is below "
                f"{cut['instruments']:.2f}.", [])
    if topic == "vocals":
        female, male = best(_GENDER["female"]), best(_GENDER["male"])
        voice = max(best(_VOCAL), female, male, key=lambda t: t.probability)     # a gendered tag is a voice too
        asks_gender = re.search(r"\b(male|female|man|woman|gender|he|she)\b", question.lower())
        if voice.probability >= cut["vocals"]:
            lead = female if female.probability >= male.probability else male
            if lead.probability >= cut["singer"] and lead.probability >= 2 * min(female.probability,
                                                                                 male.probability):
                who = "female" if lead is female else "male"
                return f"There are vocals, probably a {who} singer ({said(lead)}).", [lead]
            gender = " I can't tell the singer's gender." if asks_gender else ""
            return f"There are vocals ({said(voice)}).{gender}", [voice]
        if voice.probability < cut["no vocals"]:
            none = best(_NO_VOCAL)
            return (f"It sounds instrumental: no voice tag reaches {cut['no vocals']:.2f} (the highest is "
                    f"{said(voice)}; {none.label} {none.probability:.2f}).", [none])
        return f"I can't tell whether there are vocals (the voice tags reach {said(voice)}).", []
    head = {"genre": "genre", "mood": "mood", "era": "era"}[topic]
    top = [t for t in track.aspect(head) if t.probability >= cut[topic]]
    if top:
        names = " or ".join(said(t) for t in top[:2])
        return {"genre": f"It sounds like {names}.", "mood": f"The mood is {names}.",
                "era": f"It sounds like music of the {names}."}[topic], top[:2]
    guess = best((), head)
    return (f"I can't tell the {topic}: the tagger's best guess, {said(guess)}, is below {cut[topic]:.2f}.", [])


def _from_measurements(analysis: Analysis, question: str, measured: list[str], unmeasured: list[str],
                       instrument_guess: str | None = None) -> Answer:
    """Direct answers for measured topics, "I can't tell" for the rest (plus a confident tagger guess); no LLM."""
    parts, used, answered = [], [], False
    for topic in measured:
        sentence, known = _fact_answer(analysis, topic)
        parts.append(sentence)
        answered |= known
        used += [f for f in analysis.to_facts() if f.startswith(_FACT_PREFIX[topic])]
    if "drums" in measured and "instruments" in unmeasured:
        unmeasured = [t for t in unmeasured if t != "instruments"] + ["other instruments"]
    if unmeasured:
        parts.append(f"I can't tell anything about {_join(unmeasured)}: the analysis measures tempo, meter, key, "
                     f"chords, loudness, brightness and whether drums are present, not {_join(unmeasured)}.")
        if instrument_guess:
            parts.append(instrument_guess)
    return Answer(" ".join(parts), used, grounded=answered, method="measured" if answered else "cannot_tell",
                  question=question)


def _fact_answer(a: Analysis, topic: str) -> tuple[str, bool]:
    """One sentence answering ``topic`` from the analysis, and whether it could be answered."""
    if topic == "tempo":
        if not a.tempo_bpm:
            return "I can't tell the tempo: no steady beat was found.", False
        rough = " (a rough estimate: the beat is short or unsteady)" if a.tempo_confidence < 0.3 else ""
        return f"The tempo is about {a.tempo_bpm:.0f} BPM ({tempo_word(a.tempo_bpm)}){rough}.", True
    if topic == "key":
        if not a.key:
            return "I can't tell the key: no stable tonal centre was found.", False
        doubt = f" (not certain: {relative_key(a.key)} is the other likely reading)" if a.key_confidence < 0.5 else ""
        return f"It is in {a.key}{doubt}.", True
    if topic == "meter":
        if not a.meter:
            return "I can't tell the meter: no clear downbeats were found.", False
        return f"It is probably in {a.meter} ({a.beats_per_bar} beats per bar).", True
    if topic == "chords":
        if not a.chord_labels or a.chord_coverage < 0.2:
            return "I can't tell any chords: none were detected (it may be a single melodic line).", False
        seq = " - ".join(a.chord_labels[:8]) + (" ..." if len(a.chord_labels) > 8 else "")
        return f"The chords run {seq}.", True
    if topic == "duration":
        mins, secs = divmod(round(a.duration), 60)
        return f"The clip is {f'{mins} min ' if mins else ''}{secs} s long.", True
    if topic == "drums":
        if a.drums_present is None:
            return "I can't tell whether there are drums.", False
        return f"Drums or percussion are probably {'present' if a.drums_present else 'absent'}.", True
    energy = energy_word(a.loudness_dbfs, a.onset_rate)
    return (f"It averages {a.loudness_dbfs:.0f} dBFS with peaks at {a.peak_dbfs:.0f} dBFS ({energy} energy, "
            f"{dynamics_word(a.dynamic_range_db)} dynamics).", True)


def _from_llm(analysis: Analysis, question: str, facts: list[str], llm: TextGenerator, seed: int | None) -> Answer:
    system = (PROMPTS / "audio_qa_system.md").read_text(encoding="utf-8").strip()
    prompt = (PROMPTS / "audio_qa_user.md").read_text(encoding="utf-8").format(
        facts="\n".join(f"- {f}" for f in facts), question=question).strip()
    reply = clean_reply(llm.generate(prompt, system=system, max_tokens=160, temperature=0.2, seed=seed))
    problems = unsupported_claims(reply, analysis)
    if problems or not reply:
        reminder = (f"\n\nYour previous answer claimed things the facts do not support ({'; '.join(problems)}). "
                    "Answer again using only the facts, or say you can't tell.")
        reply = clean_reply(llm.generate(prompt + reminder, system=system, max_tokens=160, temperature=0.0,
                                         seed=seed))
        problems = unsupported_claims(reply, analysis)
    if problems or not reply:
        return Answer("I can't tell that from what I measured. " + " ".join(facts[1:4]), facts, grounded=False,
                      method="cannot_tell", question=question, unsupported=problems)
    cannot = bool(re.search(r"\b(can't|cannot|can not) tell\b", reply, re.I))
    return Answer(reply, facts, grounded=not cannot, method="cannot_tell" if cannot else "llm", question=question)


def unsupported_claims(text: str, a: Analysis) -> list[str]:
    """Claims in ``text`` that contradict the analysis or go beyond it (tempo, key, meter, unmeasured topics)."""
    problems = []
    for number in re.findall(r"(\d+(?:\.\d+)?)\s*(?:bpm|beats per minute)", text, re.I):
        if not a.tempo_bpm or abs(float(number) - a.tempo_bpm) > 0.05 * a.tempo_bpm:
            problems.append(f"a tempo of {number} BPM")
    for tonic, mode in re.findall(r"\b([A-G](?:#|b|♯|♭)?)\s+(major|minor)\b", text):
        claimed = canonical_key(f"{tonic.replace('♯', '#').replace('♭', 'b')} {mode.lower()}")
        if not a.key or claimed not in (a.key, relative_key(a.key)):
            problems.append(f"the key of {claimed}")
    for beats in re.findall(r"\b(\d{1,2})/[48]\b", text):
        if a.meter != f"{beats}/4":
            problems.append(f"a {beats}-beat meter")
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        if _NEGATION.search(sentence):
            continue
        lowered = sentence.lower()
        problems += [f"something about {topic}" for topic, pattern in UNMEASURED_TOPICS.items()
                     if re.search(pattern, lowered)]
        if re.search(MEASURED_TOPICS["drums"], lowered) and a.drums_present is not True:
            problems.append("drums")
    return list(dict.fromkeys(problems))


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
