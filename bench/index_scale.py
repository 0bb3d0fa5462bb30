"""FAISS at scale: query latency, recall@10 against exact search, build time and memory per vector.

    python bench/index_scale.py [--sizes 10000,100000,1000000] [--queries 200] [--types flat,ivf,ivfpq,hnsw]

Vectors are synthetic 384-d unit vectors shaped like sentence embeddings: a power-law variance
spectrum (variance of the i-th principal direction ~ 1/i) in a random basis, around a shared
mean direction. Uniform random vectors would be the worst case for any partitioned index. Queries come from the same distribution
and are not in the index. Latency is one query at a time on one thread (p50/p95, ms); recall@10
is the overlap with exact inner-product search; memory is the serialised index size per vector
(ids included). The index types and parameters are exactly those ClipIndex uses
(``index.vectors.choose_spec``); HNSW is skipped above 100k (its build takes minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.vectors import IndexSpec, VectorIndex, choose_spec  # noqa: E402

DIM = 384


def synthetic(n: int, rng: np.random.Generator, basis: np.ndarray, scales: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``n`` unit vectors with a power-law variance spectrum in a random basis around a common mean direction."""
    out = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = (rng.standard_normal((m, DIM), dtype=np.float32) * scales) @ basis + mean
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--types", default="flat,ivf,hnsw", help="also: ivfpq (slow to train here, recall capped ~0.44)")
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)          # OpenMP spin-waits badly on a shared 2-core machine
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)
    scales = (np.arange(1, DIM + 1) ** -0.5).astype(np.float32)    # variance falls off like i^-1
    mean = (basis[-1] * 0.5).astype(np.float32)                    # embeddings share a mean direction
    sizes = [int(s) for s in args.sizes.split(",")]
    data = synthetic(max(sizes), rng, basis, scales, mean)
    queries = synthetic(args.queries, rng, basis, scales, mean)
    print("| vectors | index | params | build s | p50 ms | p95 ms | recall@10 | bytes/vector |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        x, ids = data[:n], np.arange(1, n + 1, dtype=np.int64)
        exact = faiss.IndexFlatIP(DIM)
        exact.add(x)
        truth = exact.search(queries, 10)[1] + 1
        del exact
        for kind in args.types.split(","):
            if kind == "hnsw" and n > 100_000:
                continue
            spec = choose_spec(n, DIM, kind)
            if spec.kind != kind:
                continue
            t0 = time.perf_counter()
            index = VectorIndex.build(spec, ids, x)
            build = time.perf_counter() - t0
            for nprobe in _probes(spec):
                _set_nprobe(index, nprobe)
                times, found = [], []
                for q in queries:
                    t = time.perf_counter()
                    found.append(index.search(q[None, :], 10)[1][0])
                    times.append((time.perf_counter() - t) * 1000)
                recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
                params = f"nlist {spec.nlist}, nprobe {nprobe}" if spec.nlist else ("efSearch 96" if kind == "hnsw" else "-")
                default = " (default)" if nprobe == spec.nprobe else ""
                print(f"| {n:,} | {kind} | {params}{default} | {build:.1f} | {np.percentile(times, 50):.2f} | "
                      f"{np.percentile(times, 95):.2f} | {recall:.3f} | {index.memory_bytes() / n:.0f} |", flush=True)
            del index


def _probes(spec: IndexSpec) -> list[int]:
    if not spec.nlist:
        return [0]
    return sorted({spec.nprobe, *(max(1, spec.nlist // d) for d in (32, 16, 8, 4))})


def _set_nprobe(index: VectorIndex, nprobe: int) -> None:
    import faiss

    if nprobe:
        faiss.extract_index_ivf(index.index).nprobe = nprobe


if __name__ == "__main__":
    main()
