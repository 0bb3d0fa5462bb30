"""The embedded chat model: a GGUF model run by llama-cpp-python, as a langchain chat model.

Small models write unreliable free-form tool calls, so when tools are bound every
reply is decoded under a grammar built from a JSON schema: exactly one object
``{"tool": <name>, "arguments": {...}}`` whose arguments follow that tool's schema.
The pseudo-tool ``respond`` (``{"text": ...}``) is how the model talks to the user.
The result is an ordinary ``AIMessage`` with real ``tool_calls``, so the agent code
is the same for this backend and for OpenAI-compatible servers.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from assistant.grammar_filter import GrammarFilter
from assistant.prefix_cache import PrefixStates
from assistant.timing import MODEL_CLOCK
from assistant.tool_calls import (
    RESPOND,
    STATE_MESSAGE,
    _last_user_text,
    _text_of,
    _tools_still_allowed,
    drop_ungrounded_args,
    offered_arguments,
    parse_tool_reply,
    tool_call_schema,
    tools_prompt,
)
from core.textgen import Endings, Until, lyric_lines

_IM_END = "<|im_end|>"
READ_AHEAD_CHUNK = 32   # tokens read ahead between looks for a waiting message (~0.7 s on 2 cores)


_LOAD_LOCK = threading.Lock()


_LLAMAS: dict[tuple, Any] = {}


_RUN_LOCKS: dict[tuple, threading.Lock] = {}


def load_llama(model_path: str, n_ctx: int, n_threads: int | None) -> tuple[Any, threading.Lock]:
    """Load (once per process) the llama.cpp model and the lock that serialises its use."""
    key = (model_path, n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _LLAMAS:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise RuntimeError(
                    "llama-cpp-python is not installed; run scripts/setup.sh (it compiles it with the right CPU flags) "
                    "or set BANDMATE_LLM_BACKEND=openai."
                ) from exc
            start = time.perf_counter()
            threads = n_threads or free_cores()
            _LLAMAS[key] = Llama(
                model_path=model_path,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                verbose=False,
            )
            _RUN_LOCKS[key] = threading.Lock()
            MODEL_CLOCK.add(model_load=time.perf_counter() - start)
        return _LLAMAS[key], _RUN_LOCKS[key]


def free_cores(sample_seconds: float = 0.1) -> int:
    """How many cores other processes leave idle right now (at least 1): llama.cpp's threads spin while they
    wait, so one more thread than there are free cores makes every token wait on another process (~10x
    slower). Our own process's time (torch's and llama.cpp's threads still spinning down) does not count."""
    total = os.cpu_count() or 1
    try:
        first, own_first = _cpu_times(), _own_cpu_time()
        time.sleep(sample_seconds)
        second, own_second = _cpu_times(), _own_cpu_time()
    except (OSError, ValueError, IndexError):  # not Linux: assume the machine is ours
        return total
    elapsed = max(second[0] - first[0], 1)
    others_busy = (elapsed - (second[1] - first[1])) - (own_second - own_first)
    return max(1, min(total, round(total * (1.0 - max(others_busy, 0) / elapsed) + 0.25)))


_FREE_CORES: list[tuple[float, int]] = []   # (when, cores): the last measurement


def _recent_free_cores(max_age: float = 5.0) -> int:
    """:func:`free_cores`, measured at most every ``max_age`` seconds: the lyrics make a dozen calls in a row,
    and 0.1 s of sampling before each of them adds up while other processes' load barely moves."""
    now = time.monotonic()
    if not _FREE_CORES or now - _FREE_CORES[0][0] > max_age:
        _FREE_CORES[:] = [(now, free_cores())]
    return _FREE_CORES[0][1]


def measure_cores_afresh() -> None:
    """The next call measures the idle cores again instead of reusing a measurement up to 5 s old: a turn
    starts (a `bandmate ask` process still starting up when the last one was taken would keep the agent
    server on one thread, ~2x slower, for the whole of the next turn's first seconds)."""
    _FREE_CORES.clear()


def _cpu_times() -> tuple[int, int]:
    """(all jiffies, idle + iowait jiffies) of the machine, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def _own_cpu_time() -> int:
    """This process's user + system jiffies (all its threads), from /proc/self/stat."""
    with open("/proc/self/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _use_threads(llama: Any, n_threads: int) -> None:
    """Size llama.cpp's thread pool for the next call."""
    import llama_cpp

    if getattr(llama, "_bandmate_threads", None) != n_threads:
        llama_cpp.llama_set_n_threads(llama._ctx.ctx, n_threads, n_threads)
        llama._bandmate_threads = n_threads


def _record_perf(llama: Any) -> None:
    """Add the last call's prompt and generation time (llama.cpp's own counters) to the model clock."""
    import llama_cpp

    perf = llama_cpp.llama_perf_context(llama._ctx.ctx)
    MODEL_CLOCK.add(prompt_eval=perf.t_p_eval_ms / 1000, generation=perf.t_eval_ms / 1000,
                    prompt_tokens=perf.n_p_eval, generated_tokens=perf.n_eval, model_calls=1)
    llama_cpp.llama_perf_context_reset(llama._ctx.ctx)


class ChatLocalGGUF(BaseChatModel):
    """A langchain chat model over a local GGUF file, with grammar-constrained tool calls."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    model_name: str = "local-gguf"
    n_ctx: int = 8192
    n_threads: int | None = None
    temperature: float = 0.2
    max_tokens: int = 512
    tool_call_max_tokens: int = 384
    repeat_penalty: float = 1.1
    seed: int = 0
    state_cache_dir: str | None = None
    grammar_cache: dict = Field(default_factory=dict, exclude=True)
    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "bandmate-local-gguf"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_path": self.model_path}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any):
        """Bind tools (langchain tools, functions or schemas); replies then follow the tool-call grammar."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    # -- llama.cpp plumbing -------------------------------------------------
    def _ensure_loaded(self) -> tuple[Any, threading.Lock]:
        if self._llama is None:
            self._llama, self._lock = load_llama(self.model_path, self.n_ctx, self.n_threads)
        return self._llama, self._lock

    def _size_threads(self, llama: Any) -> None:
        """The default (no ``n_threads`` set): as many threads as there are idle cores now."""
        if self.n_threads is None:
            _use_threads(llama, _recent_free_cores())

    def _complete(self, prompt: str, *, max_tokens: int, temperature: float, grammar: Any = None,
                  repeat_penalty: float | None = None, seed: int | None = None, system: str = "",
                  min_tokens: int = 0, endings: Endings | None = None, until: Until | None = None) -> str:
        llama, lock = self._ensure_loaded()
        with lock:
            self._size_threads(llama)
            state_file = self._restore(llama, prompt, system)
            states = _prefix_states(llama)
            repeat_penalty = repeat_penalty or self.repeat_penalty
            allowed = GrammarFilter(llama, grammar, repeat_penalty) if grammar is not None else None
            try:
                out = llama.create_completion(
                    prompt=prompt,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=0.9,
                    repeat_penalty=repeat_penalty,
                    seed=self.seed if seed is None else seed,
                    stop=[_IM_END],
                    logits_processor=_processors(llama, min_tokens, endings, allowed),
                    stopping_criteria=_stop_when(llama, until) if until else None,
                )
            finally:
                if allowed is not None:
                    allowed.close()
            if state_file is not None and not state_file.exists():
                _save_prefix_state(llama, state_file)
            states.save(llama)
            _record_perf(llama)
        return out["choices"][0]["text"]

    def _restore(self, llama: Any, prompt: str, system: str) -> Path | None:
        """Put back the evaluated state that shares the most with ``prompt``: from memory, else the system
        prompt's state file (a fresh process, or a tool's text generation replaced the prompt and no earlier
        call of this process kept it: the agent's 50 MB state took ~0.8 s from disk). Returns the state file."""
        state_file = self._state_file(system)
        _prefix_states(llama).restore(llama, prompt)
        if state_file is not None and state_file.exists() and not _holds_prefix(llama, system):
            _load_prefix_state(llama, state_file)
        return state_file

    def read_ahead(self, messages: Sequence[BaseMessage], tools: Sequence[Any],
                   stop: Callable[[], bool] | None = None) -> int:
        """Read the next decision's prompt up to where its user message will go (the system prompt, the state
        message, the turns so far) and keep the evaluated state, so that the decision reads only the message:
        after a song ~250 tokens, ~3 s on 2 cores, done while the person reads the reply. For a process that
        waits for its next message (:mod:`serve.agent_server`). ``stop`` is asked between chunks of
        :data:`READ_AHEAD_CHUNK` tokens: when a message is already waiting, reading stops there and what was
        read stays in the model for that message. Returns the tokens read."""
        from llama_cpp import Llama

        marker = "\u2063next message"
        formatted = [convert_to_openai_tool(t) for t in tools]      # as bind_tools gives them to a decision
        prompt = self.build_prompt([*messages, HumanMessage(marker)], formatted, reserve=self.tool_call_max_tokens)
        prefix = prompt[: prompt.rindex(self._render("user", marker))]
        llama, lock = self._ensure_loaded()
        with lock:
            self._size_threads(llama)
            state_file = self._restore(llama, prefix, prompt[: prompt.index(_IM_END)])
            tokens = llama.tokenize(prefix.encode("utf-8"), add_bos=False, special=True)
            held = Llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
            llama.n_tokens = held
            read = held
            while read < len(tokens) and not (stop and stop()):
                llama.eval(tokens[read: read + READ_AHEAD_CHUNK])
                read = llama.n_tokens
            if read == len(tokens):
                if state_file is not None and not state_file.exists():
                    _save_prefix_state(llama, state_file)
                _prefix_states(llama).save(llama)
            _record_perf(llama)
        return read - held

    def _state_file(self, system: str) -> Path | None:
        """Where the evaluated system prompt is kept, so a new process skips re-reading it (~20 s on 2 cores)."""
        if not self.state_cache_dir or not system:
            return None
        key = hashlib.sha256(f"{self.model_path}\n{self.n_ctx}\n{system}".encode()).hexdigest()[:24]
        return Path(self.state_cache_dir) / f"prefix-{key}.state"

    def ending_logprobs(self, text: str, words: Sequence[str], best_of: int = 4) -> list[float]:
        """For each word: log P(" word", then the line ends | ``text``), a raw chatml prompt that stops mid-line:
        how natural each word is as the line's last. Only the ``best_of`` words whose first token is likeliest
        are scored in full (one token's evaluation per token of the word, ~70 ms each on 2 cores); the rest
        score -inf. The shared start of ``text`` is reused from the cache."""
        import numpy as np

        llama, lock = self._ensure_loaded()
        with lock:
            self._size_threads(llama)
            base = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            first = _next_logprobs(llama, base)
            ends = _line_end_ids(llama)
            tokens = [llama.tokenize((" " + w.strip()).encode("utf-8"), add_bos=False, special=False) for w in words]
            likeliest = sorted(range(len(words)), key=lambda k: -first[tokens[k][0]])[:best_of]
            scores = [float("-inf")] * len(words)
            for k in likeliest:
                total, step = 0.0, first
                for n, token in enumerate(tokens[k]):
                    total += float(step[token])
                    step = _next_logprobs(llama, base + tokens[k][: n + 1])
                scores[k] = total + float(np.logaddexp.reduce(step[ends]))
            _record_perf(llama)
        return scores

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` under the model's own tokenizer."""
        llama, _ = self._ensure_loaded()
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _grammar(self, tools: Sequence[dict]) -> Any:
        key = json.dumps([(t["function"]["name"], sorted((t["function"].get("parameters") or {}).get("properties") or {}))
                          for t in tools])
        if key not in self.grammar_cache:
            from llama_cpp import LlamaGrammar

            self.grammar_cache[key] = LlamaGrammar.from_json_schema(json.dumps(tool_call_schema(tools)), verbose=False)
        return self.grammar_cache[key]

    # -- prompt building ----------------------------------------------------
    @staticmethod
    def _render(role: str, content: str) -> str:
        return f"<|im_start|>{role}\n{content}{_IM_END}\n"

    def _render_message(self, msg: BaseMessage, with_tools: bool) -> str:
        if isinstance(msg, HumanMessage):
            return self._render("user", _text_of(msg))
        if isinstance(msg, ToolMessage):
            return self._render("user", f"<tool_response name=\"{msg.name or 'tool'}\">\n{_text_of(msg)}\n</tool_response>")
        if isinstance(msg, AIMessage):
            if msg.tool_calls:
                calls = "\n".join(json.dumps({"tool": c["name"], "arguments": c["args"]}) for c in msg.tool_calls)
                return self._render("assistant", calls)
            text = _text_of(msg)
            if with_tools:
                text = json.dumps({"tool": RESPOND, "arguments": {"text": text}})
            return self._render("assistant", text)
        if isinstance(msg, SystemMessage):
            return ""
        return self._render("user", _text_of(msg))

    def build_prompt(self, messages: Sequence[BaseMessage], tools: Sequence[dict] | None, reserve: int) -> str:
        """Render chatml, earlier turns in brief (:func:`compact_history`), dropping the oldest turns when the
        context would overflow."""
        system = "\n\n".join(_text_of(m) for m in messages if isinstance(m, SystemMessage))
        if tools:
            system = (system + "\n\n" if system else "") + tools_prompt(tools)
        head = self._render("system", system) if system else ""
        body = compact_history([m for m in messages if not isinstance(m, SystemMessage)])
        budget = self.n_ctx - reserve
        rendered = [self._render_message(m, bool(tools)) for m in body]
        while True:
            prompt = head + "".join(rendered) + "<|im_start|>assistant\n"
            if len(rendered) <= 1 or self.count_tokens(prompt) <= budget:
                return prompt
            # drop the oldest turn: everything up to the next user message
            rendered.pop(0)
            body.pop(0)
            while body and not isinstance(body[0], HumanMessage):
                rendered.pop(0)
                body.pop(0)

    # -- langchain entry point ---------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools") or []
        temperature = kwargs.get("temperature", self.temperature)
        if not tools:
            max_tokens = kwargs.get("max_tokens") or self.max_tokens
            prompt = self.build_prompt(messages, None, reserve=max_tokens)
            # a tool's fixed system prompt (the lyrics', the captions') is kept on disk like the agent's: a new
            # process's first song read ~100 tokens of it again, ~1.3 s on 2 cores
            system = prompt[: prompt.index(_IM_END)] if prompt.startswith("<|im_start|>system") else ""
            text = self._complete(prompt, max_tokens=max_tokens, temperature=temperature, system=system,
                                  repeat_penalty=kwargs.get("repeat_penalty"), seed=kwargs.get("seed"),
                                  min_tokens=min(kwargs.get("min_tokens") or 0, max_tokens),
                                  endings=kwargs.get("endings"), until=kwargs.get("until"))
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text.strip()))])

        if messages and isinstance(messages[-1], ToolMessage):
            # The tool has answered. A 1.5B model's closing sentence only restated the tool's words (and took
            # ~20 s on 2 cores), so the tool's words are the reply; a larger model behind an OpenAI-compatible
            # server still writes its own.
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=_tool_words(messages)))])
        allowed = offered_arguments(_tools_still_allowed(messages, tools), _last_user_text(messages))
        prompt = self.build_prompt(messages, tools, reserve=self.tool_call_max_tokens)
        raw = self._complete(prompt, max_tokens=self.tool_call_max_tokens, temperature=temperature,
                             grammar=self._grammar(allowed), system=prompt[: prompt.index(_IM_END)])
        message = parse_tool_reply(raw)
        if message.tool_calls:
            schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in tools}
            user_text = _last_user_text(messages)
            for call in message.tool_calls:
                call["args"] = drop_ungrounded_args(call["args"], schemas.get(call["name"], {}), user_text)
        return ChatResult(generations=[ChatGeneration(message=message)])


EARLIER_LINE_CHARS = 160   # how much of an earlier turn's tool result or reply the model reads again


def compact_history(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The conversation as the small model reads it: the current turn whole; earlier turns in brief, since
    every token of them is read again (~75 tokens a second on 2 cores) and the state message already says
    what the conversation made. Earlier tool results and replies keep their first line (a song's whole
    lyrics and chord chart were ~600 tokens, 13 s before the next decision); earlier state messages go."""
    users = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage) and m.name != STATE_MESSAGE]
    start = users[-1] if users else len(messages)
    while start > 0 and getattr(messages[start - 1], "name", None) == STATE_MESSAGE:
        start -= 1                                  # this turn's state message belongs to the turn
    earlier = []
    for k, msg in enumerate(messages[:start]):
        if isinstance(msg, HumanMessage) and msg.name == STATE_MESSAGE:
            continue
        if (isinstance(msg, AIMessage) and not msg.tool_calls and k and isinstance(messages[k - 1], ToolMessage)
                and _text_of(msg).strip() == _tool_words(messages[:k])):
            continue          # the reply was the tool's own words, read just before in its result (~45 tokens)
        if isinstance(msg, ToolMessage) or (isinstance(msg, AIMessage) and not msg.tool_calls):
            msg = msg.model_copy(update={"content": _first_line(_text_of(msg))})
        earlier.append(msg)
    return earlier + list(messages[start:])


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= EARLIER_LINE_CHARS else line[: EARLIER_LINE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _tool_words(messages: Sequence[BaseMessage]) -> str:
    """What the tools that ended this turn (the last run of tool messages) show the person, as the reply."""
    results = []
    for msg in reversed(messages):
        if not isinstance(msg, ToolMessage):
            break
        artifact = msg.artifact if isinstance(msg.artifact, dict) else {}
        results.append(artifact.get("display") or _text_of(msg))
    return "\n".join(reversed(results)).strip()


def _processors(llama: Any, min_tokens: int, endings: Endings | None, allowed: GrammarFilter | None = None) -> Any:
    """The logits processors a completion asks for, or None."""
    import llama_cpp

    found: list[Any] = [allowed] if allowed is not None else []
    if min_tokens:
        found.append(_hold_end(llama, min_tokens))
    if endings:
        found.append(_lean_to_endings(llama, endings))
    return llama_cpp.LogitsProcessorList(found) if found else None


def _stop_when(llama: Any, until: Until) -> Any:
    """A stopping criterion: the reply ends at the end of a line once ``until`` holds for its lyric lines (a
    1.5B model asked for four lines often writes a second stanza, ~25 tokens, ~1 s on 2 cores, thrown away)."""
    import llama_cpp

    start: list[int] = []

    def enough(input_ids: Any, logits: Any) -> bool:
        if not start:
            start.append(len(input_ids))       # first called with the prompt: what follows is the reply
        if not llama.detokenize([int(input_ids[-1])]).endswith(b"\n"):
            return False
        text = llama.detokenize(list(input_ids[start[0]:])).decode("utf-8", errors="ignore")
        return until(lyric_lines(text))

    return llama_cpp.StoppingCriteriaList([enough])


def _hold_end(llama: Any, min_tokens: int) -> Any:
    """A logits processor that keeps the reply from ending before ``min_tokens`` tokens (a 1.5B model stops
    its captions at ~30 words where MusicCaps' run ~50; asked for a length in words, it does not count)."""
    import numpy as np

    ends = _end_ids(llama)
    start: list[int] = []

    def hold(input_ids: Any, scores: Any) -> Any:
        if not start:
            start.append(len(input_ids))
        if len(input_ids) - start[0] < min_tokens:
            scores[ends] = -np.inf
        return scores

    return hold


# How much more likely a wanted line ending becomes (added to its first token's logit), how much more likely
# the line's end is right after one, and how many words a line has before the lean starts: a 1.5B model asked
# for a line "ENDING with one of: ..." mostly ignores the list, and one forced onto a word cannot plan the line
# toward it ("I left you behind on the shore, alone away"). Set on bench/lyrics_quality.py (+3/+2 rhymed less).
ENDING_LEAN = 4.0
END_LEAN = 5.0
LEAN_AFTER_WORDS = 4
# A rhyme word is made likelier only where the model itself gives it at least e^-7 (~1/1100): pushed below that,
# lines ended "my heart grows flight", "my father's truck is gone sky" (lyrics bench, 30 songs: rhyme rate
# 0.78 either way, naturalness -2.89 against -2.96).
LEAN_FLOOR = -7.0


def _lean_to_endings(llama: Any, endings: Endings) -> Any:
    """A logits processor that, once a line of the reply has :data:`LEAN_AFTER_WORDS` words (and not right after
    a comma or full stop), makes the words ``endings`` names for it likelier (their first tokens, by
    :data:`ENDING_LEAN`, those the model gives at least :data:`LEAN_FLOOR` there), and right after one of them
    the line's end (by :data:`END_LEAN`; the reply's end too: leaving it out rhymed less, 0.76 against 0.80 on
    the lyrics bench): the model still chooses where the line goes, and the words come where it ends a phrase."""
    import numpy as np

    start: list[int] = []
    wanted: dict[tuple[str, ...], list[int]] = {}
    ends = _line_end_ids(llama)

    def lean(input_ids: Any, scores: Any) -> Any:
        if not start:
            start.append(len(input_ids))
        text = llama.detokenize(list(input_ids[start[0]:])).decode("utf-8", errors="ignore")
        current = text.split("\n")[-1]
        if len(current.split()) < LEAN_AFTER_WORDS or current.rstrip().endswith((",", ".", "!", "?", ";")):
            return scores           # after a phrase has ended, a rhyme word would only be tacked on
        lines = tuple(lyric_lines(text))
        if lines not in wanted:
            wanted[lines] = sorted({_first_word_token(llama, w) for w in endings(list(lines))} - {None})
        if wanted[lines]:
            top = float(scores.max())
            floor = LEAN_FLOOR + top + float(np.log(np.exp(scores - top).sum()))   # as a logit
            scores[[t for t in wanted[lines] if scores[t] >= floor]] += ENDING_LEAN
            if int(input_ids[-1]) in wanted[lines]:     # a wanted word just written: ending the line there too
                scores[ends] += END_LEAN
        return scores

    return lean


def _first_word_token(llama: Any, word: str) -> int | None:
    """The token of " word" mid-line, when the word is one token (most common English words are); else None."""
    tokens = llama.tokenize((" " + word.strip()).encode("utf-8"), add_bos=False, special=False)
    return tokens[0] if len(tokens) == 1 else None


_VOCAB_IDS: dict[tuple[str, str], list[int]] = {}   # (model path, which): token ids found once per model


def _end_ids(llama: Any) -> list[int]:
    """Every token that ends a reply (Qwen2.5's GGUF has several besides <|im_end|>)."""
    key = (llama.model_path, "reply ends")
    if key not in _VOCAB_IDS:
        import llama_cpp

        vocab = llama._model.vocab
        _VOCAB_IDS[key] = [t for t in range(llama.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)]
    return _VOCAB_IDS[key]


def _next_logprobs(llama: Any, tokens: list[int]) -> Any:
    """Log-probabilities of the token after ``tokens``: the cached start is kept, the rest evaluated."""
    import numpy as np
    from llama_cpp import Llama

    keep = Llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
    llama.n_tokens = min(keep, len(tokens) - 1)         # at least one token evaluated: its logits are the answer
    llama.eval(tokens[llama.n_tokens:])
    logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).astype(np.float64)
    return logits - np.logaddexp.reduce(logits)


def _line_end_ids(llama: Any) -> list[int]:
    """The tokens that end a lyric line: a newline, end punctuation, the end of the reply."""
    key = (llama.model_path, "line ends")
    if key not in _VOCAB_IDS:
        ids = list(_end_ids(llama))
        for i in range(llama.n_vocab()):
            piece = llama.detokenize([i]).decode("utf-8", errors="ignore")
            if piece.startswith(("\n", ",", ".", "!", "?", ";")) and not piece.strip(" \n,.!?;"):
                ids.append(i)
        _VOCAB_IDS[key] = ids
    return _VOCAB_IDS[key]


_PREFIX_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _prefix_states(llama: Any) -> PrefixStates:
    """The evaluated prompts kept for this model (one set per loaded model)."""
    if llama not in _PREFIX_STATES:
        _PREFIX_STATES[llama] = PrefixStates()
    return _PREFIX_STATES[llama]


def _holds_prefix(llama: Any, text: str) -> bool:
    """Does the model's KV cache already start with ``text``?"""
    tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    return llama.n_tokens >= len(tokens) and llama.input_ids[: len(tokens)].tolist() == tokens


def _save_prefix_state(llama: Any, path: Path) -> None:
    """Persist the model's KV cache (not its 300 MB logits buffer) atomically."""
    state = llama.save_state()
    payload = {"input_ids": state.input_ids[: state.n_tokens].tolist(), "n_tokens": state.n_tokens,
               "llama_state": state.llama_state, "llama_state_size": state.llama_state_size, "seed": state.seed}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _load_prefix_state(llama: Any, path: Path) -> None:
    """Restore a saved KV cache; a damaged file is deleted and the prompt is simply evaluated again."""
    import numpy as np
    from llama_cpp import LlamaState

    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)
        ids = np.zeros(llama.n_ctx(), dtype=np.intc)
        ids[: payload["n_tokens"]] = payload["input_ids"]
        llama.load_state(LlamaState(input_ids=ids, scores=np.zeros((1, llama.n_vocab()), dtype=np.single),
                                    n_tokens=payload["n_tokens"], llama_state=payload["llama_state"],
                                    llama_state_size=payload["llama_state_size"], seed=payload["seed"]))
    except Exception:  # noqa: BLE001 - a cache is never worth a failure
        path.unlink(missing_ok=True)
        llama.reset()
