"""The audio-QA model a run trains, and what it reads: the run's configuration, the frozen encoders, the
model built from them (:mod:`tools.models.mullama`'s bridge, optionally LoRA), and its token batches.

The tiny configuration (``encoder="dsp"``, ``llm="tiny"``) needs no downloaded weights: the frozen
encoder is :class:`DSPEncoder`, a fixed signal-processing front end (log-mel, chroma, a rhythm
autocorrelation and the clip's pitch-class profile; a stand-in for MERT), and the small LLaMA is
first trained on the QA text alone, then frozen (:func:`training.audio_qa_train.warm_up_lm`).
The full configuration takes local folders: a MERT/HuBERT encoder (``encoder=PATH``) and a causal
LM (``llm=PATH``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError
from tools.models.mullama import MusicLanguageModel, MusicLMConfig
from training.audio_qa_data import AudioClips, QAExample

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


def text_batch(batch: list[QAExample], tokenizer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Text-only LM inputs: "<s> question : ... answer : <answer> </s>", right-padded, labels on every real token."""
    ids = [[tokenizer.bos_token_id] + tokenizer(PROMPT.format(question=e.question) + " " + e.answer,
                                                add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
           for e in batch]
    width = max(map(len, ids))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([i + [pad] * (width - len(i)) for i in ids])
    mask = (input_ids != pad).long()
    return input_ids, mask, input_ids.masked_fill(mask == 0, -100)
