"""make bench: aurora-sim's peak memory under the amplification request of issue 18, a 15 MB
getTasksStatus body of empty job keys (one byte each on the wire), sent once and three times at
once, with the latency of /health meanwhile. Figures, not a test: tests/hostile_input.rs checks
that the body is refused."""

import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "aurora-sim")
KEYS = 15_000_000


def body():
    name = b"getTasksStatus"
    head = b"\x80\x01\x00\x01" + struct.pack(">i", len(name)) + name + struct.pack(">i", 1)
    query = b"\x0c\x00\x01" + b"\x0e\x00\x0b\x0c" + struct.pack(">i", KEYS)
    return head + query + b"\x00" * KEYS + b"\x00\x00"


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    return 0


def send(host, port, payload, replies):
    with socket.create_connection((host, port)) as s:
        s.sendall(
            b"POST /api HTTP/1.1\r\nHost: sim\r\nContent-Type: application/vnd.apache.thrift.binary\r\n"
            b"Accept: application/vnd.apache.thrift.binary\r\nConnection: close\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        replies.append(answer.split(b"\r\n", 1)[0].decode())


def measure(concurrent, payload):
    sim = subprocess.Popen([SIM, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    try:
        url = sim.stdout.readline().decode().strip()
        host, port = url.split("//")[1].split(":")
        replies = []
        threads = [threading.Thread(target=send, args=(host, int(port), payload, replies))
                   for _ in range(concurrent)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.2)
        health_started = time.monotonic()
        urllib.request.urlopen(url + "/health", timeout=60).read()
        health = time.monotonic() - health_started
        for t in threads:
            t.join()
        took = time.monotonic() - started
        print(f"aurora-sim, {concurrent} x {len(payload) / 1e6:.0f} MB body of empty job keys: "
              f"peak RSS {peak_rss_kib(sim.pid) / 1024:.0f} MiB, /health in {health * 1000:.0f} ms, "
              f"answered in {took:.2f} s ({', '.join(sorted(set(replies)))})")
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def main():
    if not os.path.exists(SIM):
        sys.exit(f"{SIM} is missing: run make build")
    payload = body()
    measure(1, payload)
    measure(3, payload)


if __name__ == "__main__":
    main()
