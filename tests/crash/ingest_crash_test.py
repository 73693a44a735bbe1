#!/usr/bin/python3
"""Crash test for usage ingest: SIGKILL the server at random moments while clients stream batches.

    /usr/bin/python3 tests/crash/ingest_crash_test.py PATH/TO/neruba [--backend sqlite|postgres]
        [--seed N] [--kills N] [--clients N] [--batch-size N]

Starts `neruba serve` on a free port of 127.0.0.1 against a fresh database (SQLite in a temp dir, or
a fresh schema in NERUBA_TEST_PG_URL), creates a tenant, a key, customers, a `count` meter and a
`sum` meter, and lifts the tenant's ingest rate so nothing is throttled. Then several client
threads stream batches of events (unique event_ids, timestamps within the last hour, one customer
per batch) while a killer thread sends SIGKILL to the server at random moments, waits for it to
die and restarts it on the same database and port, again and again. A batch is acknowledged only by
a 200 whose accepted + duplicates equals the batch size; a failed request (reset, refused,
timeout, 503) leaves the batch unacknowledged and the client may retry it later.

At the end, with the server up:
  1. Before anything is resent, each customer's count meter is at least the number of its
     acknowledged events.
  2. Every batch ever sent is resent. Acknowledged batches must answer accepted=0,
     duplicates=size; unacknowledged ones may answer only duplicates (committed before a kill) and
     accepted (never committed) -- never a conflict or a rejection. The duplicates tell exactly what
     the server held, so the count (and, when no batch was half-committed, the sum) read before the
     resend must equal what the server held.
  3. After the resend each customer's count meter equals the number of distinct events ever sent
     to them, its `events` too, and the sum meter equals the exact decimal sum of their amounts.
  4. A second full resend answers only duplicates and changes no usage.
  5. One more SIGKILL and restart changes no usage; SIGTERM then stops the server with exit 0, and
     the server log holds no sanitizer report.

The seed (printed; --seed or NERUBA_CRASH_SEED to repeat) fixes the kill delays and the events;
thread scheduling still varies from run to run.

Exit codes: 0 pass, 1 a violation (each printed), 2 a set-up problem, 77 --backend postgres without
NERUBA_TEST_PG_URL (a failure instead when NERUBA_REQUIRE_POSTGRES=1). Standard library only.
"""

import argparse
import collections
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import sys
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
STREAM_DEADLINE = 40.0     # seconds of streaming at most, whatever happens
MIN_KILLS = 5
TAIL_AFTER_LAST_KILL = 1.5  # seconds of streaming after the last restart
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "UndefinedBehaviorSanitizer")


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
    """`neruba serve` on a fixed port; started, SIGKILLed and restarted on the same DB and port."""

    start_attempts = 5
    start_pause = 0.3

    def __init__(self, binary, db_url, data_dir, log_path):
        super().__init__(binary, db_url, data_dir, log_path, ADMIN_KEY)
        self.starts = 0

    def spawn(self):
        """Starts another incarnation (without waiting for it), marked in the log."""
        self.starts += 1
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

    def sanitizer_reports(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            return []
        found = []
        for line_number, line in enumerate(text.splitlines(), 1):
            if any(marker in line for marker in SANITIZER_MARKERS):
                found.append(f"line {line_number}: {line.strip()[:300]}")
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

    def call(self, method, target, body=None, raw=None, key=None, headers=None):
        """Returns (status, headers, bytes); raises OSError / HTTPException when the exchange fails."""
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
                 "acked", "attempts", "failed_attempts", "acked_on_attempt", "retry_duplicates")

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

    @property
    def size(self):
        return len(self.event_ids)


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
    def __init__(self, args, server, key, customers, violations):
        self.args = args
        self.server = server
        self.key = key
        self.customers = customers
        self.violations = violations
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
                retry = bool(pending) and (refused or rng.random() < 0.3
                                           or sent_new >= self.args.max_batches_per_client)
                refused = False
                if retry:
                    batch = pending.pop(0)
                elif sent_new < self.args.max_batches_per_client:
                    batch = self.new_batch(rng, client_index)
                    sent_new += 1
                else:
                    time.sleep(0.05)
                    continue
                first_attempt = batch.attempts == 0
                batch.attempts += 1
                try:
                    status, headers, data = client.call("POST", "/v1/events", raw=batch.body)
                except (OSError, http.client.HTTPException) as failure:
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

    # -- the killer ------------------------------------------------------------------------------

    def killer_loop(self, total_kills):
        rng = random.Random(self.args.seed)
        try:
            while self.serving_kills < total_kills and not self.stop.is_set():
                # Mostly kill a serving server after a random while; sometimes kill it again while it
                # is still starting up (opening the database, migrating), before it is ready.
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
                self.server.spawn()
                if not self.server.wait_ready():
                    self.violations.add(f"the server did not become ready after kill #{self.kills}\n"
                                        f"{self.server.log_tail()}")
                    self.stop.set()
                    return
            # Keep streaming a little against the last incarnation.
            self.stop.wait(TAIL_AFTER_LAST_KILL)
        except Exception:  # noqa: BLE001
            self.violations.add(f"killer crashed:\n{traceback.format_exc()}")
        finally:
            self.stop.set()

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
    parser.add_argument("--max-batches-per-client", type=int, default=50)
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
        server = Server(args.binary, database.url, os.path.join(temp_dir, "data"),
                        os.path.join(temp_dir, "server.log"))
        server.start()
        customers = [f"crash-cus-{i}" for i in range(args.customers)]
        _, key = setup_tenant(server, customers)
        log(f"server on 127.0.0.1:{server.port}, db {database.url}; streaming with {args.clients} clients, "
            f"{args.batch_size} events a batch, {args.kills} kills")
        run = Run(args, server, key, customers, violations)
        stream_seconds = run.stream()
        # The last restart must be up (the killer waits for readiness); make sure.
        if server.process.poll() is not None or not server.wait_ready(10):
            violations.add(f"the server is not up after streaming\n{server.log_tail()}")
            server.kill()
            server.start()
        acked = sum(1 for b in run.batches if b.acked)
        log(f"streamed {stream_seconds:.1f} s: {len(run.batches)} batches sent, {acked} acknowledged, "
            f"{run.kills} kills; verifying")
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
        print(f"kills: {run.kills} ({run.serving_kills} while serving, {run.startup_kills} while "
              f"starting), server starts: {server.starts if server else 0}")
        print(f"kill points (s since stream start, kind, batches acked): {run.kill_log}")
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
