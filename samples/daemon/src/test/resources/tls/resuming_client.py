"""Submits jobs to the daemon over a new TLS connection per call, as the upstream Python client does, but offering the
previous connection's session (which the upstream client does not), and prints one JSON line per call:
{"reused": <whether the session was resumed>, "status": <HTTP status>, "body": <reply>}.
Arguments: port cert key ca calls max_version (TLSv1_2 or TLSv1_3)."""
import http.client
import json
import ssl
import sys

BOUNDARY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
BODY = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"script_content\"\r\n\r\n"
        "#!/bin/sh\ntrue\n\r\n--" + BOUNDARY + "--\r\n").encode()


class Resuming(http.client.HTTPSConnection):
    session = None

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host, session=Resuming.session)


port, cert, key, ca, calls, max_version = sys.argv[1:7]
context = ssl.create_default_context(cafile=ca)
context.load_cert_chain(cert, key)
context.maximum_version = ssl.TLSVersion[max_version]
for _ in range(int(calls)):
    connection = Resuming("localhost", int(port), context=context, timeout=10)
    connection.request("POST", "/user/job", body=BODY,
                       headers={"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    response = connection.getresponse()
    body = response.read().decode()
    # A TLS 1.3 ticket arrives after the handshake: the session is complete once the reply has been read.
    Resuming.session = connection.sock.session
    print(json.dumps({"reused": connection.sock.session_reused, "status": response.status, "body": body}))
    connection.close()
