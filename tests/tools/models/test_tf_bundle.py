"""Reading a TensorFlow checkpoint without TensorFlow: the published musicnn bundles, and damaged files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.errors import ToolError
from tools.models.musicnn import checkpoint_folder
from tools.models.tf_bundle import read_bundle


def test_every_variable_of_the_published_checkpoint_is_read_with_its_shape():
    variables = read_bundle(str(checkpoint_folder("musicnn-mtt")) + "/")
    assert variables["conv2d/kernel"].shape == (7, 38, 1, 204)
    assert variables["dense_1/kernel"].shape == (200, 50)
    for stat in ("beta", "gamma", "moving_mean", "moving_variance"):
        assert variables[f"batch_normalization_9/{stat}"].shape == (1506,)
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in variables.values())
    assert (variables["batch_normalization_9/moving_variance"] > 0).all()     # real statistics, not zeros


def test_a_truncated_index_or_a_missing_data_file_is_one_clear_error(tmp_path):
    source = checkpoint_folder("musicnn-msd")
    (tmp_path / ".index").write_bytes((source / ".index").read_bytes()[:-20])
    with pytest.raises(ToolError, match="not a readable TensorFlow checkpoint"):
        read_bundle(str(tmp_path) + "/")
    shutil.copy(source / ".index", tmp_path / ".index")                 # no .data shard beside it
    with pytest.raises(ToolError, match="reinstall"):
        read_bundle(str(tmp_path) + "/")
