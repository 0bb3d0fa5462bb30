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

The tiny configuration (``encoder="dsp"``, ``llm="tiny"``) needs no downloaded
weights: the frozen encoder is a fixed signal-processing front end (log-mel,
chroma, a rhythm autocorrelation and the clip's pitch-class profile; a stand-in
for MERT) and the small LLaMA is first trained on the QA text alone, then frozen.
The full configuration takes local folders: a MERT/HuBERT encoder
(``encoder=PATH``) and a causal LM (``llm=PATH``).

Checkpoints hold the trained weights, optimizer state, config and the data
hashes; they are written to a temp folder and renamed, and ``--resume`` continues
from the newest one (refusing when the data changed). Evaluation writes
BLEU/METEOR/ROUGE-L and exact-answer accuracy per question kind.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError
from tools.models.mullama import MusicLanguageModel, MusicLMConfig
from training.audio_qa_data import (
    AudioClips,
    QAExample,
    build_tokenizer,
    load_qa_jsonl,
    split_by_audio,
)
from training.text_metrics import answer_metrics

PROMPT = "question : {question} answer :"


@dataclass
class AudioQAConfig:
    """A training run; every field can come from a JSON file and be overridden on the command line."""

    train: str = ""                     # QA JSONL
    eval: str = ""                      # held-out QA JSONL; empty: hold out ``eval_share`` of the clips
    out: str = "runs/audio_qa"
    audio_root: str = ""                # relative audio paths resolve here (default: the JSONL's folder)
    on_bad_line: str = "skip"           # "skip" (count) or "raise" (stop with the line number)
    eval_share: float = 0.2
    variant: str = "musilingo"          # tools.models.mullama variant: "musilingo" (projection) or "mullama" (adapter)
    encoder: str = "dsp"                # "dsp" or a local MERT/HuBERT folder
    llm: str = "tiny"                   # "tiny" or a local causal-LM folder
    llm_dim: int = 64
    llm_layers: int = 2
    llm_heads: int = 4
    lm_warmup_steps: int = 300          # tiny LM: text-only training before it is frozen
    lora_rank: int = 8                  # 0: no LoRA, only the bridge trains
    sample_rate: int = 16000
    clip_seconds: float = 4.0
    window_seconds: float = 1.0         # MusiLingo: seconds of encoder frames per music token
    steps: int = 1500
    batch_size: int = 32
    lr: float = 3e-3
    lr_schedule: str = "constant"       # "constant", or "cosine": decay to a tenth of ``lr`` by the last step
    eval_every: int = 250
    max_eval: int = 240
    seed: int = 0
    kinds: list[str] = field(default_factory=list)   # only these question kinds (empty: all)
    cache_features: bool = True         # keep each clip's (frozen) encoder output in memory
    cpu_threads: int = 0                # torch threads per process on a CPU (0: torch's default); 1 avoids
                                        # thread-spinning slowdowns on busy or shared cores

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> "AudioQAConfig":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ToolError(f"{Path(path).name} has unknown settings {sorted(unknown)}; remove them.")
        return cls(**{**data, **{k: v for k, v in overrides.items() if v is not None}})


class DSPEncoder(nn.Module):
    """A frozen, weight-free audio encoder with a Hugging Face-like interface. Per frame: log-mel (40) and
    chroma (12); then two clip summaries repeated on every frame: the onset autocorrelation over beat lags
    (rhythm) and the clip's pitch-class profile (key)."""

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop: int = 256, max_lag_s: float = 1.6) -> None:
        super().__init__()
        import librosa

        self.n_fft, self.hop, self.sample_rate = n_fft, hop, sample_rate
        self.register_buffer("mel", torch.from_numpy(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=40)).float())
        self.register_buffer("chroma", torch.from_numpy(librosa.filters.chroma(sr=sample_rate, n_fft=n_fft)).float())
        self.register_buffer("window", torch.hann_window(n_fft))
        self.lags = range(4, int(max_lag_s * sample_rate / hop))
        self.config = SimpleNamespace(num_hidden_layers=0, hidden_size=40 + 12 + len(self.lags) + 12)
        self.frames_per_second = sample_rate / hop

    def forward(self, input_values: torch.Tensor, attention_mask=None, output_hidden_states: bool = True):
        spec = torch.stft(input_values, self.n_fft, self.hop, window=self.window, return_complex=True).abs() ** 2
        logmel = torch.log10(self.mel @ spec + 1e-6).transpose(1, 2)                # (batch, frames, 40)
        chroma = (self.chroma @ spec).transpose(1, 2)
        chroma = chroma / (chroma.amax(dim=-1, keepdim=True) + 1e-8)
        onset = F.relu(logmel.diff(dim=1)).sum(-1)                                   # spectral flux
        onset = onset - onset.mean(dim=1, keepdim=True)
        spectrum = torch.fft.rfft(onset, n=2 * onset.shape[1])
        ac = torch.fft.irfft(spectrum.abs() ** 2)[:, self.lags.start:self.lags.stop]   # autocorrelation at beat lags
        ac = ac / (ac.new_tensor(onset.shape[1]) - ac.new_tensor(list(self.lags)))       # per overlapping frame
        ac = ac / (onset.pow(2).mean(1, keepdim=True) + 1e-8)
        frames = logmel.shape[1]
        rhythm = ac[:, None].expand(-1, frames, -1)
        key = self.pitch_class_profile(input_values)[:, None].expand(-1, frames, -1)
        return SimpleNamespace(hidden_states=(torch.cat([logmel / 3, chroma, rhythm, key / 3], dim=-1),))

    def pitch_class_profile(self, input_values: torch.Tensor) -> torch.Tensor:
        """(batch, 12) energy per pitch class (C first) over the whole clip, z-scored across the 12.

        Key is a property of the whole clip, and averaged over it this profile is what key finders match
        against major/minor templates; one-second windows of short-FFT chroma are too coarse and too noisy
        for that. A constant-Q transform from C2 up six octaves resolves every semitone, bass included.
        (forward() scales it by a third, like the log-mel, so it does not drown out the timbre.)
        """
        import librosa

        profiles = [librosa.feature.chroma_cqt(y=row, sr=self.sample_rate, hop_length=512, tuning=0.0,
                                               fmin=librosa.note_to_hz("C2"), n_octaves=6).mean(axis=1)
                    for row in input_values.detach().float().cpu().numpy()]
        profile = torch.from_numpy(np.stack(profiles)).to(input_values)
        profile = profile - profile.mean(dim=-1, keepdim=True)
        return profile / (profile.std(dim=-1, keepdim=True) + 1e-8)


class CachedEncoder(nn.Module):
    """A frozen encoder that computes each distinct clip once: its hidden states are kept by content hash.

    Training sees every clip many times, and a frozen encoder gives the same answer each time.
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.inner, self.config = encoder, encoder.config
        self._cache: dict[bytes, tuple[torch.Tensor, ...]] = {}

    def forward(self, input_values: torch.Tensor, attention_mask=None, output_hidden_states: bool = True):
        keys = [hashlib.blake2b(row.detach().cpu().numpy().tobytes(), digest_size=16).digest() for row in input_values]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            with torch.no_grad():
                states = self.inner(input_values=input_values[missing], output_hidden_states=True).hidden_states
            for j, i in enumerate(missing):
                self._cache[keys[i]] = tuple(h[j].cpu() for h in states)
        n_states = len(self._cache[keys[0]])
        device = input_values.device
        return SimpleNamespace(hidden_states=tuple(torch.stack([self._cache[k][s] for k in keys]).to(device)
                                                   for s in range(n_states)))


def build_model(cfg: AudioQAConfig, tokenizer) -> MusicLanguageModel:
    """Encoder + LLM + bridge (+ LoRA) for ``cfg``; the tiny LM comes back untrained (see :func:`warm_up_lm`)."""
    from transformers import (
        AutoModel,
        AutoModelForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
    )

    torch.manual_seed(cfg.seed)
    if cfg.encoder == "dsp":
        encoder = DSPEncoder(cfg.sample_rate)
        window = max(1, int(cfg.window_seconds * encoder.frames_per_second))
    else:
        encoder = AutoModel.from_pretrained(cfg.encoder, local_files_only=True, trust_remote_code=True)
        window = max(1, int(cfg.window_seconds * 75))                               # MERT: 75 frames a second
    if cfg.llm == "tiny":
        llm = LlamaForCausalLM(LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=cfg.llm_dim, intermediate_size=2 * cfg.llm_dim,
            num_hidden_layers=cfg.llm_layers, num_attention_heads=cfg.llm_heads, num_key_value_heads=cfg.llm_heads,
            max_position_embeddings=256, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True))
        # Every word its own direction, as in a pretrained LLM; warm_up_lm keeps these fixed (see there).
        nn.init.normal_(llm.get_input_embeddings().weight, std=cfg.llm_dim ** -0.5)
    else:
        llm = AutoModelForCausalLM.from_pretrained(cfg.llm, local_files_only=True)
    music_cfg = MusicLMConfig(variant=cfg.variant, window_frames=window, sample_rate=cfg.sample_rate,
                              adapter_layers=cfg.llm_layers, bridge_blocks=1, bridge_mult=2)
    return MusicLanguageModel(CachedEncoder(encoder.eval()) if cfg.cache_features else encoder.eval(), llm, music_cfg)


def add_lora(model: MusicLanguageModel, rank: int) -> None:
    """LoRA (peft) on the LLM's attention projections; the LLM's own weights stay frozen."""
    if rank <= 0:
        return
    from peft import LoraConfig, inject_adapter_in_model

    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0,
                                       target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]), model.llm)


def encode_batch(examples: list[QAExample], tokenizer, clips: AudioClips, device, *, with_answer: bool = True):
    """Model inputs: audio, right-padded "<s> question : ... answer : <answer> </s>", labels on the answer only."""
    ids, labels = [], []
    for e in examples:
        prompt = [tokenizer.bos_token_id] + tokenizer(PROMPT.format(question=e.question), add_special_tokens=False).input_ids
        answer = tokenizer(e.answer, add_special_tokens=False).input_ids + [tokenizer.eos_token_id] if with_answer else []
        ids.append(prompt + answer)
        labels.append([-100] * len(prompt) + answer)
    width = max(map(len, ids))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([i + [pad] * (width - len(i)) for i in ids], device=device)
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids], device=device)
    label_ids = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels], device=device)
    audio = torch.from_numpy(np.stack([clips(e.audio) for e in examples])).to(device)
    return audio, input_ids, mask, label_ids


def file_hash(path: str | Path) -> str:
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


def save_checkpoint(out: Path, step: int, state: dict, cfg: AudioQAConfig, hashes: dict, tokenizer, llm=None) -> Path:
    """Write ``out/ckpt-<step>`` through a temp folder and point ``out/latest`` at it (both atomic renames)."""
    final = out / f"ckpt-{step:06d}"
    tmp = out / f".ckpt-{step:06d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(state, tmp / "state.pt")
    (tmp / "config.json").write_text(json.dumps(asdict(cfg), indent=2), encoding="utf-8")
    (tmp / "hashes.json").write_text(json.dumps(hashes, indent=2), encoding="utf-8")
    tokenizer.save_pretrained(tmp / "tokenizer")
    if llm is not None:                               # the warmed-up tiny LM is part of the model
        llm.save_pretrained(tmp / "llm")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    pointer = out / "latest.tmp"
    pointer.write_text(final.name, encoding="utf-8")
    os.replace(pointer, out / "latest")
    for old in sorted(out.glob("ckpt-*"))[:-2]:        # keep the newest two
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Path | None:
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
            save_checkpoint(out, step, {"model": _trainable_state(core), "optimizer": optimizer.state_dict(),
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
        tmp = out / "metrics.json.tmp"
        tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
        os.replace(tmp, out / "metrics.json")
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
        ids, mask, labels = (t.to(accelerator.device) for t in _text_batch(batch, tokenizer))
        loss = lm(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        accelerator.backward(loss)
        opt.step()
        losses.append(loss.item())
    return [{"step": 0, "stage": "lm_warmup", "loss": float(np.mean(losses[-20:]))}]


def _text_batch(batch, tokenizer):
    ids = [[tokenizer.bos_token_id] + tokenizer(PROMPT.format(question=e.question) + " " + e.answer,
                                                add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
           for e in batch]
    width = max(map(len, ids))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([i + [pad] * (width - len(i)) for i in ids])
    mask = (input_ids != pad).long()
    return input_ids, mask, input_ids.masked_fill(mask == 0, -100)


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
