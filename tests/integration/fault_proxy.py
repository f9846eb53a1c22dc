#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between the modules and aurora-sim, on 127.0.0.1 only.

It listens on two ports that take turns as the leading scheduler: the leader forwards each
request to aurora-sim after a random latency (added with faults off too), answers a share of them 503 without forwarding,
drops the connection before forwarding, or forwards and then drops the connection without the
answer; the other port answers 307 towards the leader (api-reference §1.5), and the leadership
moves every --switch-every requests. Every request is logged as one JSON line naming the Thrift
method (read from the TBinary or TJSON message header), whether it is a write, the fault
injected, and a digest of the body; `check` reads that log and counts the writes delivered twice.

Python's standard library only, run by the venv's python: the proxy needs byte-level control of
each connection (drop before or after forwarding) that an HTTP client library would hide, no
build step, and the tests that drive it are shell and Python already.

    fault_proxy.py serve --upstream URL --log FILE [fault options]   prints its two URLs
    fault_proxy.py check LOG                                         prints figures as JSON

Control, on either port: POST /__proxy/mark?label=L writes a mark into the log (a new module
run); POST /__proxy/faults?on=0|1 turns injection off or on; POST /__proxy/blackout?after=METHOD
answers 502 to every request after the first forwarded call of METHOD (the scheduler gone away),
until POST /__proxy/blackout?after= clears it; GET /__proxy/stats gives the counts so far.
"""

import argparse
import hashlib
import http.client
import http.server
import json
import random
import signal
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

# The scheduler's read-only calls (api-reference §2.2) and the admin reads; every other method
# changes something.
READS = frozenset(
    """getRoleSummary getJobSummary getTasksStatus getTasksWithoutConfigs getPendingReason
    getConfigSummary getJobs getQuota populateJobConfig getJobUpdateSummaries getJobUpdateDetails
    getJobUpdateDiff getTierConfigs maintenanceStatus queryRecovery listBackups""".split()
)

# How long one forwarded request may take upstream.
UPSTREAM_TIMEOUT_SECS = 60


def thrift_method(body):
    """The method name in a Thrift message: TBinary (strict or not) or TJSON; None otherwise."""
    try:
        if body[:1] == b"[":
            message = json.loads(body.decode("utf-8"))
            return message[1] if isinstance(message, list) and len(message) > 1 else None
        if len(body) >= 8 and body[0] == 0x80:  # strict TBinary: version, type, name length
            (length,) = struct.unpack(">i", body[4:8])
            return body[8 : 8 + length].decode("utf-8")
        if len(body) >= 4:  # old TBinary: name length first
            (length,) = struct.unpack(">i", body[0:4])
            if 0 < length < 256:
                return body[4 : 4 + length].decode("utf-8")
    except (ValueError, UnicodeDecodeError, struct.error, IndexError):
        pass
    return None


class Proxy:
    """The shared state of both ports: leadership, fault settings, counts and the log."""

    def __init__(self, args):
        self.upstream = urllib.parse.urlsplit(args.upstream)
        self.rng = random.Random(args.seed)
        self.args = args
        self.faults_on = not args.faults_off
        self.blackout_after = None
        self.blacked_out = False
        self.lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8")
        self.ports = []
        self.leader = 0
        self.served_by_leader = 0
        self.counts = {}

    def count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1

    def record(self, entry):
        entry["t"] = round(time.time(), 3)
        with self.lock:
            self.log.write(json.dumps(entry, sort_keys=True) + "\n")
            self.log.flush()

    def decide(self, port_index):
        """What to do with one request on the port `port_index`: redirect, 503, drop_before,
        drop_after, blackout or forward, and the latency before forwarding."""
        with self.lock:
            self.count("requests")
            if self.blacked_out:
                self.count("blackout")
                return "blackout", 0.0
            latency = self.rng.uniform(self.args.min_latency_ms, self.args.latency_ms) / 1000.0
            if not self.faults_on:
                return "forward", latency
            if port_index != self.leader:
                self.count("redirect")
                return "redirect", 0.0
            self.served_by_leader += 1
            if self.args.switch_every and self.served_by_leader >= self.args.switch_every:
                self.served_by_leader = 0
                self.leader = 1 - self.leader
                self.count("leader_changes")
            draw = self.rng.random()
            for fault, share in (
                ("503", self.args.p503),
                ("drop_before", self.args.p_drop_before),
                ("drop_after", self.args.p_drop_after),
            ):
                if draw < share:
                    self.count(fault)
                    return fault, latency
                draw -= share
            return "forward", latency

    def leader_url(self, path):
        return f"http://127.0.0.1:{self.ports[self.leader]}{path}"

    def after_forwarding(self, method):
        with self.lock:
            if self.blackout_after and method == self.blackout_after:
                self.blacked_out = True


def handler_for(proxy, port_index):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.handle_request(b"")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.handle_request(self.rfile.read(length) if length else b"")

        def reply(self, status, body=b"", headers=()):
            # The scheduler's Date passes through, as a proxy's does (RFC 9110 §6.6.1): the
            # modules read the scheduler's clock from it.
            self.log_request(status)
            self.send_response_only(status)
            self.send_header("Server", self.version_string())
            headers = list(headers)
            if not any(name.lower() == "date" for name, _ in headers):
                headers.append(("Date", self.date_time_string()))
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def drop(self):
            self.close_connection = True

        def control(self, path, query):
            with proxy.lock:
                if path == "/__proxy/mark":
                    proxy.log.write(json.dumps({"mark": query.get("label", [""])[0]}) + "\n")
                    proxy.log.flush()
                elif path == "/__proxy/faults":
                    proxy.faults_on = query.get("on", ["1"])[0] == "1"
                elif path == "/__proxy/blackout":
                    proxy.blackout_after = query.get("after", [""])[0] or None
                    proxy.blacked_out = False
                stats = dict(proxy.counts, leader=proxy.ports[proxy.leader])
            self.reply(200, json.dumps(stats).encode(), [("Content-Type", "application/json")])

        def handle_request(self, body):
            url = urllib.parse.urlsplit(self.path)
            if url.path.startswith("/__proxy/"):
                return self.control(url.path, urllib.parse.parse_qs(url.query))
            method = thrift_method(body) if self.command == "POST" else f"GET {url.path}"
            write = self.command == "POST" and method not in READS
            action, latency = proxy.decide(port_index)
            entry = {
                "port": proxy.ports[port_index],
                "method": method,
                "write": write,
                "fault": None if action == "forward" else action,
                "forwarded": False,
                "body": hashlib.sha256(body).hexdigest()[:16],
            }
            if action == "redirect":
                proxy.record(entry)
                return self.reply(307, headers=[("Location", proxy.leader_url(self.path))])
            if action in ("503", "blackout"):
                proxy.record(entry)
                status = 503 if action == "503" else 502
                return self.reply(status, b"<html><body>unavailable</body></html>")
            if action == "drop_before":
                proxy.record(entry)
                return self.drop()
            time.sleep(latency)
            try:
                status, headers, answer = self.forward(body)
            except OSError as error:
                entry["fault"] = f"upstream: {error}"
                proxy.record(entry)
                return self.reply(502, b"upstream unreachable")
            entry["forwarded"] = True
            entry["status"] = status
            proxy.record(entry)
            proxy.after_forwarding(method)
            if action == "drop_after":
                return self.drop()
            self.reply(status, answer, headers)

        def forward(self, body):
            connection = http.client.HTTPConnection(
                proxy.upstream.hostname, proxy.upstream.port, timeout=UPSTREAM_TIMEOUT_SECS
            )
            try:
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in ("host", "connection", "content-length")
                }
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                kept = [
                    (name, value)
                    for name, value in response.getheaders()
                    if name.lower() in ("content-type", "location", "date")
                ]
                return response.status, kept, answer
            finally:
                connection.close()

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(args):
    proxy = Proxy(args)
    servers = []
    for index in range(2):
        server = Server(("127.0.0.1", 0), handler_for(proxy, index))
        proxy.ports.append(server.server_address[1])
        servers.append(server)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(" ".join(f"http://127.0.0.1:{port}" for port in proxy.ports), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Bounded: a proxy left behind stops by itself.
    stop.wait(args.max_secs)
    for server in servers:
        server.shutdown()


def check(args):
    """Figures from a log: requests, faults by kind, writes forwarded, and writes delivered
    twice (the same write body forwarded twice within one module run, between two marks)."""
    figures = {"requests": 0, "forwarded": 0, "writes_forwarded": 0, "faults": {}, "runs": 0}
    duplicates = []
    seen = {}
    with open(args.log, encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            if "mark" in entry:
                figures["runs"] += 1
                seen = {}
                continue
            figures["requests"] += 1
            if entry["fault"]:
                kind = entry["fault"].split(":")[0]
                figures["faults"][kind] = figures["faults"].get(kind, 0) + 1
            if not entry["forwarded"]:
                continue
            figures["forwarded"] += 1
            if entry["write"]:
                figures["writes_forwarded"] += 1
                key = (entry["method"], entry["body"])
                if key in seen:
                    duplicates.append(entry)
                seen[key] = entry
    figures["injected_faults"] = sum(
        n for kind, n in figures["faults"].items() if kind != "redirect"
    )
    figures["writes_delivered_twice"] = len(duplicates)
    figures["duplicates"] = duplicates[:10]
    print(json.dumps(figures, sort_keys=True))
    return 0 if not duplicates else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve")
    s.add_argument("--upstream", required=True, help="aurora-sim's URL, http://127.0.0.1:PORT")
    s.add_argument("--log", required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--latency-ms", type=float, default=30.0, help="most latency added")
    s.add_argument("--min-latency-ms", type=float, default=0.0, help="least latency added")
    s.add_argument("--p503", type=float, default=0.04)
    s.add_argument("--p-drop-before", type=float, default=0.02)
    s.add_argument("--p-drop-after", type=float, default=0.02)
    s.add_argument("--switch-every", type=int, default=60, help="requests per leadership term")
    s.add_argument("--faults-off", action="store_true", help="start without injecting faults")
    s.add_argument("--max-secs", type=float, default=1800, help="stop by itself after this")
    c = commands.add_parser("check")
    c.add_argument("log")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
