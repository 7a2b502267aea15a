#!/usr/bin/env python3
"""fake_gateway.py - a stand-in for veil-gateway's side of the worker join
protocol (docs/worker.md "Joining a gateway"), for tests/cli/worker_join.sh:
the real gateway's admission policy is not what that test checks, the
worker's behaviour is.

    fake_gateway.py --port-file F --events F [--reattest S] [--refuse]
                    [--fail-first-join] [--expire-first-answer] [--hostile]

It answers the protocol as written and checks what the worker sends:

  POST /v1/workers/join             {"id", "url", "capacity"} -> challenge, nonce
  POST /v1/workers/join/<challenge> the bundle: its runtime_data.nonce must be
                                    the nonce and its veil-worker id the id;
                                    then, like the gateway, GET {url}/healthz
                                    and {url}/v1/attestation?nonce=<fresh>
                                    -> admitted with a lease (or 403 with
                                    --refuse: a message with control characters
                                    and over-long, to see the worker cut and
                                    strip it)
  GET  /v1/workers/<id>             Bearer lease -> 200 admitted, else 404
  POST /v1/workers/<id>/leave       Bearer lease -> 200 left, else 404
  POST /control/forget              forgets every worker (the next poll: 404)

--fail-first-join answers the first join 503; --expire-first-answer answers
the first challenge answer 404 (expired); --hostile answers the first three
joins with what a worker must not take: a challenge that is a path
("../../control/forget"), a lease with a line break in it (a header
injection), an admission that names another worker; the fourth is admitted.
A request to a path the protocol does not have is recorded as "no_route". Each step is appended to the
events file as one JSON line ({"event": ..., ...}); each admitted bundle is
saved next to it as bundle-N.json for the test to verify.
"""

import argparse
import json
import os
import secrets
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.pending = {}  # challenge -> (id, url, nonce)
        self.leases = {}  # id -> lease
        self.log_index = 0
        self.joins = 0
        self.answers = 0

    def event(self, name, **fields):
        fields["event"] = name
        with self.lock:
            with open(self.args.events, "a") as f:
                f.write(json.dumps(fields) + "\n")


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, typ, code, message):
        self.reply(status, {"error": {"type": typ, "code": code, "message": message}})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n)

    def lease_of(self, wid):
        auth = self.headers.get("Authorization") or ""
        with S.lock:
            lease = S.leases.get(wid)
        return lease is not None and auth == "Bearer " + lease

    def do_POST(self):
        parts = self.path.split("/")
        if self.path == "/v1/workers/join":
            return self.join()
        if self.path.startswith("/v1/workers/join/") and len(parts) == 5:
            return self.answer(parts[4])
        if len(parts) == 5 and parts[:3] == ["", "v1", "workers"] and parts[4] == "leave":
            self.body()
            wid = parts[3]
            ok = self.lease_of(wid)
            S.event("leave", id=wid, ok=ok)
            if not ok:
                return self.error(404, "not_found", "unknown_worker", "no such worker")
            with S.lock:
                S.leases.pop(wid, None)
            return self.reply(200, {"worker": wid, "state": "left"})
        if self.path == "/control/forget":
            self.body()
            with S.lock:
                S.leases.clear()
            S.event("forgot")
            return self.reply(200, {})
        S.event("no_route", method="POST", path=self.path)
        self.error(404, "not_found", "no_route", "no route")

    def do_GET(self):
        parts = self.path.split("/")
        if len(parts) == 4 and parts[:3] == ["", "v1", "workers"]:
            wid = parts[3]
            ok = self.lease_of(wid)
            S.event("poll", id=wid, ok=ok)
            if ok:
                return self.reply(200, {"worker": wid, "state": "admitted"})
            return self.error(404, "not_found", "unknown_worker", "no such worker")
        S.event("no_route", method="GET", path=self.path)
        self.error(404, "not_found", "no_route", "no route")

    def join(self):
        try:
            req = json.loads(self.body())
            wid, url, cap = req["id"], req["url"], req["capacity"]
            assert set(req) == {"id", "url", "capacity"}
            assert isinstance(wid, str) and isinstance(url, str)
            assert isinstance(cap, int) and 1 <= cap <= 1024
        except Exception as e:
            S.event("bad_join", why=str(e))
            return self.error(400, "invalid_request_error", "bad_body", "bad join body")
        with S.lock:
            S.joins += 1
            first = S.joins == 1
        S.event("join", id=wid, url=url, capacity=cap,
                ctype=self.headers.get("Content-Type"))
        if first and S.args.fail_first_join:
            return self.error(503, "server_error", "unavailable", "try again")
        challenge, nonce = secrets.token_hex(16), secrets.token_hex(32)
        if S.args.hostile and S.joins == 1:
            challenge = "../../control/forget"
        with S.lock:
            S.pending[challenge] = (wid, url, nonce)
        self.reply(200, {"challenge": challenge, "nonce": nonce, "expires_in": 30})

    def answer(self, challenge):
        raw = self.body()
        with S.lock:
            S.answers += 1
            first = S.answers == 1
            p = S.pending.pop(challenge, None)
        if p is None or (first and S.args.expire_first_answer):
            S.event("expired", challenge=challenge)
            return self.error(404, "not_found", "unknown_challenge", "expired")
        wid, url, nonce = p
        why = None
        try:
            b = json.loads(raw)
            rd = b["runtime_data"]
            if rd["nonce"] != nonce:
                why = "the bundle does not answer the nonce"
            elif rd["veil-worker"]["id"] != wid:
                why = "the bundle names another worker"
            else:
                # Like the gateway: the advertised URL must serve already.
                st, _ = fetch(url + "/healthz")
                fresh = secrets.token_hex(32)
                st2, fb = fetch(url + "/v1/attestation?nonce=" + fresh)
                if st != 200 or st2 != 200 or json.loads(fb)["runtime_data"]["nonce"] != fresh:
                    why = "the advertised URL does not serve its evidence"
        except Exception as e:
            why = "bad bundle or worker unreachable: %s" % e
        if why is not None:
            S.event("bad_bundle", id=wid, why=why)
            return self.error(403, "admission_refused", "bad_evidence", why)
        if S.args.refuse:
            S.event("refused", id=wid)
            msg = "measurement not allowed\x1b[2J\nFORGED LOG LINE " + "x" * 500
            return self.error(403, "admission_refused", "policy", msg)
        lease = secrets.token_hex(32)
        if S.args.hostile and S.joins == 2:
            S.event("hostile", what="lease")
            return self.reply(200, {"admitted": True, "worker": wid, "log_index": 1,
                                    "lease": lease[:60] + "\r\nX: y", "reattest_s": 5})
        if S.args.hostile and S.joins == 3:
            S.event("hostile", what="worker")
            return self.reply(200, {"admitted": True, "worker": "wk-other", "log_index": 1,
                                    "lease": lease, "reattest_s": 5})
        with S.lock:
            S.log_index += 1
            index = S.log_index
            S.leases[wid] = lease
        with open(os.path.join(os.path.dirname(S.args.events), "bundle-%d.json" % index), "wb") as f:
            f.write(raw)
        S.event("admitted", id=wid, log_index=index, lease=lease)
        self.reply(200, {"admitted": True, "worker": wid, "log_index": index, "lease": lease,
                         "reattest_s": S.args.reattest})


def main():
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--reattest", type=int, default=5)
    ap.add_argument("--refuse", action="store_true")
    ap.add_argument("--fail-first-join", action="store_true")
    ap.add_argument("--expire-first-answer", action="store_true")
    ap.add_argument("--hostile", action="store_true")
    args = ap.parse_args()
    S = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
