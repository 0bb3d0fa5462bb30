"""Read a TensorFlow checkpoint (a tensor bundle: ``<prefix>.index`` + ``<prefix>.data-*``) without TensorFlow.

The ``.index`` file is a LevelDB-format table (prefix-compressed key/value blocks, a block index and
a 48-byte footer) whose keys are variable names and whose values are ``BundleEntryProto`` messages
(dtype, shape, shard, offset, size); the ``.data`` shards hold the raw little-endian tensors.

    variables = read_bundle("…/musicnn/MTT_musicnn/")      # {'conv2d/kernel': array (7, 38, 1, 204), …}
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from core.errors import ToolError

_MAGIC = 0xDB4775248B80FB57                                  # LevelDB table magic, the footer's last 8 bytes
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 19: np.float16}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The base-128 varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """A protobuf message as (field number, value) pairs: ints for varint/fixed fields, bytes for the rest."""
    out, pos = [], 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(message, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", message, pos)[0], pos + 8
        elif wire == 5:
            value, pos = struct.unpack_from("<I", message, pos)[0], pos + 4
        elif wire == 2:
            size, pos = _varint(message, pos)
            value, pos = message[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def _block(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one table block (keys share prefixes with the previous key)."""
    if table[offset + size] != 0:
        raise ValueError("compressed table blocks are not supported")
    block = table[offset:offset + size]
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end, pos, key, entries = len(block) - 4 - 4 * n_restarts, 0, b"", []
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_size, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + value_size]))
        pos += value_size
    return entries


def _entries(index: bytes) -> dict[str, bytes]:
    """Every key of the ``.index`` table (the header's empty key included) and its raw value."""
    if len(index) < 48 or struct.unpack_from("<Q", index, len(index) - 8)[0] != _MAGIC:
        raise ValueError("not a LevelDB table")
    footer = len(index) - 48
    _meta_offset, pos = _varint(index, footer)
    _meta_size, pos = _varint(index, pos)
    index_offset, pos = _varint(index, pos)
    index_size, _ = _varint(index, pos)
    out = {}
    for _last_key, handle in _block(index, index_offset, index_size):
        offset, pos = _varint(handle, 0)
        size, _ = _varint(handle, pos)
        out.update((k.decode(), v) for k, v in _block(index, offset, size))
    return out


def read_bundle(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every variable of the checkpoint at ``prefix`` (``prefix + '.index'`` must exist) as a numpy array.

    Raises ToolError when the files are missing or are not a readable tensor bundle.
    """
    prefix = str(prefix)
    try:
        entries = _entries(Path(prefix + ".index").read_bytes())
        shards: dict[int, bytes] = {}
        n_shards = next((v for f, v in _fields(entries.pop("", b"")) if f == 1), 1)
        variables = {}
        for name, value in entries.items():
            entry = dict(_fields(value))                      # 1 dtype, 2 shape, 3 shard, 4 offset, 5 size
            dims = [dict(_fields(d)).get(1, 0) for f, d in _fields(entry.get(2, b"")) if f == 2]
            shard = entry.get(3, 0)
            if shard not in shards:
                shards[shard] = Path(f"{prefix}.data-{shard:05d}-of-{n_shards:05d}").read_bytes()
            raw = shards[shard][entry.get(4, 0):entry.get(4, 0) + entry.get(5, 0)]
            variables[name] = np.frombuffer(raw, dtype=np.dtype(_DTYPES[entry[1]]).newbyteorder("<")).reshape(dims)
    except (OSError, ValueError, KeyError, IndexError, struct.error) as exc:
        raise ToolError(f"{prefix} is not a readable TensorFlow checkpoint ({exc}); reinstall the package "
                        "that ships it.") from exc
    return variables
