#!/usr/bin/env python3
"""A tiny OpenAI-compatible mock server, Python stdlib only.

Answers every request with the text "pong from mock" on:
  GET  /v1/models (and /models)
  POST /v1/chat/completions   (stream and non-stream)
  POST /v1/responses          (stream and non-stream; Responses API)
  POST /v1/messages           (stream and non-stream; Anthropic Messages API)
Any path prefix before /v1 or without /v1 is accepted, so a base URL with or
without /v1 both work. Each request's method, path, headers and JSON body is
appended as one JSON line to the log file given by --log.

    python3 mock_openai.py --port 0 --log /tmp/mock.jsonl --port-file /tmp/port
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT = "pong from mock"
_lock = threading.Lock()
LOG = None


def _log(entry):
    if LOG is None:
        return
    with _lock:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _record(self, body):
        _log({
            "time": time.time(),
            "method": self.command,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body,
        })

    def _json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _sse(self, data, event=None):
        chunk = ""
        if event:
            chunk += "event: %s\n" % event
        chunk += "data: %s\n\n" % (data if isinstance(data, str) else json.dumps(data))
        self.wfile.write(chunk.encode())
        self.wfile.flush()

    def _route(self):
        p = self.path.split("?", 1)[0].rstrip("/")
        for suffix in ("chat/completions", "responses", "messages", "models", "completions"):
            if p.endswith("/" + suffix) or p == suffix:
                return suffix
        return p

    def do_GET(self):
        self._record(None)
        r = self._route()
        if r == "models":
            self._json({"object": "list", "data": [
                {"id": "mock-model", "object": "model", "created": 0, "owned_by": "mock"}]})
        else:
            self._json({"error": {"message": "not found: " + self.path}}, 404)

    def do_POST(self):
        body = self._body()
        self._record(body)
        b = body if isinstance(body, dict) else {}
        model = b.get("model") or "mock-model"
        stream = bool(b.get("stream"))
        r = self._route()
        if r == "chat/completions":
            self._chat(model, stream)
        elif r == "responses":
            self._responses(model, stream)
        elif r == "messages":
            self._messages(model, stream)
        elif r == "completions":
            self._json({"id": "cmpl-mock", "object": "text_completion", "created": int(time.time()),
                        "model": model, "choices": [{"index": 0, "text": TEXT, "finish_reason": "stop"}]})
        else:
            self._json({"error": {"message": "not found: " + self.path}}, 404)

    def _chat(self, model, stream):
        now = int(time.time())
        usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        if not stream:
            self._json({"id": "chatcmpl-mock", "object": "chat.completion", "created": now,
                        "model": model, "choices": [{"index": 0, "message": {
                            "role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
                        "usage": usage})
            return
        self._sse_start()
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": now, "model": model}
        self._sse(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "finish_reason": None}]))
        for word in ("pong", " from", " mock"):
            self._sse(dict(base, choices=[{"index": 0, "delta": {"content": word}, "finish_reason": None}]))
        self._sse(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        self._sse(dict(base, choices=[], usage=usage))
        self._sse("[DONE]")

    def _responses(self, model, stream):
        now = int(time.time())
        msg = {"id": "msg_mock", "type": "message", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": TEXT, "annotations": []}]}
        usage = {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 8}
        resp = {"id": "resp_mock", "object": "response", "created_at": now, "status": "completed",
                "model": model, "output": [msg], "usage": usage}
        if not stream:
            self._json(dict(resp, output_text=TEXT))
            return
        self._sse_start()
        seq = iter(range(1000))
        inprog = dict(resp, status="in_progress", output=[], usage=None)
        self._sse({"type": "response.created", "sequence_number": next(seq), "response": inprog},
                  "response.created")
        self._sse({"type": "response.in_progress", "sequence_number": next(seq), "response": inprog},
                  "response.in_progress")
        item = dict(msg, status="in_progress", content=[])
        self._sse({"type": "response.output_item.added", "sequence_number": next(seq),
                   "output_index": 0, "item": item}, "response.output_item.added")
        self._sse({"type": "response.content_part.added", "sequence_number": next(seq),
                   "item_id": "msg_mock", "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}},
                  "response.content_part.added")
        for word in ("pong", " from", " mock"):
            self._sse({"type": "response.output_text.delta", "sequence_number": next(seq),
                       "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": word},
                      "response.output_text.delta")
        self._sse({"type": "response.output_text.done", "sequence_number": next(seq),
                   "item_id": "msg_mock", "output_index": 0, "content_index": 0, "text": TEXT},
                  "response.output_text.done")
        self._sse({"type": "response.content_part.done", "sequence_number": next(seq),
                   "item_id": "msg_mock", "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": TEXT, "annotations": []}},
                  "response.content_part.done")
        self._sse({"type": "response.output_item.done", "sequence_number": next(seq),
                   "output_index": 0, "item": msg}, "response.output_item.done")
        self._sse({"type": "response.completed", "sequence_number": next(seq), "response": resp},
                  "response.completed")

    def _messages(self, model, stream):
        usage = {"input_tokens": 5, "output_tokens": 3}
        if not stream:
            self._json({"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                        "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn",
                        "stop_sequence": None, "usage": usage})
            return
        self._sse_start()
        self._sse({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 0}}},
            "message_start")
        self._sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                  "content_block_start")
        for word in ("pong", " from", " mock"):
            self._sse({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": word}}, "content_block_delta")
        self._sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self._sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                   "usage": {"output_tokens": 3}}, "message_delta")
        self._sse({"type": "message_stop"}, "message_stop")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", default=None, help="append one JSON line per request")
    ap.add_argument("--port-file", default=None, help="write the bound port here")
    a = ap.parse_args()
    LOG = a.log
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    print("listening on http://%s:%d/v1" % (a.host, port), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
