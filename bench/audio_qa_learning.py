"""Does the tiny audio-QA configuration learn? Synthetic corpus -> label QA pairs -> train -> held-out accuracy.

    python bench/audio_qa_learning.py [--clips 400] [--steps 1800] [--work /tmp/bandmate-aqa-bench]

Renders a labelled corpus with fluidsynth (training.data_synth; a rerun reuses the
clips already rendered), writes its tempo / key / instrument questions
(training.musicqa), trains configs/audio_qa_tiny.json (frozen DSP encoder +
frozen text-warmed tiny LLaMA, trainable MusiLingo projection + LoRA) from
scratch on the CPU, and prints the learning curve and the held-out exact-answer
accuracy per question kind beside two chance levels: uniform over the answers
seen in training, and always giving the most common training answer. Key is also
scored the way bench/analysis.py scores it, with the relative major/minor
counted ("key +rel"; uniform chance 2/24).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from pathlib import Path

from core.errors import ToolError
from tools.music.harmony import parse_key
from training.audio_qa_train import AudioQAConfig, train
from training.data_synth import SynthConfig, synthesize
from training.musicqa import QAJob, generate_musicqa
from training.readers import read_synth_metadata

ROOT = Path(__file__).resolve().parents[1]
KEY_IN_ANSWER = re.compile(r"\b([a-g][#b]?) (major|minor)\b", re.IGNORECASE)


def same_or_relative_key(predicted: str, reference: str) -> bool:
    """True when ``predicted`` names the key of ``reference`` or its relative major/minor ("C major" ~ "A minor")."""
    found = [KEY_IN_ANSWER.search(text) for text in (predicted, reference)]
    if not all(found):
        return False
    try:
        said, true = (parse_key(f"{m[1]} {m[2]}") for m in found)
    except ToolError:
        return False
    return (said.tonic_pc, said.mode) in {(true.tonic_pc, true.mode), (true.relative.tonic_pc, true.relative.mode)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--work", default="/tmp/bandmate-aqa-bench")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(args.work)
    nottingham = ROOT / ".." / "shared" / "data" / "nottingham"

    t0 = time.time()
    synthesize(SynthConfig(n_clips=args.clips, seed=args.seed, seconds=4.0, sample_rate=16000,
                           nottingham=str(nottingham) if nottingham.exists() else None), work / "corpus")
    t1 = time.time()
    qa = work / "corpus" / "qa.jsonl"
    generate_musicqa(read_synth_metadata(work / "corpus" / "metadata.jsonl"), qa, job=QAJob(tags=False),
                     progress=False)
    cfg = AudioQAConfig.from_file(ROOT / "configs" / "audio_qa_tiny.json", train=str(qa), out=str(work / "run"),
                                  steps=args.steps, seed=args.seed)
    shutil.rmtree(work / "run", ignore_errors=True)      # a run of an older model would not resume cleanly
    report = train(cfg)
    t2 = time.time()

    print(f"\ncorpus: {args.clips} clips rendered in {t1 - t0:.0f} s; training + eval {t2 - t1:.0f} s on the CPU; "
          f"{report['train_examples']} train / {report['held_out_examples']} held-out questions")
    kinds = sorted(report["chance"])
    print("\nlearning curve (held-out exact-answer accuracy, %)")
    print(f"{'step':>6} {'stage':>10} {'loss':>7} " + " ".join(f"{k:>10}" for k in kinds) + f" {'all':>7}")
    for point in report["history"]:
        held = point.get("held_out", {})
        cells = " ".join(f"{held.get(k, {}).get('exact', float('nan')):>10.1f}" for k in kinds)
        loss = f"{point['loss']:.3f}" if point.get("loss") is not None else "-"
        all_exact = held.get("all", {}).get("exact")
        print(f"{point['step']:>6} {point['stage']:>10} {loss:>7} {cells if held else ' ' * 11 * len(kinds)} "
              f"{all_exact if all_exact is None else round(all_exact, 1)!s:>7}")
    final = report["final"]["held_out"]
    print("\nheld-out accuracy vs chance (%)")
    print(f"{'kind':>12} {'n':>5} {'exact':>7} {'uniform':>8} {'majority':>9} {'BLEU-1':>7} {'METEOR':>7} {'ROUGE-L':>8}")
    for kind in kinds + ["all"]:
        m, c = final[kind], report["chance"].get(kind, {})
        meteor = f"{m['meteor']:.1f}" if m.get("meteor") is not None else "-"
        print(f"{kind:>12} {m['n']:>5} {m['exact']:>7.1f} {c.get('uniform', float('nan')):>8.1f} "
              f"{c.get('majority', float('nan')):>9.1f} {m['bleu1']:>7.1f} {meteor:>7} {m['rougeL']:>8.1f}")
    keys = [a for a in report["final_answers"] if a["kind"] == "key"]
    if keys:
        relative = 100 * sum(same_or_relative_key(a["predicted"], a["answer"]) for a in keys) / len(keys)
        print(f"{'key +rel':>12} {len(keys):>5} {relative:>7.1f} {100 * 2 / 24:>8.1f}")
    (work / "bench.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
