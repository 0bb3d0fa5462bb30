"""Audio-QA fine-tuning: sharp keys score, the tiny LM's warm-up, bad JSONL lines, atomic
checkpoints with config and data hashes, --resume, MusicQA metrics, the CLI, and a real two-process CPU (gloo)
run under accelerate launch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from core.errors import ToolError
from tests.support import REPO
from training.audio_qa_data import QAExample, build_tokenizer, load_qa_jsonl
from training.audio_qa_model import AudioQAConfig, build_model
from training.audio_qa_train import latest_checkpoint, learning_rate, train, warm_up_lm
from training.data_synth import SynthConfig, synthesize
from training.musicqa import QAJob, generate_musicqa
from training.readers import read_synth_metadata
from training.text_metrics import answer_metrics

TINY = REPO / "configs" / "audio_qa_tiny.json"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Six rendered clips and their label questions (tempo, key, instrument, ...)."""
    folder = tmp_path_factory.mktemp("aqa")
    synthesize(SynthConfig(n_clips=6, seed=11, seconds=2.0, sample_rate=16000, workers=2), folder, progress=False)
    generate_musicqa(read_synth_metadata(folder / "metadata.jsonl"), folder / "qa.jsonl", job=QAJob(tags=False),
                     progress=False)
    return folder


def _tiny(corpus: Path, out: Path, **kw) -> AudioQAConfig:
    base = dict(train=str(corpus / "qa.jsonl"), out=str(out), steps=4, eval_every=2, lm_warmup_steps=5,
                batch_size=4, max_eval=6, clip_seconds=2.0, eval_share=0.34)
    return AudioQAConfig.from_file(TINY, **{**base, **kw})


def test_a_sharp_key_answer_is_one_word_and_scores_as_right():
    tokenizer = build_tokenizer(["It is in C# major.", "What key is this music in?"])
    assert tokenizer.tokenize("It is in C# major.") == ["it", "is", "in", "c#", "major", "."]
    decoded = tokenizer.decode(tokenizer("It is in C# major.", add_special_tokens=False).input_ids)
    assert answer_metrics([decoded], ["It is in C# major."])["exact"] == 100.0


def test_the_tiny_lm_still_tells_answer_words_apart_after_its_text_warm_up():
    """Tonics only ever fill the same slot in the QA text; their embeddings must not collapse into one."""
    from accelerate import Accelerator

    tonics = ["C", "G", "F#", "Bb"]
    examples = [QAExample(Path("clip.wav"), "What key is this music in?", f"It is in {t} {mode}.", "key")
                for t in tonics for mode in ("major", "minor")]
    tokenizer = build_tokenizer([e.question for e in examples] + [e.answer for e in examples])
    cfg = AudioQAConfig(lm_warmup_steps=40, batch_size=8)
    model = build_model(cfg, tokenizer)
    loss = warm_up_lm(model.llm, tokenizer, examples, cfg, Accelerator(cpu=True))[0]["loss"]
    assert loss < 1.0                                     # it did learn the answer template
    vectors = model.llm.get_input_embeddings().weight[tokenizer.convert_tokens_to_ids([t.lower() for t in tonics])]
    cosine = torch.nn.functional.normalize(vectors, dim=-1) @ torch.nn.functional.normalize(vectors, dim=-1).T
    assert cosine[~torch.eye(len(tonics), dtype=torch.bool)].abs().max() < 0.5


def test_cosine_schedule_decays_to_a_tenth():
    cfg = AudioQAConfig(lr=1e-2, steps=100, lr_schedule="cosine")
    rates = [learning_rate(cfg, s) for s in range(101)]
    assert rates[0] == pytest.approx(1e-2) and rates[100] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert learning_rate(AudioQAConfig(lr=1e-2), 50) == 1e-2
    with pytest.raises(ToolError, match="Unknown lr_schedule"):
        learning_rate(AudioQAConfig(lr_schedule="linear"), 0)


def test_bad_lines_are_skipped_and_counted_or_stop_with_the_line_number(corpus, tmp_path):
    good = json.loads((corpus / "qa.jsonl").read_text().splitlines()[0])
    good["audio"] = str(corpus / good["audio"])
    lines = [json.dumps(good), json.dumps({"audio": good["audio"], "question": "Key?"}),
             json.dumps({**good, "audio": "nowhere.wav"}), "{not json", ""]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines))
    data = load_qa_jsonl(path)
    assert len(data.examples) == 1
    assert data.skipped == {"missing answer": 1, "audio file not found": 1, "not valid JSON": 1}
    with pytest.raises(ToolError, match="qa.jsonl line 2: missing answer"):
        load_qa_jsonl(path, on_error="raise")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ToolError, match="no usable question/answer lines"):
        load_qa_jsonl(tmp_path / "empty.jsonl")


def test_checkpoints_hold_config_and_hashes_and_resume_continues(corpus, tmp_path):
    out = tmp_path / "run"
    first = train(_tiny(corpus, out), progress=False)
    ckpt = latest_checkpoint(out)
    assert ckpt.name == "ckpt-000004"
    assert {p.name for p in ckpt.iterdir()} >= {"state.pt", "config.json", "hashes.json", "tokenizer", "llm"}
    assert json.loads((ckpt / "config.json").read_text())["steps"] == 4
    assert len(json.loads((ckpt / "hashes.json").read_text())["train"]) == 64
    final = first["final"]["held_out"]["all"]
    assert {"bleu1", "bleu4", "meteor", "rougeL", "exact"} <= set(final)
    state = torch.load(ckpt / "state.pt", weights_only=False)
    assert any(k.startswith("bridge.") for k in state["model"]) and any("lora_" in k for k in state["model"])

    (out / ".ckpt-000006.tmp").mkdir()                   # a save that was killed half-way
    second = train(_tiny(corpus, out, steps=6), resume=True, progress=False)
    assert [p["step"] for p in second["history"] if p["stage"] == "audio"] == [2, 4, 6]
    resumed = torch.load(latest_checkpoint(out) / "state.pt", weights_only=False)
    assert resumed["step"] == 6 and resumed["optimizer"]["state"]
    assert json.loads((out / "metrics.json").read_text())["final"]["step"] == 6

    changed = corpus / "changed.jsonl"                    # same folder, so the relative audio paths resolve
    changed.write_text("\n".join((corpus / "qa.jsonl").read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(ToolError, match="data changed"):
        train(_tiny(corpus, out, train=str(changed), steps=8), resume=True, progress=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_cpu_run_with_accelerate_launch(corpus, tmp_path):
    accelerate = Path(sys.executable).with_name("accelerate")
    if not accelerate.exists():
        pytest.skip("accelerate is not installed")
    cfg = tmp_path / "tiny.json"
    data = json.loads(TINY.read_text())
    cfg.write_text(json.dumps({**data, "steps": 2, "eval_every": 2, "lm_warmup_steps": 2, "batch_size": 4,
                               "max_eval": 4, "clip_seconds": 2.0, "eval_share": 0.34}))
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    # accelerate's --cpu launcher starts one process unless MPI is installed; --multi_gpu starts two through
    # torch.distributed.run, and on a machine without CUDA the script's Accelerator joins them over gloo.
    env["CUDA_VISIBLE_DEVICES"] = ""
    proc = subprocess.run([str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
                           str(_free_port()), "-m", "training.audio_qa_train", "--config", str(cfg),
                           "--train", str(corpus / "qa.jsonl"), "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "metrics.json").read_text())
    assert report["processes"] == 2 and report["backend"] == "gloo"
    assert torch.load(latest_checkpoint(out) / "state.pt", weights_only=False)["processes"] == 2


def test_cli_data_and_train_commands(corpus, tmp_path):
    import typer

    from cli.data import add_train_commands, register

    app, train_app = typer.Typer(), typer.Typer()
    register(app)
    add_train_commands(train_app)
    app.add_typer(train_app, name="train")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "musicqa", str(corpus / "metadata.jsonl"), "--out", str(tmp_path / "qa.jsonl"),
                                 "--conversations", str(tmp_path / "MusicQA.json"), "--no-tags"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "MusicQA.json").read_text())[0]["conversation"][1]["from"] == "gpt"
    result = runner.invoke(app, ["train", "audio-qa", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "There is no QA file" in result.output
    assert "Traceback" not in result.output
