#!/usr/bin/env python3
"""Relay benchmark: how long `aix run --stream` takes to relay an N-chunk
event stream from a local server, against `curl -sN` reading the same
stream from the same server, plus the peak RSS of the aix process itself.

The server builds each stream once in memory and writes it with sendall,
so it is never the bottleneck. Shapes follow real servers' chunks: vLLM,
Ollama, llama.cpp, DeepSeek reasoning, OpenAI (per-chunk `obfuscation`,
`system_fingerprint`, `service_tier`, a final usage chunk with empty
`choices`), OpenAI with logprobs, and streamed tool-call arguments. Each
is sent in chunked transfer encoding, one HTTP chunk per event as real
servers do; `--framing close` sends a plain body ended by closing the
connection instead. For each stream, curl and aix run alternately RUNS
times with stdout to /dev/null and the medians are compared. Peak RSS is
`/usr/bin/time -f %M` around aix alone.

    cargo build --release
    python3 bench/stream_bench.py [--chunks 200000,1000000] [--runs 5]
        [--shapes vllm,openai,...] [--framing chunked|close|both]
        [--delta-bytes N] [--aix target/release/aix] [--instructions]

It prints a markdown table that drops into BENCHMARKS.md. With
`--instructions` it counts the aix process's instructions under valgrind
instead of timing anything (repeatable on a busy machine).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time

WORDS = ["Hello", " world", ",", " this", " is", " a", " token", "\n", " é", ' "q"']
# Budget per shape (aix time / curl time).
BUDGET = {"vllm": 1.5, "ollama": 1.5, "llamacpp": 1.5, "deepseek": 1.5, "openai": 1.5,
          "logprobs": 2.0, "toolcalls": 2.0, "responses": 2.0, "messages": 2.0}
# The protocol each shape is (chat unless named), and its path.
WIRE = {"responses": "responses", "messages": "messages"}
PATH = {"chat": "chat/completions", "responses": "responses", "messages": "messages"}
SHAPES = list(BUDGET)


def obfuscation(i: int) -> str:
    return format((i * 0x9E3779B97F4A7C15) % (1 << 64), "x")[: 4 + i % 9]


def chunk(shape: str, i: int, text: str) -> dict:
    if shape == "vllm":
        return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "bench-model", "choices": [{"index": 0, "delta": {"content": text},
                                                     "logprobs": None, "finish_reason": None}]}
    if shape == "ollama":
        return {"id": "chatcmpl-42", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "llama3.2", "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": text},
                             "finish_reason": None}]}
    if shape == "llamacpp":
        return {"choices": [{"finish_reason": None, "index": 0, "delta": {"content": text}}],
                "created": 1700000000 + i // 2000, "id": "chatcmpl-abc", "model": "gpt-3.5-turbo",
                "system_fingerprint": "b4567-0123abcd", "object": "chat.completion.chunk"}
    if shape == "deepseek":
        return {"id": "d1", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "deepseek-reasoner", "system_fingerprint": "fp_ds",
                "choices": [{"index": 0, "delta": {"content": None, "reasoning_content": text},
                             "logprobs": None, "finish_reason": None}]}
    if shape == "openai":
        return {"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "gpt-4o-2024-08-06", "service_tier": "default",
                "system_fingerprint": "fp_07871e2ad8",
                "choices": [{"index": 0, "delta": {"content": text}, "logprobs": None,
                             "finish_reason": None}],
                "usage": None, "obfuscation": obfuscation(i)}
    if shape == "logprobs":
        b = list(text.encode())
        return {"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "gpt-4o-2024-08-06", "service_tier": "default",
                "system_fingerprint": "fp_07871e2ad8",
                "choices": [{"index": 0, "delta": {"content": text},
                             "logprobs": {"content": [{"token": text, "logprob": -0.0001 * (i % 97),
                                                       "bytes": b, "top_logprobs": []}],
                                          "refusal": None},
                             "finish_reason": None}],
                "usage": None, "obfuscation": obfuscation(i)}
    if shape == "toolcalls":
        return {"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
                "model": "gpt-4o-2024-08-06", "service_tier": "default",
                "system_fingerprint": "fp_07871e2ad8",
                "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": text}}]},
                    "logprobs": None, "finish_reason": None}],
                "usage": None, "obfuscation": obfuscation(i)}
    raise SystemExit(f"unknown shape {shape}")


def compact(v) -> bytes:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


def wire_events(shape: str, chunks: int, delta_bytes: int):
    """(event name, data) of a Responses or Anthropic Messages stream."""
    def text(i):
        t = WORDS[i % len(WORDS)]
        return (t * (delta_bytes // len(t) + 1))[:delta_bytes] if delta_bytes else t
    if shape == "responses":
        yield b"response.created", compact({"type": "response.created", "sequence_number": 0,
                                            "response": {"id": "resp_1", "status": "in_progress"}})
        for i in range(chunks):
            yield b"response.output_text.delta", compact({
                "type": "response.output_text.delta", "sequence_number": i + 1,
                "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": text(i),
                "logprobs": [], "obfuscation": obfuscation(i)})
        yield b"response.completed", compact({"type": "response.completed", "response": {
            "id": "resp_1", "status": "completed",
            "usage": {"input_tokens": 9, "output_tokens": chunks, "total_tokens": chunks + 9}}})
        return
    yield b"message_start", compact({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-bench",
        "content": [], "usage": {"input_tokens": 9, "output_tokens": 1}}})
    yield b"content_block_start", compact({"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}})
    for i in range(chunks):
        if i % 5000 == 0:
            yield b"ping", compact({"type": "ping"})
        yield b"content_block_delta", compact({"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": text(i)}})
    yield b"content_block_stop", compact({"type": "content_block_stop", "index": 0})
    yield b"message_delta", compact({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                     "usage": {"output_tokens": chunks}})
    yield b"message_stop", compact({"type": "message_stop"})


def events(shape: str, chunks: int, delta_bytes: int):
    if shape == "toolcalls":
        first = {"id": "chatcmpl-Bx1", "object": "chat.completion.chunk", "created": 1700000000,
                 "model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "delta": {
                     "role": "assistant", "content": None, "tool_calls": [
                         {"index": 0, "id": "call_1", "type": "function",
                          "function": {"name": "write", "arguments": ""}}]},
                     "finish_reason": None}]}
        yield json.dumps(first, separators=(",", ":")).encode()
    for i in range(chunks):
        text = WORDS[i % len(WORDS)]
        if delta_bytes:
            text = (text * (delta_bytes // len(text) + 1))[:delta_bytes]
        yield json.dumps(chunk(shape, i, text), separators=(",", ":"),
                         ensure_ascii=False).encode()
    finish = {"id": "chatcmpl-x", "object": "chat.completion.chunk",
              "choices": [{"index": 0, "delta": {},
                           "finish_reason": "tool_calls" if shape == "toolcalls" else "stop"}]}
    yield json.dumps(finish, separators=(",", ":")).encode()
    if shape in ("openai", "logprobs", "toolcalls"):
        usage = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "choices": [],
                 "usage": {"prompt_tokens": 9, "completion_tokens": chunks,
                           "total_tokens": chunks + 9}, "obfuscation": "x"}
        yield json.dumps(usage, separators=(",", ":")).encode()
    yield b"[DONE]"


def build(shape: str, chunks: int, framing: str, delta_bytes: int) -> tuple[bytes, int]:
    parts = []
    payload = 0
    if shape in WIRE:
        stream = (b"event: " + name + b"\ndata: " + data + b"\n\n"
                  for name, data in wire_events(shape, chunks, delta_bytes))
    else:
        stream = (b"data: " + data + b"\n\n" for data in events(shape, chunks, delta_bytes))
    for ev in stream:
        payload += len(ev)
        if framing == "chunked":
            parts.append(b"%x\r\n" % len(ev) + ev + b"\r\n")
        else:
            parts.append(ev)
    if framing == "chunked":
        parts.append(b"0\r\n\r\n")
    return b"".join(parts), payload


class Server:
    def __init__(self):
        self.body = b""
        self.framing = "chunked"
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            conn.settimeout(60)
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    break
                data += more
            headers, _, rest = data.partition(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            while len(rest) < length:
                rest += conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            if self.framing == "chunked":
                head += b"transfer-encoding: chunked\r\n"
            head += b"connection: close\r\n\r\n"
            try:
                conn.sendall(head + self.body)
            except OSError:
                pass
            conn.close()


def timed(cmd, env=None) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.run(cmd, stdout=devnull, stderr=subprocess.PIPE, env=env)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr.decode()}")
    return took


def peak_rss_kib(cmd, env) -> int:
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd], env=env,
                       stdout=subprocess.DEVNULL, check=True)
        return int(out.read().strip().splitlines()[-1])


def instructions(cmd, env) -> int:
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"valgrind failed: {proc.stderr}")
    refs = [line for line in proc.stderr.splitlines() if "refs:" in line]
    return int(refs[-1].split()[-1].replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", default="200000,1000000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--framing", choices=["chunked", "close", "both"], default="chunked")
    ap.add_argument("--delta-bytes", type=int, default=0,
                    help="make every delta this long (default: short words)")
    ap.add_argument("--aix", default="target/release/aix")
    ap.add_argument("--instructions", action="store_true",
                    help="count the aix process's instructions under valgrind (callgrind) "
                         "instead of timing it: repeatable whatever the machine's load")
    args = ap.parse_args()

    server = Server()
    base = f"http://127.0.0.1:{server.port}/v1"
    home = tempfile.mkdtemp()
    env = dict(os.environ, AIX_HOME=home, NO_COLOR="1")
    aix = os.path.abspath(args.aix)
    for wire in PATH:
        subprocess.run([aix, "provider", "add", f"bench-{wire}", base, "--model", "bench-model",
                        "--wire", wire], env=env, check=True, capture_output=True)
    subprocess.run([aix, "create", "bench", "go"], env=env, check=True, capture_output=True)
    request = '{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"go"}]}'

    def commands(shape):
        wire = WIRE.get(shape, "chat")
        curl = ["curl", "-sS", "-N", "-X", "POST", "-H", "content-type: application/json",
                "-d", request, f"{base}/{PATH[wire]}"]
        return curl, [aix, "run", "bench", "--provider", f"bench-{wire}", "--stream", "-e"]

    framings = ["chunked", "close"] if args.framing == "both" else [args.framing]

    def cases():
        """Each (chunks, shape, framing) in turn, the server serving its
        stream: its commands and payload size."""
        for n in [int(c) for c in args.chunks.split(",")]:
            for shape in args.shapes.split(","):
                curl, aix_cmd = commands(shape)
                for framing in framings:
                    server.body, payload = build(shape, n, framing, args.delta_bytes)
                    server.framing = framing
                    yield n, shape, framing, curl, aix_cmd, payload

    if args.instructions:
        print("| shape | framing | chunks | aix instructions |")
        print("|---|---|---|---|")
        for n, shape, framing, _, aix_cmd, _ in cases():
            print(f"| {shape} | {framing} | {n:,} | {instructions(aix_cmd, env) / 1e6:.1f} M |",
                  flush=True)
        return
    print("| shape | framing | chunks | MB | curl -sN | aix | ratio | budget | aix peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, shape, framing, curl, aix_cmd, payload in cases():
        timed(curl)
        timed(aix_cmd, env)
        curl_t, aix_t = [], []
        for _ in range(args.runs):
            curl_t.append(timed(curl))
            aix_t.append(timed(aix_cmd, env))
        rss = peak_rss_kib(aix_cmd, env)
        c, a = statistics.median(curl_t), statistics.median(aix_t)
        ratio = a / c
        ok = "" if ratio <= BUDGET[shape] else " (over)"
        print(f"| {shape} | {framing} | {n:,} | {payload / 1e6:.0f} | {c * 1000:.1f} ms "
              f"| {a * 1000:.1f} ms | **{ratio:.2f}x**{ok} | {BUDGET[shape]:.1f}x "
              f"| {rss / 1024:.1f} MiB |", flush=True)

if __name__ == "__main__":
    main()
