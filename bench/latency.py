"""Where an answer's seconds go on the embedded model, per request kind, cold (a fresh `bandmate ask`
process each time), served (a fresh `bandmate ask` each time, talking to a running `bandmate serve agent`)
and warm (one process, model loaded).

    python bench/latency.py [--runs 1] [--skip-cold] [--skip-served] [--skip-warm]

Kinds: chit-chat, compose ("write me a sad folk song about leaving home"), edit ("make it faster and put
it in a major key"), question ("what chords did you use in the chorus?") and analysis of an attached clip.
Columns: process start (cold and served: wall time outside the turn: imports, settings, building the agent),
model load, prompt evaluation and generation (llama.cpp's own counters, all model calls of the turn,
tools' included), decision (message -> first tool call), tool, closing (tool result -> reply), total.
Served: before each request the bench waits while the server reads the thread ahead (as a person reading
the reply would; the wait is printed); a message sent sooner stops the read-ahead and reads the rest itself.
Run it with nothing else on the machine: llama.cpp is ~10x slower when its threads share a busy core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "data" / "audio" / "sorohanro_-_solo-trumpet-06.ogg"
REQUESTS = [   # (kind, text, attach the clip?) in conversation order: the edit and question need the song
    ("chit-chat", "hello, what can you do?", False),
    ("compose", "write me a sad folk song about leaving home", False),
    ("edit", "make it faster and put it in a major key", False),
    ("question", "what chords did you use in the chorus?", False),
    ("analysis", "what key is this clip in?", True),
]
COLUMNS = ["start", "model_load", "prompt_eval", "generation", "decision", "tools", "closing", "total"]


def bench_env(home: Path) -> dict[str, str]:
    """A throwaway home that uses the embedded model already assembled in the default home."""
    from assistant.model_files import embedded_model_path
    from core.settings import Settings

    gguf = embedded_model_path(Settings().models_dir)
    return {**os.environ, "BANDMATE_HOME": str(home), "BANDMATE_MODEL": str(gguf)}


def cold(home: Path, runs: int) -> list[tuple[str, dict]]:
    """Each request in a fresh `bandmate ask` process (the same thread, so the edit has its song), after one
    unmeasured request that saves the system prompt's evaluated state, as any earlier use would have."""
    env = bench_env(home)
    subprocess.run([sys.executable, "-m", "cli.app", "ask", "hi", "--thread", "prime"], cwd=REPO, env=env,
                   capture_output=True, timeout=900, check=True)
    return fresh_asks(env, runs, "cold")


def served(home: Path, runs: int) -> list[tuple[str, dict]]:
    """Each request in a fresh `bandmate ask` process while `bandmate serve agent` runs (started first, not
    counted: it loads the model and what songs use, once)."""
    env = bench_env(home)
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "cli.app", "serve", "agent"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        from serve.agent_server import ADDRESS_FILE

        while not (home / ADDRESS_FILE).exists():
            if server.poll() is not None:
                sys.exit(f"bandmate serve agent failed: {server.communicate()[1].strip()[-300:]}")
            time.sleep(0.2)
        print(f"\nagent server ready in {time.perf_counter() - started:.1f} s")
        from core.settings import Settings
        from serve.agent_server import find_server, server_busy

        os.environ.update(env)
        address = find_server(Settings())
        waits = []

        def read_ahead_done() -> None:
            waited = time.perf_counter()
            while server_busy(address):
                time.sleep(0.1)
            waits.append(time.perf_counter() - waited)

        rows = fresh_asks(env, runs, "served", before=read_ahead_done)
        print(f"waited for the read-ahead after a reply: median {statistics.median(waits):.1f} s, "
              f"longest {max(waits):.1f} s")
        return rows
    finally:
        server.terminate()
        server.wait(timeout=60)


def fresh_asks(env: dict[str, str], runs: int, thread: str,
               before: Callable[[], None] | None = None) -> list[tuple[str, dict]]:
    """The requests, each in a fresh `bandmate ask --timings` process (``before`` called first, not timed);
    start = wall time outside the turn."""
    rows = []
    for run in range(runs):
        for kind, text, attach in REQUESTS:
            if before:
                before()
            cmd = [sys.executable, "-m", "cli.app", "ask", text, "--timings", "--thread", f"{thread}{run}"]
            if attach:
                cmd += ["--file", str(CLIP)]
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
            wall = time.perf_counter() - start
            line = next((ln for ln in done.stderr.splitlines() if ln.startswith("timings-json: ")), None)
            if done.returncode or line is None:
                print(f"{kind}: failed ({done.returncode}): {done.stderr.strip()[-300:]}", file=sys.stderr)
                continue
            t = json.loads(line.removeprefix("timings-json: "))
            rows.append((kind, {**t, "start": wall - t["total"], "total": wall}))
    return rows


def warm(home: Path, runs: int) -> list[tuple[str, dict]]:
    """Each request in one process whose model is loaded and whose system prompt is cached."""
    os.environ.update(bench_env(home))
    from assistant.api import Assistant

    assistant = Assistant()
    assistant.chat("hi", thread_id="warm-up")
    rows = []
    for run in range(runs):
        for kind, text, attach in REQUESTS:
            reply = assistant.chat(text, thread_id=f"warm{run}", attachments=[CLIP] if attach else [])
            rows.append((kind, {**reply.timings.to_dict(), "start": 0.0}))
    return rows


def print_table(title: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{title} (median seconds of each kind)")
    print(f"| kind | {' | '.join(COLUMNS)} |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for kind, _, _ in REQUESTS:
        mine = [t for k, t in rows if k == kind]
        if mine:
            cells = [f"{statistics.median(t[c] for t in mine):.1f}" for c in COLUMNS]
            print(f"| {kind} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--skip-served", action="store_true")
    args = parser.parse_args()
    if not CLIP.exists():
        sys.exit(f"No clip at {CLIP}; the analysis request needs ../shared/data/audio.")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_cold:
            print_table("cold: a fresh `bandmate ask` process per request", cold(Path(tmp) / "cold", args.runs))
        if not args.skip_served:
            print_table("served: a fresh `bandmate ask` per request, `bandmate serve agent` running",
                        served(Path(tmp) / "served", args.runs))
        if not args.skip_warm:
            print_table("warm: one process, model loaded", warm(Path(tmp) / "warm", args.runs))


if __name__ == "__main__":
    main()
