"""LP-MusicCaps pseudo-captions for a collection: all four instructions, recorded with the model,
resumable without duplicates, and a failing endpoint (a real HTTP server that dies) stops cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import FIXTURES, SUPPORT
from tests.support.fakes import ScriptedTextGenerator
from tools.listening.caption import INSTRUCTIONS
from training.captions import CaptionJob, EndpointDown, generate_captions, with_retries
from training.readers import JsonlLog, TaggedClip, read_musiccaps

STUB = SUPPORT / "openai_stub_server.py"
CLIPS = [TaggedClip(id="a", tags=["piano", "slow tempo"], audio="a.wav"),
         TaggedClip(id="b", tags=["rock", "distorted guitar", "fast tempo"], audio="b.wav"),
         TaggedClip(id="c", tags=["flute"], audio="c.wav")]
ATTRIBUTE_REPLY = '{"new_attribute": ["calm"], "description": "A calm piano piece."}'


def test_every_clip_gets_every_instruction_with_model_recorded(tmp_path):
    llm = ScriptedTextGenerator(["A slow piano piece.", "Slow piano.", "A gentle, slow piano piece.", ATTRIBUTE_REPLY])
    report = generate_captions(CLIPS[:1], tmp_path / "caps.jsonl", llm=llm, job=CaptionJob(batch_size=1),
                               progress=False)
    rows = JsonlLog(tmp_path / "caps.jsonl").rows
    assert report.written == 4 and [r["instruction"] for r in rows] == list(INSTRUCTIONS)
    assert rows[0] == {**rows[0], "id": "a", "audio": "a.wav", "caption": "A slow piano piece.", "model": "scripted"}
    assert rows[3]["caption"] == "A calm piano piece." and rows[3]["new_attributes"] == ["calm"]
    assert "piano, slow tempo" in llm.calls[0]["prompt"]                  # tools.listening.caption's LP-MusicCaps prompt


def test_musiccaps_aspects_captioned_in_batches(tmp_path):
    clips = read_musiccaps(FIXTURES / "musiccaps_small.csv")
    llm = ScriptedTextGenerator(["A caption."])
    report = generate_captions(clips, tmp_path / "c.jsonl", llm=llm, job=CaptionJob(instructions=("writing", "summary"),
                                                                                     batch_size=3), progress=False)
    assert report.total == 4 and len(llm.calls) == 4
    assert len({c["seed"] for c in llm.calls}) == 4                      # a stable seed per request


class _DiesAfter:
    """An LLM whose endpoint goes away after ``n`` good replies."""

    name = "flaky"

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def generate(self, prompt, **kw):
        self.calls += 1
        if self.calls > self.n:
            raise ConnectionError("connection refused")
        return "A caption."


def test_endpoint_failure_stops_cleanly_and_a_rerun_finishes_without_duplicates(tmp_path):
    out = tmp_path / "caps.jsonl"
    job = CaptionJob(instructions=("writing", "summary"), batch_size=2, retries=2, backoff_s=0.0)
    with pytest.raises(EndpointDown, match="run the same command again"):
        generate_captions(CLIPS, out, llm=_DiesAfter(3), job=job, progress=False)
    kept = JsonlLog(out).rows
    assert 2 <= len(kept) <= 3
    report = generate_captions(CLIPS, out, llm=ScriptedTextGenerator(["Again."]), job=job, progress=False)
    keys = [(r["id"], r["instruction"]) for r in JsonlLog(out).rows]
    assert len(keys) == len(set(keys)) == 6 and report.already_done == len(kept)


def test_retries_back_off_exponentially():
    waits, attempts = [], []

    def call():
        attempts.append(1)
        if len(attempts) < 3:
            raise TimeoutError("slow")
        return "ok"

    assert with_retries(call, retries=4, backoff_s=0.5, what="testing", sleep=waits.append) == "ok"
    assert waits == [0.5, 1.0]


def _start_stub(tmp_path: Path, name: str, replies: list[str]):
    script = tmp_path / f"{name}.json"
    script.write_text(json.dumps([{"text": r} for r in replies]))
    proc = subprocess.Popen([sys.executable, str(STUB), str(script), str(tmp_path / f"{name}.log")],
                            stdout=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline())}/v1"


def test_openai_compatible_endpoint_dies_mid_run_and_resumes(tmp_path):
    from assistant.llm import ChatTextGenerator, make_chat_model
    from core.settings import Settings

    def llm_for(url):
        settings = Settings(_env_file=None, home=tmp_path / "home", llm_backend="openai", model="stub-model",
                            base_url=url, request_timeout=5)
        return ChatTextGenerator(make_chat_model(settings))

    out, job = tmp_path / "caps.jsonl", CaptionJob(instructions=("writing",), batch_size=1, retries=1, backoff_s=0.0)
    proc, url = _start_stub(tmp_path, "first", ["Caption one.", "Caption two."])
    llm = llm_for(url)

    class KillsServer:          # the server process dies after two answers
        name = llm.name

        def __init__(self):
            self.calls = 0

        def generate(self, prompt, **kw):
            self.calls += 1
            if self.calls == 3:
                proc.terminate()
                proc.wait(timeout=10)
            return llm.generate(prompt, **kw)

    try:
        with pytest.raises(EndpointDown):
            generate_captions(CLIPS, out, llm=KillsServer(), job=job, progress=False)
    finally:
        proc.terminate()
    assert [r["caption"] for r in JsonlLog(out).rows] == ["Caption one.", "Caption two."]
    proc2, url2 = _start_stub(tmp_path, "second", ["Caption three."])
    try:
        generate_captions(CLIPS, out, llm=llm_for(url2), job=job, progress=False)
    finally:
        proc2.terminate()
    rows = JsonlLog(out).rows
    assert [r["id"] for r in rows] == ["a", "b", "c"] and rows[2]["caption"] == "Caption three."
    assert rows[2]["model"] == "stub-model"
    sent = json.loads((tmp_path / "second.log").read_text().splitlines()[0])
    assert "flute" in sent["messages"][-1]["content"]


def _stub_llm(url: str):
    """Runs inside a Ray actor: the configured OpenAI-compatible backend pointed at the stub server."""
    from assistant.llm import ChatTextGenerator, make_chat_model
    from core.settings import Settings

    return ChatTextGenerator(make_chat_model(Settings(_env_file=None, llm_backend="openai", model="stub-model",
                                                      base_url=url, request_timeout=10)))


def test_two_worker_local_ray_run_over_an_openai_endpoint(tmp_path):
    pytest.importorskip("ray")
    import functools

    from training.ray_jobs import ray_generate_captions, ray_generate_musicqa

    proc, url = _start_stub(tmp_path, "ray", ["A warm caption.", "Q: What plays?\nA: A piano."] * 10)
    try:
        out = tmp_path / "caps.jsonl"
        (out).write_text(json.dumps({"id": "a", "instruction": "writing", "caption": "earlier"}) + "\n")
        factory = functools.partial(_stub_llm, url)
        report = ray_generate_captions(CLIPS, out, llm_factory=factory, num_workers=2,
                                       job=CaptionJob(instructions=("writing", "summary"), batch_size=2))
        keys = sorted((r["id"], r["instruction"]) for r in JsonlLog(out).rows)
        assert keys == sorted((c.id, i) for c in CLIPS for i in ("writing", "summary"))
        assert report.written == 5 and report.already_done == 1
        from training.musicqa import QAJob
        qa = ray_generate_musicqa(CLIPS, tmp_path / "qa.jsonl", llm_factory=factory, num_workers=2,
                                  job=QAJob(open_per_clip=1))
        assert {r["id"] for r in JsonlLog(tmp_path / "qa.jsonl").rows} == {"a", "b", "c"} and qa.written >= 3
    finally:
        proc.terminate()
