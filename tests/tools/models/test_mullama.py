"""MU-LLaMA and MusiLingo architectures on tiny random-weight HuBERT (MERT-like) + LLaMA configs, on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ToolError
from tools.models.mullama import (
    MusicLanguageModel,
    MusicLMConfig,
    convert_mullama_checkpoint,
    load,
)

transformers = pytest.importorskip("transformers")

LAYERS, DIM, VOCAB = 4, 32, 64


def tiny_parts(seed: int = 0):
    torch.manual_seed(seed)
    encoder = transformers.HubertModel(transformers.HubertConfig(
        hidden_size=24, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2)).eval()
    llm = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=DIM, intermediate_size=64, num_hidden_layers=LAYERS,
        num_attention_heads=4, num_key_value_heads=2, pad_token_id=0, bos_token_id=1, eos_token_id=2)).eval()
    return encoder, llm


def tiny_model(variant: str = "mullama", **overrides) -> MusicLanguageModel:
    encoder, llm = tiny_parts()
    config = MusicLMConfig(variant=variant, adapter_layers=2, window_frames=10, sample_rate=16000, **overrides)
    return MusicLanguageModel(encoder, llm, config).eval()


def audio(batch: int = 2, seconds: float = 0.5) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(batch, int(16000 * seconds))


IDS = torch.tensor([[1, 5, 9, 12, 7], [1, 6, 3, 11, 4]])


def test_mullama_bridge_aggregates_every_encoder_layer_into_one_llm_width_vector():
    model = tiny_model()
    assert model.bridge.agg.in_channels == 4                    # 3 transformer layers + the embedding output
    assert len(model.bridge.blocks) == 3 and model.bridge.blocks[0].f1.out_features == 4 * DIM
    assert model.music_features(audio()).shape == (2, 1, DIM)
    assert len(model.gates) == 2 and model.prefix_query.weight.shape == (2, DIM)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"bridge", "prefix_query", "gates"}     # MERT and LLaMA stay frozen


def test_zero_gates_leave_the_llm_untouched_and_open_gates_condition_it_on_the_music():
    model = tiny_model()
    plain = model.llm(input_ids=IDS).logits
    same = model(audio(), IDS).logits
    assert torch.allclose(plain, same, atol=1e-6)                # gates start at zero, as in MU-LLaMA
    with torch.no_grad():
        for gate in model.gates:
            gate.fill_(1.0)
    conditioned = model(audio(), IDS).logits
    assert not torch.allclose(plain, conditioned, atol=1e-4)
    other_clip = model(audio(seconds=0.7) * 3, IDS).logits
    assert not torch.allclose(conditioned, other_clip, atol=1e-5)
    # Only the last N layers are adapted: the hook adds the same music vector at every position.
    assert model.first_adapted == LAYERS - 2


def test_forward_pass_trains_only_the_bridge():
    model = tiny_model().train()
    out = model(audio(), IDS, labels=IDS)
    assert out.logits.shape == (2, 5, VOCAB) and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.bridge.proj.weight.grad is not None and model.gates[0].grad is not None
    assert all(p.grad is None for p in model.llm.parameters())


def test_generation_step_matches_the_forward_argmax():
    model = tiny_model()
    with torch.no_grad():
        for gate in model.gates:
            gate.fill_(0.5)
    new = model.generate(audio(), IDS, max_new_tokens=3)
    assert new.shape == (2, 3)
    first = model(audio(), IDS).logits[:, -1].argmax(-1)
    assert torch.equal(new[:, 0], first)
    assert torch.equal(new, model.generate(audio(), IDS, max_new_tokens=3))   # greedy is deterministic


def test_musilingo_variant_puts_projected_music_tokens_inside_the_prompt():
    model = tiny_model("musilingo")
    frames = model.encoder(audio()).last_hidden_state.shape[1]
    tokens = model.music_features(audio())
    assert tokens.shape == (2, -(-frames // 10), DIM)
    out = model(audio(), IDS, labels=IDS)
    assert out.logits.shape == (2, 5 + tokens.shape[1], VOCAB) and torch.isfinite(out.loss)
    new = model.generate(audio(), IDS, max_new_tokens=2)
    assert new.shape == (2, 2)
    assert [n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad] == ["bridge", "bridge"]


@pytest.mark.parametrize("variant", ["mullama", "musilingo"])
def test_checkpoint_round_trip(tmp_path, variant):
    model = tiny_model(variant)
    with torch.no_grad():
        for p in model.bridge.parameters():
            p.add_(0.01 * torch.randn_like(p))
        for gate in getattr(model, "gates", []):
            gate.fill_(0.3)
    before = model(audio(), IDS).logits
    loaded = load(model.save(tmp_path / "music-lm"), device="cpu")
    assert loaded.config == model.config
    assert torch.allclose(before, loaded(audio(), IDS).logits, atol=1e-5)


def test_finetune_phase_lora_and_original_checkpoint_conversion():
    model = tiny_model(finetune_params=True)
    assert torch.allclose(model.llm(input_ids=IDS).logits, model(audio(), IDS).logits, atol=1e-6)  # LoRA B = 0
    heads, kv = 4, 2
    original = {
        "mu_mert_agg.weight": torch.randn(1, 4, 1), "mu_mert_proj.weight": torch.randn(DIM, 24),
        "mu_mert_norm_2.weight": torch.randn(DIM), "mu_mert_f3_1.weight": torch.randn(4 * DIM, DIM),
        "prefix_query.weight": torch.randn(2, DIM),
        "llama.layers.3.attention.gate": torch.full((1, heads, 1, 1), 0.2),
        "llama.layers.0.attention.gate": torch.zeros(1, heads, 1, 1),          # not adapted: dropped
        "llama.layers.1.attention_norm.weight": torch.randn(DIM), "llama.norm.weight": torch.randn(DIM),
        "llama.layers.2.attention.lora_wq_l2.weight": torch.arange(DIM * 16.0).reshape(DIM, 16),
        "llama.layers.2.attention.lora_wk_l1.weight": torch.randn(16, DIM),
        "llama.layers.2.attention.wq.bias": torch.arange(float(DIM)),
        "llama.layers.2.feed_forward.w2.bias": torch.randn(DIM),
        "llama.layers.2.feed_forward.lora_w3_l2.weight": torch.randn(64, 16),
    }
    state = convert_mullama_checkpoint(original, model)
    assert set(state) == {
        "bridge.agg.weight", "bridge.proj.weight", "bridge.blocks.1.norm.weight", "bridge.blocks.0.f3.weight",
        "prefix_query.weight", "gates.1", "llm.model.layers.1.input_layernorm.weight", "llm.model.norm.weight",
        "lora.2_self_attn_q_proj.b.weight", "lora.2_self_attn_k_proj.a.weight", "lora.2_self_attn_q_proj.bias",
        "lora.2_mlp_down_proj.bias", "lora.2_mlp_up_proj.b.weight"}
    # Meta's interleaved rotary pairs become Hugging Face's half-split layout: head 0 rows 0,2,4,6 then 1,3,5,7.
    assert state["lora.2_self_attn_q_proj.bias"][:8].tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    assert not torch.allclose(model.llm(input_ids=IDS).logits, model(audio(), IDS).logits, atol=1e-4)
    assert kv == model.n_kv_heads


def test_answer_uses_the_variant_prompt_format(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "<s>", "</s>", "<unk>"] + [f"w{i}" for i in range(VOCAB - 4)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                        unk_token="<unk>")
    model = tiny_model()
    text = model.answer(np.random.default_rng(0).standard_normal(22050).astype(np.float32), 22050,
                        "What is the tempo?", tokenizer, max_new_tokens=4)
    assert isinstance(text, str)
    lingo = tiny_model("musilingo")
    assert isinstance(lingo.answer(np.zeros(8000, np.float32) + 0.1, 8000, "Describe it", tokenizer,
                                   max_new_tokens=3), str)


def test_missing_weights_and_bad_configs_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("BANDMATE_HOME", str(tmp_path))
    with pytest.raises(ToolError, match="No music-LM weights"):
        load("mu-llama", device="cpu")
    with pytest.raises(ToolError, match="No music-LM weights"):
        load(tmp_path / "nowhere")
    with pytest.raises(ToolError, match="Unknown music-LM variant"):
        MusicLMConfig(variant="musicgen")
