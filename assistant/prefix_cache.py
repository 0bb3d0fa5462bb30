"""Evaluated prompts kept in memory, so a model call whose prompt starts like an earlier call's (not only the
last one's) reads only the rest.

llama.cpp keeps one KV cache: a call reuses the part of its prompt that matches the call just before it. The
crafted lyrics interleave calls (a section's draft, its fix calls, the next section's draft with the same song
sheet), and the agent's next decision follows a tool's own calls, so most of a prompt would be read again.
After each call the model's state is copied here (llama.cpp's state bytes: ~28 KB a token for the embedded
1.5B model, ~5 ms for a 200-token prompt), and before a call the entry sharing the longest start with its
prompt is put back when it saves at least :attr:`PrefixStates.min_gain` tokens. llama-cpp-python's own
``LlamaRAMCache`` copies the model's 300 MB logits buffer with every entry (~0.3 s a call); this does not.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from typing import Any


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class PrefixStates:
    """A few evaluated prompts (token ids and the model's state bytes), least recently used dropped first."""

    def __init__(self, max_bytes: int = 256 << 20, min_gain: int = 16):
        self.max_bytes = max_bytes
        self.min_gain = min_gain
        self._entries: OrderedDict[tuple[int, ...], bytes] = OrderedDict()

    def save(self, llama: Any) -> None:
        """Keep the model's current state (its evaluated tokens, KV cache)."""
        import llama_cpp

        ids = tuple(int(t) for t in llama.input_ids[: llama.n_tokens])
        if not ids:
            return
        ctx = llama._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        if size > self.max_bytes:
            return
        buf = (ctypes.c_uint8 * size)()
        n = llama_cpp.llama_state_get_data(ctx, buf, size)
        # an entry that only extends another makes that one redundant: the longer one serves both
        for key in [k for k in self._entries if len(k) <= len(ids) and ids[: len(k)] == k]:
            del self._entries[key]
        self._entries[ids] = ctypes.string_at(buf, n)
        while sum(len(v) for v in self._entries.values()) > self.max_bytes:
            self._entries.popitem(last=False)

    def restore(self, llama: Any, prompt: str) -> int:
        """Put back the kept state that shares the longest start with ``prompt``, if it beats what the model
        holds by :attr:`min_gain` tokens; returns the tokens that no longer need reading (0 when none)."""
        import llama_cpp
        import numpy as np

        if not self._entries:
            return 0
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        held = _common(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        best_key, best = None, held
        for key in self._entries:
            shared = _common(list(key), tokens)
            if shared > best:
                best_key, best = key, shared
        if best_key is None or best - held < self.min_gain:
            return 0
        data = self._entries.pop(best_key)
        self._entries[best_key] = data          # most recently used
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, buf, len(data)) != len(data):
            llama.reset()
            return 0
        ids = np.zeros(llama.n_ctx(), dtype=np.intc)
        ids[: len(best_key)] = best_key
        llama.input_ids = ids
        llama.n_tokens = len(best_key)
        llama._requires_eval = True         # the logits are not a live decode's: the next call evaluates a token
        return best - held
