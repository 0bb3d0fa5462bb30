"""The synthetic corpus: real fluidsynth renders whose tags are true, the same for the same seed, resumable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import librosa
import mido
import numpy as np
import soundfile as sf

from tests.support import SHARED_DATA
from tools.rendering.midi import write_midi
from training.data_synth import SynthConfig, build_score, plan_corpus, synthesize

NOTTINGHAM = SHARED_DATA / "nottingham"


def _config(**kw) -> SynthConfig:
    base = dict(n_clips=6, seed=3, seconds=3.0, sample_rate=16000, workers=2,
                nottingham=str(NOTTINGHAM) if NOTTINGHAM.exists() else None)
    return SynthConfig(**{**base, **kw})


def test_plan_is_a_function_of_the_seed_and_varies_every_attribute():
    plan = plan_corpus(_config(n_clips=200))
    assert plan == plan_corpus(_config(n_clips=200))
    assert plan != plan_corpus(_config(n_clips=200, seed=4))
    for attr in ("source", "instrument", "tempo_class", "dynamics", "genre", "mode"):
        assert len({getattr(s, attr) for s in plan}) >= 2, attr
    assert {s.drums is None for s in plan} == {True, False}
    spec = plan[0]
    assert f"{spec.tempo_bpm} bpm" in spec.tags and spec.instrument in spec.tags


def test_rendered_clips_are_real_audio_with_true_labels(tmp_path):
    corpus = synthesize(_config(), tmp_path / "c", progress=False)
    assert corpus.rendered == 6 and len(corpus.clips) == 6
    lines = (tmp_path / "c" / "metadata.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [c["id"] for c in corpus.clips]
    for clip in corpus.clips:
        audio, sr = sf.read(tmp_path / "c" / clip["audio"])
        assert sr == 16000 and 2.5 < len(audio) / sr < 4.0
        assert np.abs(audio).max() > 0.01, f"{clip['id']} is silent"
        assert clip["key"] in clip["tags"] and clip["instrument"] in clip["tags"]
    # The MIDI behind a clip carries the labelled tempo and the lead instrument's program.
    from training.data_synth import LEAD_INSTRUMENTS, ClipSpec
    row = corpus.clips[0]
    spec = ClipSpec(**{k: row[k] for k in ClipSpec.__dataclass_fields__})
    midi = mido.MidiFile(write_midi(build_score(spec, _config().nottingham), tmp_path / "x.mid"))
    tempo = next(m.tempo for m in midi.tracks[0] if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo)) == spec.tempo_bpm
    programs = {m.program for t in midi.tracks for m in t if m.type == "program_change"}
    assert LEAD_INSTRUMENTS[spec.instrument] in programs


def test_same_seed_same_audio_and_a_killed_run_resumes(tmp_path):
    first = synthesize(_config(n_clips=3), tmp_path / "a", progress=False)
    # a killed run: two clips recorded, the last metadata line cut half-way
    meta = tmp_path / "b" / "metadata.jsonl"
    synthesize(_config(n_clips=2), tmp_path / "b", progress=False)
    meta.write_text(meta.read_text() + '{"id": "synth3_000')
    second = synthesize(_config(n_clips=3), tmp_path / "b", progress=False)
    assert second.rendered == 1
    assert [c["id"] for c in second.clips] == [c["id"] for c in first.clips]
    assert len(meta.read_text().splitlines()) == 3
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    for a, b in zip(first.clips, second.clips):
        assert digest(tmp_path / "a" / a["audio"]) == digest(tmp_path / "b" / b["audio"])


def test_tempo_of_a_drum_clip_is_measurable(tmp_path):
    plan = plan_corpus(_config(n_clips=60, seconds=6.0))
    spec = next(s for s in plan if s.source == "progression" and s.drums in ("pop", "backbeat", "four_on_floor")
                and s.tempo_class == "medium")
    from training.data_synth import _render_clip
    row = _render_clip(spec, out=_mkdir(tmp_path), sample_rate=16000, soundfont=None, nottingham=None)
    y, sr = librosa.load(tmp_path / row["audio"], sr=16000)
    tempo = float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=sr)[0])[0])
    assert min(abs(tempo - spec.tempo_bpm * f) for f in (0.5, 1, 2)) < 0.08 * spec.tempo_bpm


def _mkdir(path: Path) -> Path:
    (path / "clips").mkdir(parents=True, exist_ok=True)
    return path
