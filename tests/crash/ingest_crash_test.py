#!/usr/bin/python3
"""Crash test for usage ingest: SIGKILL the server while clients stream batches, at random moments and
at two moments it forces: after a batch's commit and before its answer, and before its commit.

    /usr/bin/python3 tests/crash/ingest_crash_test.py PATH/TO/neruba [--backend sqlite|postgres]
        [--seed N] [--kills N] [--clients N] [--batch-size N] [--forced-attempts N]

Starts `neruba serve` on a free port of 127.0.0.1 against a fresh database (SQLite in a temp dir, or
a fresh schema in NERUBA_TEST_PG_URL), creates a tenant, a key, customers, a `count` meter and a
`sum` meter, and lifts the tenant's ingest rate so nothing is throttled. Then several client
threads stream batches of events (unique event_ids, timestamps within the last hour, one customer
per batch) while a killer thread sends SIGKILL to the server, waits for it to die and restarts it
on the same database and port, again and again. A batch is acknowledged only by a 200 whose
accepted + duplicates equals the batch size; a failed request (reset, refused, timeout, 503) leaves
the batch unacknowledged and the client may retry it later.

The killer's kills:
  - Random: --kills of a serving server at random moments (sometimes one more while it starts up).
  - Forced, between the random ones until each kind below has been caught once: a client marks a
    request in flight once it has sent it, before it reads the answer. The killer waits for one,
    SIGSTOPs the server (and waits until every thread is stopped), then looks from the test into
    the database whether each in-flight batch's first and last event_id are stored (SQLite: the
    file read-only through the standard library's sqlite3, as a WAL reader a stopped writer does
    not block; PostgreSQL: psql on the test's schema), and classifies the moment:
      A  committed, its answer not yet with the client: stored, and not a byte of the answer in
         the client's socket (FIONREAD 0);
      B  in flight, not committed: not stored, and the server has read the whole request (its end
         of the connection holds no unread byte in /proc/net/tcp).
    If a batch is at a moment of a kind still missing, SIGKILL; else SIGCONT and another attempt a
    few milliseconds later (--forced-attempts a step, at most FORCED_STEPS_MAX steps, none after
    FORCED_WITHIN seconds of streaming). What the kill left decides: once the process (and on
    PostgreSQL every session of that incarnation, named by its application_name) is gone, all of
    the batch's event_ids are read again. A: all stored and the client's request failed (no answer
    reached it); B: none stored and the request failed. All stored after a stop that showed none
    (a commit under way: SQLite's WAL synced but not yet indexed, PostgreSQL's COMMIT in transit)
    counts as A. After the restart the batch's client resends it first, and the killer waits for
    that answer before it kills again. No hook in the server: production code knows nothing of this.
    A run without a kill of each kind fails.

Checks while streaming:
  - With the server stopped, a batch's first and last event_id are both stored or neither; after a
    forced kill, all of a caught batch's events or none are stored (a batch is one commit), and one
    seen stored at the stop is still stored.
  - The first 200 to a resend of a batch caught by a forced kill: kind A answers accepted=0,
    duplicates=size (durable though unacknowledged); kind B answers accepted=size, duplicates=0
    (nothing of it stored, accepted whole, never partly).

At the end, with the server up:
  1. Before anything is resent, each customer's count meter is at least the number of its
     acknowledged events.
  2. Every batch ever sent is resent. Acknowledged batches must answer accepted=0,
     duplicates=size; unacknowledged ones may answer only duplicates (committed before a kill) and
     accepted (never committed) -- never a conflict or a rejection, and never part of a batch
     duplicates and the rest accepted (a batch is never split across commits). The duplicates tell
     exactly what the server held, so the count (and, when no batch was half-committed, the sum)
     read before the resend must equal what the server held.
  3. After the resend each customer's count meter equals the number of distinct events ever sent
     to them, its `events` too, and the sum meter equals the exact decimal sum of their amounts.
  4. A second full resend answers only duplicates and changes no usage.
  5. One more SIGKILL and restart changes no usage; SIGTERM then stops the server with exit 0, and
     the server log holds no sanitizer report.

The summary lists every kill, the forced ones with their kind, the batches they caught and the
attempts they took, and what each forced attempt came to.

The seed (printed; --seed or NERUBA_CRASH_SEED to repeat) fixes the random kills' delays, the forced
attempts' delays and the events; thread scheduling still varies from run to run, and so do the
moments the forced kills catch.

Exit codes: 0 pass, 1 a violation (each printed), 2 a set-up problem, 77 --backend postgres without
NERUBA_TEST_PG_URL (a failure instead when NERUBA_REQUIRE_POSTGRES=1). Standard library only.
"""

import argparse
import collections
import fcntl
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import tempfile
import threading
import time
import traceback
import urllib.parse
from decimal import Decimal

# The set-up helpers shared with the contract test live in tests/support/python (no .pyc written there).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import neruba_testing  # noqa: E402
from neruba_testing import (READY_TIMEOUT, Database, SetupError, is_postgres_url,  # noqa: E402
                            missing_postgres_exit)

ADMIN_KEY = "nrb_admin_crash_" + secrets.token_hex(16)
EVENT_TYPE = "api_call"
COUNT_METER = "crash_calls"
SUM_METER = "crash_amount"
SUM_FIELD = "amount"
REQUEST_TIMEOUT = 15.0
STREAM_DEADLINE = 90.0     # seconds of streaming at most, whatever happens
MIN_KILLS = 5
TAIL_AFTER_LAST_KILL = 1.5  # seconds of streaming after the last restart
# Forced interleavings (see the module docstring).
KIND_A = "A"  # killed after the batch's commit, before its answer reached the client
KIND_B = "B"  # killed with the batch in flight, not committed
KIND_TEXT = {KIND_A: "committed, answer not yet with the client",
             KIND_B: "request read by the server, not committed"}
FORCED_STOP_TIMEOUT = 1.0   # seconds for every thread of a SIGSTOPped server to stop
FORCED_STEPS_MAX = 4        # forced steps (each up to --forced-attempts attempts) before giving up
FORCED_WITHIN = 60.0        # seconds after the stream's start: no forced attempt later
FORCED_PAUSE = (0.002, 0.015)  # seconds between two attempts (the server runs meanwhile)
FORCED_RESEND_WAIT = 20.0   # seconds for a forced batch's client to resend it after the restart


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------------------
# Violations, collected from every thread


class Violations:
    def __init__(self):
        self._lock = threading.Lock()
        self.items = []

    def add(self, message):
        with self._lock:
            self.items.append(message)
        log(f"VIOLATION: {message}")

    def __bool__(self):
        with self._lock:
            return bool(self.items)


# ------------------------------------------------------------------------------------------------
# Database and the server (the shared parts are in tests/support/python/neruba_testing.py)


def open_database(backend, temp_dir):
    """A fresh database for one run: a SQLite file in the temp dir or a new schema in NERUBA_TEST_PG_URL."""
    if backend == "sqlite":
        return Database(None, temp_dir, schema_prefix="crash_")
    base_url = os.environ["NERUBA_TEST_PG_URL"]
    if not is_postgres_url(base_url):
        raise SetupError(f"NERUBA_TEST_PG_URL must be a postgresql:// URI, got {base_url!r}")
    return Database(base_url, temp_dir, schema_prefix="crash_")


class Server(neruba_testing.Server):
    """`neruba serve` on a fixed port; started, SIGKILLed and restarted on the same DB and port.

    On PostgreSQL each incarnation connects with an application_name of its own
    (<schema>_s<start number>), so that the test can tell when the sessions of a killed one are gone."""

    start_attempts = 5
    start_pause = 0.3

    def __init__(self, binary, database, data_dir, log_path):
        super().__init__(binary, database.url, data_dir, log_path, ADMIN_KEY)
        self.database = database
        self.starts = 0
        self.application_name = None

    def spawn(self):
        """Starts another incarnation (without waiting for it), marked in the log."""
        self.starts += 1
        if self.database.kind == "postgres":
            self.application_name = f"{self.database.schema}_s{self.starts}"
            self.db_url = f"{self.database.url}&application_name={self.application_name}"
        with open(self.log_path, "ab") as handle:
            handle.write(f"\n===== crash test: start #{self.starts} =====\n".encode())
        return super().spawn()

    def kill(self):
        """SIGKILL; returns once the process is gone. Returns the exit status seen before the kill,
        or None when the server was still running (as it should be)."""
        process = self.process
        before = process.poll()
        if before is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
        return before

    def stop_all_threads(self, timeout=FORCED_STOP_TIMEOUT):
        """SIGSTOP and wait until every thread is stopped (neruba_testing.stop_all_threads)."""
        return neruba_testing.stop_all_threads(self.process.pid, timeout)

    def resume(self):
        try:
            os.kill(self.process.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def sanitizer_reports(self):
        return neruba_testing.sanitizer_reports(self.log_path)


# ------------------------------------------------------------------------------------------------
# Looking into the database from the test (while the server is stopped, or after it was killed)


class ProbeError(Exception):
    """The database could not be read this time (e.g. SQLite busy): the attempt proves nothing."""


class SqliteProbe:
    """Reads the server's SQLite file through the standard library's sqlite3, read-only. A SIGSTOPped
    writer does not block a WAL reader; after a SIGKILL, the first connection replays the WAL as the
    restarted server will, so it sees exactly what survived."""

    def __init__(self, path, tenant_id):
        self.uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
        self.tenant_id = tenant_id

    def stored(self, event_ids):
        """The subset of event_ids the events table holds (committed) for the tenant."""
        found = set()
        try:
            connection = sqlite3.connect(self.uri, uri=True, timeout=0.25, isolation_level=None)
        except sqlite3.Error as error:
            raise ProbeError(f"sqlite3: {error}") from error
        try:
            ids = list(event_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = connection.execute(
                    f"SELECT event_id FROM events WHERE tenant_id = ? AND event_id IN ({','.join('?' * len(chunk))})",
                    [self.tenant_id, *chunk]).fetchall()
                found.update(row[0] for row in rows)
        except sqlite3.Error as error:
            raise ProbeError(f"sqlite3: {error}") from error
        finally:
            connection.close()
        return found

    def killed_sessions_gone(self, server):
        return True  # the database is a file: a dead process holds nothing


class PostgresProbe:
    """Reads the test's schema through psql (neruba_testing.psql). A SIGSTOPped server does not stop
    PostgreSQL: a COMMIT it sent just before the stop may still land, so what a kill left is read only
    once the killed incarnation's sessions are gone (killed_sessions_gone)."""

    def __init__(self, base_url, schema, tenant_id):
        self.base_url = base_url
        self.schema = schema
        self.tenant_id = tenant_id

    def _rows(self, sql):
        try:
            return neruba_testing.psql(self.base_url, "SET statement_timeout = '5s'; " + sql, rows=True, timeout=15)
        except (SetupError, subprocess.SubprocessError) as error:
            raise ProbeError(str(error)) from error

    def stored(self, event_ids):
        ids = ",".join(sql_literal(event_id) for event_id in event_ids)
        return set(self._rows(f"SELECT event_id FROM {self.schema}.events "
                              f"WHERE tenant_id = {sql_literal(self.tenant_id)} AND event_id IN ({ids})"))

    def killed_sessions_gone(self, server, timeout=10.0):
        """Waits until no session of the killed incarnation is left (PostgreSQL ends a backend whose
        client is gone once its current statement, e.g. a COMMIT, is over). True when none is left."""
        name = server.application_name
        deadline = time.monotonic() + timeout
        while True:
            rows = self._rows(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = {sql_literal(name)}")
            if rows == ["0"]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def unread_bytes(sock):
    """Bytes the kernel holds for this socket that its reader has not taken yet; None if unknown."""
    try:
        fd = sock.fileno()
        if fd < 0:
            return None
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except (OSError, ValueError, AttributeError):
        return None


def server_unread(server_port, client_ports):
    """{client port: bytes of its request the server has not read yet}, from the server's side of each
    connection in /proc/net/tcp (127.0.0.1 only); a port whose connection is not found is left out."""
    wanted = set(client_ports)
    found = {}
    try:
        with open("/proc/net/tcp", encoding="ascii") as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == server_port and remote_port in wanted:
                    found[remote_port] = int(fields[4].split(":")[1], 16)
    except (OSError, ValueError, IndexError, StopIteration):
        return {}
    return found


# ------------------------------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive connection; reconnects after any failure."""

    def __init__(self, port, key, timeout=REQUEST_TIMEOUT):
        self.port = port
        self.key = key
        self.timeout = timeout
        self.connection = None

    def close(self):
        if self.connection is not None:
            try:
                self.connection.close()
            except OSError:
                pass
            self.connection = None

    def call(self, method, target, body=None, raw=None, key=None, headers=None, on_sent=None):
        """Returns (status, headers, bytes); raises OSError / HTTPException when the exchange fails.
        on_sent(socket) is called once the whole request is sent, before the answer is read."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        request_headers = {"Authorization": f"Bearer {key or self.key}"}
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
        if payload is not None:
            request_headers["Content-Type"] = "application/json"
        request_headers.update(headers or {})
        try:
            self.connection.request(method, target, body=payload, headers=request_headers)
            if on_sent is not None:
                on_sent(self.connection.sock)
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except BaseException:
            self.close()
            raise


def expect_json(client, method, target, status, body=None, key=None, what=None):
    got, _, data = client.call(method, target, body=body, key=key)
    if got != status:
        raise SetupError(f"{what or method + ' ' + target}: expected {status}, got {got}: {data[:500]!r}")
    return json.loads(data) if data else None


# ------------------------------------------------------------------------------------------------
# Events and batches


def rfc3339(epoch_seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def amount_text(rng):
    """A decimal with 0-6 fractional digits, as text (never through a float)."""
    digits = rng.randint(0, 6)
    units = rng.randint(0, 10 ** rng.randint(1, 9))
    if digits == 0:
        return str(units)
    fraction = rng.randint(0, 10 ** digits - 1)
    return f"{units}.{fraction:0{digits}d}"


class Batch:
    __slots__ = ("number", "client", "customer", "event_ids", "amounts", "body", "first_stamp", "last_stamp",
                 "acked", "attempts", "failed_attempts", "acked_on_attempt", "retry_duplicates",
                 "forced_kind", "forced_answer")

    def __init__(self, number, client, customer, event_ids, amounts, body, first_stamp, last_stamp):
        self.number = number
        self.client = client
        self.customer = customer
        self.event_ids = event_ids
        self.amounts = amounts  # Decimal per event
        self.body = body        # exact bytes, resent unchanged
        self.first_stamp = first_stamp  # unix seconds of the earliest and latest event
        self.last_stamp = last_stamp
        self.acked = False
        self.attempts = 0
        self.failed_attempts = 0
        self.acked_on_attempt = None
        self.retry_duplicates = 0  # duplicates answered when a retry was acknowledged
        self.forced_kind = None    # KIND_A / KIND_B when a forced kill caught this batch in flight
        self.forced_answer = None  # (accepted, duplicates) of its first 200 after that kill

    @property
    def size(self):
        return len(self.event_ids)


class Flight:
    """One attempt of one batch, from the moment its whole request is sent until its answer is read or
    the exchange fails. `answered`: an HTTP answer (any status) reached the client."""

    __slots__ = ("batch", "attempt", "client", "sock", "port", "sent_at", "done", "answered", "status")

    def __init__(self, batch, attempt, client):
        self.batch = batch
        self.attempt = attempt
        self.client = client
        self.sock = None
        self.port = None  # the client's end of the connection
        self.sent_at = None
        self.done = threading.Event()
        self.answered = False
        self.status = None


class ForcedKill:
    """A kill the killer chose after looking into the database with the server stopped."""

    __slots__ = ("kill_number", "elapsed", "step", "attempts", "caught", "answered", "unconfirmed")

    def __init__(self, kill_number, elapsed, step, attempts):
        self.kill_number = kill_number
        self.elapsed = elapsed
        self.step = step
        self.attempts = attempts  # attempts of its step up to and including this one
        self.caught = []          # (kind, batch number, client, what the stop showed, events stored after)
        self.answered = []        # batch numbers whose answer had reached the client after all
        self.unconfirmed = []     # batch numbers whose fate could not be read (sessions left over)

    def kinds(self):
        return {kind for kind, *_ in self.caught}

    def describe(self):
        parts = [f"kind {kind} ({KIND_TEXT[kind]}): batch {number} (client {client}; at the stop its "
                 f"first/last event_id {'stored' if seen == 'stored' else 'not stored'}, after the kill "
                 f"{stored} events stored)" for kind, number, client, seen, stored in self.caught]
        if self.answered:
            parts.append(f"answered before the kill after all: batches {self.answered}")
        if self.unconfirmed:
            parts.append(f"unconfirmed: batches {self.unconfirmed}")
        return (f"kill #{self.kill_number} at {self.elapsed:.2f} s, step {self.step}, attempt {self.attempts}: "
                + "; ".join(parts or ["nothing caught"]))


def make_batch(rng, number, client_index, run_token, customers, size):
    customer = customers[rng.randrange(len(customers))]
    now = time.time()
    events = []
    event_ids = []
    amounts = []
    stamps = []
    for i in range(size):
        event_id = f"crash-{run_token}-c{client_index}-b{number}-{i}"
        text = amount_text(rng)
        amounts.append(Decimal(text))
        # Half the amounts as JSON number literals, half as decimal strings (both are allowed).
        literal = text if rng.random() < 0.5 else json.dumps(text)
        stamp = int(now) - rng.randint(1, 3300)
        timestamp = rfc3339(stamp)
        region = rng.choice(["eu", "us", "apac"])
        events.append(
            '{"event_id":%s,"customer":%s,"type":%s,"timestamp":%s,"properties":{"%s":%s,"region":%s}}'
            % (json.dumps(event_id), json.dumps(customer), json.dumps(EVENT_TYPE), json.dumps(timestamp),
               SUM_FIELD, literal, json.dumps(region)))
        event_ids.append(event_id)
        stamps.append(stamp)
    body = ('{"events":[' + ",".join(events) + "]}").encode()
    return Batch(number, client_index, customer, event_ids, amounts, body, min(stamps), max(stamps))


def check_ingest_answer(data, batch):
    """Parses a 200 answer to POST /v1/events; returns (accepted, duplicates, conflicts, rejected)
    or raises ValueError when the body is not the documented shape."""
    answer = json.loads(data)
    accepted = answer["accepted"]
    duplicates = answer["duplicates"]
    conflicts = answer["conflicts"]
    rejected = answer["rejected"]
    if not isinstance(accepted, int) or not isinstance(duplicates, int):
        raise ValueError(f"accepted/duplicates are not integers: {answer}")
    if not isinstance(conflicts, list) or not isinstance(rejected, list):
        raise ValueError(f"conflicts/rejected are not arrays: {answer}")
    return accepted, duplicates, conflicts, rejected


def describe_outcomes(conflicts, rejected, limit=3):
    parts = []
    if conflicts:
        parts.append(f"{len(conflicts)} conflicts, e.g. {conflicts[:limit]}")
    if rejected:
        parts.append(f"{len(rejected)} rejected, e.g. {rejected[:limit]}")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, args, server, key, customers, violations, probe):
        self.args = args
        self.server = server
        self.key = key
        self.customers = customers
        self.violations = violations
        self.probe = probe  # SqliteProbe / PostgresProbe
        self.run_token = secrets.token_hex(4)
        self.lock = threading.Lock()
        self.batches = []  # every batch ever sent, by number
        self.stop = threading.Event()
        self.kills = 0          # every SIGKILL
        self.serving_kills = 0  # SIGKILLs of a ready, serving server
        self.startup_kills = 0
        self.kill_log = []  # (seconds since stream start, kind, batches acked so far)
        self.request_failures = collections.Counter()
        self.statuses = collections.Counter()
        self.retries_acked = 0
        self.retries_found_committed = 0
        self.stream_started = None
        # Forced kills: the requests in flight (sent, answer not read), what the forced steps did.
        self.flights = set()
        self.flight_cond = threading.Condition(self.lock)
        self.latency = 0.05  # seconds, a moving average of answered ingest requests
        self.forcing = threading.Event()  # a forced step runs: clients keep sending new batches
        self.forced_steps = 0
        self.forced_kills = []  # ForcedKill, in order
        self.forced_found = {}  # kind -> the ForcedKill that first caught it
        self.forced_attempts = collections.Counter()  # what each attempt came to
        self.forced_step_attempts = []  # attempts each step took
        self.probe_errors = []

    # -- clients ---------------------------------------------------------------------------------

    def new_batch(self, rng, client_index):
        with self.lock:
            number = len(self.batches)
            batch = make_batch(rng, number, client_index, self.run_token, self.customers, self.args.batch_size)
            self.batches.append(batch)
        return batch

    def client_loop(self, client_index):
        rng = random.Random(self.args.seed * 1009 + client_index)
        client = Client(self.server.port, self.key)
        pending = []  # this client's unacknowledged batches
        sent_new = 0
        refused = False  # the last attempt found no server listening: it never saw the batch
        try:
            while not self.stop.is_set():
                # A refused connection means the server is down: wait for it with the same batch rather
                # than pile up never-delivered ones. After a reset or a timeout (the server may have
                # committed the batch or not), move on to new batches and retry now and then.
                # A batch a forced kill caught goes first: its next answer is the one the kill's kind
                # predicts (and the killer waits for it before it kills again).
                forced = next((b for b in pending if b.forced_kind and b.forced_answer is None), None)
                retry = forced is None and bool(pending) and (refused or rng.random() < 0.3
                                                              or sent_new >= self.args.max_batches_per_client)
                refused = False
                if forced is not None:
                    pending.remove(forced)
                    batch = forced
                elif retry:
                    batch = pending.pop(0)
                elif sent_new < self.args.max_batches_per_client or (
                        self.forcing.is_set() and sent_new < 4 * self.args.max_batches_per_client):
                    batch = self.new_batch(rng, client_index)
                    sent_new += 1
                else:
                    time.sleep(0.05)
                    continue
                first_attempt = batch.attempts == 0
                batch.attempts += 1
                flight = Flight(batch, batch.attempts, client_index)
                try:
                    status, headers, data = client.call("POST", "/v1/events", raw=batch.body,
                                                        on_sent=lambda sock, f=flight: self.flight_sent(f, sock))
                except (OSError, http.client.HTTPException) as failure:
                    self.flight_ended(flight, None)
                    batch.failed_attempts += 1
                    refused = isinstance(failure, ConnectionRefusedError)
                    if refused:
                        pending.insert(0, batch)
                    else:
                        pending.append(batch)
                    with self.lock:
                        self.request_failures[type(failure).__name__] += 1
                    time.sleep(rng.uniform(0.02, 0.1))
                    continue
                except BaseException:
                    self.flight_ended(flight, None)
                    raise
                self.flight_ended(flight, status)
                with self.lock:
                    self.statuses[status] += 1
                if status in (429, 503):
                    batch.failed_attempts += 1
                    pending.append(batch)
                    try:
                        wait = float(headers.get("retry-after", "0.2"))
                    except ValueError:
                        wait = 0.2
                    time.sleep(min(max(wait, 0.05), 1.0))
                    continue
                if status != 200:
                    batch.failed_attempts += 1
                    pending.append(batch)
                    self.violations.add(
                        f"batch {batch.number} (client {client_index}, attempt {batch.attempts}): unexpected "
                        f"status {status}: {data[:400]!r}")
                    time.sleep(0.1)
                    continue
                try:
                    accepted, duplicates, conflicts, rejected = check_ingest_answer(data, batch)
                except (ValueError, KeyError, TypeError) as error:
                    self.violations.add(f"batch {batch.number}: malformed 200 answer ({error}): {data[:400]!r}")
                    pending.append(batch)
                    continue
                if conflicts or rejected:
                    self.violations.add(
                        f"batch {batch.number} (client {client_index}, attempt {batch.attempts}, "
                        f"{'first send' if first_attempt else 'retry'}): {describe_outcomes(conflicts, rejected)}")
                if first_attempt and duplicates != 0:
                    self.violations.add(
                        f"batch {batch.number}: first send of never-sent event_ids answered {duplicates} "
                        f"duplicates (accepted {accepted})")
                if batch.forced_kind is not None and batch.forced_answer is None:
                    self.check_forced_answer(batch, accepted, duplicates)
                if accepted + duplicates == batch.size and not conflicts and not rejected:
                    batch.acked = True
                    batch.acked_on_attempt = batch.attempts
                    if not first_attempt:
                        batch.retry_duplicates = duplicates
                        with self.lock:
                            self.retries_acked += 1
                            if duplicates:
                                self.retries_found_committed += 1
                else:
                    if accepted + duplicates != batch.size:
                        self.violations.add(
                            f"batch {batch.number}: 200 with accepted {accepted} + duplicates {duplicates} "
                            f"!= {batch.size}")
                    pending.append(batch)
        except Exception:  # noqa: BLE001 - a crash of the test itself is a failure
            self.violations.add(f"client {client_index} crashed:\n{traceback.format_exc()}")
        finally:
            client.close()

    def flight_sent(self, flight, sock):
        with self.flight_cond:
            flight.sock = sock
            flight.port = sock.getsockname()[1]
            flight.sent_at = time.monotonic()
            self.flights.add(flight)
            self.flight_cond.notify_all()

    def flight_ended(self, flight, status):
        with self.lock:
            self.flights.discard(flight)
            flight.answered = status is not None
            flight.status = status
            if status is not None and flight.sent_at is not None:
                self.latency = 0.8 * self.latency + 0.2 * (time.monotonic() - flight.sent_at)
        flight.done.set()

    def check_forced_answer(self, batch, accepted, duplicates):
        """The first 200 a batch gets after a forced kill caught it: kind A (committed, unanswered)
        must answer only duplicates, kind B (not committed) must be accepted whole."""
        batch.forced_answer = (accepted, duplicates)
        expected = (0, batch.size) if batch.forced_kind == KIND_A else (batch.size, 0)
        if (accepted, duplicates) != expected:
            self.violations.add(
                f"batch {batch.number}, caught by a forced kill of kind {batch.forced_kind} "
                f"({KIND_TEXT[batch.forced_kind]}): its resend answered accepted {accepted}, duplicates "
                f"{duplicates} (expected {expected[0]} / {expected[1]})")

    # -- the killer ------------------------------------------------------------------------------

    def needed_kinds(self):
        return [kind for kind in (KIND_A, KIND_B) if kind not in self.forced_found]

    def forcing_allowed(self):
        """Another forced attempt may come: not stopping, not too late into the stream."""
        return not self.stop.is_set() and time.monotonic() - self.stream_started < FORCED_WITHIN

    def killer_loop(self, total_kills):
        rng = random.Random(self.args.seed)
        forced_rng = random.Random(self.args.seed * 7919 + 1)  # the random kills' delays stay as they were
        try:
            while not self.stop.is_set():
                forced_wanted = (bool(self.needed_kinds()) and self.forced_steps < FORCED_STEPS_MAX
                                 and self.forcing_allowed())
                if self.serving_kills >= total_kills and not forced_wanted:
                    break
                if self.serving_kills < total_kills:
                    # Mostly kill a serving server after a random while; sometimes kill it again while
                    # it is still starting up (opening the database, migrating), before it is ready.
                    delay = rng.uniform(0.1, self.args.max_kill_interval)
                    if self.stop.wait(delay):
                        return
                    self._kill("serving")
                    self.serving_kills += 1
                    if rng.random() < 0.25:
                        self.server.spawn()
                        time.sleep(rng.uniform(0.0, 0.4))
                        self._kill("starting")
                        self.startup_kills += 1
                    if not self._restart():
                        return
                # Between the random kills, while a kind is still missing: a forced step.
                if self.needed_kinds() and self.forced_steps < FORCED_STEPS_MAX and self.forcing_allowed():
                    self.forced_step(forced_rng)
            # Keep streaming a little against the last incarnation.
            self.stop.wait(TAIL_AFTER_LAST_KILL)
        except Exception:  # noqa: BLE001
            self.violations.add(f"killer crashed:\n{traceback.format_exc()}")
        finally:
            self.stop.set()

    def _restart(self):
        self.server.spawn()
        if not self.server.wait_ready():
            self.violations.add(f"the server did not become ready after kill #{self.kills}\n"
                                f"{self.server.log_tail()}")
            self.stop.set()
            return False
        return True

    def forced_step(self, rng):
        """Stops the server whenever a request is in flight, looks into the database and kills it only
        at a moment of a kind still needed (else lets it go on and tries again a few ms later), until
        every kind is caught or --forced-attempts attempts are spent."""
        self.forced_steps += 1
        step = self.forced_steps
        attempts = 0
        self.forcing.set()
        log(f"forced step {step}: wanted {', '.join(self.needed_kinds())}")
        try:
            while self.needed_kinds() and attempts < self.args.forced_attempts and self.forcing_allowed():
                attempts += 1
                with self.flight_cond:
                    in_flight = self.flight_cond.wait_for(lambda: self.flights or self.stop.is_set(), timeout=2.0)
                if not in_flight:
                    self.forced_attempts["nothing in flight for 2 s"] += 1
                    continue
                # Somewhere within the request: before, during or after its commit.
                if self.stop.wait(rng.uniform(0.0, min(self.latency, 0.5))):
                    break
                outcome = self.forced_attempt(step, attempts)
                self.forced_attempts[outcome] += 1
                if outcome != "killed" and self.stop.wait(rng.uniform(*FORCED_PAUSE)):
                    break
        except Exception:  # noqa: BLE001
            self.violations.add(f"forced step {step} crashed:\n{traceback.format_exc()}")
            self.stop.set()
        finally:
            self.forcing.clear()
        self.forced_step_attempts.append(attempts)
        log(f"forced step {step}: {attempts} attempts; still wanted: {', '.join(self.needed_kinds()) or 'nothing'}")

    def forced_attempt(self, step, attempt):
        """One attempt: SIGSTOP, read the database, then SIGKILL or SIGCONT. Returns what it came to."""
        server = self.server
        if server.process.poll() is not None:
            self.violations.add(f"the server had exited by itself (status {server.process.returncode}) "
                                f"before a forced attempt\n{server.log_tail()}")
            self.stop.set()
            return "server gone"
        needed = self.needed_kinds()
        candidates = []  # (flight, "stored" / "absent" at the stop)
        killed = False
        try:
            if not server.stop_all_threads():
                return "threads not all stopped in time"
            with self.lock:
                flights = sorted(self.flights, key=lambda f: f.batch.number)
            if not flights:
                return "nothing in flight at the stop"
            ends = [f.batch.event_ids[i] for f in flights for i in (0, -1)]
            try:
                stored = self.probe.stored(ends)
            except ProbeError as error:
                self.probe_errors.append(str(error))
                return "database not readable"
            answer_on_its_way = request_unread = False
            unread_by_server = server_unread(server.port, [f.port for f in flights])
            for flight in flights:
                batch = flight.batch
                first, last = batch.event_ids[0] in stored, batch.event_ids[-1] in stored
                if first != last:
                    self.violations.add(
                        f"with the server stopped, batch {batch.number}'s first event_id is "
                        f"{'' if first else 'not '}stored and its last one is {'' if last else 'not '}stored: "
                        f"a batch is written in one commit")
                    continue
                if first:
                    # Committed. Kind A only if no byte of the answer is with the client yet.
                    if KIND_A in needed and unread_bytes(flight.sock) == 0:
                        candidates.append((flight, "stored"))
                    else:
                        answer_on_its_way = True
                elif KIND_B in needed:
                    # Not committed. Kind B only once the server has taken the whole request in.
                    if unread_by_server.get(flight.port) == 0:
                        candidates.append((flight, "absent"))
                    else:
                        request_unread = True
            if not candidates:
                if answer_on_its_way:
                    return "committed, answer already sent"
                return "request not all read by the server" if request_unread else "no kind wanted in flight"
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            killed = True
        finally:
            if not killed:
                server.resume()

        self.kills += 1
        record = ForcedKill(self.kills, time.monotonic() - self.stream_started, step, attempt)
        self.kill_log.append((round(record.elapsed, 2), "forced", self._acked()))
        # What the kill left: once the killed incarnation is gone for good (PostgreSQL: its sessions
        # too), every event_id of each caught batch, as the restarted server will see them.
        try:
            sessions_gone = self.probe.killed_sessions_gone(server)
        except ProbeError as error:
            self.probe_errors.append(str(error))
            sessions_gone = False
        all_ids = [event_id for flight, _ in candidates for event_id in flight.batch.event_ids]
        after = None
        for _ in range(5):
            try:
                after = self.probe.stored(all_ids)
                break
            except ProbeError as error:
                self.probe_errors.append(str(error))
                time.sleep(0.1)
        for flight, seen in candidates:
            batch = flight.batch
            if not flight.done.wait(REQUEST_TIMEOUT + 5):
                self.violations.add(f"client {flight.client} never finished its request of batch {batch.number} "
                                    f"after forced kill #{self.kills}")
                continue
            if after is None or not sessions_gone:
                record.unconfirmed.append(batch.number)
                continue
            held = sum(1 for event_id in batch.event_ids if event_id in after)
            if 0 < held < batch.size:
                self.violations.add(f"after forced kill #{self.kills}, {held} of batch {batch.number}'s "
                                    f"{batch.size} events are stored: a batch is written in one commit")
                continue
            if seen == "stored" and held == 0:
                self.violations.add(f"batch {batch.number} was stored with the server stopped, and gone after "
                                    f"forced kill #{self.kills}: a commit readers saw was lost")
                continue
            if flight.answered:
                # The answer reached the client after all (e.g. it was in the client's buffer). It was
                # sent before the stop; a 200 then means every event was stored before the stop.
                if flight.status == 200 and seen == "absent":
                    self.violations.add(f"batch {batch.number} was answered 200, yet with the server stopped "
                                        f"after that answer its events were not stored: answered before its "
                                        f"commit")
                record.answered.append(batch.number)
                continue
            kind = KIND_A if held == batch.size else KIND_B
            batch.forced_kind = kind
            record.caught.append((kind, batch.number, flight.client, seen, held))
        self.forced_kills.append(record)
        for kind in record.kinds():
            self.forced_found.setdefault(kind, record)
        log(f"forced {record.describe()}")
        if not self._restart():
            return "killed"
        # The caught batches' clients resend them first; their answers must be the ones the kinds
        # predict (check_forced_answer). No other kill comes before.
        deadline = time.monotonic() + FORCED_RESEND_WAIT
        for kind, number, *_ in record.caught:
            batch = self.batches[number]
            while batch.forced_answer is None and time.monotonic() < deadline and not self.stop.is_set():
                time.sleep(0.01)
            if batch.forced_answer is None and not self.stop.is_set():
                self.violations.add(f"batch {number}, caught by forced kill #{record.kill_number} (kind {kind}), "
                                    f"got no 200 within {FORCED_RESEND_WAIT:.0f} s of the restart")
        return "killed"

    def _acked(self):
        with self.lock:
            return sum(1 for b in self.batches if b.acked)

    def _kill(self, kind):
        before = self.server.kill()
        elapsed = time.monotonic() - self.stream_started
        with self.lock:
            acked = sum(1 for b in self.batches if b.acked)
        if before is not None and kind == "serving":
            self.violations.add(f"the server had exited by itself (status {before}) before kill "
                                f"#{self.kills + 1}\n{self.server.log_tail()}")
        self.kills += 1
        self.kill_log.append((round(elapsed, 2), kind, acked))
        log(f"kill #{self.kills} ({kind}) at {elapsed:.2f} s; {acked} batches acknowledged so far")

    def stream(self):
        self.stream_started = time.monotonic()
        clients = [threading.Thread(target=self.client_loop, args=(i,), name=f"client-{i}")
                   for i in range(self.args.clients)]
        killer = threading.Thread(target=self.killer_loop, args=(self.args.kills,), name="killer")
        for thread in clients:
            thread.start()
        killer.start()
        killer.join(STREAM_DEADLINE)
        if killer.is_alive():
            # A slow machine: stop where we are; fewer than MIN_KILLS kills is a failure below.
            log(f"streaming deadline of {STREAM_DEADLINE:.0f} s reached after {self.serving_kills} kills")
            self.stop.set()
            killer.join(READY_TIMEOUT + 5)
        if self.serving_kills < MIN_KILLS:
            self.violations.add(f"only {self.serving_kills} kills of a serving server within {STREAM_DEADLINE:.0f} s "
                                f"(at least {MIN_KILLS} wanted): the server restarts too slowly")
        for kind in self.needed_kinds():
            self.violations.add(
                f"no forced kill of kind {kind} ({KIND_TEXT[kind]}): {self.forced_steps} forced steps, "
                f"{sum(self.forced_step_attempts)} attempts (at most {self.args.forced_attempts} a step, none "
                f"after {FORCED_WITHIN:.0f} s), "
                f"came to {dict(self.forced_attempts)}; the interleaving this test claims was not reached"
                + (f"; last database read error: {self.probe_errors[-1]}" if self.probe_errors else ""))
        for thread in clients:
            thread.join(REQUEST_TIMEOUT + 5)
            if thread.is_alive():
                self.violations.add(f"{thread.name} did not stop")
        return time.monotonic() - self.stream_started


def usage_window(batches):
    """An hour-aligned window covering every event (whole hours: the pre-aggregated buckets)."""
    low = min(b.first_stamp for b in batches) // 3600 * 3600 - 3600
    high = max(b.last_stamp for b in batches) // 3600 * 3600 + 2 * 3600
    return rfc3339(low), rfc3339(high)


def read_usage(client, customers, window):
    """{customer: (count, count events, sum)} read through GET /v1/customers/{id}/usage."""
    frm, to = window
    out = {}
    for customer in customers:
        target = (f"/v1/customers/{urllib.parse.quote(customer)}/usage?from={urllib.parse.quote(frm)}"
                  f"&to={urllib.parse.quote(to)}")
        status, _, data = client.call("GET", target)
        if status != 200:
            raise SetupError(f"GET {target}: expected 200, got {status}: {data[:400]!r}")
        meters = {item["meter"]: item for item in json.loads(data)["meters"]}
        count_item = meters[COUNT_METER]
        sum_item = meters[SUM_METER]
        count = Decimal(count_item["value"]) if count_item["value"] is not None else Decimal(0)
        total = Decimal(sum_item["value"]) if sum_item["value"] is not None else Decimal(0)
        out[customer] = (count, int(count_item["events"]), total, int(sum_item["events"]))
    return out


def resend_all(port, key, batches, threads, violations, label):
    """Resends every batch (in parallel); returns {batch number: (accepted, duplicates)}."""
    results = {}
    lock = threading.Lock()
    queue = list(batches)
    queue_lock = threading.Lock()

    def worker():
        client = Client(port, key, timeout=60)
        try:
            while True:
                with queue_lock:
                    if not queue:
                        return
                    batch = queue.pop()
                answer = None
                for attempt in range(2):
                    try:
                        answer = client.call("POST", "/v1/events", raw=batch.body)
                        break
                    except (OSError, http.client.HTTPException) as failure:
                        if attempt == 1:
                            violations.add(f"{label}: batch {batch.number}: request failed twice: {failure!r}")
                if answer is None:
                    continue
                status, _, data = answer
                if status != 200:
                    violations.add(f"{label}: batch {batch.number}: status {status}: {data[:400]!r}")
                    continue
                try:
                    accepted, duplicates, conflicts, rejected = check_ingest_answer(data, batch)
                except (ValueError, KeyError, TypeError) as error:
                    violations.add(f"{label}: batch {batch.number}: malformed answer ({error}): {data[:400]!r}")
                    continue
                if conflicts or rejected:
                    violations.add(f"{label}: batch {batch.number} ({'acked' if batch.acked else 'unacked'}): "
                                   f"{describe_outcomes(conflicts, rejected)}")
                if accepted + duplicates != batch.size:
                    violations.add(f"{label}: batch {batch.number}: accepted {accepted} + duplicates "
                                   f"{duplicates} != {batch.size}")
                with lock:
                    results[batch.number] = (accepted, duplicates)
        except Exception:  # noqa: BLE001
            violations.add(f"{label}: resend worker crashed:\n{traceback.format_exc()}")
        finally:
            client.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return results


def verify(run, window, violations):
    """The end checks; returns a dict of figures for the summary."""
    server, key, customers, batches = run.server, run.key, run.customers, run.batches
    client = Client(server.port, key, timeout=60)
    figures = {}
    try:
        acked_events = collections.Counter()
        sent_events = collections.Counter()
        sent_sums = collections.defaultdict(Decimal)
        for batch in batches:
            sent_events[batch.customer] += batch.size
            sent_sums[batch.customer] += sum(batch.amounts, Decimal(0))
            if batch.acked:
                acked_events[batch.customer] += batch.size

        # 1. Before any resend: every acknowledged event is counted.
        before = read_usage(client, customers, window)
        for customer in customers:
            count, events, _, _ = before[customer]
            if count < acked_events[customer]:
                violations.add(f"before the resend, {customer}: count meter {count} < {acked_events[customer]} "
                               f"acknowledged events (acknowledged events are missing)")
            if Decimal(events) != count:
                violations.add(f"before the resend, {customer}: count meter value {count} != its events {events}")

        # 2. Resend every batch: what the server held shows as duplicates.
        log(f"resend #1 of {len(batches)} batches")
        first = resend_all(server.port, key, batches, run.args.clients, violations, "resend #1")
        held_events = collections.Counter()
        held_sums = collections.defaultdict(Decimal)
        partial = []
        unacked_held = unacked_absent = 0
        for batch in batches:
            if batch.number not in first:
                continue  # already reported
            accepted, duplicates = first[batch.number]
            if batch.acked:
                if accepted != 0 or duplicates != batch.size:
                    violations.add(
                        f"resend #1: acknowledged batch {batch.number} ({batch.customer}, acked on attempt "
                        f"{batch.acked_on_attempt}) answered accepted {accepted}, duplicates {duplicates} "
                        f"(expected 0 / {batch.size}): acknowledged events were lost")
                held_events[batch.customer] += duplicates
                held_sums[batch.customer] += sum(batch.amounts, Decimal(0)) if duplicates == batch.size else 0
                if 0 < duplicates < batch.size:
                    partial.append(batch.number)
            else:
                held_events[batch.customer] += duplicates
                if duplicates == batch.size:
                    unacked_held += 1
                    held_sums[batch.customer] += sum(batch.amounts, Decimal(0))
                elif duplicates == 0:
                    unacked_absent += 1
                else:
                    partial.append(batch.number)
        partial_customers = {batches[n].customer for n in partial}
        if partial:
            violations.add(f"resend #1: batches {partial[:10]} were partly committed (some events duplicates, "
                           f"others accepted): a batch is written in one transaction")
        for customer in customers:
            count, _, total, _ = before[customer]
            if count != held_events[customer]:
                violations.add(f"before the resend, {customer}: count meter {count} != {held_events[customer]} "
                               f"events the server held (per the resend's duplicates): double or lost counting")
            if customer not in partial_customers and total != held_sums[customer]:
                violations.add(f"before the resend, {customer}: sum meter {total} != {held_sums[customer]}, the "
                               f"exact sum of the events the server held")

        # 3. After the resend every event ever sent is there exactly once.
        after = read_usage(client, customers, window)
        for customer in customers:
            count, events, total, sum_events = after[customer]
            if count != sent_events[customer] or events != sent_events[customer]:
                violations.add(f"after resend #1, {customer}: count meter {count} (events {events}) != "
                               f"{sent_events[customer]} distinct events sent")
            if sum_events != sent_events[customer]:
                violations.add(f"after resend #1, {customer}: sum meter events {sum_events} != "
                               f"{sent_events[customer]} distinct events sent")
            if total != sent_sums[customer]:
                violations.add(f"after resend #1, {customer}: sum meter {total} != exact sum "
                               f"{sent_sums[customer]} of the amounts sent")

        # 4. A second resend: only duplicates, nothing changes.
        log(f"resend #2 of {len(batches)} batches")
        second = resend_all(server.port, key, batches, run.args.clients, violations, "resend #2")
        for batch in batches:
            if batch.number in second:
                accepted, duplicates = second[batch.number]
                if accepted != 0 or duplicates != batch.size:
                    violations.add(f"resend #2: batch {batch.number} answered accepted {accepted}, duplicates "
                                   f"{duplicates} (expected 0 / {batch.size})")
        again = read_usage(client, customers, window)
        if again != after:
            violations.add(f"resend #2 changed usage: {after} -> {again}")

        # 5. One more SIGKILL and restart: nothing changes.
        log("a last SIGKILL and restart")
        client.close()
        server.kill()
        server.start()
        restarted = read_usage(client, customers, window)
        if restarted != after:
            violations.add(f"a SIGKILL and restart after the resends changed usage: {after} -> {restarted}")

        figures.update(
            before=before, after=after, sent_events=sent_events, acked_events=acked_events,
            unacked_held=unacked_held, unacked_absent=unacked_absent,
            resend_accepted=sum(a for a, _ in first.values()))
    finally:
        client.close()
    return figures


def setup_tenant(server, customers):
    admin = Client(server.port, ADMIN_KEY)
    try:
        tenant = expect_json(admin, "POST", "/v1/tenants", 201,
                             body={"name": "Crash Test", "currency": "USD", "timezone": "UTC"})
        key = expect_json(admin, "POST", f"/v1/tenants/{tenant['id']}/api-keys", 201,
                          body={"name": "crash", "scopes": ["ingest", "read", "write"]})["key"]
        expect_json(admin, "PATCH", f"/v1/tenants/{tenant['id']}", 200,
                    body={"settings": {"ingest_events_per_second": 10_000_000, "ingest_burst": 100_000_000}})
    finally:
        admin.close()
    tenant_client = Client(server.port, key)
    try:
        for customer in customers:
            expect_json(tenant_client, "POST", "/v1/customers", 201,
                        body={"external_id": customer, "name": f"Customer {customer}"})
        expect_json(tenant_client, "POST", "/v1/meters", 201,
                    body={"code": COUNT_METER, "event_type": EVENT_TYPE, "aggregation": "count"})
        expect_json(tenant_client, "POST", "/v1/meters", 201,
                    body={"code": SUM_METER, "event_type": EVENT_TYPE, "aggregation": "sum", "field": SUM_FIELD})
    finally:
        tenant_client.close()
    return tenant["id"], key


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int,
                        default=int(os.environ.get("NERUBA_CRASH_SEED") or secrets.randbelow(2 ** 31)))
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs of a serving server (at least 5)")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--customers", type=int, default=5)
    parser.add_argument("--max-kill-interval", type=float, default=2.0,
                        help="seconds; each kill comes 0.1 s to this long after the last restart")
    parser.add_argument("--max-batches-per-client", type=int, default=50,
                        help="new batches a client sends (up to 4 times as many while a forced step runs)")
    parser.add_argument("--forced-attempts", type=int, default=200,
                        help=f"attempts of a forced step (at most {FORCED_STEPS_MAX} steps) before it gives up")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log, SQLite file)")
    args = parser.parse_args()

    print(f"crash test: backend={args.backend} seed={args.seed} (repeat with --seed {args.seed} or "
          f"NERUBA_CRASH_SEED={args.seed})", flush=True)
    if args.kills < MIN_KILLS:
        print(f"crash test: --kills must be at least {MIN_KILLS}", file=sys.stderr)
        return 2
    if not os.access(args.binary, os.X_OK):
        print(f"crash test: {args.binary} is not an executable", file=sys.stderr)
        return 2
    if args.backend == "postgres" and not os.environ.get("NERUBA_TEST_PG_URL"):
        return missing_postgres_exit("crash test")

    started = time.monotonic()
    temp_dir = tempfile.mkdtemp(prefix="neruba-crash-")
    database = None
    server = None
    violations = Violations()
    run = None
    figures = {}
    stream_seconds = 0.0
    try:
        database = open_database(args.backend, temp_dir)
        server = Server(args.binary, database, os.path.join(temp_dir, "data"), os.path.join(temp_dir, "server.log"))
        server.start()
        customers = [f"crash-cus-{i}" for i in range(args.customers)]
        tenant_id, key = setup_tenant(server, customers)
        if database.kind == "sqlite":
            probe = SqliteProbe(database.url[len("sqlite:"):], tenant_id)
        else:
            probe = PostgresProbe(database.base_url, database.schema, tenant_id)
        log(f"server on 127.0.0.1:{server.port}, db {database.url}; streaming with {args.clients} clients, "
            f"{args.batch_size} events a batch, {args.kills} random kills and forced kills of kinds A and B")
        run = Run(args, server, key, customers, violations, probe)
        stream_seconds = run.stream()
        # The last restart must be up (the killer waits for readiness); make sure.
        if server.process.poll() is not None or not server.wait_ready(10):
            violations.add(f"the server is not up after streaming\n{server.log_tail()}")
            server.kill()
            server.start()
        acked = sum(1 for b in run.batches if b.acked)
        log(f"streamed {stream_seconds:.1f} s: {len(run.batches)} batches sent, {acked} acknowledged, "
            f"{run.kills} kills ({len(run.forced_kills)} forced); verifying")
        window = usage_window(run.batches) if run.batches else (rfc3339(time.time() - 7200), rfc3339(time.time()))
        figures = verify(run, window, violations)
        status = server.terminate()
        if status != 0:
            violations.add(f"SIGTERM at the end: the server exited with {status}, not 0\n{server.log_tail()}")
        for report in server.sanitizer_reports():
            violations.add(f"sanitizer report in the server log: {report}")
    except SetupError as error:
        print(f"crash test: set-up failed: {error}", file=sys.stderr)
        if server is not None:
            print(server.log_tail(), file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001
        violations.add(f"the test crashed:\n{traceback.format_exc()}")
    finally:
        if server is not None:
            server.kill_if_running()
        if database is not None:
            database.drop()

    # ---- summary ---------------------------------------------------------------------------------
    if run is not None:
        batches = run.batches
        acked = [b for b in batches if b.acked]
        unacked = [b for b in batches if not b.acked]
        events_sent = sum(b.size for b in batches)
        print("---- crash test summary ----")
        print(f"backend {args.backend}, seed {args.seed}, {time.monotonic() - started:.1f} s total, "
              f"{stream_seconds:.1f} s streaming")
        print(f"kills: {run.kills} ({run.serving_kills} random while serving, {run.startup_kills} while "
              f"starting, {len(run.forced_kills)} forced), server starts: {server.starts if server else 0}")
        print(f"kill points (s since stream start, kind, batches acked): {run.kill_log}")
        print(f"forced steps: {run.forced_steps}, attempts per step {run.forced_step_attempts} (at most "
              f"{args.forced_attempts}), came to {dict(run.forced_attempts)}")
        for kind in (KIND_A, KIND_B):
            found = run.forced_found.get(kind)
            print(f"forced kind {kind} ({KIND_TEXT[kind]}): "
                  + (f"kill #{found.kill_number}, step {found.step}, after {found.attempts} attempts"
                     if found else "NOT REACHED"))
        for record in run.forced_kills:
            print(f"  forced {record.describe()}")
        for batch in batches:
            if batch.forced_kind:
                print(f"  batch {batch.number} (kind {batch.forced_kind}): first answer after the kill "
                      f"accepted/duplicates {batch.forced_answer} of {batch.size}")
        print(f"batches: {len(batches)} sent, {len(acked)} acknowledged ({run.retries_acked} on a retry, "
              f"{run.retries_found_committed} of which found committed before a kill), {len(unacked)} "
              f"unacknowledged")
        if figures:
            print(f"unacknowledged batches at the end: {figures['unacked_held']} committed before a kill, "
                  f"{figures['unacked_absent']} not; resend #1 accepted {figures['resend_accepted']} events")
        print(f"events: {events_sent} sent, {sum(b.size for b in acked)} acknowledged")
        print(f"client request failures: {dict(run.request_failures)}; HTTP statuses: {dict(run.statuses)}")
        if figures:
            for customer in run.customers:
                b = figures["before"][customer]
                a = figures["after"][customer]
                print(f"  {customer}: acked {figures['acked_events'][customer]}, count before resend {b[0]}, "
                      f"after {a[0]} of {figures['sent_events'][customer]} sent; sum {a[2]}")
    if violations:
        print(f"\nFAILED: {len(violations.items)} violation(s) (backend {args.backend}, seed {args.seed}):",
              file=sys.stderr)
        for item in violations.items[:50]:
            print(f"  - {item}", file=sys.stderr)
        if server is not None:
            print(server.log_tail(60), file=sys.stderr)
        print(f"temp dir kept: {temp_dir}", file=sys.stderr)
        return 1
    if args.keep:
        print(f"temp dir kept: {temp_dir}")
    else:
        shutil.rmtree(temp_dir, ignore_errors=True)
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
