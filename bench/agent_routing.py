"""How well does the configured chat model route requests to the right tool with the right arguments?

Scores the model's first decision on the labelled requests in routing_cases.jsonl
(every tool, paraphrases, multi-step requests, chit-chat, attachments): right tool,
right key arguments, time to the first tool call, peak RSS. Tools are not run.

    python bench/agent_routing.py                       # the configured backend (embedded by default)
    BANDMATE_LLM_BACKEND=openai BANDMATE_BASE_URL=... python bench/agent_routing.py
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.agent import system_prompt  # noqa: E402
from assistant.api import _with_attachments  # noqa: E402
from assistant.context import ToolContext
from assistant.llm import describe_backend, make_chat_model  # noqa: E402
from assistant.toolkit import build_toolkit  # noqa: E402
from core.settings import Settings  # noqa: E402

CASES = Path(__file__).with_name("routing_cases.jsonl")


def arg_matches(expected, actual) -> bool:
    """Loose match of one argument: substrings for text, equality for numbers, inclusion for lists."""
    if actual is None:
        return False
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            return abs(float(actual) - expected) < 1e-6
        except (TypeError, ValueError):
            return False
    if isinstance(expected, list):
        items = actual if isinstance(actual, list) else [actual]
        items = [str(i).lower() for i in items]
        return all(any(str(e).lower() in i for i in items) for e in expected)
    exp, act = str(expected).lower(), str(actual).lower()
    if exp.endswith((".ogg", ".wav", ".mid", ".musicxml")):
        return act.endswith(exp)
    return exp in act or (len(act) > 2 and act in exp)


def print_scores(per_tool: dict[str, list[tuple[bool, bool]]], count: str) -> None:
    """The markdown table: per expected tool, how often the tool and its arguments were right."""
    print(f"| {'expected tool':<22} | {count:>5} | {'right tool':>10} | {'right args':>10} |")
    print(f"|{'-' * 24}|{'-' * 7}|{'-' * 12}|{'-' * 12}|")
    every = [r for results in per_tool.values() for r in results]
    for tool, results in [*sorted(per_tool.items()), ("all", every)]:
        k = len(results)
        print(f"| {tool:<22} | {k:>5} | {sum(a for a, _ in results) / k:>10.0%} | {sum(b for _, b in results) / k:>10.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument("--cases", type=Path, default=CASES, help="a JSONL file of cases (default: routing_cases.jsonl)")
    parser.add_argument("--out", type=Path, default=None, help="write per-case results as JSON here")
    args = parser.parse_args()

    settings = Settings()
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    if args.limit:
        cases = cases[: args.limit]
    scratch = Path(tempfile.mkdtemp(prefix="routing-"))
    tools = build_toolkit(ToolContext(outputs=scratch, text_generator=lambda: None))
    t_load = time.perf_counter()
    model = make_chat_model(settings)
    bound = model.bind_tools(tools)
    system = SystemMessage(system_prompt())
    bound.invoke([system, HumanMessage("hello")])  # loads the model and caches the system prompt
    load_s = time.perf_counter() - t_load

    per_tool: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    latencies, rows = [], []
    for case in cases:
        attachments = []
        for name in case.get("attachments", []):
            path = scratch / name
            path.write_bytes(b"placeholder")
            attachments.append(path)
        content = _with_attachments(case["text"], attachments)
        t0 = time.perf_counter()
        reply = bound.invoke([system, HumanMessage(content)])
        dt = time.perf_counter() - t0
        call = reply.tool_calls[0] if reply.tool_calls else None
        got_tool = call["name"] if call else None
        tool_ok = got_tool == case["tool"]
        args_ok = tool_ok and all(arg_matches(v, (call or {}).get("args", {}).get(k)) for k, v in case["args"].items())
        per_tool[str(case["tool"])].append((tool_ok, args_ok))
        if call:
            latencies.append(dt)
        rows.append({**case, "got_tool": got_tool, "got_args": call["args"] if call else None,
                     "reply": reply.content if not call else "", "tool_ok": tool_ok, "args_ok": args_ok, "seconds": round(dt, 2)})
        mark = "ok " if args_ok else ("arg" if tool_ok else "BAD")
        print(f"[{mark}] {dt:5.1f}s {case['text'][:60]!r} -> {got_tool} {json.dumps(call['args']) if call else ''}"[:200], flush=True)

    n = len(rows)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"backend: {describe_backend(settings)}   cases: {n}   model load + system prompt: {load_s:.1f} s")
    print()
    print_scores(per_tool, "n")
    print()
    if latencies:
        print(f"time to first tool call: median {statistics.median(latencies):.2f} s, "
              f"p90 {sorted(latencies)[int(0.9 * (len(latencies) - 1))]:.2f} s; peak RSS {rss_mb:.0f} MB")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
