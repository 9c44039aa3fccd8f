#!/usr/bin/env python3
"""A real HTTP/1.1 file server on loopback with Range support and fault injection,
for tests and benchmarks of gik's remote reads.

  range_server.py ROOT [--port 0] [--delay-ms 30] [--fail-rate 0.1] [--truncate-rate 0]
                       [--seed 1] [--cors]

Prints "PORT <n>" on stdout once listening. Every request sleeps --delay-ms first
(a simulated round trip); --fail-rate answers that fraction of requests 503;
--truncate-rate sends that fraction of ranged responses with fewer body bytes than
their Content-Length announces, then closes the connection. A request log with
counts goes to stderr at exit.
"""
import argparse
import os
import random
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATS = {"requests": 0, "failed_503": 0, "truncated": 0, "bytes": 0}
LOCK = threading.Lock()


def make_handler(root, delay, fail_rate, truncate_rate, rng, cors):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _cors(self):
            if cors:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Expose-Headers", "Content-Range, Content-Length")

        def _path(self):
            rel = self.path.split("?", 1)[0].lstrip("/")
            full = os.path.realpath(os.path.join(root, rel))
            if not full.startswith(os.path.realpath(root)):
                return None
            return full

        def _pre(self):
            with LOCK:
                STATS["requests"] += 1
                fail = rng.random() < fail_rate
                trunc = rng.random() < truncate_rate
            if delay:
                time.sleep(delay)
            if fail:
                with LOCK:
                    STATS["failed_503"] += 1
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.send_header("Retry-After", "0")
                self.end_headers()
                return None
            return trunc

        def do_HEAD(self):
            self._serve(head=True)

        def do_GET(self):
            self._serve(head=False)

        def _serve(self, head):
            if self.path == "/__requests":  # how many requests were served (as the Rust server)
                with LOCK:
                    body = str(STATS["requests"]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            trunc = self._pre()
            if trunc is None:
                return
            path = self._path()
            if path is None or not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = os.path.getsize(path)
            rng_hdr = self.headers.get("Range")
            start, end = 0, size - 1
            status = 200
            if rng_hdr:
                m = re.match(r"bytes=(\d*)-(\d*)$", rng_hdr.strip())
                if not m:
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                a, b = m.groups()
                if a == "":
                    start, end = max(0, size - int(b)), size - 1
                else:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
                if start >= size or start > end:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            length = end - start + 1
            self.send_response(status)
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self._cors()
            self.end_headers()
            if head:
                return
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(length)
            if trunc and status == 206 and length > 1:
                with LOCK:
                    STATS["truncated"] += 1
                self.wfile.write(data[: length // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            with LOCK:
                STATS["bytes"] += len(data)
            self.wfile.write(data)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("--fail-rate", type=float, default=0)
    ap.add_argument("--truncate-rate", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cors", action="store_true")
    a = ap.parse_args()
    handler = make_handler(a.root, a.delay_ms / 1000, a.fail_rate, a.truncate_rate, random.Random(a.seed), a.cors)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), handler)
    srv.daemon_threads = True
    print(f"PORT {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print(f"range_server stats: {STATS}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
