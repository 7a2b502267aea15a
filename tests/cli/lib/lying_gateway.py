#!/usr/bin/env python3
"""lying_gateway.py - a gateway that lies about the workers it serves.

tests/cli/audit.sh points `veil audit` at it. It stands where a dishonest
gateway operator would: it relays every GET to the real veil-gateway
unchanged (the transparency log's API included, whose answers it cannot
forge without the log key), except GET /v1/attestation without a query,
the list of the workers it serves, which it answers with the contents of
LIST-FILE when that file exists and is not empty (the test writes an
altered copy of the real list there: a worker whose log_index points at
another worker's entry, a worker beyond the log, a receipt key the log does
not show, a worker the log says has left). Without the file the list is
relayed too, so the same process is also the honest control case.

  lying_gateway.py --upstream URL --list LIST-FILE --port-file FILE
"""

import argparse
import http.client
import http.server
import os
import urllib.parse


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    list_file = None

    def log_message(self, *_):
        pass

    def answer(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/attestation" and os.path.exists(self.list_file) and \
                os.path.getsize(self.list_file) > 0:
            with open(self.list_file, "rb") as f:
                self.answer(200, "application/json", f.read())
            return
        u = urllib.parse.urlsplit(self.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        try:
            conn.request("GET", self.path)
            r = conn.getresponse()
            body = r.read()
            self.answer(r.status, r.getheader("Content-Type", "application/json"), body)
        except OSError as e:
            self.answer(502, "text/plain", ("relay: %s" % e).encode())
        finally:
            conn.close()

    def do_POST(self):
        self.answer(405, "text/plain", b"GET only")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--list", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    Relay.upstream = args.upstream
    Relay.list_file = args.list
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
