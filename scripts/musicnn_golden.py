"""Make tests/fixtures/musicnn_golden.npz: the ORIGINAL musicnn TensorFlow graph's tag probabilities for a few
3-second patches of three real recordings, which tests/tools/models/test_musicnn.py compares our port with.

It needs TensorFlow, which bandmate never installs, so run it from a throwaway virtualenv outside the repo:

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 librosa numpy
    /tmp/tfvenv/bin/pip install tf-keras==2.21.0              # tf.compat.v1.layers needs Keras 2
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python scripts/musicnn_golden.py      # from the repo root

The graph is built by the wheel's own models.py exactly as its extractor.py does (tf.compat.v1, graph mode,
``is_training=False``) and restored from the wheel's checkpoint; the log-mel patches are computed as
extractor.batch_data does (librosa.load at 16 kHz, float16 mel, log10(10000 x + 1); see log_mel_patches for
the one deviation: the log is taken in float32, as the float16 one overflows on loud bins). The patches of the first
clip are stored too, so the network can be compared on TensorFlow's exact input.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("sorohanro_-_solo-trumpet-06.ogg",
         "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg",
         "Karissa_Hobbs_-_Lets_Go_Fishin.ogg")
PATCH_HOP = 93                      # frames between patch starts (about 1.5 s)
N_PATCHES = 3


def import_musicnn(folder: Path):
    """The wheel's musicnn package from ``folder`` (it lives in bandmate's venv, not in this one)."""
    spec = importlib.util.spec_from_file_location("musicnn", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["musicnn"] = package
    spec.loader.exec_module(package)
    from musicnn import configuration, models
    return configuration, models


def log_mel_patches(path: Path, config, n_frames: int) -> tuple[np.ndarray, list[int]]:
    """Patches from the middle of the recording, ``PATCH_HOP`` frames apart, as musicnn's extractor.batch_data
    computes them."""
    import librosa

    audio, sr = librosa.load(str(path), sr=config.SR)
    rep = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE,
                                         n_mels=config.N_MELS).T
    # extractor.py casts the mel to float16 and takes the log in float16 too, where 10000 * mel overflows to inf
    # for loud bins (mel power > 6.55: about 1% of a normal pop recording), after which the graph outputs the
    # same tags for every patch. Like our port, keep the float16 mel but take the log in float32.
    rep = np.log10(10000 * rep.astype(np.float16).astype(np.float32) + 1)
    middle = max(0, (len(rep) - n_frames - (N_PATCHES - 1) * PATCH_HOP) // 2)     # skip quiet intros
    starts = list(range(middle, len(rep) - n_frames + 1, PATCH_HOP))[:N_PATCHES]
    return np.stack([rep[s:s + n_frames] for s in starts]), starts


def tag(folder: Path, models, config, model: str, batch: np.ndarray) -> np.ndarray:
    """Sigmoid tag probabilities of the restored original graph for a batch of patches."""
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    labels = config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, batch.shape[1], config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y = models.define_model(x, is_training, model, len(labels))[0]
        probabilities = tf.nn.sigmoid(y)
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, str(folder / model) + "/")
        return sess.run(probabilities, feed_dict={x: batch, is_training: False})


def main() -> None:
    default = next(iter(glob.glob(str(REPO / ".venv/lib/python*/site-packages/musicnn"))), None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--musicnn", type=Path, default=default, help="the musicnn package folder of the wheel")
    parser.add_argument("--audio", type=Path, default=REPO.parent / "shared/data/audio")
    parser.add_argument("--out", type=Path, default=REPO / "tests/fixtures/musicnn_golden.npz")
    args = parser.parse_args()
    import librosa

    config, models = import_musicnn(args.musicnn)
    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    arrays: dict[str, np.ndarray] = {"clips": np.array(CLIPS), "n_frames": np.array(n_frames)}
    for i, clip in enumerate(CLIPS):
        batch, starts = log_mel_patches(args.audio / clip, config, n_frames)
        arrays[f"starts_{i}"] = np.array(starts)
        if i == 0:
            arrays["patches_0"] = batch
        for model in ("MTT_musicnn", "MSD_musicnn"):
            arrays[f"{model}_{i}"] = tag(args.musicnn, models, config, model, batch.astype(np.float32))
            print(clip, model, np.round(arrays[f"{model}_{i}"].max(1), 3))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
