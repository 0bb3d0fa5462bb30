"""Full-tier music question answering: MU-LLaMA and a MusiLingo-style variant, loaded from local checkpoints.

MU-LLaMA (Liu et al., ICASSP 2024): every hidden layer of a frozen MERT encoder is
averaged over time, a 1-D convolution over the layers (kernel 1) mixes them into one
vector, a linear layer projects it to the LLaMA width, and three gated-MLP (SwiGLU)
residual blocks refine it. That music vector, plus a learned per-layer prefix query,
is injected into the attention of the last N (20) LLaMA layers as a one-token
adapter: ``output += tanh(gate_head) * W_v(music + prefix)``, gates zero-initialised.

MusiLingo (Deng et al., 2024): the MERT layers are averaged, frames are mean-pooled
in windows of 325 (~4.3 s), and one linear projection turns each window into a soft
token placed inside the prompt, between the text before and after ``<AudioHere>``.

Nothing is downloaded. A model folder holds ``bandmate_music_lm.json``, ``mert/``
and ``llm/`` (Hugging Face ``save_pretrained`` folders) and ``adapter.pt``; an
original MU-LLaMA ``checkpoint.pth`` can be converted with
:func:`convert_mullama_checkpoint`. Tests build the same architecture from tiny
random-weight HuBERT and LLaMA configs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError
from tools import PROMPTS_DIR

CONFIG_FILE = "bandmate_music_lm.json"
ADAPTER_FILE = "adapter.pt"
PROMPTS = PROMPTS_DIR


@dataclass(frozen=True)
class MusicLMConfig:
    """How the music encoder is bridged into the LLM."""

    variant: str = "mullama"          # "mullama" or "musilingo"
    adapter_layers: int = 20          # MU-LLaMA: the last N LLaMA layers receive the music query
    bridge_blocks: int = 3            # MU-LLaMA: gated-MLP blocks after the projection
    bridge_mult: int = 4              # their hidden width, times the LLM width
    legacy_bridge: bool = False       # LayerNorm with biases in the bridge (early MU-LLaMA checkpoints)
    finetune_params: bool = False     # MU-LLaMA finetune phase: LoRA + biases in every LLaMA layer
    lora_rank: int = 16
    window_frames: int = 325          # MusiLingo: MERT frames averaged into one music token
    sample_rate: int = 24000          # MERT-v1 input rate
    mert: str = "mert"                # encoder folder (relative to the model folder, or absolute)
    llm: str = "llm"                  # LLaMA folder

    def __post_init__(self) -> None:
        if self.variant not in ("mullama", "musilingo"):
            raise ToolError(f"Unknown music-LM variant {self.variant!r}; use 'mullama' or 'musilingo'.")


# Names a user can pass to load(); each is a folder under $BANDMATE_HOME/models with the layout above.
REGISTRY = {
    "mu-llama": MusicLMConfig(variant="mullama", finetune_params=True),       # MERT-v1-330M + LLaMA-2 7B
    "musilingo": MusicLMConfig(variant="musilingo"),                          # MERT-v1-330M + Vicuna 7B
}


class RMSNorm(nn.Module):
    """LLaMA's root-mean-square norm."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


class GatedMLPBlock(nn.Module):
    """Residual SwiGLU block: x + f2(silu(f1(norm x)) * f3(norm x))."""

    def __init__(self, dim: int, mult: int, legacy: bool) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim) if legacy else RMSNorm(dim)
        self.f1 = nn.Linear(dim, dim * mult, bias=legacy)
        self.f2 = nn.Linear(dim * mult, dim, bias=legacy)
        self.f3 = nn.Linear(dim, dim * mult, bias=legacy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        return x + self.f2(F.silu(self.f1(h)) * self.f3(h))


class MuLlamaBridge(nn.Module):
    """All MERT layers -> time mean -> 1-D conv over layers -> unit norm -> projection -> gated-MLP blocks."""

    def __init__(self, n_layers: int, mert_dim: int, llm_dim: int, config: MusicLMConfig) -> None:
        super().__init__()
        self.agg = nn.Conv1d(n_layers, 1, kernel_size=1)
        self.proj = nn.Linear(mert_dim, llm_dim)
        self.blocks = nn.ModuleList(GatedMLPBlock(llm_dim, config.bridge_mult, config.legacy_bridge)
                                    for _ in range(config.bridge_blocks))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(batch, layers, frames, mert_dim) -> (batch, 1, llm_dim)."""
        x = self.agg(hidden.mean(dim=2))                      # (batch, 1, mert_dim)
        x = self.proj(F.normalize(x, dim=-1))
        for block in self.blocks:
            x = block(x)
        return x


class MusiLingoBridge(nn.Module):
    """Layer mean -> windowed time mean -> one linear projection: a sequence of soft music tokens."""

    def __init__(self, mert_dim: int, llm_dim: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.proj = nn.Linear(mert_dim, llm_dim)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(batch, layers, frames, mert_dim) -> (batch, ceil(frames / window), llm_dim)."""
        x = hidden.mean(dim=1)
        b, t, d = x.shape
        full = t // self.window * self.window
        pooled = [x[:, :full].reshape(b, t // self.window, self.window, d).mean(dim=2)] if full else []
        if t > full:
            pooled.append(x[:, full:].mean(dim=1, keepdim=True))
        return self.proj(torch.cat(pooled, dim=1))


class LoraBias(nn.Module):
    """MU-LLaMA's finetune-phase extras for one LLaMA linear layer: a rank-r LoRA branch and an optional bias."""

    def __init__(self, linear: nn.Linear, rank: int, bias: bool) -> None:
        super().__init__()
        self.a = nn.Linear(linear.in_features, rank, bias=False)
        self.b = nn.Linear(rank, linear.out_features, bias=False)
        nn.init.zeros_(self.b.weight)
        self.bias = nn.Parameter(torch.zeros(linear.out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.b(self.a(x))
        return out + self.bias if self.bias is not None else out


_LORA_TARGETS = {  # HF LLaMA module -> (MU-LLaMA name, has bias)
    "self_attn.q_proj": ("attention.wq", True), "self_attn.k_proj": ("attention.wk", False),
    "self_attn.v_proj": ("attention.wv", False), "self_attn.o_proj": ("attention.wo", True),
    "mlp.gate_proj": ("feed_forward.w1", True), "mlp.down_proj": ("feed_forward.w2", True),
    "mlp.up_proj": ("feed_forward.w3", True),
}


class MusicLanguageModel(nn.Module):
    """A frozen MERT-style encoder and a frozen LLaMA joined by a trainable music bridge."""

    def __init__(self, encoder: nn.Module, llm: nn.Module, config: MusicLMConfig, feature_extractor=None) -> None:
        super().__init__()
        self.config, self.encoder, self.llm, self.feature_extractor = config, encoder, llm, feature_extractor
        for p in list(encoder.parameters()) + list(llm.parameters()):
            p.requires_grad = False
        n_states, mert_dim = encoder.config.num_hidden_layers + 1, encoder.config.hidden_size
        cfg = llm.config
        self.llm_dim, self.n_heads = cfg.hidden_size, cfg.num_attention_heads
        self.n_kv_heads = getattr(cfg, "num_key_value_heads", None) or self.n_heads
        self.head_dim = getattr(cfg, "head_dim", None) or self.llm_dim // self.n_heads
        self._music: torch.Tensor | None = None
        self._hooks = []
        if config.variant == "mullama":
            n = min(config.adapter_layers, cfg.num_hidden_layers)
            self.bridge = MuLlamaBridge(n_states, mert_dim, self.llm_dim, config)
            self.prefix_query = nn.Embedding(n, self.llm_dim)
            self.gates = nn.ParameterList(nn.Parameter(torch.zeros(1, self.n_heads, 1, 1)) for _ in range(n))
            self.first_adapted = cfg.num_hidden_layers - n
            self.lora = nn.ModuleDict()
            if config.finetune_params:
                for i, layer in enumerate(self._layers()):
                    for path, (_, bias) in _LORA_TARGETS.items():
                        linear = layer.get_submodule(path)
                        extra = self.lora[f"{i}_{path.replace('.', '_')}"] = LoraBias(linear, config.lora_rank, bias)
                        self._hooks.append(linear.register_forward_hook(_add_branch(extra)))
            for i, layer in enumerate(self._layers()[self.first_adapted:]):
                self._hooks.append(layer.self_attn.register_forward_hook(self._adapter_hook(i)))
        else:
            self.bridge = MusiLingoBridge(mert_dim, self.llm_dim, config.window_frames)

    def _layers(self) -> nn.ModuleList:
        return self.llm.model.layers

    # ---------------------------------------------------------------- audio

    def music_features(self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Bridge output for raw audio at ``config.sample_rate``: (batch, 1 or n_tokens, llm_dim)."""
        with torch.no_grad():
            out = self.encoder(input_values=input_values, attention_mask=attention_mask, output_hidden_states=True)
        hidden = torch.stack(out.hidden_states, dim=1)      # (batch, layers, frames, mert_dim)
        return self.bridge(hidden.to(next(self.bridge.parameters()).dtype))

    def prepare_audio(self, samples: np.ndarray, sample_rate: int) -> torch.Tensor:
        """Mono samples -> encoder input at the encoder's rate (normalised like its feature extractor)."""
        from core.audio_io import resample

        samples = resample(np.asarray(samples, dtype=np.float32), sample_rate, self.config.sample_rate)
        if self.feature_extractor is not None:
            values = self.feature_extractor(samples, sampling_rate=self.config.sample_rate,
                                            return_tensors="pt").input_values
        else:
            values = torch.from_numpy((samples - samples.mean()) / (samples.std() + 1e-7))[None]
        return values.to(self._device())

    def _device(self) -> torch.device:
        return next(self.bridge.parameters()).device

    # ---------------------------------------------------------------- MU-LLaMA injection

    def _adapter_hook(self, index: int):
        def hook(attention: nn.Module, args, output):
            if self._music is None:
                return output
            adapter = (self._music + self.prefix_query.weight[index]).to(output[0].dtype)   # (batch, 1, dim)
            value = F.linear(adapter, attention.v_proj.weight)                                # the plain W_v
            batch = value.shape[0]
            value = value.view(batch, self.n_kv_heads, self.head_dim)
            value = value.repeat_interleave(self.n_heads // self.n_kv_heads, dim=1)
            value = value * self.gates[index].view(1, self.n_heads, 1).tanh().to(value.dtype)
            value = value.reshape(batch, 1, self.n_heads * self.head_dim)
            delta = F.linear(value, attention.o_proj.weight)                                  # W_o, no bias
            lora_o = self.lora[f"{self.first_adapted + index}_self_attn_o_proj"] if self.lora else None
            if lora_o is not None:
                delta = delta + lora_o.b(lora_o.a(value))
            return (output[0] + delta, *output[1:])
        return hook

    @contextlib.contextmanager
    def _listening(self, music: torch.Tensor):
        self._music = music
        try:
            yield
        finally:
            self._music = None

    # ---------------------------------------------------------------- text

    def forward(self, input_values: torch.Tensor, input_ids: torch.Tensor, attention_mask=None, labels=None,
                audio_position: int = 1):
        """LLM outputs (logits, loss when ``labels``) for the text conditioned on the audio.

        MusiLingo inserts its music tokens at ``audio_position`` (after the BOS token by default).
        """
        music = self.music_features(input_values)
        if self.config.variant == "mullama":
            with self._listening(music):
                return self.llm(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        embeds, mask, labels = self._splice(music, input_ids, attention_mask, labels, audio_position)
        return self.llm(inputs_embeds=embeds, attention_mask=mask, labels=labels)

    @torch.no_grad()
    def generate(self, input_values: torch.Tensor, input_ids: torch.Tensor, *, max_new_tokens: int = 64,
                 temperature: float = 0.0, audio_position: int = 1, **kwargs) -> torch.Tensor:
        """New token ids (batch, <= max_new_tokens); greedy when ``temperature`` is 0."""
        music = self.music_features(input_values)
        sampling = {"do_sample": temperature > 0, **({"temperature": temperature} if temperature > 0 else {})}
        if self.config.variant == "mullama":
            with self._listening(music):
                out = self.llm.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                        max_new_tokens=max_new_tokens, **sampling, **kwargs)
            return out[:, input_ids.shape[1]:]
        embeds, mask, _ = self._splice(music, input_ids, None, None, audio_position)
        out = self.llm.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                **sampling, **kwargs)
        return out[:, embeds.shape[1]:] if out.shape[1] > max_new_tokens else out

    def _splice(self, music, input_ids, attention_mask, labels, position):
        """MusiLingo: text embeddings with the music tokens inserted at ``position``."""
        text = self.llm.get_input_embeddings()(input_ids)
        embeds = torch.cat([text[:, :position], music.to(text.dtype), text[:, position:]], dim=1)
        ones = torch.ones(music.shape[:2], dtype=torch.long, device=text.device)
        mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
        mask = torch.cat([mask[:, :position], ones, mask[:, position:]], dim=1)
        if labels is not None:
            labels = torch.cat([labels[:, :position], torch.full_like(ones, -100), labels[:, position:]], dim=1)
        return embeds, mask, labels

    def answer(self, samples: np.ndarray, sample_rate: int, question: str, tokenizer, *,
               max_new_tokens: int = 256) -> str:
        """Answer ``question`` about the audio with the variant's own prompt format."""
        values = self.prepare_audio(samples, sample_rate)
        template = (PROMPTS / f"audio_qa_{self.config.variant}.md").read_text(encoding="utf-8").strip("\n")
        prompt = template.replace("{question}", question.strip())
        if self.config.variant == "mullama":
            ids = tokenizer(prompt, return_tensors="pt").input_ids.to(self._device())
            new = self.generate(values, ids, max_new_tokens=max_new_tokens)
            return tokenizer.decode(new[0], skip_special_tokens=True).strip()
        before, after = prompt.split("<AudioHere>")
        ids_before = tokenizer(before, return_tensors="pt").input_ids           # with BOS
        ids_after = tokenizer(after, return_tensors="pt", add_special_tokens=False).input_ids
        ids = torch.cat([ids_before, ids_after], dim=1).to(self._device())
        new = self.generate(values, ids, max_new_tokens=max_new_tokens, audio_position=ids_before.shape[1])
        return tokenizer.decode(new[0], skip_special_tokens=True).split("###")[0].strip()

    # ---------------------------------------------------------------- checkpoints

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """The trained parts: bridge, prefix queries, gates, LoRA/biases and (finetune phase) the LLaMA norms."""
        keep = ("bridge.", "prefix_query.", "gates.", "lora.")
        state = {k: v for k, v in self.state_dict().items() if k.startswith(keep)}
        if self.config.finetune_params:
            state.update({k: v for k, v in self.state_dict().items() if k.startswith("llm.") and "norm" in k})
        return state

    def save(self, folder: str | Path) -> Path:
        """Write a folder that :func:`load` reads back: config, encoder, LLM and adapter weights."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = replace(self.config, mert="mert", llm="llm")
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
        self.encoder.save_pretrained(folder / "mert")
        if self.feature_extractor is not None:
            self.feature_extractor.save_pretrained(folder / "mert")
        self.llm.save_pretrained(folder / "llm")
        torch.save(self.adapter_state_dict(), folder / ADAPTER_FILE)
        return folder


def _add_branch(extra: LoraBias):
    def hook(linear, args, output):
        return output + extra(args[0])
    return hook


def load(name_or_path: str | Path, device: str | None = None) -> MusicLanguageModel:
    """Load a music LM from a local folder, or by registry name from ``<home>/models/<name>``.

    ``device=None`` picks CUDA when present. Raises ToolError when the weights are not there.
    """
    from transformers import AutoModel, AutoModelForCausalLM

    folder = Path(name_or_path).expanduser()
    if str(name_or_path) in REGISTRY and not folder.is_dir():
        from core.settings import get_settings

        folder = get_settings().models_dir / str(name_or_path)
    if not (folder / CONFIG_FILE).exists():
        raise ToolError(f"No music-LM weights at {folder}; put a folder with {CONFIG_FILE}, mert/, llm/ and "
                        f"{ADAPTER_FILE} there (known names: {', '.join(REGISTRY)}).")
    config = MusicLMConfig(**json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
    mert_dir, llm_dir = (folder / config.mert, folder / config.llm)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    encoder = AutoModel.from_pretrained(mert_dir, trust_remote_code=True, local_files_only=True)
    llm = AutoModelForCausalLM.from_pretrained(llm_dir, local_files_only=True, dtype=dtype)
    extractor = None
    if (mert_dir / "preprocessor_config.json").exists():
        from transformers import Wav2Vec2FeatureExtractor
        extractor = Wav2Vec2FeatureExtractor.from_pretrained(mert_dir, local_files_only=True)
    model = MusicLanguageModel(encoder.eval(), llm.eval(), config, extractor)
    state = torch.load(folder / ADAPTER_FILE, map_location="cpu", weights_only=True)
    if "model" in state:                                     # an original MU-LLaMA checkpoint.pth
        state = convert_mullama_checkpoint(state["model"], model)
    missing = model.load_state_dict(state, strict=False)
    if missing.unexpected_keys:
        raise ToolError(f"{folder / ADAPTER_FILE} does not match this architecture (unexpected keys such as "
                        f"{missing.unexpected_keys[0]}); check {CONFIG_FILE}.")
    return model.to(device).eval()


def convert_mullama_checkpoint(original: dict[str, torch.Tensor], model: MusicLanguageModel) -> dict:
    """Map an original MU-LLaMA state dict (Meta LLaMA layout) onto :class:`MusicLanguageModel` names.

    Query/key LoRA outputs and the query bias are permuted to Hugging Face's rotary layout.
    """
    def rope_rows(t: torch.Tensor, heads: int) -> torch.Tensor:
        rows = t.shape[0]
        return t.reshape(heads, rows // heads // 2, 2, *t.shape[1:]).transpose(1, 2).reshape(t.shape)

    out = {}
    for key, value in original.items():
        if key.startswith("mu_mert_agg.") or key.startswith("mu_mert_proj."):
            out["bridge." + key[len("mu_mert_"):]] = value
        elif m := re.fullmatch(r"mu_mert_norm_(\d)\.(\w+)", key):
            out[f"bridge.blocks.{int(m[1]) - 1}.norm.{m[2]}"] = value
        elif m := re.fullmatch(r"mu_mert_f(\d)_(\d)\.(\w+)", key):
            out[f"bridge.blocks.{int(m[2]) - 1}.f{m[1]}.{m[3]}"] = value
        elif key == "prefix_query.weight":
            out[key] = value
        elif m := re.fullmatch(r"llama\.layers\.(\d+)\.attention\.gate", key):
            if int(m[1]) >= model.first_adapted:
                out[f"gates.{int(m[1]) - model.first_adapted}"] = value
        elif m := re.fullmatch(r"llama\.layers\.(\d+)\.(attention_norm|ffn_norm)\.weight", key):
            name = "input_layernorm" if m[2] == "attention_norm" else "post_attention_layernorm"
            out[f"llm.model.layers.{m[1]}.{name}.weight"] = value
        elif key == "llama.norm.weight":
            out["llm.model.norm.weight"] = value
        elif m := re.fullmatch(r"llama\.layers\.(\d+)\.(attention|feed_forward)\.(?:lora_)?(w\w+?)(?:_l([12]))?\."
                               r"(weight|bias)", key):
            layer, block, proj, part, kind = m[1], m[2], m[3], m[4], m[5]
            target = next(p for p, (name, _) in _LORA_TARGETS.items() if name == f"{block}.{proj}")
            base = f"lora.{layer}_{target.replace('.', '_')}"
            heads = model.n_heads if proj == "wq" else model.n_kv_heads
            if kind == "bias":
                out[f"{base}.bias"] = rope_rows(value, heads) if proj == "wq" else value
            elif part:
                rows = rope_rows(value, heads) if part == "2" and proj in ("wq", "wk") else value
                out[f"{base}.{'a' if part == '1' else 'b'}.weight"] = rows
    return out
