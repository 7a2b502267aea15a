#!/usr/bin/env python3
"""tamper_relay.py - an HTTP relay that alters encapsulated answers.

tests/cli/client.sh puts it between `veil chat` and veil-gateway, where a
hostile gateway or network would be: everything is forwarded unchanged
except the answers to POST /v1/ohttp (RFC 9458 message/ohttp-res, and
message/ohttp-chunked-res of draft-ietf-ohai-chunked-ohttp-08), which it
changes as MODE says:

  flip      one bit of the first sealed bytes: for a whole answer the first
            byte after the response nonce, for a chunked one the first byte
            of its first chunk. The client must refuse to open it and show
            nothing of it.
  truncate  a chunked answer cut just before its final chunk (the 0x00
            marker and what follows), sent with a Content-Length that
            matches the cut body, so that HTTP sees a complete message and
            only the encapsulation can tell something is missing.
  pass      nothing changed (the control case).

The response nonce is max(Nn, Nk) bytes for the AEAD the request header
names (RFC 9458 section 4.4). Each change is reported on stderr as one line
"relay: MODE ..." so the test can tell the relay did act.

  tamper_relay.py --upstream URL --mode MODE --port-file FILE
"""

import argparse
import http.client
import http.server
import os
import sys
import urllib.parse

# RFC 9180 section 7.3: AEAD id -> (Nk, Nn).
AEADS = {1: (16, 12), 2: (32, 12), 3: (32, 12)}
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection", "content-length", "host"}


def varint(buf, pos):
    """A QUIC variable-length integer (RFC 9000 section 16): (value, next)."""
    if pos >= len(buf):
        raise ValueError("varint past the end")
    n = 1 << (buf[pos] >> 6)
    if pos + n > len(buf):
        raise ValueError("varint past the end")
    v = buf[pos] & 0x3F
    for b in buf[pos + 1:pos + n]:
        v = (v << 8) | b
    return v, pos + n


def nonce_len(request):
    if len(request) < 7:
        raise ValueError("request shorter than an OHTTP header")
    aead = int.from_bytes(request[5:7], "big")
    nk, nn = AEADS[aead]
    return max(nk, nn)


def alter(mode, ctype, request, body):
    """The changed body and a line saying what changed, or (body, None)."""
    if mode == "pass":
        return body, None
    n = nonce_len(request)
    chunked = ctype.startswith("message/ohttp-chunked-res")
    if mode == "flip":
        if chunked:
            length, pos = varint(body, n)
            what = "the first chunk (%d bytes)" % length if length else "the final chunk"
        else:
            pos, what = n, "the sealed answer"
        if pos >= len(body):
            raise ValueError("nothing to flip")
        out = bytearray(body)
        out[pos] ^= 0x01
        return bytes(out), "relay: flip: byte %d of %d, in %s" % (pos, len(body), what)
    if mode == "truncate":
        if not chunked:
            return body, None
        pos, chunks = n, 0
        while pos < len(body):
            length, after = varint(body, pos)
            if length == 0:
                return body[:pos], "relay: truncate: cut at %d of %d, after %d chunks" % (
                    pos, len(body), chunks)
            pos, chunks = after + length, chunks + 1
        raise ValueError("no final chunk to cut")
    raise ValueError("unknown mode " + mode)


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def relay(self):
        body = self.read_body()
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body if body or self.command == "POST" else None,
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        ctype = resp.getheader("Content-Type", "")
        if self.command == "POST" and self.path.startswith("/v1/ohttp") and resp.status == 200:
            data, note = alter(self.server.mode, ctype, body, data)
            if note:
                print(note, file=sys.stderr, flush=True)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True
        conn.close()

    do_GET = relay
    do_POST = relay


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode", required=True, choices=["flip", "truncate", "pass"])
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    srv.upstream = urllib.parse.urlsplit(a.upstream)
    srv.mode = a.mode
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
