#!/usr/bin/env python3
"""The frameworks' masters, as far as aurora.scheduler.fair_share sees them: on 127.0.0.1, GET
/NAME answers {"pending": LOAD} for each framework NAME; POST /NAME?pending=N sets its load,
POST /NAME?status=500 makes it answer that status instead (status=200 to heal), and an unknown
NAME answers 404. It prints its URL on its first line and stops on SIGTERM, or by itself after
--max-secs.

Python's standard library only, run by the venv's python (no build step, like fault_proxy.py).
"""

import argparse
import http.server
import json
import signal
import sys
import threading
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-secs", type=float, default=900, help="stop by itself after this")
    args = parser.parse_args()
    lock = threading.Lock()
    loads, statuses = {}, {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            name = urllib.parse.urlsplit(self.path).path.strip("/")
            with lock:
                status, load = statuses.get(name, 200), loads.get(name)
            if load is None:
                self.reply(404, {"error": f"no framework {name!r}"})
            elif status != 200:
                self.reply(status, {"error": "the master is unwell"})
            else:
                self.reply(200, {"pending": load, "framework": name})

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            name = url.path.strip("/")
            query = urllib.parse.parse_qs(url.query)
            with lock:
                if "pending" in query:
                    loads[name] = float(query["pending"][0])
                if "status" in query:
                    statuses[name] = int(query["status"][0])
            self.reply(200, {"framework": name, "pending": loads.get(name)})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    timer = threading.Timer(args.max_secs, stop)
    timer.daemon = True
    timer.start()
    server.serve_forever()
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
