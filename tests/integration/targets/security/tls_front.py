"""A TLS front for the security target, on 127.0.0.1, as operators put one before Aurora.

  tls_front.py proxy CERT KEY UPSTREAM LOG     forwards every request to UPSTREAM (aurora-sim)
  tls_front.py redirect CERT KEY LOCATION LOG  answers every request with 307 to LOCATION
  tls_front.py sink LOG                        plain HTTP: records any connection, answers nothing

Prints its URL on its first line, then serves until SIGTERM. LOG gets one line per TCP connection
("connection"), per failed TLS handshake ("handshake failed") and per request ("POST /api
authorization=yes"); the Authorization value itself is never written anywhere.
"""

import http.server
import signal
import socket
import socketserver
import ssl
import sys
import threading
import urllib.request


def log_line(path, text):
    with open(path, "a") as log:
        log.write(text + "\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    context = None
    log = None

    def get_request(self):
        sock, addr = self.socket.accept()
        log_line(self.log, "connection")
        if self.context is None:
            return sock, addr
        sock.settimeout(5)
        try:
            return self.context.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError) as e:
            log_line(self.log, "handshake failed: %s" % type(e).__name__)
            sock.close()
            raise


def handler(mode, target):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_one_request(self):
            if mode == "sink":
                # Whatever arrives is recorded as "bytes", never as text, and gets no answer.
                data = self.rfile.read1(65536) if hasattr(self.rfile, "read1") else b""
                log_line(self.server.log, "bytes %d" % len(data))
                self.close_connection = True
                return
            super().handle_one_request()

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            authorization = "yes" if self.headers.get("Authorization") else "no"
            log_line(self.server.log, "%s %s authorization=%s" % (self.command, self.path, authorization))
            if mode == "redirect":
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            request = urllib.request.Request(target.rstrip("/") + self.path, data=body if self.command == "POST" else None, method=self.command)
            for name in ("Content-Type", "Accept", "Authorization", "User-Agent"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            try:
                reply = urllib.request.urlopen(request, timeout=30)
                status, headers, data = reply.status, reply.headers, reply.read()
            except urllib.error.HTTPError as e:
                status, headers, data = e.code, e.headers, e.read()
            self.send_response(status)
            for name in ("Content-Type", "WWW-Authenticate", "Location"):
                if headers.get(name):
                    self.send_header(name, headers[name])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = answer
        do_POST = answer

    return Handler


def main():
    mode = sys.argv[1]
    if mode == "sink":
        context, target, log = None, None, sys.argv[2]
    else:
        cert, key, target, log = sys.argv[2:6]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    server = Server(("127.0.0.1", 0), handler(mode, target))
    server.context, server.log = context, log
    open(log, "w").close()
    scheme = "http" if context is None else "https"
    print("%s://127.0.0.1:%d" % (scheme, server.server_address[1]), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
