"""Audio questions on the 8 shared recordings: right, honestly unsure, or confidently wrong, per kind.

    python bench/audio_qa_real.py

Questions about instruments, vocals (and the singer's gender), genre and mood are answered from the musicnn
tags (tools.listening.audio_qa.tag_answer, the sentence `bandmate qa` gives) and scored against the labels
in bench/tagger.py (from each recording's .txt metadata; unlabelled kinds are not scored). Target per kind:
right or unsure on at least 7 of the 8 (of the labelled ones), and no confidently wrong instrument answer.
A sweep over each kind's threshold shows where tools.listening.audio_qa.TAG_THRESHOLDS come from.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagger import AUDIO, LABELS  # noqa: E402  (bench/tagger.py)

from tools.listening import audio_qa  # noqa: E402
from tools.listening.tagger import tag_track  # noqa: E402

QUESTIONS = {"instruments": "Which instruments are playing?", "vocals": "Is there a singer, a man or a woman?",
             "genre": "What genre is this?", "mood": "What is the mood of this piece?"}
SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def verdict(kind: str, label, used: list) -> str:
    """right / unsure / wrong for the tags an answer rests on (none: it said it can't tell)."""
    if not used:
        return "unsure"
    if kind == "vocals":
        t = used[0]
        said = "none" if t.head == "vocals" and t.label in audio_qa._NO_VOCAL else \
            "female" if t.label in audio_qa._GENDER["female"] else \
            "male" if t.label in audio_qa._GENDER["male"] else "vocals"
        return "right" if said == label or (said == "vocals" and label in ("female", "male")) else "wrong"
    return "right" if all(t.label in label for t in used) else "wrong"


def score(tracks: dict, kind: str) -> dict[str, int]:
    counts = {"right": 0, "unsure": 0, "wrong": 0}
    for name, track in tracks.items():
        label = LABELS[name][kind]
        if label is not None:
            counts[verdict(kind, label, audio_qa.tag_answer(track, kind, QUESTIONS[kind])[1])] += 1
    return counts


def main() -> None:
    tracks = {name: tag_track(AUDIO / name) for name in LABELS}
    print("## Answers\n| recording | kind | verdict | answer |\n|---|---|---|---|")
    for name, track in tracks.items():
        for kind, question in QUESTIONS.items():
            sentence, used = audio_qa.tag_answer(track, kind, question)
            label = LABELS[name][kind]
            print(f"| {name[:32]} | {kind} | {'-' if label is None else verdict(kind, label, used)} | {sentence} |")

    print("\n## Per kind (labelled recordings only)\n| kind | threshold | n | right | unsure | wrong | "
          "right or unsure | target met |\n|---|---|---|---|---|---|---|---|")
    for kind in QUESTIONS:
        c = score(tracks, kind)
        n = sum(c.values())
        met = c["right"] + c["unsure"] >= n - 1 and (kind != "instruments" or c["wrong"] == 0)
        print(f"| {kind} | {audio_qa.TAG_THRESHOLDS[kind]} | {n} | {c['right']} | {c['unsure']} | {c['wrong']} | "
              f"{c['right'] + c['unsure']} of {n} | {'yes' if met else 'no'} |")

    print("\n## Threshold sweep: right / unsure / wrong")
    print("| kind | " + " | ".join(str(t) for t in SWEEP) + " |\n|---|" + "---|" * len(SWEEP))
    chosen = dict(audio_qa.TAG_THRESHOLDS)
    for kind in ("instruments", "vocals", "genre", "mood"):
        cells = []
        for t in SWEEP:
            audio_qa.TAG_THRESHOLDS[kind] = t
            c = score(tracks, kind)
            cells.append(f"{c['right']}/{c['unsure']}/{c['wrong']}")
        audio_qa.TAG_THRESHOLDS[kind] = chosen[kind]
        print(f"| {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
