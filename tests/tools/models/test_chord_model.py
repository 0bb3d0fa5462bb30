"""The learned chord generator: training on real data, constrained seeded sampling, checkpoints, the shipped models."""

from dataclasses import asdict, replace

import pytest
import torch
import torch.nn.functional as F

from core.errors import ToolError
from tests.support.tiny_encoder import tiny_bert
from tools.models import checkpoints
from tools.models.checkpoints import save_checkpoint
from tools.models.chord_model import LENGTH_BUCKETS, ChordModel, ChordModelConfig, load
from tools.music.harmony import parse_chord, parse_key
from tools.songwriting.chord_rules import RuleBasedChordGenerator
from tools.songwriting.chords import default_chord_generator
from tools.songwriting.learned_chords import LearnedChordGenerator
from training.chord_corpora import load_romantext
from training.chord_data import ChordSequence, synthetic_sequences
from training.rlhf import RLHFConfig
from training.train_chords import MODEL_GENRES, TrainConfig, build_vocab, train_chords


@pytest.fixture(scope="module")
def sequences():
    from music21 import corpus

    analyses = sorted(str(p) for p in corpus.getCorePaths() if str(p).endswith(".rntxt"))[:12]
    return load_romantext(analyses) + synthetic_sequences(per_pool=2)


@pytest.fixture(scope="module")
def tiny(sequences, tmp_path_factory):
    path = tmp_path_factory.mktemp("chords") / "tiny.pt"
    result = train_chords(sequences, path, config=TrainConfig.tiny(),
                          model_config=ChordModelConfig.tiny(build_vocab(sequences), MODEL_GENRES), log=lambda _: None)
    return result


def test_training_writes_a_checkpoint_with_config_data_hash_and_metrics(tiny):
    model = load(tiny.path, device="cpu")
    assert model.meta["data_hash"] and set(model.meta["trained_on"]) == {"romantext", "synthetic"}
    assert 0 <= tiny.metrics["accuracy"] <= 1 and tiny.metrics["perplexity"] > 1
    assert model.config.vocab[:5] == ("<pad>", "<bos>", "<eos>", "<unk>", "|") and "V7" in model.config.vocab


def test_sampling_gives_whole_bars_seeded_and_constrained(tiny):
    gen = LearnedChordGenerator(load(tiny.path, device="cpu"), temperature=1.0, top_p=1.0)
    key = parse_key("G")
    bars = gen.romans(section="verse", bars=12, key=key, genre="folk", lyrics=["down by the river"], seed=4)
    assert len(bars) == 12 and all(1 <= len(b) <= 2 for b in bars)
    assert all(len(set(b)) == len(b) for b in bars)               # no chord twice inside one bar
    assert bars == gen.romans(section="verse", bars=12, key=key, genre="folk", lyrics=["down by the river"], seed=4)
    others = [gen.romans(section="verse", bars=12, key=key, genre="folk", seed=s) for s in range(1, 5)]
    assert any(o != bars for o in others)
    assert gen.romans(section="chorus", bars=4, key=key, genre="pop", seed=1, start="vi")[0][0] == "vi"


def test_remembered_sections_are_what_sampling_gives(tiny):
    """A repeated section (every chorus) is served from memory: same chords as a fresh sample, not aliased."""
    model = load(tiny.path, device="cpu")
    ask = dict(section="chorus", bars=8, key=parse_key("E"), genre="rock", lyrics=["we ride tonight"], seed=3)
    remembering = LearnedChordGenerator(model)
    first = remembering.romans(**ask)
    first[0].append("changed by the caller")
    assert remembering.romans(**ask) == LearnedChordGenerator(model).romans(**ask) != first
    assert remembering.romans(**{**ask, "lyrics": ["another line"]}) == LearnedChordGenerator(model).romans(
        **{**ask, "lyrics": ["another line"]})


def test_progression_is_playable_in_the_key_and_ends_on_the_tonic(tiny):
    gen = LearnedChordGenerator(load(tiny.path, device="cpu"))
    spans = gen.progression(section="chorus", bars=6, key=parse_key("Bb"), genre="pop", cadence=True, seed=2)
    assert spans[0].start == 0 and spans[-1].end == 24
    assert spans[-1].roman == "I" and spans[-1].chord.root == "Bb"
    assert all(parse_chord(s.chord.symbol) == s.chord for s in spans)
    waltz = gen.progression(section="verse", bars=4, key=parse_key("D"), genre="folk", beats_per_bar=3, seed=1)
    assert [s.beats for s in waltz] == [3.0] * 4


@pytest.mark.parametrize("kwargs, message", [
    (dict(bars=0), "out of range"), (dict(bars=10_000), "out of range"),
    (dict(genre="polka"), "does not know the genre"),
])
def test_bad_requests_are_tool_errors(tiny, kwargs, message):
    gen = LearnedChordGenerator(load(tiny.path, device="cpu"))
    request = dict(section="verse", bars=4, key=parse_key("C"), genre="rock", **{})
    with pytest.raises(ToolError, match=message):
        gen.romans(**{**request, **kwargs})
    with pytest.raises(ToolError, match="start chord"):
        gen.romans(**request, start="XIV")


def test_corrupt_or_missing_checkpoint_is_a_tool_error(tmp_path, tiny):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(tiny.path.read_bytes()[:200])
    with pytest.raises(ToolError, match="damaged"):
        load(broken)
    with pytest.raises(ToolError, match="No checkpoint"):
        load(tmp_path / "none.pt")
    (tmp_path / "other.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ToolError, match="bandmate train chords"):
        load(tmp_path / "other.pt")


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, tiny, monkeypatch):
    target = tmp_path / "model.pt"
    target.write_bytes(tiny.path.read_bytes())
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint(load(tiny.path, device="cpu"), target, data_hash="x")
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_any_hugging_face_encoder_folder_conditions_the_model(tmp_path):
    folder = tiny_bert(tmp_path / "bert", hidden=16)
    config = ChordModelConfig.tiny(("<pad>", "<bos>", "<eos>", "<unk>", "|", "I", "IV", "V"), MODEL_GENRES,
                                   encoder=str(folder), text_dim=16)
    model = ChordModel(config)
    text = model.embed_texts(["love and the road", "", "whiskey blues"])
    assert text.shape == (3, 16) and torch.allclose(text[0].norm(), torch.tensor(1.0), atol=1e-5)
    assert torch.count_nonzero(text[1]) == 0          # no lyrics: a zero vector, not an embedding of ""
    cond = model.conditioning(["love and the road"], ["jazz"], ["verse"], ["minor"], 3)
    assert len(model.decode(model.sample(cond).tokens[0].tolist())) == 3


def test_the_model_is_told_the_length_and_learns_what_it_changes(tmp_path):
    """Long tunes hold chords over bar lines, short ones change every bar: told the length, the model
    finds each kind likelier under its own length (bars 1-8 of both, so only the length differs)."""
    cycle = ["I", "IV", "V", "vi"]
    data = [ChordSequence("test", str(i), "", "folk", "major", "none",
                          tuple((cycle[(b // hold + i) % 4],) for b in range(n)))
            for i, (n, hold) in enumerate([(8, 1), (40, 4)] * 40)]
    result = train_chords(data, tmp_path / "m.pt", config=replace(TrainConfig.tiny(), epochs=40, synthetic_per_pool=0),
                          model_config=ChordModelConfig.tiny(build_vocab(data), MODEL_GENRES), log=lambda _: None)
    model = load(result.path, device="cpu")

    def loss(length, told):
        group = [s for s in data if len(s.bars) == length]
        ids = torch.tensor([model.encode(s.bars[:8], eos=False) for s in group])
        cond = model.conditioning([""] * len(group), ["folk"] * len(group), ["none"] * len(group),
                                  ["major"] * len(group), told)
        logits, _ = model(ids[:, :-1], cond)
        return float(F.cross_entropy(logits.transpose(1, 2), ids[:, 1:]))

    assert loss(40, told=40) < loss(40, told=8)
    assert loss(8, told=8) < loss(8, told=40)


def test_checkpoints_from_before_length_conditioning_still_load(tmp_path):
    vocab = ("<pad>", "<bos>", "<eos>", "<unk>", "|", "I", "IV", "V")
    path = save_checkpoint(ChordModel(ChordModelConfig.tiny(vocab, MODEL_GENRES, length_buckets=())), tmp_path / "old.pt")
    payload = torch.load(path, weights_only=True)
    del payload["config"]["length_buckets"]          # written before the field existed
    torch.save(payload, path)
    model = load(path, device="cpu")
    assert model.config.length_buckets == () and model.length_emb is None
    cond = model.conditioning([""] * 2, ["rock"] * 2, ["verse"] * 2, ["major"] * 2, [4, 40])
    assert torch.equal(model.condition(cond)[0], model.condition(cond)[1])   # no length: the same summary
    assert [len(model.decode(row.tolist())) for row in model.sample(cond).tokens] == [4, 40]


# -- the shipped checkpoints ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return {name: load(name, device="cpu") for name in ("chords-supervised", "chords-rlhf")}


def test_shipped_checkpoints_name_their_encoder_and_data(shipped):
    for model in shipped.values():
        assert model.config.encoder == "all-MiniLM-L6-v2"
        assert {"nottingham", "bach", "romantext", "synthetic"} <= set(model.meta["trained_on"])
        assert model.config.length_buckets == LENGTH_BUCKETS
    # what `bandmate train chords` and `bandmate train policy` write with their defaults
    assert shipped["chords-supervised"].meta["train_config"] == asdict(TrainConfig())
    rlhf = shipped["chords-rlhf"].meta["rlhf"]
    assert rlhf["config"] == asdict(RLHFConfig())
    kept, start = rlhf["selection"]["kept"], rlhf["selection"]["supervised"]
    assert kept["reward"] > start["reward"]          # the kept checkpoint raised the reward on the training progressions
    assert abs(kept["che"] - rlhf["selection"]["real"]["che"]) < abs(start["che"] - rlhf["selection"]["real"]["che"])
    size = sum(p.numel() for p in shipped["chords-rlhf"].parameters()) * 4
    assert size < 4_000_000


def _sevenths(model, genre):
    gen = LearnedChordGenerator(model)
    chords = [c for mode in ("C", "Am") for seed in range(6) for section in ("verse", "chorus")
              for bar in gen.romans(section=section, bars=8, key=parse_key(mode), genre=genre, seed=seed) for c in bar]
    return sum("7" in c or "9" in c for c in chords) / len(chords)


@pytest.mark.parametrize("name", ["chords-supervised", "chords-rlhf"])
def test_jazz_requests_get_more_sevenths_than_folk(shipped, name):
    assert _sevenths(shipped[name], "jazz") > _sevenths(shipped[name], "folk") + 0.3


def test_the_default_generator_is_the_learned_policy():
    gen = default_chord_generator()
    assert "chords-rlhf" in gen.name and not isinstance(gen, RuleBasedChordGenerator)
    spans = gen.progression(section="verse", bars=8, key=parse_key("E minor"), genre="folk",
                            lyrics=["The cold wind blows across the moor"], seed=3)
    assert spans[-1].end == 32 and all(parse_chord(s.chord.symbol) for s in spans)


def test_registry_names_are_listed_in_errors(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoints, "DATA_DIR", tmp_path)
    monkeypatch.setenv("BANDMATE_HOME", str(tmp_path / "home"))
    with pytest.raises(ToolError, match="chords-supervised"):
        load("chords-rlhf")
