"""Fine-tune an audio-LLM (MU-LLaMA / MusiLingo bridge from :mod:`tools.models.mullama`) on QA JSONL, with accelerate.

The audio encoder and the LLM stay frozen; the bridge (MusiLingo projection or
MU-LLaMA adapter) and, optionally, LoRA on the LLM's attention (peft) train. The
same script runs on a CPU, one GPU, or several::

    python -m training.audio_qa_train --config configs/audio_qa_tiny.json --train qa.jsonl --out runs/qa
    accelerate launch --config_file configs/gpu_config.yaml -m training.audio_qa_train --config ... --resume
    CUDA_VISIBLE_DEVICES= accelerate launch --multi_gpu --num_processes 2 -m training.audio_qa_train ...  # 2 CPU procs, gloo

(accelerate's own ``--cpu`` launcher starts a single process unless MPI is installed, so two CPU
processes go through the ``--multi_gpu`` launcher, torch.distributed.run; with no CUDA the
Accelerator joins them over gloo. configs/accelerate_cpu.yaml does the same.)

The model, its configuration and its batches are :mod:`training.audio_qa_model`; this module is
the run. Its training states (``<out>/ckpt-<step>``) hold the trained weights, optimizer state,
config and the data hashes; they are written to a temp folder and renamed, and ``--resume``
continues from the newest one (refusing when the data changed). Evaluation writes
BLEU/METEOR/ROUGE-L and exact-answer accuracy per question kind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.errors import ToolError
from core.files import atomic_folder, atomic_write_text
from tools.models.mullama import MusicLanguageModel
from training.audio_qa_data import (
    AudioClips,
    QAExample,
    build_tokenizer,
    load_qa_jsonl,
    split_by_audio,
)
from training.audio_qa_model import (
    PROMPT,
    AudioQAConfig,
    add_lora,
    build_model,
    encode_batch,
    text_batch,
)
from training.text_metrics import answer_metrics


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the data hashes a training state is resumed against)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batch_indices(n: int, batch: int, step: int, seed: int, rank: int, world: int) -> list[int]:
    """The step's examples, a pure function of (seed, step), so a resumed run draws what the killed one would."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    picks = torch.randint(0, n, (batch * world,), generator=g).tolist()
    return picks[rank::world]


def save_training_state(out: Path, step: int, state: dict, cfg: AudioQAConfig, hashes: dict, tokenizer,
                        llm=None) -> Path:
    """Write the resumable state of a run (weights, optimizer, config, data hashes, tokenizer, warmed-up LM) to
    ``out/ckpt-<step>`` through a temp folder and point ``out/latest`` at it (both atomic renames)."""
    final = out / f"ckpt-{step:06d}"
    with atomic_folder(final) as tmp:
        torch.save(state, tmp / "state.pt")
        (tmp / "config.json").write_text(json.dumps(asdict(cfg), indent=2), encoding="utf-8")
        (tmp / "hashes.json").write_text(json.dumps(hashes, indent=2), encoding="utf-8")
        tokenizer.save_pretrained(tmp / "tokenizer")
        if llm is not None:                           # the warmed-up tiny LM is part of the model
            llm.save_pretrained(tmp / "llm")
    atomic_write_text(out / "latest", final.name)
    for old in sorted(out.glob("ckpt-*"))[:-2]:        # keep the newest two
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Path | None:
    """The newest training state :func:`save_training_state` wrote under ``out``, or None."""
    pointer = out / "latest"
    return out / pointer.read_text().strip() if pointer.exists() else None


def _trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in names}


@torch.no_grad()
def answer_questions(model: MusicLanguageModel, tokenizer, clips: AudioClips, examples: list[QAExample],
                     device, max_new_tokens: int = 12) -> list[str]:
    """Greedy answers, one clip at a time."""
    model.eval()
    answers = []
    for e in examples:
        audio, ids, _, _ = encode_batch([e], tokenizer, clips, device, with_answer=False)
        new = model.generate(audio, ids, max_new_tokens=max_new_tokens, audio_position=1,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        answers.append(tokenizer.decode(new[0], skip_special_tokens=True).strip())
    model.train()
    return answers


def evaluate(model, tokenizer, clips, examples, device) -> dict:
    """Metrics over ``examples``: overall and per question kind (exact-answer accuracy and MusicQA text metrics),
    and every answer under "samples"."""
    predictions = answer_questions(model, tokenizer, clips, examples, device)
    result = {"all": answer_metrics(predictions, [e.answer for e in examples])}
    for kind in sorted({e.kind for e in examples}):
        pairs = [(p, e.answer) for p, e in zip(predictions, examples) if e.kind == kind]
        result[kind] = answer_metrics([p for p, _ in pairs], [r for _, r in pairs])
    result["samples"] = [{"kind": e.kind, "question": e.question, "answer": e.answer, "predicted": p}
                         for e, p in zip(examples, predictions)]
    return result


def train(cfg: AudioQAConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or continue) a training run; returns the final metrics (also in ``<out>/metrics.json``)."""
    from accelerate import Accelerator
    from accelerate.utils import gather_object
    from tqdm import tqdm

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    if cfg.cpu_threads and accelerator.device.type == "cpu":
        torch.set_num_threads(cfg.cpu_threads)
    out = Path(cfg.out)
    data = load_qa_jsonl(cfg.train, audio_root=cfg.audio_root or None, on_error=cfg.on_bad_line)
    examples = [e for e in data.examples if not cfg.kinds or e.kind in cfg.kinds]
    if cfg.eval:
        train_set = examples
        held = [e for e in load_qa_jsonl(cfg.eval, audio_root=cfg.audio_root or None, on_error=cfg.on_bad_line).examples
                if not cfg.kinds or e.kind in cfg.kinds]
    else:
        train_set, held = split_by_audio(examples, cfg.eval_share, cfg.seed)
    if not train_set:
        raise ToolError(f"No training lines of the kinds {cfg.kinds} in {cfg.train}.")
    held = held[: cfg.max_eval]
    hashes = {"train": file_hash(cfg.train), **({"eval": file_hash(cfg.eval)} if cfg.eval else {})}
    ckpt = latest_checkpoint(out) if resume else None
    if ckpt is not None:
        saved = json.loads((ckpt / "hashes.json").read_text())
        if saved != hashes:
            raise ToolError(f"The data changed since {ckpt} was saved; train into a new --out folder instead of "
                            "resuming.")
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(ckpt / "tokenizer")
    else:
        tokenizer = build_tokenizer([e.question for e in examples] + [e.answer for e in examples] + [PROMPT])
    clips = AudioClips(cfg.sample_rate, cfg.clip_seconds)
    model = build_model(cfg, tokenizer)
    state = torch.load(ckpt / "state.pt", map_location="cpu", weights_only=False) if ckpt else None
    history = state["history"] if state else []
    if cfg.llm == "tiny":
        if ckpt is not None:
            from transformers import LlamaForCausalLM
            model.llm.load_state_dict(LlamaForCausalLM.from_pretrained(ckpt / "llm").state_dict())
        else:
            history += warm_up_lm(model.llm, tokenizer, train_set, cfg, accelerator)
        for p in model.llm.parameters():
            p.requires_grad = False
    add_lora(model, cfg.lora_rank)
    if state:
        model.load_state_dict(state["model"], strict=False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    if state:
        optimizer.load_state_dict(state["optimizer"])
    model, optimizer = accelerator.prepare(model, optimizer)
    core = accelerator.unwrap_model(model)
    step = state["step"] if state else 0
    rank, world = accelerator.process_index, accelerator.num_processes
    losses: list[float] = []
    final_answers: list[dict] = []                   # every held-out answer of the latest evaluation
    bar = tqdm(total=cfg.steps, initial=step, desc="training audio-QA", disable=not progress or not accelerator.is_main_process)

    def checkpoint_and_eval() -> dict:
        shard = held[rank::world]
        metrics = evaluate(core, tokenizer, clips, shard, accelerator.device) if shard else {}
        answers = [s for group in gather_object([metrics.pop("samples", [])]) for s in group]
        point = {"step": step, "stage": "audio", "loss": float(np.mean(losses)) if losses else None,
                 "held_out": _merge(gather_object([metrics]))}
        point["held_out"]["samples"] = answers[:10]
        history.append(point)
        final_answers[:] = answers
        if accelerator.is_main_process:
            save_training_state(out, step, {"model": _trainable_state(core), "optimizer": optimizer.state_dict(),
                                        "step": step, "history": history, "processes": world},
                            cfg, hashes, tokenizer, core.llm if cfg.llm == "tiny" else None)
        accelerator.wait_for_everyone()
        losses.clear()
        return point

    model.train()
    while step < cfg.steps:
        for group in optimizer.param_groups:           # a pure function of the step, so --resume continues it
            group["lr"] = learning_rate(cfg, step)
        batch = [train_set[i] for i in _batch_indices(len(train_set), cfg.batch_size, step, cfg.seed, rank, world)]
        audio, ids, mask, labels = encode_batch(batch, tokenizer, clips, accelerator.device)
        loss = model(audio, ids, attention_mask=mask, labels=labels, audio_position=1).loss
        optimizer.zero_grad()
        accelerator.backward(loss)
        optimizer.step()
        losses.append(loss.item())
        step += 1
        bar.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            point = checkpoint_and_eval()
            bar.set_postfix(loss=f"{point['loss']:.3f}", exact=f"{point['held_out']['all'].get('exact') or 0:.1f}")
    bar.close()
    final = history[-1] if history else {}
    report = {"config": asdict(cfg), "processes": world, "backend": accelerator.state.backend, "skipped_lines": dict(data.skipped),
              "train_examples": len(train_set), "held_out_examples": len(held), "history": history, "final": final,
              "chance": chance_levels(train_set, held), "final_answers": final_answers}
    if accelerator.is_main_process:
        atomic_write_text(out / "metrics.json", json.dumps(report, indent=2))
    return report


def learning_rate(cfg: AudioQAConfig, step: int) -> float:
    """The bridge's learning rate at ``step``; the cosine schedule settles the answers late in a short run."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    if cfg.lr_schedule == "cosine":
        return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(step, cfg.steps) / max(1, cfg.steps))))
    raise ToolError(f"Unknown lr_schedule {cfg.lr_schedule!r}; use 'constant' or 'cosine'.")


def warm_up_lm(llm, tokenizer, examples: list[QAExample], cfg: AudioQAConfig, accelerator) -> list[dict]:
    """Text-only training of the tiny LM on the questions and answers (it stands in for a pretrained LLM).

    The word embeddings (tied to the output head) stay as drawn. Trained on the QA text alone, words that only
    ever fill the same slot ("it is in c / g / f# major") would get the same embedding, and a frozen LM could
    then not say one rather than another whatever the music tokens carry; a pretrained LLM's words differ.
    """
    if cfg.lm_warmup_steps <= 0:
        return []
    embeddings = llm.get_input_embeddings().weight
    for p in llm.parameters():
        p.requires_grad = p is not embeddings
    opt = torch.optim.AdamW([p for p in llm.parameters() if p.requires_grad], lr=3e-3)
    lm, opt = accelerator.prepare(llm, opt)
    lm.train()
    losses = []
    for step in range(cfg.lm_warmup_steps):
        batch = [examples[i] for i in _batch_indices(len(examples), cfg.batch_size, -1 - step, cfg.seed,
                                                     accelerator.process_index, accelerator.num_processes)]
        ids, mask, labels = (t.to(accelerator.device) for t in text_batch(batch, tokenizer))
        loss = lm(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        accelerator.backward(loss)
        opt.step()
        losses.append(loss.item())
    return [{"step": 0, "stage": "lm_warmup", "loss": float(np.mean(losses[-20:]))}]


def chance_levels(train_set: list[QAExample], held: list[QAExample]) -> dict:
    """Per kind: uniform chance over the distinct answers, and the majority-answer baseline on held-out clips."""
    out = {}
    for kind in sorted({e.kind for e in held}):
        answers = [e.answer for e in train_set if e.kind == kind]
        majority = max(set(answers), key=answers.count) if answers else None
        held_kind = [e for e in held if e.kind == kind]
        out[kind] = {"uniform": 100 / max(1, len(set(answers))),
                     "majority": 100 * sum(e.answer == majority for e in held_kind) / max(1, len(held_kind))}
    return out


def _merge(shards: list[dict]) -> dict:
    """Combine per-process metrics, weighting by example count."""
    merged: dict = {}
    for shard in shards:
        for kind, m in shard.items():
            if kind == "samples" or not m:
                continue
            acc = merged.setdefault(kind, {"n": 0})
            for key, value in m.items():
                if key != "n" and value is not None:
                    acc[key] = acc.get(key, 0.0) + value * m["n"]
            acc["n"] += m["n"]
    return {k: {key: (v / m["n"] if key != "n" else v) for key, v in m.items()} for k, m in merged.items()}


def main(argv: list[str] | None = None) -> int:
    """Command line for ``accelerate launch -m training.audio_qa_train``."""
    parser = argparse.ArgumentParser(description="Fine-tune the audio-QA bridge on {audio, question, answer} JSONL.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--train")
    parser.add_argument("--eval")
    parser.add_argument("--out")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad line instead of skipping it")
    args = parser.parse_args(argv)
    try:
        cfg = AudioQAConfig.from_file(args.config, train=args.train, eval=args.eval, out=args.out, steps=args.steps,
                                      on_bad_line="raise" if args.strict else None)
        report = train(cfg, resume=args.resume)
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    final = report["final"].get("held_out", {}).get("all", {})
    print(f"done: {report['processes']} process(es), exact {final.get('exact')}, metrics in {cfg.out}/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
