#!/usr/bin/env python3
"""stream_worker.py - a plain worker with scripted answers, for
tests/cli/gateway_forward.sh: what the gateway does with a worker's answer
(docs/gateway.md "Routing", src/gateway/forward.c) when the answer is slow,
huge, broken off, or never comes, and when the client goes away.

    stream_worker.py --port-file F --events F

GET /healthz and GET /v1/models (models "chat") answer as a worker does.
A POST to /v1/chat/completions is answered by the content of its first
message:

  whole     a JSON completion with a Content-Length, a X-Veil-Receipt and
            a header that must not pass (X-Internal)
  slow      an SSE stream of 40 chunks, one every 100 ms, then [DONE]
  die       an SSE stream of 5 chunks, then the connection is cut
  big       a Content-Length answer of 6 MiB (over the gateway's cap)
  longline  an SSE stream whose first line is 256 KiB, then [DONE]
  hang      no answer for 60 s

Each request is appended to the events file as "request MODE", and a
stream whose client went away (a write failed) as "cancelled MODE".
"""
import argparse
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def event(path, line):
    with LOCK, open(path, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, code, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            return self.send_json(200, {"status": "ok"})
        if self.path == "/v1/models":
            return self.send_json(200, {"object": "list", "data": [{"id": "chat"}]})
        self.send_json(404, {"error": {"message": "no such path"}})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def stream(self, mode):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if mode == "longline":
                self.chunk(b"data: " + b"x" * (256 * 1024) + b"\n\n")
            count = 40 if mode == "slow" else 5
            for i in range(count):
                self.chunk(b'data: {"choices":[{"delta":{"content":"t%d"}}]}\n\n' % i)
                time.sleep(0.1 if mode == "slow" else 0.01)
            if mode == "die":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            event(self.server.events, "cancelled " + mode)
            self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(n) or b"{}")
            mode = body["messages"][0]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            mode = "?"
        event(self.server.events, "request " + mode)
        if mode == "hang":
            time.sleep(60)
            self.close_connection = True
            return
        if mode == "big":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(6 << 20))
            self.end_headers()
            try:
                for _ in range(6 << 4):
                    self.wfile.write(b" " * 65536)
            except OSError:
                self.close_connection = True
            return
        if mode in ("slow", "die", "longline"):
            return self.stream(mode)
        self.send_json(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": "chat",
                             "choices": [{"index": 0, "message": {"role": "assistant",
                                                                  "content": "ok"},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
                       (("X-Veil-Receipt", "not.a.receipt"), ("X-Internal", "secret")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--events", required=True)
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.events = a.events
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
