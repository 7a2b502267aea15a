#!/usr/bin/env python3
"""proxy_timing.py - time to first token and tokens per second, plain against
through veil proxy, for bench/bench_proxy.sh (docs/performance.md).

Sends the same streamed chat completion (one request body, read from a
file) to two endpoints in interleaved rounds, plain then proxy, ROUNDS
times, after WARMUP requests to each that are not counted (the proxy's
first request fetches and judges the workers' evidence; the cache of
verified workers is what is measured). Each endpoint has its own
keep-alive connection (a raw socket with TCP_NODELAY, so the client does
the same work whichever answers); a server that closes the connection gets
a new one before the next request, outside the timing.

Per request, from just before the request is sent (time.perf_counter()):

  ttft   the arrival of the first event whose delta carries text
         ("choices"[0]."delta"."content", or "text" for legacy completions)
  tps    text events after the first, over the time from the first to the
         last of them: the rate at which tokens reach the client once they
         flow
  last   the arrival of the response's last byte (after data: [DONE])

The response is read as HTTP/1.1 (chunked or Content-Length), events are
cut at blank lines and timed when complete; their JSON is parsed only after
the response ended, so parsing costs nothing inside the timing. Each
request must answer 200, end with data: [DONE] (through the proxy: its
receipt verified) and give the same text as every other (temperature 0);
otherwise the run stops with exit status 1.

Prints a table (medians and the slow tail: p90 of times, p10 of rates, the
slowest tenth either way), then the proxy's TTFT less plain's and its
tokens per second over plain's, taken round by round, their median and
slow tail, and the same of the medians; with --cpu, the CPU time each
named process spent per request (its threads' schedstat); with --json,
one line "VEIL-PROXY-BENCH {...}"; with --dump FILE, every request's
figures, a JSON line each. Only the standard library.

usage: proxy_timing.py --plain HOST:PORT --proxy HOST:PORT --body FILE
                       [--rounds N] [--warmup N] [--plain-header H:V]...
                       [--proxy-header H:V]... [--cpu NAME=PID[,PID]]...
                       [--label TEXT] [--json] [--dump FILE]
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time


def percentile(values, p):
    """The nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


class Endpoint:
    def __init__(self, name, hostport, headers, body):
        self.name = name
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.sock = None
        self.reconnects = 0
        extra = "".join(h.replace(":", ": ", 1) + "\r\n" for h in headers)
        self.request = ("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
                        "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
                        "Content-Length: %d\r\n%s\r\n" % (hostport, len(body), extra)).encode() + body

    def connect(self):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reconnects += 1

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Reader:
    """An HTTP/1.1 response read as it arrives: head, then the body
    de-chunked, then SSE events cut at blank lines with the time at which
    each was complete."""

    def __init__(self):
        self.raw = b""
        self.head = None
        self.status = 0
        self.chunked = False
        self.length = None
        self.close = False
        self.body = b""
        self.done = False
        self.events = []  # (seconds, data bytes)
        self.pending = b""

    def feed(self, data, now):
        self.raw += data
        if self.head is None:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = self.raw[:end].decode("latin-1")
            self.raw = self.raw[end + 4:]
            lines = self.head.split("\r\n")
            self.status = int(lines[0].split(" ", 2)[1])
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                k, v = k.strip().lower(), v.strip().lower()
                if k == "transfer-encoding" and "chunked" in v:
                    self.chunked = True
                elif k == "content-length":
                    self.length = int(v)
                elif k == "connection" and v == "close":
                    self.close = True
        if self.chunked:
            while True:
                eol = self.raw.find(b"\r\n")
                if eol < 0:
                    return
                size = int(self.raw[:eol].split(b";")[0], 16)
                if size == 0:
                    # The last chunk, then trailers (none expected) and CRLF.
                    rest = self.raw[eol + 2:]
                    self.done = rest.startswith(b"\r\n") or b"\r\n\r\n" in rest
                    return
                if len(self.raw) < eol + 2 + size + 2:
                    return
                self.events_from(self.raw[eol + 2:eol + 2 + size], now)
                self.raw = self.raw[eol + 2 + size + 2:]
        else:
            piece, self.raw = self.raw, b""
            self.body += piece
            if self.length is not None and len(self.body) >= self.length:
                self.done = True
            self.events_from(piece, now)

    def events_from(self, piece, now):
        self.pending += piece
        # Line ends may be CRLF; an event ends at a blank line.
        text = self.pending.replace(b"\r\n", b"\n")
        while True:
            end = text.find(b"\n\n")
            if end < 0:
                break
            block, text = text[:end], text[end + 2:]
            data = b"\n".join(ln[5:].lstrip(b" ") for ln in block.split(b"\n") if ln.startswith(b"data:"))
            if data:
                self.events.append((now, data))
        self.pending = text


def cpu_ns(pids):
    """CPU time (ns, every thread, user and system) of each named process
    group: the first field of /proc/PID/task/TID/schedstat."""
    out = {}
    for name, group in pids.items():
        total = 0
        for pid in group:
            base = "/proc/%d/task" % pid
            try:
                tids = os.listdir(base)
            except OSError:
                continue
            for tid in tids:
                try:
                    with open("%s/%s/schedstat" % (base, tid)) as f:
                        total += int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
        out[name] = total
    return out


def exchange(ep, pids):
    """One request on ep's connection: a dict of what was measured."""
    ep.connect()
    c0 = cpu_ns(pids)
    rd = Reader()
    t0 = time.perf_counter()
    ep.sock.sendall(ep.request)
    first_byte = None
    while not rd.done:
        data = ep.sock.recv(65536)
        now = time.perf_counter()
        if not data:
            if rd.head is not None and not rd.chunked and rd.length is None:
                break
            ep.close()
            raise RuntimeError("%s: the connection closed mid-response" % ep.name)
        if first_byte is None:
            first_byte = now
        rd.feed(data, now)
    last = time.perf_counter()
    c1 = cpu_ns(pids)
    if rd.close:
        ep.close()
    if rd.status != 200:
        raise RuntimeError("%s: status %d: %s" % (ep.name, rd.status, (rd.body or rd.pending)[:300]))
    text, times, usage, finish, done = [], [], None, None, False
    for t, data in rd.events:
        if data == b"[DONE]":
            done = True
            continue
        ev = json.loads(data)
        if "error" in ev:
            raise RuntimeError("%s: error event: %s" % (ep.name, json.dumps(ev["error"])[:300]))
        if ev.get("usage"):
            usage = ev["usage"]
        for ch in ev.get("choices") or []:
            d = ch.get("delta") or {}
            piece = d.get("content") if "delta" in ch else ch.get("text")
            if piece:
                text.append(piece)
                times.append(t - t0)
            if ch.get("finish_reason"):
                finish = ch["finish_reason"]
    if not done:
        raise RuntimeError("%s: the stream did not end with data: [DONE]" % ep.name)
    if not times:
        raise RuntimeError("%s: no event carried text" % ep.name)
    span = times[-1] - times[0]
    return {
        "ttft_ms": times[0] * 1e3,
        "ttfb_ms": (first_byte - t0) * 1e3,
        "last_ms": (last - t0) * 1e3,
        "text_events": len(times),
        "tps": (len(times) - 1) / span if len(times) > 1 and span > 0 else None,
        "completion_tokens": (usage or {}).get("completion_tokens"),
        "finish": finish,
        "text": "".join(text),
        "cpu_us": {k: (c1[k] - c0[k]) / 1e3 for k in pids},
    }


def summary(rows, key, p):
    v = [r[key] for r in rows if r[key] is not None]
    return (statistics.median(v), percentile(v, p)) if v else (None, None)


def fmt(v, f="%.3f"):
    return "-" if v is None else f % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plain", required=True)
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--body", required=True)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--plain-header", action="append", default=[])
    ap.add_argument("--proxy-header", action="append", default=[])
    ap.add_argument("--label", default="")
    ap.add_argument("--cpu", action="append", default=[], metavar="NAME=PID[,PID...]",
                    help="report the CPU these processes spend per request")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dump", metavar="FILE", help="every request's figures, one JSON line each")
    a = ap.parse_args()
    body = open(a.body, "rb").read()
    pids = {}
    for c in a.cpu:
        name, _, group = c.partition("=")
        pids[name] = [int(x) for x in group.split(",") if x]
    eps = [Endpoint("plain", a.plain, a.plain_header, body), Endpoint("proxy", a.proxy, a.proxy_header, body)]
    rows = {"plain": [], "proxy": []}
    want = None
    try:
        for i in range(a.warmup + a.rounds):
            for ep in eps:
                r = exchange(ep, pids)
                if want is None:
                    want = r["text"]
                elif r["text"] != want:
                    raise RuntimeError("%s: another text than the first answer's (temperature 0)" % ep.name)
                if i >= a.warmup:
                    rows[ep.name].append(r)
    except (RuntimeError, OSError, ValueError) as e:
        sys.exit("proxy_timing: %s" % e)
    for ep in eps:
        ep.close()

    pl, px = rows["plain"], rows["proxy"]
    # Round by round, so that a burst of load hits both sides of a difference.
    d_ttft = [y["ttft_ms"] - x["ttft_ms"] for x, y in zip(pl, px)]
    r_tps = [y["tps"] / x["tps"] for x, y in zip(pl, px) if x["tps"] and y["tps"]]
    res = {"label": a.label, "rounds": a.rounds, "warmup": a.warmup,
           "text_events": pl[0]["text_events"], "completion_tokens": pl[0]["completion_tokens"],
           "finish": pl[0]["finish"]}
    for name, rr in rows.items():
        # The slow tail: p90 of times, p10 of rates.
        for k, tail in (("ttft_ms", 90), ("tps", 10), ("last_ms", 90), ("ttfb_ms", 90)):
            m, p = summary(rr, k, tail)
            res["%s_%s_p50" % (name, k)] = m
            res["%s_%s_p%d" % (name, k, tail)] = p
        res["%s_connections" % name] = [e for e in eps if e.name == name][0].reconnects
        for k in pids:
            res["%s_cpu_us_%s_p50" % (name, k)] = statistics.median(r["cpu_us"][k] for r in rr)
    res["ttft_added_ms_p50"] = statistics.median(d_ttft)
    res["ttft_added_ms_p90"] = percentile(d_ttft, 90)
    res["ttft_added_ms_of_medians"] = res["proxy_ttft_ms_p50"] - res["plain_ttft_ms_p50"]
    if r_tps:
        res["tps_ratio_p50"] = statistics.median(r_tps)
        res["tps_ratio_p10"] = percentile(r_tps, 10)
        res["tps_ratio_of_medians"] = res["proxy_tps_p50"] / res["plain_tps_p50"]

    print("%s: %d rounds (plain, proxy, ...) after %d warm-up each; %d text events a request, "
          "completion_tokens %s, finish_reason %s" % (a.label or "proxy_timing", a.rounds, a.warmup,
                                                      res["text_events"], res["completion_tokens"],
                                                      res["finish"]))
    print("| path | TTFT p50 ms | TTFT p90 ms | tokens/s p50 | tokens/s p10 | last byte p50 ms | connections |")
    print("|---|---|---|---|---|---|---|")
    for name in ("plain", "proxy"):
        print("| %s | %s | %s | %s | %s | %s | %d |" % (
            name, fmt(res[name + "_ttft_ms_p50"]), fmt(res[name + "_ttft_ms_p90"]),
            fmt(res[name + "_tps_p50"], "%.1f"), fmt(res[name + "_tps_p10"], "%.1f"),
            fmt(res[name + "_last_ms_p50"]), res[name + "_connections"]))
    print("proxy TTFT - plain TTFT: %+.3f ms (median of rounds), p90 %+.3f ms, of medians %+.3f ms" % (
        res["ttft_added_ms_p50"], res["ttft_added_ms_p90"], res["ttft_added_ms_of_medians"]))
    if r_tps:
        print("proxy tokens/s / plain: %.3f (median of rounds), p10 %.3f, of medians %.3f" % (
            res["tps_ratio_p50"], res["tps_ratio_p10"], res["tps_ratio_of_medians"]))
    else:
        print("proxy tokens/s / plain: - (one text event a request)")
    # Issue 10's targets, on the medians of the round-by-round figures.
    res["target_ttft_met"] = res["ttft_added_ms_p50"] <= 2.0
    verdict = "targets: TTFT added <= 2 ms: %s" % ("met" if res["target_ttft_met"] else "missed")
    if r_tps:
        res["target_tps_met"] = res["tps_ratio_p50"] >= 0.97
        verdict += "; tokens/s >= 0.97 of plain: %s" % ("met" if res["target_tps_met"] else "missed")
    print(verdict)
    if pids:
        names = list(pids)
        print("CPU per request, us (medians; each process's threads, user and system):")
        print("| path | " + " | ".join(names) + " | together |")
        print("|---|" + "---|" * (len(names) + 1))
        for name in ("plain", "proxy"):
            v = [res["%s_cpu_us_%s_p50" % (name, k)] for k in names]
            print("| %s | %s | %.0f |" % (name, " | ".join("%.0f" % x for x in v), sum(v)))
    if a.dump:
        with open(a.dump, "w") as f:
            for name, rr in rows.items():
                for i, r in enumerate(rr):
                    d = {k: v for k, v in r.items() if k != "text"}
                    d.update(path=name, round=i)
                    f.write(json.dumps(d, sort_keys=True) + "\n")
    if a.json:
        print("VEIL-PROXY-BENCH " + json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
