"""A labelled audio corpus rendered with fluidsynth: every clip knows its true tags.

Clips come from three sources: generated chord progressions played in one of the
genre styles of :mod:`tools.songwriting.arrangement`, Nottingham folk tunes (ABC), and Bach
chorales from the music21 corpus. Each clip is varied in lead General MIDI
instrument, tempo, key (real pieces are transposed), dynamics and drum style,
then rendered by :func:`tools.rendering.synth.render_midi_to_wav`. The plan is a pure
function of the seed, so the same seed gives the same corpus; rendering runs in a
process pool, and a killed run continues where it stopped (``metadata.jsonl`` is
the record of finished clips).

    corpus = synthesize(SynthConfig(n_clips=1000, seed=0), "data/synth")
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from core.errors import ToolError
from core.files import atomic_path
from tools.music.harmony import Key, common_name, note_pc, parse_key
from tools.music.score import Note, Part, Score, SectionMark
from tools.rendering.midi import write_midi
from tools.rendering.synth import render_midi_to_wav
from tools.songwriting.arrangement import STYLES, arrange, backing_parts, drum_part
from tools.songwriting.chord_rules import RuleBasedChordGenerator
from training.readers import JsonlLog

METADATA = "metadata.jsonl"
# Lead instruments with clearly different timbres (names are keys of tools.songwriting.arrangement.INSTRUMENTS).
LEAD_INSTRUMENTS = {"piano": 0, "acoustic guitar": 25, "electric guitar": 27, "organ": 16,
                    "violin": 40, "flute": 73, "trumpet": 56, "marimba": 12}
TONICS = tuple(common_name(pc) for pc in range(12))     # one tonic per pitch class, everyday spelling
# Tempo classes with gaps between them, so a class is never a coin flip at its border.
TEMPO_CLASSES = {"slow": (60, 84), "medium": (96, 120), "fast": (136, 168)}
DYNAMICS = {"soft": 0.55, "medium": 0.8, "loud": 1.0}
DRUM_STYLES = ("pop", "backbeat", "four_on_floor", "swing", "shuffle", "boom_bap", "rnb", "folk", "metal", "country")
SOURCES = ("progression", "nottingham", "bach")


@dataclass(frozen=True)
class SynthConfig:
    """What to render: how many clips, how long, from which sources, with which seed."""

    n_clips: int = 1000
    seed: int = 0
    seconds: float = 8.0
    sample_rate: int = 22050
    workers: int = 0                                  # 0: one per CPU core
    source_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)   # progression, nottingham, bach
    nottingham: str | None = None                     # folder of Nottingham .abc files; None skips that source
    drum_share: float = 0.6                           # share of clips with drums
    soundfont: str | None = None


@dataclass(frozen=True)
class ClipSpec:
    """Everything about one clip, decided before it is rendered; these are its true labels."""

    id: str
    source: str                   # one of SOURCES
    source_ref: str               # progression template seed, "file.abc#tune", or corpus path
    genre: str
    instrument: str               # lead instrument, a key of LEAD_INSTRUMENTS
    tempo_bpm: int
    tempo_class: str
    key: str                      # "G major"
    mode: str
    dynamics: str
    drums: str | None             # drum pattern name, None without drums
    bass: bool
    meter: int                    # beats per bar
    seconds: float

    @property
    def tags(self) -> list[str]:
        """MusicCaps-style aspect tags, all true by construction."""
        tags = [self.genre, self.instrument, f"{self.tempo_class} tempo", f"{self.tempo_bpm} bpm", self.key,
                f"{self.mode} key", f"{self.dynamics} dynamics",
                f"{self.drums.replace('_', ' ')} drums" if self.drums else "no drums"]
        tags += ["bass"] if self.bass else []
        tags += ["triple meter"] if self.meter == 3 else []
        return tags + ["instrumental"]


@dataclass
class Corpus:
    """A rendered corpus: its folder and one record per clip (``metadata.jsonl`` rows)."""

    folder: Path
    clips: list[dict] = field(default_factory=list)
    rendered: int = 0             # clips rendered by this call (the rest were already there)


def plan_corpus(config: SynthConfig) -> list[ClipSpec]:
    """The clips to render, a pure function of ``config`` (same seed, same plan)."""
    rng = random.Random(f"bandmate-synth|{config.seed}")
    tunes = nottingham_tunes(config.nottingham) if config.nottingham else []
    chorales = _bach_chorales()
    weights = [w if (s != "nottingham" or tunes) and (s != "bach" or chorales) else 0.0
               for s, w in zip(SOURCES, config.source_weights)]
    if not any(weights):
        raise ToolError("No clip source is available; give a Nottingham folder or keep progressions on.")
    genres = sorted(STYLES)
    specs = []
    for i in range(config.n_clips):
        source = rng.choices(SOURCES, weights=weights)[0]
        tempo_class = rng.choice(list(TEMPO_CLASSES))
        low, high = TEMPO_CLASSES[tempo_class]
        meter, mode = 4, rng.choice(("major", "minor"))
        if source == "progression":
            genre = rng.choice(genres)
            ref = f"seed{rng.randrange(10**6)}"
        elif source == "nottingham":
            genre, (ref, meter, mode) = "folk", rng.choice(tunes)
        else:
            genre, ref = "classical", rng.choice(chorales)
            mode = "unknown"                          # read from the chorale when it is rendered
        drums = None
        if rng.random() < config.drum_share:
            drums = "waltz" if meter == 3 else (STYLES[genre].drums if genre in STYLES and STYLES[genre].drums
                                                 and rng.random() < 0.5 else rng.choice(DRUM_STYLES))
        specs.append(ClipSpec(
            id=f"synth{config.seed}_{i:05d}", source=source, source_ref=ref, genre=genre,
            instrument=rng.choice(list(LEAD_INSTRUMENTS)), tempo_bpm=rng.randint(low, high), tempo_class=tempo_class,
            key=f"{rng.choice(TONICS)} {mode}", mode=mode, dynamics=rng.choice(list(DYNAMICS)), drums=drums,
            bass=source == "progression" and rng.random() < 0.5, meter=meter, seconds=config.seconds))
    return specs


def synthesize(config: SynthConfig, out_dir: str | Path, *, progress: bool = True) -> Corpus:
    """Render the planned corpus into ``out_dir`` (``clips/*.wav`` + ``metadata.jsonl``), resuming a killed run."""
    out = Path(out_dir)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    log = JsonlLog(out / METADATA)
    done = {row["id"]: row for row in log.rows}
    todo = [s for s in plan_corpus(config) if s.id not in done]
    workers = config.workers or os.cpu_count() or 1
    render = functools.partial(_render_clip, out=out, sample_rate=config.sample_rate, soundfont=config.soundfont,
                               nottingham=config.nottingham)
    rendered = 0
    pool = mp.get_context("fork").Pool(workers) if workers > 1 and len(todo) > 1 else None
    try:
        rows = pool.imap(render, todo) if pool else map(render, todo)
        for row in tqdm(rows, total=len(todo), desc="rendering clips", disable=not progress):
            log.append([row])
            done[row["id"]] = row
            rendered += 1
    finally:
        if pool:
            pool.terminate()
            pool.join()
    order = {s.id: i for i, s in enumerate(plan_corpus(config))}
    clips = sorted((r for r in done.values() if r["id"] in order), key=lambda r: order[r["id"]])
    return Corpus(folder=out, clips=clips, rendered=rendered)


# ---------------------------------------------------------------- building one clip


def build_score(spec: ClipSpec, nottingham: str | None = None) -> Score:
    """The clip's score: the source's notes on the lead instrument at the spec's tempo, key, dynamics and drums."""
    if spec.source == "progression":
        score = _progression_score(spec)
    elif spec.source == "nottingham":
        score = _music21_score(spec, _parse_tune(nottingham, spec.source_ref))
    else:
        score = _music21_score(spec, _parse_corpus(spec.source_ref))
    scale = DYNAMICS[spec.dynamics]
    for part in score.parts:
        part.notes = [Note(n.pitch, n.start, n.duration, max(1, min(127, round(n.velocity * scale))))
                      for n in part.notes if n.start < spec.seconds * spec.tempo_bpm / 60 + 1]
    return score


def _progression_score(spec: ClipSpec) -> Score:
    genre = spec.genre
    instruments = [spec.instrument] + (["bass"] if spec.bass else [])
    arr = arrange(genre, key=spec.key, tempo=spec.tempo_bpm, instruments=instruments,
                  seed=int(spec.source_ref[4:]))
    bars = max(2, int(spec.seconds * spec.tempo_bpm / 60 / arr.beats_per_bar) + 1)
    chords = RuleBasedChordGenerator().progression(section="verse", bars=bars, key=arr.key, genre=genre,
                                                   beats_per_bar=arr.beats_per_bar, seed=int(spec.source_ref[4:]))
    sections = [SectionMark("verse", "verse", 0, bars)]
    parts = [p for p in backing_parts(arr, chords, sections) if not p.is_drums]
    if spec.drums:
        parts.append(drum_part(spec.drums, sections, arr.beats_per_bar))
    swing = 1 / 6 if spec.drums in ("swing", "shuffle") else 0.0
    return Score(spec.id, arr.key, spec.tempo_bpm, arr.beats_per_bar, parts, chords, sections, swing)


def _music21_score(spec: ClipSpec, stream) -> Score:
    """A music21 stream transposed to the spec's tonic, all its voices on the lead instrument."""
    key = parse_key(spec.key)
    source_key = _stream_key(stream)
    shift = (key.tonic_pc - note_pc(source_key.tonic)) % 12
    shift = shift - 12 if shift > 6 else shift
    notes = []
    for n in stream.flatten().notes:
        if type(n).__name__ == "ChordSymbol" or n.duration.quarterLength <= 0:
            continue
        for p in n.pitches:
            notes.append(Note(p.midi + shift, float(n.offset), float(n.duration.quarterLength), 84))
    if not notes:
        raise ToolError(f"{spec.source_ref} has no notes to render; pick another piece.")
    start = min(n.start for n in notes)
    notes = [Note(n.pitch, n.start - start, n.duration, n.velocity) for n in notes]
    parts = [Part("lead", LEAD_INSTRUMENTS[spec.instrument], notes)]
    bars = int(max(n.end for n in notes) // spec.meter) + 1
    if spec.drums:
        parts.append(drum_part(spec.drums, [SectionMark("tune", "verse", 0, bars)], spec.meter))
    return Score(spec.id, key, spec.tempo_bpm, spec.meter, parts, swing=1 / 6 if spec.drums in ("swing", "shuffle") else 0.0)


def _stream_key(stream) -> Key:
    """The piece's key: the ABC K: field when there is one, else music21's key analysis."""
    abc_key = getattr(stream, "bandmate_key", None)
    if abc_key:
        return abc_key
    k = stream.analyze("key")
    return parse_key(f"{k.tonic.name.replace('-', 'b')} {k.mode}")


def _render_clip(spec: ClipSpec, *, out: Path, sample_rate: int, soundfont: str | None,
                 nottingham: str | None) -> dict:
    """Render one clip (temp file + rename) and return its metadata row."""
    if spec.source == "bach":                       # the chorale's own mode becomes the label
        mode = _stream_key(_parse_corpus(spec.source_ref)).mode
        spec = _replace(spec, key=f"{spec.key.split()[0]} {mode}", mode=mode)
    score = build_score(spec, nottingham)
    wav = out / "clips" / f"{spec.id}.wav"
    midi = wav.with_suffix(".tmp.mid")      # only fluidsynth's input: deleted after the render
    write_midi(score, midi)
    try:
        with atomic_path(wav) as tmp_wav:
            seconds = render_midi_to_wav(midi, tmp_wav, max_seconds=spec.seconds, soundfont=soundfont,
                                         sample_rate=sample_rate)
    finally:
        midi.unlink(missing_ok=True)
    return {"id": spec.id, "audio": f"clips/{wav.name}", **asdict(spec), "seconds": round(seconds, 3),
            "tags": spec.tags}


def _replace(spec: ClipSpec, **changes) -> ClipSpec:
    from dataclasses import replace
    return replace(spec, **changes)


# ---------------------------------------------------------------- sources

_SIMPLE_METERS = {"4/4": 4, "C": 4, "C|": 4, "2/4": 2, "2/2": 4, "3/4": 3}
_ABC_MODES = {"": "major", "maj": "major", "ion": "major", "mix": "major", "lyd": "major",
              "m": "minor", "min": "minor", "aeo": "minor", "dor": "minor", "phr": "minor"}


@functools.lru_cache(maxsize=None)
def nottingham_tunes(folder: str) -> list[tuple[str, int, str]]:
    """(``file.abc#X``, beats per bar, mode) for every tune in a simple meter (jigs' 6/8 are left out)."""
    tunes = []
    for path in sorted(Path(folder).glob("*.abc")):
        for number, text in _abc_tunes(str(path)).items():
            meter = re.search(r"^M:\s*(\S+)", text, re.M)
            key = re.search(r"^K:\s*([A-G][#b]?)\s*([a-zA-Z]*)", text, re.M)
            if meter and key and meter.group(1) in _SIMPLE_METERS and key.group(2).lower()[:3] in _ABC_MODES:
                mode = _ABC_MODES[key.group(2).lower()[:3]]
                tunes.append((f"{path.name}#{number}", min(_SIMPLE_METERS[meter.group(1)], 4), mode))
    return tunes


@functools.lru_cache(maxsize=16)
def _abc_tunes(path: str) -> dict[str, str]:
    """Tune number -> the tune's ABC text (file header lines are not needed by these files)."""
    text = Path(path).read_text(encoding="latin-1")
    chunks = re.split(r"^(?=X:)", text, flags=re.M)
    out = {}
    for chunk in chunks:
        number = re.match(r"X:\s*(\d+)", chunk)
        if number:
            out[number.group(1)] = chunk
    return out


@functools.lru_cache(maxsize=64)
def _parse_tune(folder: str | None, ref: str):
    from music21 import converter

    if not folder:
        raise ToolError(f"Clip {ref} needs the Nottingham folder; pass --nottingham.")
    name, number = ref.split("#")
    text = _abc_tunes(str(Path(folder) / name))[number]
    stream = converter.parse(text, format="abc")
    tonic, mode = re.search(r"^K:\s*([A-G][#b]?)\s*([a-zA-Z]*)", text, re.M).groups()
    stream.bandmate_key = Key(tonic, _ABC_MODES[mode.lower()[:3]])
    return stream


@functools.lru_cache(maxsize=1)
def _bach_chorales() -> list[str]:
    try:
        from music21 import corpus
        return sorted(str(p.relative_to(Path(corpus.__file__).parent)) for p in corpus.getComposer("bach"))
    except Exception:  # a music21 install without its corpus: that source is skipped
        return []


@functools.lru_cache(maxsize=64)
def _parse_corpus(ref: str):
    from music21 import converter, corpus

    return converter.parse(Path(corpus.__file__).parent / ref)
