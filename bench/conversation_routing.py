"""Multi-turn routing: does the configured chat model act on what the conversation already made?

Each case in conversation_cases.jsonl is a conversation of 1-4 turns (compose then edit,
compose then a question, analyse a clip then a follow-up, chords then "render that", lyrics
then "make it a song", an unrelated request after a song, a follow-up with nothing to act on).
Every turn is scored on the model's first decision: the right tool, the right arguments, and
for question turns whether the answer (read off the state by the recall tool) states the fact
asked for. The model sees exactly what the assistant shows it: the system prompt, the earlier
turns, the state summary, then the message. Between turns the state is what the expected tool
would have left (a real composed song, a real clip analysis, real suggested chords and lyrics),
so every turn is judged on the same history.

    python bench/conversation_routing.py              # the configured backend (embedded by default)
    python bench/conversation_routing.py --limit 5 --out results.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_routing import arg_matches, print_scores  # noqa: E402

from assistant.agent import system_prompt  # noqa: E402
from assistant.api import _with_attachments  # noqa: E402
from assistant.context import ToolContext  # noqa: E402
from assistant.conversation import (  # noqa: E402
    ChordsMemory,
    ClipMemory,
    LyricsMemory,
    ThreadState,
    state_message,
)
from assistant.llm import describe_backend, make_chat_model  # noqa: E402
from assistant.recall import recall  # noqa: E402
from assistant.toolkit import build_toolkit  # noqa: E402
from core.settings import Settings  # noqa: E402
from tools.listening.analyze import analyze_audio  # noqa: E402
from tools.song.compose import compose_song  # noqa: E402
from tools.song.song import SongRequest  # noqa: E402
from tools.songwriting.chords import suggest_progression  # noqa: E402

CASES = Path(__file__).with_name("conversation_cases.jsonl")
CLIP = ROOT.parent / "shared" / "data" / "audio" / "sorohanro_-_solo-trumpet-06.ogg"
LYRICS = ("[Verse 1]\nI packed my bags at the break of day\nThe old road called me far away\n"
          "[Chorus]\nGoodbye, goodbye, my little town\nI'll carry you when the sun goes down\n"
          "[Verse 2]\nThe station clock was ticking slow\nThe platform lights were burning low\n"
          "[Chorus]\nGoodbye, goodbye, my little town\nI'll carry you when the sun goes down\n")


def fixtures(scratch: Path) -> dict:
    """What the expected tools leave behind: a real song, a real clip analysis, real chords and lyrics."""
    song = compose_song(SongRequest(prompt="leaving home", genre="folk", mood="sad", lyrics=LYRICS, seed=3),
                        llm=None, out_dir=scratch / "songs")
    analysis = analyze_audio(CLIP)
    prog = suggest_progression(genre="jazz", key="D minor", bars=8)
    return {
        "song": song,
        "clip": ClipMemory(str(CLIP), tuple(analysis.to_facts())),
        "analysis": analysis,
        "chords": ChordsMemory(" ".join(",".join(b) for b in prog.bars()), str(prog.key), prog.genre),
        "lyrics": LyricsMemory("Goodbye", LYRICS, prompt="leaving home"),
    }


def after(tool: str, state: ThreadState, fx: dict) -> ThreadState:
    """The state the expected tool leaves."""
    changes = {"compose_song": {"song": str(fx["song"].folder)}, "analyze_audio": {"clip": fx["clip"]},
               "suggest_chords": {"chords": fx["chords"]}, "write_lyrics": {"lyrics": fx["lyrics"]}}.get(tool, {})
    made = tuple(changes)
    return replace(state, **changes, history=(*[h for h in state.history if h not in made], *made)) if changes else state


def expected_facts(keys: list[str], fx: dict) -> list[str]:
    song, analysis = fx["song"], fx["analysis"]
    chorus = next(s for s in song.sections if s.kind == "chorus")
    verse = next(s for s in song.sections if s.kind == "verse")
    table = {"chorus_chords": " ".join(chorus.chords), "verse_chords": " ".join(verse.chords), "key": song.key,
             "tempo": f"{song.tempo:g} BPM", "length": f"{song.duration_seconds:.0f} s",
             "instruments": song.instruments[0], "lyrics": song.lyrics.sections[0].lines[0].text,
             "clip_tempo": f"{analysis.tempo_bpm:.0f} BPM" if analysis.tempo_bpm else "Tempo",
             "clip_key": analysis.key or "Key", "clip_length": "Duration", "clip_chords": "Chord"}
    return [table[k] for k in keys]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N conversations")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--out", type=Path, default=None, help="write per-turn results as JSON here")
    args = parser.parse_args()

    settings = Settings()
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    cases = cases[: args.limit] if args.limit else cases
    scratch = Path(tempfile.mkdtemp(prefix="conversations-"))
    fx = fixtures(scratch)
    tools = build_toolkit(ToolContext(outputs=scratch, text_generator=lambda: None, home=scratch))
    bound = make_chat_model(settings).bind_tools(tools)
    system = SystemMessage(system_prompt())
    bound.invoke([system, HumanMessage("hello")])  # loads the model and caches the system prompt

    per_kind: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    rows, latencies = [], []
    for case in cases:
        state, history = ThreadState(), []
        for turn in case["turns"]:
            paths = []
            for name in turn.get("attachments", []):
                (scratch / name).write_bytes(b"placeholder")
                paths.append(scratch / name)
            remembered = state_message(state)
            shown = [system, *history, *([remembered] if remembered else []),
                     HumanMessage(_with_attachments(turn["text"], paths))]
            t0 = time.perf_counter()
            reply = bound.invoke(shown)
            dt = time.perf_counter() - t0
            call = reply.tool_calls[0] if reply.tool_calls else None
            got = call["name"] if call else "respond"
            tool_ok = got == turn["tool"]
            args_ok = tool_ok and all(arg_matches(v, (call or {}).get("args", {}).get(k)) for k, v in turn["args"].items())
            agrees = None
            if turn.get("expect"):
                text = recall((call or {}).get("args", {}).get("question") or turn["text"], state) if got == "recall" \
                    else str(reply.content)
                agrees = all(fact.lower() in text.lower() for fact in expected_facts(turn["expect"], fx))
            per_kind[turn["tool"]].append((tool_ok, args_ok))
            latencies.append(dt)
            rows.append({"case": case["id"], **turn, "got_tool": got, "got_args": call["args"] if call else None,
                         "tool_ok": tool_ok, "args_ok": args_ok, "agrees": agrees, "seconds": round(dt, 2)})
            mark = "ok " if args_ok else ("arg" if tool_ok else "BAD")
            print(f"[{mark}] {dt:5.1f}s {case['id']} {turn['text'][:50]!r} -> {got} "
                  f"{json.dumps(call['args']) if call else ''}"[:200], flush=True)
            # the next turn sees the expected tool's effect, whatever the model chose
            if remembered:
                history.append(remembered)
            history += [HumanMessage(_with_attachments(turn["text"], paths)),
                        AIMessage("", tool_calls=[{"name": turn["tool"], "args": turn["args"], "id": "c", "type": "tool_call"}])
                        if turn["tool"] != "respond" else AIMessage("You're welcome!")]
            if turn["tool"] != "respond":
                history += [ToolMessage("Done.", tool_call_id="c", name=turn["tool"]), AIMessage("Done.")]
            state = after(turn["tool"], state, fx)

    n = len(rows)
    print()
    print(f"backend: {describe_backend(settings)}   conversations: {len(cases)}   turns: {n}")
    print()
    print_scores(per_kind, "turns")
    print()
    questions = [r for r in rows if r["agrees"] is not None]
    from_state = sum(r["got_tool"] == "recall" for r in questions)
    print(f"question turns: {len(questions)}; answered from the state (recall): {from_state}, in the model's own "
          f"words: {len(questions) - from_state}; answers that state the fact asked: "
          f"{sum(r['agrees'] for r in questions)}")
    print(f"time to the first decision: median {statistics.median(latencies):.2f} s")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
