"""Faults a user can cause, run for real, and what each one costs: what the user saw, what was kept, what was lost.

    python bench/faults.py [--clips 8] [--only render-limit sigterm ...]

Every fault runs the real `bandmate` command in a subprocess with a temporary BANDMATE_HOME (or the Python API
on real files), sends real signals, writes real damaged files, and talks to a real (stub) chat server over HTTP.
Issue 19's faults: an oversized render, a render stopped by SIGTERM, `index add` killed with SIGKILL, a FIFO
among the clips, damaged stores, broken settings, failed chat turns, and a song rated three times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import SUPPORT  # noqa: E402
from tests.support.cli import run_bandmate, start_bandmate  # noqa: E402
from tests.support.clips import render_clip  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One fault and its cost."""

    fault: str
    saw: str
    kept: str
    lost: str


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(nothing)"


def render_limit(tmp: Path, args) -> Row:
    chords = " ".join(["C", "G", "Am", "F"] * 2500)
    proc = run_bandmate("render", chords, "--out", str(tmp / "out"), cwd=tmp, home=tmp / "home")
    written = sum(p.stat().st_size for p in (tmp / "out").rglob("*") if p.is_file()) if (tmp / "out").exists() else 0
    return Row("render of 10,000 chords", f"exit {proc.returncode}: {last_line(proc.stderr)}",
               f"{written} bytes written", "nothing")


def sigterm_render(tmp: Path, args) -> Row:
    out = tmp / "out"
    proc = start_bandmate("render", " ".join(["C", "G", "Am", "F"] * 16), "--tempo", "60", "--out", str(out),
                          cwd=tmp, home=tmp / "home")
    while proc.poll() is None and not (out.exists() and any(p.name.startswith(".") for p in out.iterdir())):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    left = [p for p in out.iterdir()] if out.exists() else []
    return Row("SIGTERM during a render", f"exit {proc.returncode}: {last_line(stderr.decode())}",
               f"{len(left)} staging folders left", "the render in progress")


def kill_index_add(tmp: Path, args) -> Row:
    folder, home = tmp / "clips", tmp / "home"
    folder.mkdir()
    base = [render_clip(tmp / f"song{i}.wav", program, bpm, drums)
            for i, (program, bpm, drums) in enumerate([(0, 70, False), (16, 150, True), (73, 104, False), (27, 140, True)])]
    for i in range(args.clips):
        song = base[i % len(base)]
        (folder / f"{song.stem}_{i}.wav").write_bytes(song.read_bytes() + f"LIST{i}".encode())
    proc = start_bandmate("index", "add", str(folder), "--workers", "2", cwd=tmp, home=home)
    seen: list[tuple[float, int]] = [(0.0, 0)]
    text = bytearray()

    def read() -> None:
        while chunk := os.read(proc.stderr.fileno(), 4096):
            text.extend(chunk)
            counts = re.findall(rb"indexing:[^|]*\|[^|]*\| *(\d+)/\d+", bytes(text))
            if counts and int(counts[-1]) > seen[-1][1]:
                seen.append((time.monotonic(), int(counts[-1])))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while seen[-1][1] < args.clips // 3 and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(1.2)
    killed = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(timeout=60)
    analysed = max(n for at, n in seen if at <= killed)
    analysed_early = max(n for at, n in seen if at <= killed - 1.0)
    committed = sqlite3.connect(home / "index" / "clips.sqlite").execute("SELECT COUNT(*) FROM clips").fetchone()[0]
    tracebacks = bytes(text).count(b"Traceback")
    return Row("kill -9 during `index add`", f"{tracebacks} tracebacks on the terminal",
               f"{committed} clips committed ({analysed} shown analysed, {analysed_early} of them >1 s before the kill)",
               f"{args.clips - committed} of {args.clips} clips (to analyse again on the next run)")


def fifo_in_folder(tmp: Path, args) -> Row:
    folder = tmp / "clips"
    folder.mkdir()
    render_clip(folder / "good.wav")
    os.mkfifo(folder / "pipe.wav")
    (folder / "notes.wav").write_text("not audio")
    proc = run_bandmate("index", "add", str(folder), cwd=tmp, home=tmp / "home", timeout=240)
    counts = re.sub(r" in [\d.]+ s$", "", proc.stdout.splitlines()[0])
    return Row("FIFO pipe.wav + a text notes.wav beside a clip", f"exit {proc.returncode}: {counts}",
               "good.wav indexed" if "1 added" in proc.stdout else "nothing indexed",
               "notes.wav (listed with the reason); the FIFO is skipped unread")


def damaged_store(name: str, command: list[str]) -> Callable[[Path, object], Row]:
    def fault(tmp: Path, args) -> Row:
        home = tmp / "home"
        path = home / name
        path.parent.mkdir(parents=True)
        path.write_bytes(b"these bytes are not a database" * 100)
        proc = run_bandmate(*command, cwd=tmp, home=home)
        return Row(f"damaged {name}", f"exit {proc.returncode}: {last_line(proc.stderr)}",
                   f"{name} untouched" if path.read_bytes().startswith(b"these bytes") else f"{name} CHANGED",
                   "the command")
    return fault


def rated_song(tmp: Path) -> Path:
    folder = tmp / "song"
    folder.mkdir()
    (folder / "song.json").write_text(json.dumps({"title": "River", "key": "G major", "genre": "folk", "sections": [
        {"kind": "verse", "bars": 2, "chords": ["G", "C"], "romans": ["I", "IV"]}]}))
    return folder


def damaged_ratings(tmp: Path, args) -> Row:
    return damaged_store("feedback.sqlite", ["rate", str(rated_song(tmp)), "up"])(tmp, args)


def toml_syntax(tmp: Path, args) -> Row:
    (tmp / "bandmate.toml").write_text('home = "x"\nllm_backend = "local\n', encoding="utf-8")
    proc = run_bandmate("render", "C G", cwd=tmp, home=tmp / "home")
    return Row("bandmate.toml syntax error", f"exit {proc.returncode}: {last_line(proc.stderr)}", "the file", "the command")


def bad_llm_setting(tmp: Path, args) -> Row:
    (tmp / "bandmate.toml").write_text('llm_backend = "klingon"\n', encoding="utf-8")
    render = run_bandmate("render", "C G", "--out", str(tmp / "out"), cwd=tmp, home=tmp / "home")
    ask = run_bandmate("ask", "hello", cwd=tmp, home=tmp / "home")
    return Row('llm_backend = "klingon"', f"ask: exit {ask.returncode}: {last_line(ask.stderr)}",
               f"render still works (exit {render.returncode})", "ask")


def missing_config(tmp: Path, args) -> Row:
    proc = run_bandmate("render", "C G", cwd=tmp, home=tmp / "home", BANDMATE_CONFIG=str(tmp / "missing.toml"))
    return Row("BANDMATE_CONFIG names a missing file", f"exit {proc.returncode}: {last_line(proc.stderr)}", "-", "the command")


def failed_turns(tmp: Path, args) -> Row:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    env = {"BANDMATE_LLM_BACKEND": "openai", "BANDMATE_MODEL": "stub-model", "BANDMATE_REQUEST_TIMEOUT": "5"}
    saw = ""
    for text in ("first", "second"):
        proc = run_bandmate("ask", text, cwd=tmp, home=tmp / "home", BANDMATE_BASE_URL=down, **env)
        saw = last_line(proc.stderr)
    script, log = tmp / "script.json", tmp / "log.jsonl"
    script.write_text(json.dumps([{"text": "hello"}]))
    server = subprocess.Popen([sys.executable, str(SUPPORT / "openai_stub_server.py"), str(script), str(log)],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        run_bandmate("ask", "third", cwd=tmp, home=tmp / "home", BANDMATE_BASE_URL=url, **env)
    finally:
        server.terminate()
        server.wait()
    sent = json.loads(log.read_text().splitlines()[0])["messages"] if log.exists() else []
    users = [m["content"] for m in sent if m["role"] == "user"]
    return Row("two `ask`s with the chat server down, then one up", f"twice: {saw}",
               f"the good turn sent {len(users)} user message(s): {users}", "the two failed questions (not replayed)")


def rate_three_times(tmp: Path, args) -> Row:
    song = rated_song(tmp)
    for verdict in ("up", "up", "down"):
        run_bandmate("rate", str(song), verdict, cwd=tmp, home=tmp / "home")
    rows = sqlite3.connect(tmp / "home" / "feedback.sqlite").execute("SELECT rating FROM ratings").fetchall()
    return Row("`rate SONG` up, up, down", f"{len(rows)} rating row(s)", f"ratings {[r[0] for r in rows]}", "the older votes")


FAULTS: dict[str, Callable[[Path, object], Row]] = {
    "render-limit": render_limit,
    "sigterm": sigterm_render,
    "kill-index": kill_index_add,
    "fifo": fifo_in_folder,
    "memory": damaged_store("memory.sqlite", ["render", "C G"]),
    "ratings": damaged_ratings,
    "clips": damaged_store("index/clips.sqlite", ["index", "stats"]),
    "toml": toml_syntax,
    "llm-setting": bad_llm_setting,
    "config": missing_config,
    "failed-turns": failed_turns,
    "rate": rate_three_times,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8, help="clips in the killed `index add`")
    parser.add_argument("--only", nargs="+", choices=sorted(FAULTS), help="run only these faults")
    args = parser.parse_args()
    rows = []
    for name in args.only or FAULTS:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(FAULTS[name](Path(tmp), args))
        print(f"done: {name}", file=sys.stderr, flush=True)
    print("| fault | what the user saw | what was kept | what was lost |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row.fault} | {row.saw.replace('|', '/')} | {row.kept} | {row.lost} |")


if __name__ == "__main__":
    main()
