#!/usr/bin/env python3
"""Relay benchmark: how long `aix run --stream` takes to relay an N-chunk
event stream from a local server, against `curl -N` reading the same
stream, plus aix's peak RSS.

The server builds the whole stream once in memory (chunks shaped like a
real chat.completion.chunk, ~230 bytes each) and writes it with sendall, so
it is never the bottleneck. Each client runs RUNS times, alternating; the
medians are compared.

    cargo build --release
    python3 bench/stream_bench.py [--chunks 200000] [--runs 5] [--aix target/release/aix]
"""
import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time


def build_stream(chunks: int, vary: bool = False) -> bytes:
    words = ["Hello", " world", ",", " this", " is", " a", " token", "\n", " é", " \"q\""]
    parts = []
    for i in range(chunks):
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "bench-model",
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": {"content": words[i % len(words)]},
                         "logprobs": None, "finish_reason": None}],
        }
        if vary:
            # Like OpenAI's per-chunk "obfuscation" padding: no two chunks
            # share their bytes around the content, so no template fits.
            chunk["obfuscation"] = format((i * 0x9E3779B97F4A7C15) % (1 << 64), "x")[: 4 + i % 9]
        parts.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def serve(listener: socket.socket, body: bytes) -> None:
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\nconnection: close\r\n\r\n")
    while True:
        conn, _ = listener.accept()
        conn.settimeout(30)
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
        try:
            conn.sendall(head + body)
        except OSError:
            pass
        conn.close()


def timed(cmd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.run(cmd, stdout=devnull, stderr=subprocess.PIPE, env=env)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr.decode()}")
    return took, before


def peak_rss_kib(cmd, env):
    # ru_maxrss of RUSAGE_CHILDREN is the max over all children so far, so
    # measure aix in a fresh Python child whose only child is aix.
    code = ("import resource,subprocess,sys,os;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run(["python3", "-c", code, *cmd], env=env, capture_output=True, check=True)
    return int(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--aix", default="target/release/aix")
    ap.add_argument("--vary", action="store_true",
                    help="chunks differ around the content (the decoder's slow path)")
    args = ap.parse_args()

    body = build_stream(args.chunks, args.vary)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    threading.Thread(target=serve, args=(listener, body), daemon=True).start()
    base = f"http://127.0.0.1:{port}/v1"

    home = tempfile.mkdtemp()
    env = dict(os.environ, AIX_HOME=home, NO_COLOR="1")
    aix = os.path.abspath(args.aix)
    subprocess.run([aix, "provider", "add", "bench", base, "--model", "bench-model"], env=env,
                   check=True, capture_output=True)
    subprocess.run([aix, "create", "bench", "go"], env=env, check=True, capture_output=True)

    request = '{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"go"}]}'
    curl = ["curl", "-sS", "-N", "-X", "POST", "-H", "content-type: application/json",
            "-d", request, f"{base}/chat/completions"]
    aix_cmd = [aix, "run", "bench", "--provider", "bench", "--stream", "-e"]

    # Warm up both (page cache, first connection).
    timed(curl)
    timed(aix_cmd, env)
    curl_t, aix_t = [], []
    for _ in range(args.runs):
        curl_t.append(timed(curl)[0])
        aix_t.append(timed(aix_cmd, env)[0])
    rss = peak_rss_kib(aix_cmd, env)
    c, a = statistics.median(curl_t), statistics.median(aix_t)
    shape = "varying shape" if args.vary else "one shape"
    print(f"stream: {args.chunks} chunks, {len(body) / 1e6:.1f} MB, {shape}")
    print(f"curl -N   median {c * 1000:8.1f} ms  (runs: {', '.join(f'{t*1000:.0f}' for t in curl_t)})")
    print(f"aix run   median {a * 1000:8.1f} ms  (runs: {', '.join(f'{t*1000:.0f}' for t in aix_t)})")
    print(f"ratio aix/curl: {a / c:.2f}x   (budget 2.00x)")
    print(f"aix peak RSS: {rss / 1024:.1f} MiB   (budget 20 MiB)")


if __name__ == "__main__":
    main()
