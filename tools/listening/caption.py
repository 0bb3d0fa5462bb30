"""Music captions: tags -> sentence with the LP-MusicCaps instructions, and audio -> tags -> caption.

``caption_tags`` sends one of the four LP-MusicCaps task instructions (Doh et al.,
ISMIR 2023: writing, summary, paraphrase, prediction_attribute; singular or plural
by the number of tags) followed by the tags, to any ``TextGenerator``.
``tag_concat`` and ``template_caption`` are the paper's two no-LLM baselines.
``caption_audio`` turns an analysis into MusicCaps-style tags (only what was
measured) and captions those.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ToolError
from core.textgen import TextGenerator
from tools import PROMPTS_DIR
from tools.listening.analyze import (
    Analysis,
    analyze_audio,
    brightness_word,
    density_word,
    energy_word,
    tempo_word,
)
from tools.listening.caption_examples import CaptionExample

PROMPTS = PROMPTS_DIR
INSTRUCTIONS = ("writing", "summary", "paraphrase", "prediction_attribute")
_ALIASES = {"attribute_prediction": "prediction_attribute"}
EXAMPLES = 1                           # MusicCaps examples shown per caption (0: the paper's zero-shot prompt)
MAX_TOKENS = {"writing": 160, "summary": 80, "paraphrase": 160, "prediction_attribute": 260}
_CHATTER = re.compile(r"^(?:(?:sure|certainly|of course|okay|ok)\b[,!.]?\s*)?(?:(?:here(?:'s| is| are)|below is)[^\n:]*:)?\s*",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Caption:
    """A caption and how it was made."""

    text: str
    tags: list[str]
    instruction: str                       # one of INSTRUCTIONS, or "tag_concat" / "template"
    model: str = "baseline"                # the TextGenerator's name
    new_attributes: list[str] = field(default_factory=list)   # prediction_attribute only
    prompt: str = ""
    facts: list[str] = field(default_factory=list)            # caption_audio: the measured facts behind the tags
    examples: list[str] = field(default_factory=list)         # the MusicCaps clips shown as examples


def instruction_text(instruction: str, n_tags: int) -> str:
    """The LP-MusicCaps instruction sentence (singular for one tag, plural otherwise)."""
    instruction = _check_instruction(instruction)
    text = (PROMPTS / f"caption_{instruction}.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^# (singular|plural)\s*\n(.+?)(?=^# |\Z)", text, re.MULTILINE | re.DOTALL))
    return sections["singular" if n_tags == 1 else "plural"].strip()


def caption_prompt(tags: list[str] | str, instruction: str = "writing",
                   examples: Sequence[CaptionExample] = ()) -> tuple[str, str]:
    """(system, user) prompts for ``tags``: any MusicCaps examples, the instruction, then the tags on the last line.

    With examples the system prompt asks for their voice (it is the same for every caption, so the embedded
    model keeps it evaluated) and the instruction for about their median length.
    """
    tags = normalize_tags(tags)
    system = (PROMPTS / "caption_system.md").read_text(encoding="utf-8").strip()
    instruction_line = instruction_text(instruction, len(tags))
    if not examples:
        return system, f"{instruction_line}\n{', '.join(tags)}"
    system += " " + (PROMPTS / "caption_examples.md").read_text(encoding="utf-8").strip()
    shown = "\n\n".join(f"Attributes: {', '.join(ex.tags)}\nDescription: {ex.caption}" for ex in examples)
    words = target_words(examples, instruction)
    return system, f"{shown}\n\n{instruction_line} Write about {words} words.\n{', '.join(tags)}"


def target_words(examples: Sequence[CaptionExample], instruction: str) -> int:
    """About how long the caption should be: the examples' median length (halved for a summary), 15-60 words."""
    median = int(np.median([ex.words for ex in examples]))
    return max(15, min(60, median // 2 if instruction == "summary" else median))


def retrieve_examples(tags: list[str], k: int, exclude: Collection[str] = ()) -> list[CaptionExample]:
    """The ``k`` MusicCaps examples nearest ``tags`` (none when ``k`` is 0)."""
    if k <= 0:
        return []
    from tools.listening.caption_examples import default_bank

    return default_bank().nearest(tags, k, exclude=exclude)


def caption_tags(tags: list[str] | str, instruction: str = "writing", *, llm: TextGenerator,
                 temperature: float = 0.7, seed: int | None = None, examples: int = EXAMPLES,
                 exclude: Collection[str] = ()) -> Caption:
    """Caption ``tags`` with one LP-MusicCaps instruction through ``llm``.

    The prompt shows the human captions of the ``examples`` MusicCaps clips with the most similar tags
    (:mod:`tools.listening.caption_examples`; 0 for the paper's zero-shot prompt), never a clip in ``exclude``.
    ``prediction_attribute`` also returns the new co-occurring attributes the model predicted;
    its caption is the ``description`` part only, as in the paper.
    """
    tags = normalize_tags(tags)
    instruction = _check_instruction(instruction)
    shown = retrieve_examples(tags, examples, exclude)
    system, prompt = caption_prompt(tags, instruction, shown)
    # A small model stops at ~30 words whatever length it is asked for; MusicCaps' captions run ~50, and BLEU's
    # brevity penalty and METEOR's recall both punish a one-liner: held back until about the examples' length.
    min_tokens = target_words(shown, instruction) if shown and instruction != "prediction_attribute" else 0
    reply = llm.generate(prompt, system=system, max_tokens=MAX_TOKENS[instruction],
                         temperature=temperature, seed=seed, min_tokens=min_tokens)
    new_attributes: list[str] = []
    if instruction == "prediction_attribute":
        new_attributes, text = parse_attribute_prediction(reply)
    else:
        text = clean_reply(reply)
    if not text:
        raise ToolError(f"The language model ({llm.name}) returned an empty caption; try again or use another model.")
    return Caption(text=text, tags=tags, instruction=instruction, model=llm.name,
                   new_attributes=new_attributes, prompt=prompt, examples=[ex.clip_id for ex in shown])


def tag_concat(tags: list[str] | str) -> Caption:
    """Baseline: the tags joined with commas (LP-MusicCaps "Tag Concat")."""
    tags = normalize_tags(tags)
    return Caption(text=", ".join(tags), tags=tags, instruction="tag_concat")


def template_caption(tags: list[str] | str) -> Caption:
    """Baseline: "the music is characterized by <tags>" (LP-MusicCaps "Template")."""
    tags = normalize_tags(tags)
    return Caption(text=f"the music is characterized by {', '.join(tags)}", tags=tags, instruction="template")


def caption_audio(path, *, llm: TextGenerator | None, instruction: str = "writing",
                  analysis: Analysis | None = None, seed: int | None = None,
                  tagger: str | None = "musicnn") -> Caption:
    """Analyze ``path``, turn what was measured into tags, and caption them (tag concatenation when ``llm`` is None).

    ``tagger`` (a :mod:`tools.listening.tagger` name: ``musicnn``, the pretrained tagger, by default; None for
    measured tags only) adds its confident instrument, voice, genre, mood and era tags; the facts say they are
    predicted, with their probability and the taxonomy they come from.
    Raises ToolError for unreadable or silent audio.
    """
    analysis = analysis or analyze_audio(path)
    if analysis.silent:
        raise ToolError(f"{Path(analysis.path).name} is silent, so there is nothing to describe; "
                        "check the recording and send it again.")
    tags, facts = tags_from_analysis(analysis), analysis.to_facts()
    if tagger:
        predicted, note = predicted_tags(path, tagger)
        tags += [t.label for t in predicted if t.label not in tags]
        facts += [t.fact() for t in predicted] + ([note] if note else [])
    caption = caption_tags(tags, instruction, llm=llm, seed=seed) if llm else tag_concat(tags)
    return dataclasses.replace(caption, facts=facts)


def predicted_tags(path, tagger: str = "musicnn") -> tuple[list, str | None]:
    """The tagger's confident :class:`tools.listening.tagger.TagScore` list for ``path`` (torch loads only here),
    or none and a sentence why when its checkpoint can't be used."""
    from tools.listening.tagger import tag_audio

    try:
        return tag_audio(path, model=tagger), None
    except ToolError as exc:
        return [], f"No predicted instrument or genre tags: {exc}"


def tags_from_analysis(analysis: Analysis) -> list[str]:
    """MusicCaps-style tags for what the analysis measured; nothing about vocals, lyrics or instruments it can't tell."""
    if analysis.silent:
        return ["silence"]
    tags = []
    if analysis.tempo_bpm:
        tags += [f"{tempo_word(analysis.tempo_bpm)} tempo", f"{analysis.tempo_bpm:.0f} bpm"]
    if analysis.beats_per_bar == 3:
        tags.append("triple meter")
    if analysis.key:
        tags.append(f"{analysis.key} key")
    tags += analysis.mood_words()
    tags.append(f"{energy_word(analysis.loudness_dbfs, analysis.onset_rate)} energy")
    tags.append(brightness_word(analysis.brightness_hz).split(",")[-1].strip())
    density = density_word(analysis.onset_rate)
    tags.append({"busy": "busy rhythm", "sparse": "sparse arrangement"}.get(density, "steady rhythm"))
    if analysis.drums_present is True:
        tags.append("drums")
    elif analysis.drums_present is False:
        tags.append("no percussion")
    if analysis.chord_coverage > 0.5 and 2 <= len(set(analysis.chord_labels)) <= 4:
        tags.append("simple chord progression")
    elif analysis.chord_coverage < 0.2 and analysis.key:
        tags.append("solo melody")
    return tags


def normalize_tags(tags: list[str] | str) -> list[str]:
    """Tags as a clean list ("a, b" or ["a", " b "] -> ["a", "b"]); a ToolError when there are none."""
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    cleaned = [re.sub(r"\s+", " ", str(t)).strip() for t in items]
    cleaned = [t for t in cleaned if t]
    if not cleaned:
        raise ToolError("No tags were given; pass at least one tag such as 'slow tempo' or 'piano'.")
    return cleaned


def clean_reply(text: str) -> str:
    """Strip chat chatter, markdown and wrapping quotes from a model's one-paragraph answer."""
    text = re.sub(r"[*_`#]+", "", text or "").strip()
    text = _CHATTER.sub("", text).strip()
    text = re.sub(r"^description\s*:\s*", "", text, flags=re.IGNORECASE)   # echoing the examples' layout
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    text = " ".join(paragraphs[0].split()) if paragraphs else ""
    if len(text) >= 2 and text[0] in "\"'“" and text[-1] in "\"'”":
        text = text[1:-1].strip()
    return text


def parse_attribute_prediction(reply: str) -> tuple[list[str], str]:
    """(new attributes, description) from a prediction_attribute reply; tolerant of JSON, Python or loose text."""
    match = re.search(r"\{.*\}", reply or "", re.DOTALL)
    if match:
        for parse in (json.loads, ast.literal_eval):
            try:
                data = parse(match.group(0))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(data, dict) and "description" in data:
                attrs = data.get("new_attribute") or data.get("new_attributes") or []
                attrs = [attrs] if isinstance(attrs, str) else [str(a).strip() for a in attrs]
                return [a for a in attrs if a], clean_reply(str(data["description"]))
    description = re.search(r"description\W*[:=]\s*[\"']?(.+?)[\"']?\s*[},]?\s*$", reply or "", re.I | re.S)
    attrs = re.search(r"new_attributes?\W*[:=]\s*\[(.*?)\]", reply or "", re.I | re.S)
    names = [a.strip(" \"'") for a in attrs.group(1).split(",")] if attrs else []
    return [a for a in names if a], clean_reply(description.group(1) if description else reply)


def _check_instruction(instruction: str) -> str:
    instruction = _ALIASES.get(instruction, instruction)
    if instruction not in INSTRUCTIONS:
        raise ToolError(f"Unknown caption instruction {instruction!r}; use one of: {', '.join(INSTRUCTIONS)}.")
    return instruction
