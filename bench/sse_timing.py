#!/usr/bin/env python3
"""sse_timing.py - how a streamed completion arrives, for bench/bench_gateway.sh.

Sends N streamed chat completions one after another on one keep-alive
connection (a raw socket, so the client does the same work whoever answers)
and times each from sending the request: the first byte of the response
(its status line), the first SSE event ("data: "), every later event, and
the last byte (the chunked terminator after "data: [DONE]"); and counts the
recv() calls and events it took. Prints one line:

  VEIL-SSE n=N ttfb_p50_ms=.. ttfb_p99_ms=.. first_p50_ms=.. first_p99_ms=..
           last_p50_ms=.. last_p99_ms=.. span_p50_ms=.. reads_p50=.. events=..
           events_ms=T1,T2,...

first is the first event, span the last byte less the first event, and
events_ms the median time at which each event arrived (over the requests
that had that many), so a caller can compare a proxied stream with a direct
one event by event: a proxy that holds chunks back shows as a gap that
grows along the stream. Only the standard library; times from
time.perf_counter().

usage: sse_timing.py HOST:PORT MODEL N MAX_TOKENS [HEADER:VALUE]...
"""
import socket
import statistics
import sys
import time

TERMINATOR = b"\r\n0\r\n\r\n"


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def connect(host, port):
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def one(sock, request):
    """One exchange: (ttfb, event times, last, reads, status) in seconds."""
    t0 = time.perf_counter()
    sock.sendall(request)
    buf = b""
    reads = 0
    first = None
    head_end = -1
    times = []
    while True:
        data = sock.recv(65536)
        now = time.perf_counter()
        if not data:
            raise RuntimeError("the connection closed mid-response")
        reads += 1
        if first is None:
            first = now
        buf += data
        if head_end < 0:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buf[:head_end].lower()
                if b"transfer-encoding: chunked" not in head:
                    raise RuntimeError("not a chunked stream: %r" % buf[:200])
        # An event counts once its line is complete. Only the end of the
        # buffer can hold a new one: count over the whole, it stays small.
        complete = buf[:buf.rfind(b"\n") + 1].count(b"data: ")
        times.extend([now - t0] * (complete - len(times)))
        if head_end >= 0 and buf.endswith(TERMINATOR):
            break
    status = int(buf.split(b" ", 2)[1])
    return first - t0, times, now - t0, reads, status


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    host, port = sys.argv[1].rsplit(":", 1)
    model, n, max_tokens = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    headers = "".join(h.replace(":", ": ", 1) + "\r\n" for h in sys.argv[5:])
    body = ('{"model":"%s","messages":[{"role":"user","content":"hi"}],'
            '"max_tokens":%d,"stream":true}' % (model, max_tokens)).encode()
    request = ("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
               % (sys.argv[1], len(body), headers)).encode() + body
    sock = connect(host, int(port))
    ttfb, first, last, span, reads, events = [], [], [], [], [], []
    for _ in range(n):
        t, ev, l, r, status = one(sock, request)
        if status != 200 or not ev:
            sys.exit("sse_timing: status %d, %d events" % (status, len(ev)))
        ttfb.append(t * 1e3)
        first.append(ev[0] * 1e3)
        last.append(l * 1e3)
        span.append((l - ev[0]) * 1e3)
        reads.append(r)
        events.append([x * 1e3 for x in ev])
    sock.close()
    count = int(statistics.median(len(e) for e in events))
    per_event = [statistics.median(e[i] for e in events if len(e) > i) for i in range(count)]
    print("VEIL-SSE n=%d ttfb_p50_ms=%.3f ttfb_p99_ms=%.3f first_p50_ms=%.3f first_p99_ms=%.3f "
          "last_p50_ms=%.3f last_p99_ms=%.3f span_p50_ms=%.3f reads_p50=%d events=%d events_ms=%s"
          % (n, statistics.median(ttfb), percentile(ttfb, 99), statistics.median(first),
             percentile(first, 99), statistics.median(last), percentile(last, 99),
             statistics.median(span), statistics.median(reads), count,
             ",".join("%.3f" % x for x in per_event)))


if __name__ == "__main__":
    main()
