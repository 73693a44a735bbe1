#!/usr/bin/python3
"""HTTP/1.1 framing against a running `neruba serve`: how a request body reaches the server.

    /usr/bin/python3 tests/contract/http_framing_test.py PATH/TO/neruba

The server reads a request's header first and then its body through a larger buffer
(http/server.cpp). This drives the cases that path must get right over a real socket, on a
fresh SQLite database: a chunked body; a 1,000-event body (about 100 KiB, more than the
64 KiB read buffer) arriving in small pieces with pauses between them; two requests sent in
one write (pipelined), answered in order on the same connection; a request whose body comes in
the same packet as its header; and the connection still serving a plain GET afterwards. Each
ingest answer must account for every event, and the usage read afterwards must count exactly
the events sent.

Then how the server times a request out and refuses one, with a body inactivity timeout of
BODY_INACTIVITY_SECONDS (`neruba serve --body-inactivity-timeout`) and the production header
timeout (read from src/common/limits.hpp), each on a fresh connection, side by side: a valid
~200 KiB batch sent slowly for longer than the header timeout is answered 200 with every event
accepted (the header timeout bounds the header, not the body); a body that stops arriving is
answered 408 and the connection closed; a header that stops half-way is answered 408 after the
header timeout; a connection that sends nothing is closed without an answer. Last, a 12 MB body
sent whole by urllib (which reads nothing before it has sent everything) gets its 413 problem
details, not a broken pipe: the server reads and discards the rest of a refused request.
Standard library only.
"""

import datetime
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import neruba_testing  # noqa: E402
from neruba_testing import Database, SetupError  # noqa: E402

ADMIN_KEY = "nrb_admin_framing_" + os.urandom(16).hex()
# Yesterday (UTC): inside the late-arrival window, never in the future.
_YESTERDAY = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)
DAY = _YESTERDAY.isoformat()
NEXT_DAY = (_YESTERDAY + datetime.timedelta(days=1)).isoformat()

_LIMITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "common", "limits.hpp")


def limit(name):
    """The integer constant `name` of src/common/limits.hpp (the server's production default)."""
    with open(_LIMITS, encoding="utf-8") as handle:
        found = re.search(rf"\b{name}\s*=\s*([0-9][0-9']*)\s*;", handle.read())
    if not found:
        raise SetupError(f"no integer limits::{name} in {_LIMITS}")
    return int(found.group(1).replace("'", ""))


# A new connection's header must arrive within this; the server under test keeps the default.
HEADER_TIMEOUT_SECONDS = limit("header_timeout_seconds")
# The server under test runs with this body inactivity timeout, so that a stalled body is answered
# within seconds; the slow batch pauses a small fraction of it between its writes.
BODY_INACTIVITY_SECONDS = 3
SLOW_PAUSE_SECONDS = 0.1
assert SLOW_PAUSE_SECONDS * 10 <= BODY_INACTIVITY_SECONDS


class Connection:
    """One keep-alive connection with a hand-written HTTP/1.1 reader (responses may be pipelined)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def send(self, data, pieces=1, pause=0.0):
        """Sends `data` in `pieces` writes of about equal size, pausing between them."""
        step = max(1, -(-len(data) // pieces))
        for start in range(0, len(data), step):
            self.sock.sendall(data[start:start + step])
            if pause and start + step < len(data):
                time.sleep(pause)

    def response(self):
        """(status, headers, body) of the next response on the connection."""
        status_line = self.reader.readline()
        if not status_line:
            raise AssertionError("the server closed the connection instead of answering")
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = self.reader.readline().rstrip(b"\r\n")
            if not line:
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.reader.read(int(headers.get("content-length", "0")))
        return status, headers, body


def expect_problem(what, response, status, slug):
    """The response is a `status` problem-details answer of type `slug`; returns its headers."""
    got, headers, body = response
    if got != status:
        raise AssertionError(f"{what}: status {got}, expected {status}: {body[:500]!r}")
    if not headers.get("content-type", "").startswith("application/problem+json"):
        raise AssertionError(f"{what}: content type {headers.get('content-type')!r}")
    problem = json.loads(body)
    if problem.get("type") != f"https://neruba.dev/errors/{slug}" or problem.get("status") != status:
        raise AssertionError(f"{what}: problem {problem}")
    if not headers.get("x-request-id") or problem.get("request_id") != headers["x-request-id"]:
        raise AssertionError(f"{what}: request id {headers.get('x-request-id')!r} / {problem.get('request_id')!r}")
    return headers


def request(method, target, key, body=None, chunks=None, extra_headers=()):
    """The bytes of one request: a Content-Length body, or a chunked one made of `chunks`."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {key}"]
    lines += list(extra_headers)
    payload = b""
    if chunks is not None:
        lines += ["Content-Type: application/json", "Transfer-Encoding: chunked"]
        for chunk in chunks:
            payload += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        payload += b"0\r\n\r\n"
    elif body is not None:
        payload = body
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def events_body(prefix, count):
    events = [{"event_id": f"{prefix}-{i}", "customer": "acme", "type": "api_call",
               "timestamp": f"{DAY}T10:{i % 60:02d}:00Z", "properties": {"path": "/v1/x" * (i % 7)}}
              for i in range(count)]
    return json.dumps({"events": events}).encode()


def expect_accepted(what, response, count):
    status, _, body = response
    if status != 200:
        raise AssertionError(f"{what}: status {status}: {body[:500]!r}")
    answer = json.loads(body)
    if answer.get("accepted") != count or answer.get("rejected") or answer.get("conflicts"):
        raise AssertionError(f"{what}: expected {count} accepted, got {answer}")


def call_json(port, method, target, key, body=None, expect=200):
    connection = Connection(port)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.send(request(method, target, key, body=data, extra_headers=["Connection: close"]))
        status, _, raw = connection.response()
    finally:
        connection.close()
    if status != expect:
        raise AssertionError(f"{method} {target}: status {status}, expected {expect}: {raw[:500]!r}")
    return json.loads(raw) if raw else None


def slow_batch(port, key):
    """A valid ~200 KiB batch on a fresh connection, sent for longer than the header timeout."""
    body = events_body("slow", 2000)
    if len(body) < 190_000:
        raise AssertionError(f"the slow body is only {len(body)} bytes")
    pieces = int((HEADER_TIMEOUT_SECONDS + 5) / SLOW_PAUSE_SECONDS)
    connection = Connection(port)
    try:
        started = time.monotonic()
        connection.send(request("POST", "/v1/events", key, body=body), pieces=pieces, pause=SLOW_PAUSE_SECONDS)
        elapsed = time.monotonic() - started
        if elapsed <= HEADER_TIMEOUT_SECONDS:
            raise AssertionError(f"the slow batch took {elapsed:.1f} s, not more than the "
                                 f"{HEADER_TIMEOUT_SECONDS} s header timeout")
        expect_accepted(f"a {len(body)}-byte batch sent in {pieces} pieces over {elapsed:.1f} s",
                        connection.response(), 2000)
    finally:
        connection.close()


def expect_closed(what, connection):
    """The server closes the connection (sends nothing more)."""
    try:
        rest = connection.reader.read()
    except ConnectionResetError:
        rest = b""
    if rest:
        raise AssertionError(f"{what}: the connection stayed open, then sent {rest[:200]!r}")


def stalled_body(port, key):
    """Header and half the body, then nothing: 408 after the inactivity timeout, then closed."""
    data = request("POST", "/v1/events", key, body=events_body("stalled", 100))
    connection = Connection(port)
    try:
        connection.send(data[:len(data) // 2])
        started = time.monotonic()
        response = connection.response()
        elapsed = time.monotonic() - started
        expect_problem("a stalled body", response, 408, "request-timeout")
        if not BODY_INACTIVITY_SECONDS - 0.5 <= elapsed < HEADER_TIMEOUT_SECONDS:
            raise AssertionError(f"a stalled body: answered after {elapsed:.1f} s, expected about "
                                 f"{BODY_INACTIVITY_SECONDS} s")
        expect_closed("a stalled body", connection)
    finally:
        connection.close()


def stalled_header(port, key):
    """Half a header, then nothing: 408 once the header timeout has passed, then closed."""
    data = request("POST", "/v1/events", key, body=events_body("half-header", 1))
    connection = Connection(port)
    try:
        started = time.monotonic()
        connection.send(data[:data.index(b"\r\n\r\n") // 2])
        response = connection.response()
        elapsed = time.monotonic() - started
        expect_problem("a stalled header", response, 408, "request-timeout")
        if elapsed < HEADER_TIMEOUT_SECONDS - 0.5:
            raise AssertionError(f"a stalled header: answered after {elapsed:.1f} s, before the "
                                 f"{HEADER_TIMEOUT_SECONDS} s header timeout")
        expect_closed("a stalled header", connection)
    finally:
        connection.close()


def silent_connection(port):
    """A connection that sends nothing is closed without an answer after the header timeout."""
    connection = Connection(port)
    try:
        started = time.monotonic()
        expect_closed("a silent connection", connection)
        elapsed = time.monotonic() - started
        if elapsed < HEADER_TIMEOUT_SECONDS - 0.5:
            raise AssertionError(f"a silent connection: closed after {elapsed:.1f} s")
    finally:
        connection.close()


def side_by_side(*calls):
    """Runs the (function, *args) calls in threads at once; when all are done, raises naming each
    one that failed."""
    failures = []

    def call(function, args):
        try:
            function(*args)
        except Exception as error:  # noqa: BLE001 - reported below, with its test
            failures.append(f"{function.__name__}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=call, args=(function, args), daemon=True) for function, *args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise AssertionError("; ".join(failures))


def oversized_with_urllib(port, key):
    """A 12 MB body sent whole by urllib.request gets the 413 problem details."""
    body = b" " * (12 * 1000 * 1000)
    call = urllib.request.Request(f"http://127.0.0.1:{port}/v1/events", data=body, method="POST",
                                  headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(call, timeout=30) as answer:
            raise AssertionError(f"a 12 MB body: status {answer.status}, expected 413")
    except urllib.error.HTTPError as refused:
        response = (refused.code, {k.lower(): v for k, v in refused.headers.items()}, refused.read())
    except urllib.error.URLError as error:
        raise AssertionError(f"a 12 MB body sent with urllib: no answer, {error.reason!r}") from None
    headers = expect_problem("a 12 MB body sent with urllib", response, 413, "payload-too-large")
    if headers.get("connection", "").lower() != "close":
        raise AssertionError(f"a 12 MB body: Connection {headers.get('connection')!r}, expected close")


def run(port):
    tenant = call_json(port, "POST", "/v1/tenants", ADMIN_KEY,
                       {"name": "Framing", "currency": "USD", "timezone": "UTC"}, 201)
    key = call_json(port, "POST", f"/v1/tenants/{tenant['id']}/api-keys", ADMIN_KEY,
                    {"name": "framing", "scopes": ["ingest", "read", "write"]}, 201)["key"]
    call_json(port, "POST", "/v1/customers", key, {"external_id": "acme", "name": "Acme"}, 201)
    call_json(port, "POST", "/v1/meters", key,
              {"code": "calls", "event_type": "api_call", "aggregation": "count"}, 201)

    sent = 0
    connection = Connection(port)
    try:
        # A chunked body, its chunks split mid-event.
        body = events_body("chunked", 3)
        connection.send(request("POST", "/v1/events", key, chunks=[body[:17], body[17:60], body[60:]]))
        expect_accepted("a chunked body", connection.response(), 3)
        sent += 3

        # More than the read buffer holds, trickling in: 1,000 events in 40 writes 5 ms apart.
        body = events_body("trickled", 1000)
        if len(body) <= 64 * 1024:
            raise AssertionError(f"the trickled body is only {len(body)} bytes")
        connection.send(request("POST", "/v1/events", key, body=body), pieces=40, pause=0.005)
        expect_accepted(f"a {len(body)}-byte body in 40 pieces", connection.response(), 1000)
        sent += 1000

        # Two requests in one write: answered in order, on this connection.
        connection.send(request("POST", "/v1/events", key, body=events_body("first", 2)) +
                        request("POST", "/v1/events", key, body=events_body("second", 5)))
        expect_accepted("the first of two pipelined requests", connection.response(), 2)
        expect_accepted("the second of two pipelined requests", connection.response(), 5)
        sent += 7

        # A large body in the same write as its header.
        connection.send(request("POST", "/v1/events", key, body=events_body("whole", 1500)))
        expect_accepted("a 1,500-event body in one write", connection.response(), 1500)
        sent += 1500

        # The connection still serves a request without a body.
        connection.send(request("GET", "/healthz", key))
        status, _, _ = connection.response()
        if status != 200:
            raise AssertionError(f"GET /healthz after the bodies: status {status}")
    finally:
        connection.close()

    # Timeouts, each on a fresh connection, at the same time (the slowest takes ~15 s).
    side_by_side((slow_batch, port, key), (stalled_body, port, key), (stalled_header, port, key),
                 (silent_connection, port))
    sent += 2000
    oversized_with_urllib(port, key)  # nothing of it is stored

    target = (f"/v1/customers/acme/usage?from={urllib.parse.quote(DAY + 'T00:00:00Z')}"
              f"&to={urllib.parse.quote(NEXT_DAY + 'T00:00:00Z')}")
    usage = call_json(port, "GET", target, key)
    calls = [m for m in usage["meters"] if m["meter"] == "calls"]
    if not calls or calls[0]["events"] != sent or str(calls[0]["value"]) != str(sent):
        raise AssertionError(f"usage counts {calls}, expected {sent} events")
    print(f"http framing: {sent} events over chunked, trickled, pipelined, whole and slow bodies; usage "
          f"exact; stalled body and header answered 408, a silent connection closed; a 12 MB body "
          f"sent with urllib answered 413")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    temp_dir = tempfile.mkdtemp(prefix="neruba-framing-")
    server = None
    try:
        database = Database(None, temp_dir, schema_prefix="framing_")
        data_dir = os.path.join(temp_dir, "data")
        os.makedirs(data_dir)
        server = neruba_testing.Server(os.path.abspath(sys.argv[1]), database.url, data_dir,
                                       os.path.join(temp_dir, "server.log"), ADMIN_KEY,
                                       ["--body-inactivity-timeout", str(BODY_INACTIVITY_SECONDS)])
        server.start()
        run(server.port)
        status = server.terminate()
        if status != 0:
            raise AssertionError(f"the server exited with {status} on SIGTERM\n{server.log_tail()}")
        return 0
    except (AssertionError, SetupError, OSError) as error:
        print(f"http framing: FAILED: {error}", file=sys.stderr)
        if server is not None:
            print(server.log_tail(), file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.kill_if_running()
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
