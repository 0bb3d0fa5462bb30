"""musicnn (Pons & Serra, 2019) in PyTorch: a pretrained music tagger over 3-second log-mel patches.

A musically motivated front end (timbral filters that span 40% and 70% of the mel axis, temporal
filters 128, 64 and 32 frames long, each max-pooled over frequency), three dense mid-end 1-D
convolutions with residual connections, and a back end that pools max and mean over time into a
dense layer and 50 sigmoid tags. The weights are the authors' published TensorFlow checkpoints,
read from the ``musicnn`` wheel (ISC licence) by :mod:`tools.models.tf_bundle`; nothing imports
TensorFlow. ``tests/tools/models/test_musicnn.py`` checks the port against the original graph.

    model = load("musicnn-mtt")                       # MagnaTagATune: guitar, piano, male vocal, techno…
    probs = model.tag_patches(model.patches(log_mel(samples_16k)))    # (n_patches, 50)
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ToolError

MTT_LABELS = ('guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast', 'piano',
              'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male', 'singing', 'vocals',
              'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman', 'male vocal', 'no vocal', 'pop', 'soft',
              'sitar', 'solo', 'man', 'classic', 'choir', 'voice', 'new age', 'dance', 'male voice', 'female vocal',
              'beats', 'harp', 'cello', 'no voice', 'weird', 'country', 'metal', 'female voice', 'choral')
MSD_LABELS = ('rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s',
              'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists', 'classic rock', 'soul',
              'indie rock', 'Mellow', 'electronica', '80s', 'folk', '90s', 'chill', 'instrumental', 'punk', 'oldies',
              'blues', 'hard rock', 'ambient', 'acoustic', 'experimental', 'female vocalist', 'guitar', 'Hip-Hop',
              '70s', 'party', 'country', 'easy listening', 'sexy', 'catchy', 'funk', 'electro', 'heavy metal',
              'Progressive rock', '60s', 'rnb', 'indie pop', 'sad', 'House', 'happy')

# Registry name -> (folder of the checkpoint inside the musicnn wheel, its labels)
REGISTRY = {"musicnn-mtt": ("MTT_musicnn", MTT_LABELS), "musicnn-msd": ("MSD_musicnn", MSD_LABELS)}
INSTALL = "pip install --no-deps musicnn==0.1.0"


@dataclass(frozen=True)
class MusicnnConfig:
    """The network's shape and its spectrogram: the published models use the defaults."""

    labels: tuple[str, ...] = MTT_LABELS
    sample_rate: int = 16000
    n_fft: int = 512
    hop: int = 256
    n_mels: int = 96
    n_frames: int = 187                   # a 3 s patch: librosa.time_to_frames(3, sr, n_fft, hop) + 1
    frontend_width: float = 1.6           # timbral filters = 128 * width, temporal = 32 * width
    midend_filters: int = 64
    backend_units: int = 200
    bn_eps: float = 1e-3                  # tf.compat.v1.layers.batch_normalization's default

    @classmethod
    def tiny(cls, labels: tuple[str, ...] = MTT_LABELS[:8]) -> MusicnnConfig:
        """A random-weight CPU toy with the same layers, for tests of shapes and plumbing."""
        return cls(labels=labels, frontend_width=0.1, midend_filters=8, backend_units=16)


class Musicnn(nn.Module):
    """(batch, n_frames, n_mels) log-mel patches -> (batch, n_labels) tag logits."""

    def __init__(self, config: MusicnnConfig) -> None:
        super().__init__()
        self.config = config
        eps, mels = config.bn_eps, config.n_mels
        timbral, temporal = int(config.frontend_width * 128), int(config.frontend_width * 32)
        self.input_bn = nn.BatchNorm2d(1, eps=eps)
        # timbral: 7 frames x 40% / 70% of the mel bands; temporal: 128 / 64 / 32 frames x 1 band
        self.timbral_widths = (int(0.4 * mels), int(0.7 * mels))
        self.temporal_lengths = (128, 64, 32)
        self.frontend = nn.ModuleList([nn.Conv2d(1, timbral, (7, w)) for w in self.timbral_widths] +
                                      [nn.Conv2d(1, temporal, (t, 1)) for t in self.temporal_lengths])
        self.frontend_bn = nn.ModuleList([nn.BatchNorm2d(c.out_channels, eps=eps) for c in self.frontend])
        front = 2 * timbral + 3 * temporal
        mid = config.midend_filters
        self.midend = nn.ModuleList([nn.Conv1d(front, mid, 7, padding=3), nn.Conv1d(mid, mid, 7, padding=3),
                                     nn.Conv1d(mid, mid, 7, padding=3)])
        self.midend_bn = nn.ModuleList([nn.BatchNorm1d(mid, eps=eps) for _ in self.midend])
        pooled = 2 * (front + 3 * mid)                         # max and mean over time of every feature map
        self.pool_bn = nn.BatchNorm1d(pooled, eps=eps)
        self.dense = nn.Linear(pooled, config.backend_units)
        self.dense_bn = nn.BatchNorm1d(config.backend_units, eps=eps)
        self.out = nn.Linear(config.backend_units, len(config.labels))
        self.dropout = nn.Dropout(0.5)
        self.meta: dict = {}

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(patches.unsqueeze(1))                # (B, 1, time, mel)
        maps = []
        for conv, bn in zip(self.frontend, self.frontend_bn):
            k = conv.kernel_size[0]
            if k == 7:                                         # timbral: pad time only, 'valid' in frequency
                padded = F.pad(x, (0, 0, 3, 3))
            else:                                              # temporal: TensorFlow's 'same' (extra frame after)
                padded = F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2))
            maps.append(bn(F.relu(conv(padded))).amax(dim=3))  # max over frequency -> (B, C, time)
        front = torch.cat(maps, dim=1)
        layers, h = [front], front
        for i, (conv, bn) in enumerate(zip(self.midend, self.midend_bn)):
            h = bn(F.relu(conv(h))) + (h if i else 0)          # the 2nd and 3rd layers are residual
            layers.append(h)
        features = torch.cat(layers, dim=1)                    # (B, front + 3 * mid, time)
        # TF flattens (features, [max, mean]) row by row, so the two pools interleave per feature
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        hidden = self.dense_bn(F.relu(self.dense(self.dropout(self.pool_bn(pooled)))))
        return self.out(self.dropout(hidden))

    def patches(self, log_mel_frames: np.ndarray, hop_frames: int | None = None) -> np.ndarray:
        """(n, n_frames, n_mels) patches of a (time, n_mels) log-mel, ``hop_frames`` apart (default: no overlap).

        A spectrogram shorter than one patch is repeated to fill it, as the published models were trained.
        """
        n, rep = self.config.n_frames, np.asarray(log_mel_frames, dtype=np.float32)
        if len(rep) == 0:
            raise ToolError("The audio is empty; give a recording at least a second long.")
        if len(rep) < n:
            rep = np.tile(rep, (int(np.ceil(n / len(rep))), 1))[:n]
        starts = range(0, len(rep) - n + 1, hop_frames or n)
        return np.stack([rep[s:s + n] for s in starts])

    @torch.no_grad()
    def tag_patches(self, patches: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Tag probabilities (n_patches, n_labels) of log-mel patches from :meth:`patches`."""
        device = self.out.weight.device
        out = [torch.sigmoid(self(torch.as_tensor(patches[i:i + batch_size], device=device))).cpu().numpy()
               for i in range(0, len(patches), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.config.labels)), np.float32)


def log_mel(samples: np.ndarray, config: MusicnnConfig = MusicnnConfig()) -> np.ndarray:
    """The (time, n_mels) log-compressed mel spectrogram musicnn hears, of mono audio at ``config.sample_rate``.

    As in musicnn's extractor: librosa's power mel cast to float16, then ``log10(10000 * mel + 1)``. The extractor
    also takes the log in float16, where ``10000 * mel`` overflows to inf on loud bins (mel power > 6.55) and
    the network then gives every patch the same tags; the log here is taken in float32.
    """
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(samples, dtype=np.float32), sr=config.sample_rate,
                                         hop_length=config.hop, n_fft=config.n_fft, n_mels=config.n_mels).T
    return np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)


def checkpoint_folder(name: str) -> Path:
    """The folder of a published checkpoint inside the installed ``musicnn`` wheel (without importing it)."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError(f"The pretrained musicnn weights are not installed; run `{INSTALL}`.")
    folder = Path(next(iter(spec.submodule_search_locations))) / REGISTRY[name][0]
    if not (folder / ".index").is_file():
        raise ToolError(f"The musicnn checkpoint {folder} is missing; reinstall it with `{INSTALL}`.")
    return folder


def from_tensorflow(variables: dict[str, np.ndarray], config: MusicnnConfig) -> Musicnn:
    """A :class:`Musicnn` holding the weights of musicnn's TensorFlow graph (variables by their TF names)."""
    model = Musicnn(config)
    t = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in variables.items()}

    def bn(module: nn.Module, i: int) -> None:
        scope = "batch_normalization" + (f"_{i}" if i else "")
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                             ("running_var", "moving_variance")):
            getattr(module, ours).data.copy_(t[f"{scope}/{theirs}"])

    def conv(module: nn.Module, i: int) -> None:
        scope = "conv2d" + (f"_{i}" if i else "")
        kernel = t[f"{scope}/kernel"]                         # TF: (time, freq, in, out)
        weight = kernel.permute(3, 2, 0, 1) if module.weight.dim() == 4 else kernel[:, :, 0, :].permute(2, 1, 0)
        module.weight.data.copy_(weight)
        module.bias.data.copy_(t[f"{scope}/bias"])

    # TF numbered the layers in the order models.py builds them: input BN, the five front-end blocks,
    # the three mid-end layers, then the back end.
    bn(model.input_bn, 0)
    for i, (c, b) in enumerate(zip(model.frontend, model.frontend_bn)):
        conv(c, i)
        bn(b, i + 1)
    for i, (c, b) in enumerate(zip(model.midend, model.midend_bn)):
        conv(c, i + 5)
        bn(b, i + 6)
    bn(model.pool_bn, 9)
    bn(model.dense_bn, 10)
    model.dense.weight.data.copy_(t["dense/kernel"].T)
    model.dense.bias.data.copy_(t["dense/bias"])
    model.out.weight.data.copy_(t["dense_1/kernel"].T)
    model.out.bias.data.copy_(t["dense_1/bias"])
    return model


def load(name: str = "musicnn-mtt", device: str | None = None) -> Musicnn:
    """A published musicnn tagger (``musicnn-mtt`` or ``musicnn-msd``) in eval mode; ``device=None`` picks CUDA
    when present. Raises ToolError when the ``musicnn`` wheel or its checkpoint is missing."""
    from tools.models.tf_bundle import read_bundle

    if name not in REGISTRY:
        raise ToolError(f"There is no musicnn model called {name!r}; use one of {', '.join(REGISTRY)}.")
    folder = checkpoint_folder(name)
    model = from_tensorflow(read_bundle(str(folder) + "/"), MusicnnConfig(labels=REGISTRY[name][1]))
    model.meta = {"name": name, "path": str(folder), "taxonomy": REGISTRY[name][0].split("_")[0]}
    return model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
