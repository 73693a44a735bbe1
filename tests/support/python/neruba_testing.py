"""Set-up helpers shared by the Python tests that drive a real `neruba serve`.

Used by tests/contract/openapi_contract_test.py, tests/crash/*.py and tests/nodes/*.py:
  - Database: a fresh SQLite file in a temp dir, or a fresh schema in a PostgreSQL server (made with psql)
  - Server:   `neruba serve` on 127.0.0.1 with the admin key set, started until GET /readyz answers 200
  - missing_postgres_exit(): skip (77) or fail a --backend postgres run that has no NERUBA_TEST_PG_URL
  - api_call(), expect_status(): one JSON request to a server, and its status checked
  - stop_all_threads(), sanitizer_reports(): a process SIGSTOPped for a look from outside; what a
    sanitizer reported in a log

Problems setting up raise SetupError. Standard library only (Debian's /usr/bin/python3).
"""

import glob
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

SKIP = 77             # the exit code ctest counts as skipped (SKIP_RETURN_CODE in the .cmake files)
READY_TIMEOUT = 60.0  # seconds for a started server to answer GET /readyz with 200


class SetupError(Exception):
    """The database or the server could not be set up (or torn down)."""


def missing_postgres_exit(test_name):
    """For --backend postgres without NERUBA_TEST_PG_URL: says why, returns the exit code for main().

    NERUBA_REQUIRE_POSTGRES=1 (scripts/test sets it) makes that a failure (1) instead of a skip (SKIP).
    """
    if os.environ.get("NERUBA_REQUIRE_POSTGRES") == "1":
        print(f"{test_name}: NERUBA_REQUIRE_POSTGRES=1 but NERUBA_TEST_PG_URL is not set: refusing to skip "
              f"the PostgreSQL backend (run under scripts/with-postgres)", file=sys.stderr)
        return 1
    print(f"{test_name}: NERUBA_TEST_PG_URL is not set: skipping the PostgreSQL backend")
    return SKIP


# ------------------------------------------------------------------------------------------------
# Requests


def api_call(port, method, path, key, body=None, timeout=60):
    """One request to the server on 127.0.0.1:port with Bearer `key` and a JSON `body` (if any);
    returns (status, parsed JSON body or None)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None
    finally:
        connection.close()


def expect_status(status, body, wanted, what):
    """The body of an answer whose status is `wanted`; AssertionError naming `what` otherwise."""
    if status != wanted:
        raise AssertionError(f"{what}: expected {wanted}, got {status}: {body}")
    return body


# ------------------------------------------------------------------------------------------------
# Processes

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "UndefinedBehaviorSanitizer")


def stop_all_threads(pid, timeout=1.0):
    """SIGSTOP, then waits until every thread of the process is stopped (a thread inside a system
    call such as fsync stops only when it returns). True once all are; False when the time ran out
    or the process is gone (the caller sends SIGCONT in any case)."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for path in glob.glob(f"/proc/{pid}/task/*/stat"):
            try:
                with open(path, encoding="ascii", errors="replace") as handle:
                    states.append(handle.read().rsplit(")", 1)[1].split()[0])
            except (OSError, IndexError):
                continue  # a thread that just ended
        if not states or any(state in "ZX" for state in states):
            return False
        if all(state in "Tt" for state in states):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)


def sanitizer_reports(log_path):
    """The lines of the log at `log_path` that report a sanitizer finding, numbered."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    found = []
    for line_number, line in enumerate(text.splitlines(), 1):
        if any(marker in line for marker in SANITIZER_MARKERS):
            found.append(f"line {line_number}: {line.strip()[:300]}")
    return found


# ------------------------------------------------------------------------------------------------
# Database


def find_psql():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)
    if candidates:
        return candidates[0]
    raise SetupError("psql not found (Debian package postgresql-client)")


def psql(base_url, sql, rows=False, timeout=60):
    """Runs `sql` with psql against `base_url`; returns its output, or with rows=True the result's
    rows as a list of lines (unaligned, tuples only: the columns of a row separated by "|")."""
    command = [find_psql(), base_url, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    if rows:
        command += ["-A", "-t"]
    result = subprocess.run(command + ["-c", sql], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SetupError(f"psql failed ({sql[:300]}): {result.stderr.strip()}")
    if rows:
        return [line for line in result.stdout.splitlines() if line]
    return result.stdout


def is_postgres_url(url):
    return url.startswith(("postgresql://", "postgres://"))


class Database:
    """A fresh database for one run.

    base_url None: a SQLite file in temp_dir. A postgresql:// URL: a new schema named
    <schema_prefix><random hex>, which the server selects with `options=-csearch_path%3D<schema>`
    and drop() removes. A sqlite: URL: used as it is. `url` is what to pass to `neruba serve --db`.
    """

    def __init__(self, base_url, temp_dir, schema_prefix):
        self.base_url = base_url
        self.schema = None
        if base_url is None:
            self.kind = "sqlite"
            self.url = "sqlite:" + os.path.join(temp_dir, "neruba.db")
        elif is_postgres_url(base_url):
            self.kind = "postgres"
            self.schema = schema_prefix + secrets.token_hex(8)
            psql(base_url, f"CREATE SCHEMA {self.schema}")
            separator = "&" if "?" in base_url else "?"
            self.url = f"{base_url}{separator}options=-csearch_path%3D{self.schema}"
        elif base_url.startswith("sqlite:"):
            self.kind = "sqlite"
            self.url = base_url
        else:
            raise SetupError(f"unsupported database URL {base_url!r} (want postgresql:// or sqlite:)")

    def drop(self):
        """Drops the PostgreSQL schema, if any; only warns when that fails."""
        if self.schema is not None:
            try:
                psql(self.base_url, f"SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            except (SetupError, subprocess.SubprocessError) as error:
                print(f"warning: cannot drop schema {self.schema}: {error}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# The server


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`neruba serve --listen 127.0.0.1:<port>` on one database, its output appended to log_path;
    `serve_args` are more `neruba serve` options (e.g. ["--body-inactivity-timeout", "3"]).

    Subclasses may override spawn() (e.g. to pick another port) and the start() retry settings.
    """

    start_attempts = 3   # start(): spawns tried before giving up on a server that keeps exiting
    start_pause = 0.0    # start(): seconds between two attempts

    def __init__(self, binary, db_url, data_dir, log_path, admin_key, serve_args=()):
        self.binary = binary
        self.serve_args = list(serve_args)
        self.db_url = db_url
        self.data_dir = data_dir
        self.log_path = log_path
        self.admin_key = admin_key
        self.port = free_port()
        self.process = None

    def spawn(self):
        """Starts the process on self.port without waiting for it; returns it (also self.process)."""
        env = dict(os.environ)
        env.pop("NERUBA_DB", None)  # --db alone names the database
        env["NERUBA_ADMIN_KEY"] = self.admin_key
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
                 "--db", self.db_url, "--threads", "4", *self.serve_args],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self.process

    def wait_ready(self, timeout=READY_TIMEOUT):
        """True once GET /readyz answers 200; False when the process exits or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    connection.request("GET", "/readyz")
                    if connection.getresponse().status == 200:
                        return True
                finally:
                    connection.close()
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        return False

    def start(self):
        """Spawns the server and waits until it is ready. A server that exits while starting (e.g. its
        port was taken) is tried again; one that stays up but never gets ready is killed: SetupError."""
        for _ in range(self.start_attempts):
            self.spawn()
            if self.wait_ready():
                return
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
                raise SetupError(f"the server did not become ready within {READY_TIMEOUT:.0f} s\n{self.log_tail()}")
            time.sleep(self.start_pause)
        raise SetupError(f"the server exited with {self.process.returncode} while starting, "
                         f"{self.start_attempts} times\n{self.log_tail()}")

    def terminate(self, timeout=40):
        """SIGTERM and wait: returns the exit status (0 when never started), or None when the server
        did not exit within `timeout` seconds (it is SIGKILLed then)."""
        process = self.process
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None

    def kill_if_running(self):
        """SIGKILL and wait, if the process is still running (the clean-up when a test stops early)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return "server log (tail):\n" + "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no server log)"
