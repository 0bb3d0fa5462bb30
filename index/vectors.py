"""FAISS indexes whose ids are the clip table's primary keys, and how their type follows the collection size.

Vectors are unit length and compared by inner product (cosine). Types:

* ``flat``  exact search; the default while the collection is small (``FLAT_MAX`` vectors).
* ``ivf``   IVF with 8-bit scalar-quantised vectors (``IVF{nlist},SQ8``, 1 byte per dimension),
            ``nlist`` ~ 2·sqrt(n); the automatic choice above ``FLAT_MAX``.
* ``ivfpq`` IVF with product quantisation (``IVF{nlist},PQ{dim/8}``, dim/8 bytes per vector): for
            collections that don't fit in memory as SQ8; lower recall (see docs/index.md).
* ``hnsw``  graph index (``HNSW32``); fast and accurate but no removal, so a removal rebuilds it.

``choose_spec`` picks one; ``bench/index_scale.py`` measures them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.errors import ToolError

INDEX_TYPES = ("auto", "flat", "ivf", "ivfpq", "hnsw")
FLAT_MAX = 50_000            # exact search stays under ~5 ms per query up to here (384-d, one core)
MIN_TRAIN_PER_LIST = 39      # FAISS's k-means wants at least this many points per centroid
TRAIN_PER_LIST = 64          # train IVF on at most this many sampled vectors per list
MIN_NPROBE, NPROBE_SHARE = 64, 1 / 16   # lists probed: recall@10 >= 0.95 at 10k-1M in bench/index_scale.py
HNSW_EF_SEARCH = 96


@dataclass(frozen=True)
class IndexSpec:
    """A concrete FAISS index type and its size parameters."""

    kind: str                 # flat, ivf, ivfpq or hnsw
    dim: int
    nlist: int = 0            # IVF lists
    nprobe: int = 0           # IVF lists probed per query

    @property
    def factory(self) -> str:
        """The faiss.index_factory string."""
        return {"flat": "IDMap2,Flat", "hnsw": "IDMap2,HNSW32", "ivf": f"IVF{self.nlist},SQ8",
                "ivfpq": f"IVF{self.nlist},PQ{_pq_m(self.dim)}"}[self.kind]

    @property
    def supports_remove(self) -> bool:
        return self.kind != "hnsw"

    def to_dict(self) -> dict:
        return asdict(self)


def check_index_type(index_type: str) -> str:
    """``index_type`` if known, else a ToolError naming the choices."""
    if index_type not in INDEX_TYPES:
        raise ToolError(f"Unknown index type {index_type!r}; use one of {', '.join(INDEX_TYPES)}.")
    return index_type


def choose_spec(n: int, dim: int, index_type: str = "auto") -> IndexSpec:
    """The index for ``n`` vectors: exact while small, IVF when large (``index_type`` overrides).

    An IVF type asked for on too few vectors to train falls back to flat (it would be slower and worse).
    """
    kind = check_index_type(index_type)
    if kind == "auto":
        kind = "flat" if n < FLAT_MAX else "ivf"
    if kind in ("ivf", "ivfpq"):
        nlist = ivf_lists(n)
        if n < nlist * MIN_TRAIN_PER_LIST or n < 1000:
            return IndexSpec("flat", dim)
        return IndexSpec(kind, dim, nlist=nlist, nprobe=min(nlist, max(MIN_NPROBE, round(nlist * NPROBE_SHARE))))
    return IndexSpec(kind, dim)


def ivf_lists(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: the power of two nearest 2·sqrt(n), 64 to 65536."""
    return int(min(65536, max(64, 2 ** round(math.log2(2 * math.sqrt(max(n, 1)))))))


def _pq_m(dim: int) -> int:
    """PQ sub-quantisers: 8 dimensions each (48 bytes for 384-d), a divisor of ``dim``."""
    m = max(1, dim // 8)
    while dim % m:
        m -= 1
    return m


class VectorIndex:
    """A FAISS index of unit vectors keyed by int64 ids, with its :class:`IndexSpec`."""

    def __init__(self, spec: IndexSpec, index) -> None:
        self.spec, self.index = spec, index
        self._tune()

    @classmethod
    def build(cls, spec: IndexSpec, ids: np.ndarray, vectors: np.ndarray, *, seed: int = 0) -> "VectorIndex":
        """A new index holding ``vectors`` under ``ids`` (an IVF index is trained on a sample of them)."""
        import faiss

        index = faiss.index_factory(spec.dim, spec.factory, faiss.METRIC_INNER_PRODUCT)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not index.is_trained:
            train_max = TRAIN_PER_LIST * spec.nlist
            rng = np.random.default_rng(seed)
            sample = vectors if len(vectors) <= train_max else vectors[np.sort(rng.choice(len(vectors), train_max, replace=False))]
            faiss.extract_index_ivf(index).cp.niter = 10      # coarse lists need little polish; saves minutes at 1M
            index.train(sample)
        out = cls(spec, index)
        out.add(ids, vectors)
        return out

    @classmethod
    def load(cls, path: Path, spec: IndexSpec) -> "VectorIndex":
        import faiss

        return cls(spec, faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        """Write to ``path`` (the caller renames a temp file into place; see ClipIndex)."""
        import faiss

        faiss.write_index(self.index, str(path))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids, vectors) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, np.int64))

    def remove(self, ids) -> int:
        """Remove ``ids`` (absent ones are ignored); only when ``spec.supports_remove``."""
        if not len(ids):
            return 0
        return int(self.index.remove_ids(np.asarray(ids, np.int64)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (len(queries), k); missing neighbours have id -1."""
        k = max(1, min(k, self.ntotal))
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def memory_bytes(self) -> int:
        """Bytes the serialised index takes (close to its size in memory)."""
        import faiss

        return int(faiss.serialize_index(self.index).nbytes)

    def _tune(self) -> None:
        import faiss

        if self.spec.kind in ("ivf", "ivfpq"):
            faiss.extract_index_ivf(self.index).nprobe = self.spec.nprobe
        elif self.spec.kind == "hnsw":
            faiss.downcast_index(self.index.index).hnsw.efSearch = HNSW_EF_SEARCH
