"""Human feedback end to end: ratings in SQLite, `bandmate rate`, the reward model, REINFORCE with a KL penalty."""

import random
import sqlite3
import statistics

import pytest
import torch
import typer
from typer.testing import CliRunner

from core.errors import ToolError
from tools.feedback import load_ratings, record_rating
from tools.models.chord_model import MODES, ChordModelConfig, load
from tools.models.reward_model import RewardConfig, RewardModel
from tools.models.reward_model import load as load_reward
from tools.music.harmony import parse_key
from tools.songwriting.chord_rules import RuleBasedChordGenerator
from tools.songwriting.learned_chords import LearnedChordGenerator
from training.chord_corpora import load_romantext
from training.chord_data import synthetic_sequences
from training.metrics import ProgressionStats, chord_tonal_distance, distance_to
from training.rlhf import (
    Candidate,
    RLHFConfig,
    RunningGaps,
    Selection,
    shaping_penalty,
    shaping_rewards,
    tonal_distance_gaps,
    train_policy,
)
from training.train_chords import (
    MODEL_GENRES,
    TextCache,
    TrainConfig,
    build_vocab,
    train_chords,
)
from training.train_reward import RewardTrainConfig, corrupt, train_reward


@pytest.fixture(scope="module")
def sequences():
    from music21 import corpus

    analyses = sorted(str(p) for p in corpus.getCorePaths() if str(p).endswith(".rntxt"))[:12]
    return load_romantext(analyses) + synthetic_sequences(per_pool=2)


@pytest.fixture(scope="module")
def supervised(sequences, tmp_path_factory):
    path = tmp_path_factory.mktemp("sup") / "sup.pt"
    train_chords(sequences, path, config=TrainConfig.tiny(),
                 model_config=ChordModelConfig.tiny(build_vocab(sequences), MODEL_GENRES), log=lambda _: None)
    return path


def test_ratings_are_stored_in_sqlite_and_read_back(tmp_path):
    first = record_rating(tmp_path, source="discord", rating=1, chords=["C", "G", "Am", "F"], thread_id="t1",
                          message_id="m1", user_id="u1")
    second = record_rating(tmp_path, source="cli", rating=-1, chords={"key": "A minor", "genre": "rock", "sections": []})
    ratings = load_ratings(tmp_path)
    assert [r.id for r in ratings] == [first, second] and ratings[0].chords == ["C", "G", "Am", "F"]
    assert ratings[0].thread_id == "t1" and ratings[1].rating == -1 and ratings[1].created_at
    columns = [row[1] for row in sqlite3.connect(tmp_path / "feedback.sqlite").execute("PRAGMA table_info(ratings)")]
    assert columns == ["id", "source", "thread_id", "message_id", "user_id", "rating", "song_folder", "chords_json",
                       "created_at"]
    with pytest.raises(ToolError, match="up"):
        record_rating(tmp_path, source="cli", rating=0, chords=["C"])
    assert load_ratings(tmp_path / "nowhere") == []


def _app():
    from cli.train import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """bandmate (test)"""

    register(app)
    return app


@pytest.fixture
def home(tmp_path, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("BANDMATE_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def test_bandmate_rate_records_the_chords_of_a_composed_song(tmp_path, home):
    from tools.song.compose import compose_song
    from tools.song.song import SongRequest

    lyrics = "[Verse]\nThe river runs along the stony bank\nAnd carries every song we ever sang\n"
    song = compose_song(SongRequest(prompt="a river", lyrics=lyrics, genre="folk", length_seconds=20), llm=None,
                        out_dir=tmp_path / "songs", render_audio=False, chord_generator=RuleBasedChordGenerator())
    result = CliRunner().invoke(_app(), ["rate", str(song.folder), "up", "--user", "ana"])
    assert result.exit_code == 0, result.output
    (rating,) = load_ratings(home)
    assert rating.rating == 1 and rating.source == "cli" and rating.user_id == "ana"
    assert rating.chords["key"] == song.key and rating.chords["generator"] == "rule-based"
    assert [s["romans"] for s in rating.chords["sections"]] == [list(s.romans) for s in song.sections]
    bad = CliRunner().invoke(_app(), ["rate", str(song.folder), "sideways"])
    assert bad.exit_code == 1 and "up or down" in bad.output
    missing = CliRunner().invoke(_app(), ["rate", str(tmp_path / "nope"), "down"])
    assert missing.exit_code == 1 and "song.json" in missing.output and len(load_ratings(home)) == 1


def test_ratings_move_the_reward_model(sequences, supervised, tmp_path):
    vocab = load(supervised, device="cpu").config.vocab
    odd = {"key": "C major", "genre": "folk",
           "sections": [{"kind": "verse", "bars": 4, "romans": ["iii", "#iv°", "iii", "#iv°"], "chords": []}]}
    # thirty people like the same odd progression (one person rating it again would only replace their rating)
    ratings = [record_rating(tmp_path, source="cli", rating=1, chords=odd, user_id=f"u{i}") for i in range(30)]
    assert len(set(ratings)) == 30
    config = RewardTrainConfig(epochs=3, batch_size=32, threads=1)
    plain = train_reward(sequences, tmp_path / "plain.pt", vocab=vocab, config=config, log=lambda _: None)
    rated = train_reward(sequences, tmp_path / "rated.pt", vocab=vocab, ratings=load_ratings(tmp_path), config=config,
                         log=lambda _: None)
    assert rated.ratings_used == 30 and plain.ratings_used == 0
    progression = [["iii"], ["#iv°"], ["iii"], ["#iv°"]]
    before = load_reward(plain.path, device="cpu").score([progression], ["folk"], ["major"])[0]
    after = load_reward(rated.path, device="cpu").score([progression], ["folk"], ["major"])[0]
    assert after > before + 1.0
    assert load_reward(rated.path, device="cpu").meta["ratings"] == 30


class TonicReward(RewardModel):
    """A transparent reward for checking the optimiser: the share of tonic chords."""

    def forward(self, tokens, genre, mode):
        return 5.0 * (tokens == self.stoi["I"]).float().sum(1) / (tokens >= 5).float().sum(1).clamp(min=1)


def _tonic_share(model):
    gen = LearnedChordGenerator(model, temperature=1.0, top_p=1.0)
    chords = [c for seed in range(24) for bar in gen.romans(section="verse", bars=8, key=parse_key("C"), genre="pop",
                                                            seed=seed) for c in bar]
    return chords.count("I") / len(chords)


def test_reinforce_raises_the_reward_and_saves_a_loadable_policy(sequences, supervised, tmp_path):
    model = load(supervised, device="cpu")
    reward = TonicReward(RewardConfig.tiny(model.config.vocab, MODEL_GENRES))
    config = RLHFConfig(steps=40, batch_size=16, lr=3e-2, beta=0.01, match_weight=0.0, bar_choices=(8,), threads=1,
                        select_every=0)
    result = train_policy(model, reward, [s for s in sequences if s.genre == "pop"], tmp_path / "policy.pt",
                          config=config, log=lambda _: None)
    policy = load(result.path, device="cpu")
    assert result.reward_end > result.reward_start
    assert _tonic_share(policy) > 3 * _tonic_share(model)   # 0.02 -> 0.09-0.14 over seeds 0-3
    assert policy.meta["rlhf"]["config"]["beta"] == 0.01


def test_kl_penalty_keeps_the_policy_near_the_supervised_model(sequences, supervised, tmp_path):
    model = load(supervised, device="cpu")
    reward = TonicReward(RewardConfig.tiny(model.config.vocab, MODEL_GENRES))
    base = dict(steps=25, batch_size=16, lr=3e-2, bar_choices=(8,), threads=1, select_every=0)
    free = train_policy(model, reward, sequences, tmp_path / "free.pt", config=RLHFConfig(beta=0.0, **base),
                        log=lambda _: None)
    held = train_policy(model, reward, sequences, tmp_path / "held.pt", config=RLHFConfig(beta=2.0, **base),
                        log=lambda _: None)
    assert held.kl_end < free.kl_end


def test_tiny_reward_model_and_policy_run_in_seconds(sequences, supervised, tmp_path):
    vocab = load(supervised, device="cpu").config.vocab
    result = train_reward(sequences, tmp_path / "r.pt", vocab=vocab, config=RewardTrainConfig.tiny(),
                          model_config=RewardConfig.tiny(vocab, MODEL_GENRES), log=lambda _: None)
    assert 0 <= result.metrics["val_accuracy"] <= 1
    policy = train_policy(load(supervised, device="cpu"), load_reward(result.path, device="cpu"), sequences,
                          tmp_path / "p.pt", config=RLHFConfig.tiny(), log=lambda _: None)
    assert load(policy.path, device="cpu").config == load(supervised, device="cpu").config
    with pytest.raises(ToolError, match="damaged"):
        (tmp_path / "bad.pt").write_bytes(b"\x80\x04garbage")
        load_reward(tmp_path / "bad.pt")
    assert torch.isfinite(torch.tensor(policy.kl_end))


def _ctd(bars, mode):
    return chord_tonal_distance([c for bar in bars for c in bar], mode)


def test_wide_and_restless_corruptions_make_the_tonal_moves_wider_with_common_chords(sequences):
    rng = random.Random(0)
    unigram = [c for s in sequences for bar in s.bars for c in bar]
    for kind in ("wide", "restless"):
        real, bad = [], []
        for s in sequences:
            bars = s.bars[:16]
            moved, mode = corrupt(bars, s.mode, kind, rng, sorted(set(unigram)), unigram)
            assert mode == s.mode and len(moved) == len(bars) and all(len(set(b)) == len(b) for b in moved)
            assert {c for b in moved for c in b} <= set(unigram)   # corpus chords: the moves differ, not the labels
            real.append(_ctd(bars, s.mode))
            bad.append(_ctd(moved, s.mode))
        assert statistics.mean(bad) > statistics.mean(real) + 0.05, kind
    held = (("I",), ("I",), ("IV", "V"), ("V",), ("I",))
    restless, _ = corrupt(held, "major", "restless", rng, ["I", "IV", "V", "vi"], ["I", "IV", "V", "vi"])
    assert all(a[-1] != b[0] for a, b in zip(restless, restless[1:]))   # no chord held over a bar line


def test_shaping_is_zero_at_the_real_tonal_distance_and_negative_away():
    real = [[["I"], ["vi"], ["IV"], ["V"]], [["i"], ["iv"], ["V"], ["i"]]]
    modes = ["major", "minor"]
    same = tonal_distance_gaps(real, real, modes)
    assert torch.equal(same, torch.zeros(2)) and shaping_penalty(float(same.mean()), 1.0) == 0
    assert torch.equal(shaping_rewards(same, same, 1.0), torch.zeros(2))
    wide = [[["I"], ["bII"], ["#iv°"], ["V"]], [["i"], ["bII"], ["V"], ["bII"]]]
    gaps = tonal_distance_gaps(wide, real, modes)
    assert (gaps > 0).all() and shaping_penalty(float(gaps.mean()), 1.0) < 0
    # the batch is above the real CTD: a sample with narrower moves than its reference gains, a wider one loses
    up = shaping_rewards(torch.tensor([0.2, -0.1]), torch.tensor([0.05, 0.05]), 2.0)
    assert up[1] > 0 > up[0]
    assert torch.equal(shaping_rewards(torch.tensor([0.2, -0.1]), torch.tensor([-0.05, -0.05]), 2.0), -up)


def test_running_gaps_are_kept_per_genre():
    running = RunningGaps(decay=0.5)
    first = running.update(torch.tensor([0.4, 0.2, -0.3]), ["folk", "folk", "jazz"])
    assert torch.allclose(first, torch.tensor([0.3, 0.3, -0.3]))
    second = running.update(torch.tensor([0.1]), ["jazz"])
    assert torch.allclose(second, torch.tensor([-0.1])) and running.mean_abs() == pytest.approx(0.2)


class WideMoveReward(RewardModel):
    """A transparent reward that pays for wide tonal moves (what the shaping has to hold back)."""

    def forward(self, tokens, genre, mode):
        vocab = self.config.vocab
        return torch.tensor([4.0 * (_ctd([[vocab[int(t)] for t in row if int(t) >= 5]], MODES[int(m)]) - 1.2)
                             for row, m in zip(tokens, mode)])


def test_shaping_keeps_the_tonal_distance_near_the_real_data(sequences, supervised, tmp_path):
    model = load(supervised, device="cpu")
    reward = WideMoveReward(RewardConfig.tiny(model.config.vocab, MODEL_GENRES))
    base = dict(steps=30, batch_size=24, lr=3e-2, beta=0.01, bar_choices=(8,), threads=1, select_every=0)
    free = train_policy(model, reward, sequences, tmp_path / "free.pt", config=RLHFConfig(match_weight=0.0, **base),
                        log=lambda _: None)
    shaped = train_policy(model, reward, sequences, tmp_path / "shaped.pt", config=RLHFConfig(match_weight=5.0, **base),
                          log=lambda _: None)
    assert free.reward_end > free.reward_start
    assert shaped.gap_end < free.gap_end


def _candidate(step, che, cc, ctd, reward):
    return Candidate(step, ProgressionStats(che, cc, ctd, 0.0, 10), reward)


def test_selection_keeps_the_best_checkpoint_that_meets_the_target(sequences, supervised):
    model = load(supervised, device="cpu")
    reward = TonicReward(RewardConfig.tiny(model.config.vocab, MODEL_GENRES))
    selection = Selection([s for s in sequences if s.split == "train"], reward, TextCache(model),
                          RLHFConfig(select_pool=6, select_samples=2))
    assert len(selection.picks) == 12 and selection.real.count == 12   # each real progression written for twice
    real = selection.real
    selection.base = _candidate(0, real.che - 0.2, real.cc - 1.0, real.ctd + 0.05, 1.0)
    closer = _candidate(10, real.che - 0.1, real.cc - 0.5, real.ctd - 0.04, 1.5)
    assert selection.meets_target(closer)
    assert not selection.meets_target(_candidate(20, real.che - 0.1, real.cc - 0.5, real.ctd + 0.06, 1.5))  # CTD further
    assert not selection.meets_target(_candidate(30, real.che, real.cc, real.ctd, 0.9))                      # reward down
    better = _candidate(40, real.che - 0.15, real.cc - 0.8, real.ctd + 0.01, 1.8)
    assert selection._better(better, True, closer, True)                       # both meet it: the higher reward
    near_miss = _candidate(50, real.che, real.cc, real.ctd + 0.06, 1.2)
    assert selection._better(closer, True, near_miss, False) and not selection._better(near_miss, False, closer, True)
    far_miss = _candidate(60, real.che - 0.5, real.cc - 3, real.ctd + 0.3, 1.2)
    assert distance_to(near_miss.stats, real) < distance_to(far_miss.stats, real)
    assert selection._better(near_miss, False, far_miss, False)                 # neither meets it: the closer to real


def test_policy_run_keeps_a_compared_checkpoint_and_records_why(sequences, supervised, tmp_path):
    model = load(supervised, device="cpu")
    reward = TonicReward(RewardConfig.tiny(model.config.vocab, MODEL_GENRES))
    lines = []
    config = RLHFConfig(steps=12, batch_size=16, lr=3e-2, beta=0.01, bar_choices=(8,), threads=1, select_every=4,
                        select_pool=12)
    result = train_policy(model, reward, sequences, tmp_path / "p.pt", config=config, log=lines.append)
    assert result.selected_step in (4, 8, 12) and result.target_met in (True, False)
    kept = load(result.path, device="cpu")
    chosen = kept.meta["rlhf"]["selection"]
    assert chosen["step"] == result.selected_step and chosen["target_met"] == result.target_met
    assert chosen == result.selection
    assert set(chosen) == {"step", "target_met", "real", "supervised", "kept"}
    assert sum(line.startswith("  checkpoint at step") for line in lines) == 3
    assert any(line.startswith(f"kept the checkpoint at step {result.selected_step}") for line in lines)
    # the kept weights are the selected checkpoint's, not simply the last step's (unless the last was best)
    assert kept.state_dict().keys() == model.state_dict().keys()


def test_nucleus_sampling_is_scored_as_sampled(supervised):
    model = load(supervised, device="cpu")
    cond = model.conditioning(["by the sea"] * 8, ["pop"] * 8, ["verse"] * 8, ["major"] * 8, 4)
    full = model.sample(cond, generator=torch.Generator().manual_seed(0))
    nucleus = model.sample(cond, top_p=0.5, generator=torch.Generator().manual_seed(0))
    picked = nucleus.allowed.gather(-1, nucleus.tokens[:, 1:, None]).squeeze(-1)
    assert picked[nucleus.valid].all()                      # every sampled token is inside the recorded nucleus
    per_step = lambda s: s.allowed.sum(-1)[s.valid].float().mean()  # noqa: E731
    assert per_step(nucleus) < per_step(full)
    assert torch.isfinite(model.sequence_logprob(nucleus, cond)).all()
