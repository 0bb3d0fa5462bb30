"""What the index stores about a real recording: the pretrained tagger's tags beside the measured ones, and
its tag probabilities inside the "more like this" vector."""

from __future__ import annotations

import numpy as np

from index.features import (
    AUDIO_DIM,
    TAG_DIM,
    Described,
    audio_vector,
    describe_audio,
    tag_clip,
)
from tests.support import SHARED_DATA

TRUMPET = SHARED_DATA / "audio" / "sorohanro_-_solo-trumpet-06.ogg"


def test_a_real_recording_is_described_with_tagger_tags_and_a_tag_block():
    described = describe_audio(TRUMPET)
    assert isinstance(described, Described)
    assert described.tags[0] == "jazz"                                   # the tagger's, before the measured ones
    assert any(t.endswith("bpm") for t in described.tags)
    vector = described.audio_vector
    assert vector.shape == (AUDIO_DIM,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4
    words, probabilities = tag_clip(TRUMPET)
    assert probabilities.shape == (TAG_DIM,) and 0.7 < probabilities.max() <= 1 and "jazz" in words
    # the tag block is what the vector loses when the probabilities are left out
    from tools.listening.analyze import analyze_audio

    without = audio_vector(TRUMPET, analyze_audio(TRUMPET))
    assert float(vector @ without) < 0.95
