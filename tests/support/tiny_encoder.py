"""A tiny random-weight BERT saved as a Hugging Face folder: exercises the "any encoder path" code on the CPU."""

from __future__ import annotations

from pathlib import Path

WORDS = ("love night road truck rain heart blues jazz dance fire blood home river the a my you i and of in "
         "baby moon street beat bass whiskey song sea field war steel").split()


def tiny_bert(folder: Path, hidden: int = 16) -> Path:
    """Write a 1-layer BERT with a small word vocabulary to ``folder`` and return it."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizer(str(vocab)).save_pretrained(folder)
    config = BertConfig(vocab_size=len(WORDS) + 5, hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    return folder
