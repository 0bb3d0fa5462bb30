"""The clip index: find music in your own collection by a description or by "more like this".

    from index import ClipIndex
    idx = ClipIndex(home)
    idx.add(["~/Music"])
    idx.search("upbeat electronic dance with heavy bass", k=10)
    idx.similar("~/Music/track.wav")

Each clip is analysed (:mod:`tools.listening.analyze`), tagged and captioned (:mod:`tools.listening.caption`),
embedded with all-MiniLM-L6-v2 and given an audio-feature vector (:mod:`index.features`),
stored in SQLite (:mod:`index.store`) and in FAISS (:mod:`index.vectors`).
"""

from index.clip_index import AddReport, ClipIndex, Hit, IndexStats, RemoveReport
from index.ingest import Outcome
from index.vectors import INDEX_TYPES

__all__ = ["AddReport", "ClipIndex", "Hit", "INDEX_TYPES", "IndexStats", "Outcome", "RemoveReport"]
