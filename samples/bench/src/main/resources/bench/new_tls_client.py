"""Calls the daemon as the upstream Python client does: a new TLS connection for every call (http.client, the layer
under requests), from several processes at once (one process has one core's worth of Python).

Arguments: port cert key ca resume processes seconds max_version. With resume 1 each connection offers the previous
one's session (the upstream client does not); max_version is TLSv1_2 or TLSv1_3. Prints one JSON object: calls,
per_s, p50_ms, p99_ms, resumed (connections that resumed), client_cpu_ms_per_call (the worker processes' CPU)."""
import http.client
import json
import multiprocessing
import os
import ssl
import sys
import time

BOUNDARY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
BODY = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n\r\n"
        "#!/bin/sh\ntrue\n\r\n--" + BOUNDARY + "--\r\n").encode()
HEADERS = {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY}


class Resuming(http.client.HTTPSConnection):
    session = None

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host, session=Resuming.session)


def worker(port, cert, key, ca, resume, max_version, end, results):
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    context.maximum_version = ssl.TLSVersion[max_version]
    latencies = []
    resumed = 0
    while time.time() < end:
        start = time.perf_counter()
        connection = (Resuming if resume else http.client.HTTPSConnection)("localhost", port, context=context,
                                                                          timeout=30)
        connection.request("POST", "/user/job", body=BODY, headers=HEADERS)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit("HTTP %d: %s" % (response.status, body[:200]))
        if resume:
            resumed += connection.sock.session_reused
            Resuming.session = connection.sock.session
        connection.close()
        latencies.append(time.perf_counter() - start)
    results.put((latencies, resumed))


def main():
    port, cert, key, ca, resume, processes, seconds, max_version = sys.argv[1:9]
    seconds = float(seconds)
    results = multiprocessing.Queue()
    end = time.time() + seconds
    workers = [multiprocessing.Process(target=worker, args=(int(port), cert, key, ca, resume == "1", max_version, end,
                                                                results))
               for _ in range(int(processes))]
    before = os.times()
    for w in workers:
        w.start()
    done = [results.get() for _ in workers]
    for w in workers:
        w.join()
    after = os.times()
    latencies = sorted(x for d in done for x in d[0])
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    calls = len(latencies)
    print(json.dumps({"calls": calls, "per_s": calls / seconds,
                      "p50_ms": latencies[calls // 2] * 1e3, "p99_ms": latencies[int(calls * 0.99)] * 1e3,
                      "resumed": sum(d[1] for d in done), "client_cpu_ms_per_call": cpu * 1e3 / max(calls, 1)}))


if __name__ == "__main__":
    main()
