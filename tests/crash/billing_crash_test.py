#!/usr/bin/python3
"""Crash test for billing runs: SIGKILL a run halfway, start it again, and again; every invoice once.

    /usr/bin/python3 tests/crash/billing_crash_test.py PATH/TO/neruba [--backend sqlite|postgres]
        [--via serve|cli] [--customers N] [--kills N] [--seed N]

Issue 17, "Idempotent and lock-aware": a run killed with SIGKILL halfway and started again
creates every invoice exactly once. A fresh database (SQLite in a temp dir, or a fresh schema in
NERUBA_TEST_PG_URL) gets, through a real `neruba serve`, a tenant, a monthly plan of 10.00 in
advance and N customers (default 800: four chunks of a run) subscribed from 40 days ago, so that
two invoices of each are due; every third customer has a prepaid grant of 15.00, which pays its
first invoice whole (10.00) and 5.00 of the second. All runs bill as of one instant.

Then, --kills times (default 3), a billing run starts — POST /v1/billing-runs to the server
(--via serve), or `neruba bill-run` (--via cli, the server stopped meanwhile) — and a watcher
SIGSTOPs the process running it at random moments and reads the database from the test (SQLite
read-only through the standard library, PostgreSQL through psql): once more invoices are
finalized than at the last kill, and not all, it SIGKILLs the process; else SIGCONT and another
look a little later. Once the process (and, on PostgreSQL, every session of it, named by its
application_name) is gone, what the kill left is read again and must be whole chunks: every
customer has both its invoices or none, the customers billed are the first ones in id order, a
multiple of the chunk size (200), and the invoice numbers run from 1 without a gap. Each run after
a kill continues where the last stopped. Then a run to the end bills exactly what is left, and one
more bills nothing.

At the end: every customer has exactly its two invoices, numbered INV-000001 to INV-<2N> once
each, with the amounts above; the ledger holds one finalization per invoice and one draw per
drawn invoice, every transaction balances and every account's totals are the sums of its
entries, revenue is 10.00 per invoice; `neruba ledger verify` (when the binary has it) and
`neruba audit verify` exit 0; the audit trail has one invoice.finalized record per invoice and a
billing_run.completed record for each run that completed (none for a killed one); the server
stops on SIGTERM with 0 and no sanitizer report is in any log.

Exit codes: 0 pass, 1 a violation, 2 a set-up problem, 77 --backend postgres without
NERUBA_TEST_PG_URL (a failure when NERUBA_REQUIRE_POSTGRES=1). Standard library only.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import neruba_testing  # noqa: E402
from neruba_testing import (Database, Server, SetupError, api_call, expect_status,  # noqa: E402
                            missing_postgres_exit, sanitizer_reports, stop_all_threads)

ADMIN_KEY = "nrb_admin_billing_crash_" + secrets.token_hex(16)
CHUNK = 200                 # services/billing/billing.hpp run_chunk_customers
PRICE_MINOR = 1000          # the plan's 10.00
GRANT_MINOR = 1500          # every third customer's prepaid 15.00
LOOK_DELAY = (0.02, 0.15)   # seconds between two looks at a running run
RUN_TIMEOUT = 600.0         # seconds a run may take


class Violation(Exception):
    """What the test checks did not hold."""


# ------------------------------------------------------------------------------------------------
# Looking into the database from the test


class Probe:
    """Reads the tenant's billing rows from the test: SQLite read-only through sqlite3 (a stopped
    writer does not block a WAL reader; after a kill, the first reader replays the WAL as the next
    writer will); PostgreSQL through psql on the test's schema."""

    def __init__(self, database, tenant):
        self.database = database
        self.tenant = tenant

    def rows(self, sql):
        """The rows of `sql` (`:tenant` stands for the tenant id) as tuples of text."""
        if self.database.kind == "sqlite":
            path = self.database.url[len("sqlite:"):]
            connection = sqlite3.connect("file:" + urllib.parse.quote(path) + "?mode=ro", uri=True, timeout=5,
                                         isolation_level=None)
            try:
                return [tuple("" if v is None else str(v) for v in row)
                        for row in connection.execute(sql.replace(":tenant", "?"), [self.tenant]).fetchall()]
            finally:
                connection.close()
        text = sql.replace(":tenant", "'" + self.tenant.replace("'", "''") + "'")
        lines = neruba_testing.psql(self.database.base_url,
                                    f"SET search_path = {self.database.schema}; {text}", rows=True)
        return [tuple(line.split("|")) for line in lines if line != "SET"]

    def finalized(self):
        return int(self.rows("SELECT count(*) FROM invoices WHERE tenant_id = :tenant AND number IS NOT NULL")[0][0])

    def sessions_of(self, application_name):
        if self.database.kind == "sqlite":
            return 0
        return int(self.rows(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             f"'{application_name}'")[0][0])


# ------------------------------------------------------------------------------------------------
# The tenant


def set_up(port, customers):
    """The tenant, its key and its customers; returns (tenant id, key, [external ids])."""
    def call(method, path, key, body, wanted, what):
        return expect_status(*api_call(port, method, path, key, body), wanted, what)

    tenant = call("POST", "/v1/tenants", ADMIN_KEY, {"name": "Billing Crash Inc"}, 201, "tenant")["id"]
    key = call("POST", f"/v1/tenants/{tenant}/api-keys", ADMIN_KEY,
               {"name": "crash", "scopes": ["read", "write"]}, 201, "key")["key"]
    call("POST", "/v1/plans", key,
         {"code": "flat", "name": "Flat", "currency": "USD", "interval": "month",
          "effective_from": "2020-01-01T00:00:00Z",
          "charges": [{"type": "recurring", "amount": "10.00", "timing": "advance"}]}, 201, "plan")
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=40)).replace(microsecond=0)
    externals = []
    for c in range(customers):
        external = f"cus-{c:05d}"
        externals.append(external)
        call("POST", "/v1/customers", key, {"external_id": external, "name": external, "currency": "USD"},
             201, external)
        call("POST", "/v1/subscriptions", key,
             {"customer": external, "plan": "flat", "start": start.strftime("%Y-%m-%dT%H:%M:%SZ")},
             201, f"subscription of {external}")
        if c % 3 == 0:
            call("POST", "/v1/credit-grants", key,
                 {"customer": external, "amount": "15.00", "currency": "USD", "kind": "prepaid"}, 201,
                 f"grant of {external}")
    return tenant, key, externals


# ------------------------------------------------------------------------------------------------
# Runs and kills


class Run:
    """One billing run in flight: POST /v1/billing-runs on the server, or `neruba bill-run`."""

    def __init__(self, test, number):
        self.test = test
        self.result = None  # (status, body) of the POST, or (exit code, report) of the CLI
        self.thread = None
        self.process = None
        self.application_name = f"{test.database.schema}_run{number}" if test.database.schema else None
        if test.via == "serve":
            self.process = test.server.process
            self.thread = threading.Thread(target=self._post, daemon=True)
            self.thread.start()
        else:
            url = test.database.url
            if self.application_name:
                url += f"&application_name={self.application_name}"
            with open(test.cli_log, "ab") as log:
                self.process = subprocess.Popen(
                    [test.binary, "bill-run", "--tenant", test.tenant, "--as-of", test.as_of, "--db", url],
                    stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)

    def _post(self):
        try:
            self.result = api_call(self.test.server.port, "POST", "/v1/billing-runs", self.test.key,
                                   {"as_of": self.test.as_of}, timeout=RUN_TIMEOUT)
        except (OSError, http.client.HTTPException) as error:  # the server was killed under it
            self.result = (None, str(error))

    def running(self):
        if self.test.via == "serve":
            return self.thread.is_alive()
        return self.process.poll() is None

    def wait(self):
        """The run's outcome: (201 or exit 0, report) when it completed."""
        if self.test.via == "serve":
            self.thread.join(RUN_TIMEOUT)
            return self.result
        out, _ = self.process.communicate(timeout=RUN_TIMEOUT)
        return self.process.returncode, (json.loads(out) if out.strip() else None)


class BillingCrashTest:
    def __init__(self, args, temp_dir, database):
        self.binary = args.binary
        self.via = args.via
        self.customers = args.customers
        self.kills_wanted = args.kills
        self.random = random.Random(args.seed)
        self.temp_dir = temp_dir
        self.database = database
        self.cli_log = os.path.join(temp_dir, "bill-run.log")
        os.makedirs(os.path.join(temp_dir, "data"))
        self.server = Server(self.binary, database.url, os.path.join(temp_dir, "data"),
                             os.path.join(temp_dir, "server.log"), ADMIN_KEY)
        self.tenant = self.key = self.as_of = self.probe = None
        self.server_starts = 0
        self.server_application_name = None
        self.runs = 0
        self.completed_runs = 0
        self.kills = []  # finalized invoices left by each kill
        self.verified = []  # the verify commands that exited 0

    def total(self):
        return 2 * self.customers

    def start_server(self):
        """Starts another incarnation of the server; on PostgreSQL its sessions carry an
        application_name of their own, so that the test can tell when a killed one's are gone."""
        self.server_starts += 1
        if self.database.schema:
            self.server_application_name = f"{self.database.schema}_s{self.server_starts}"
            self.server.db_url = f"{self.database.url}&application_name={self.server_application_name}"
        self.server.start()

    def run(self):
        self.start_server()
        self.tenant, self.key, _ = set_up(self.server.port, self.customers)
        self.as_of = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.probe = Probe(self.database, self.tenant)
        if self.via == "cli":
            self.stop_server()
        for _ in range(self.kills_wanted):
            if not self.kill_a_run_halfway():
                break
        if not self.kills:
            raise Violation("no run was caught halfway: every run ended before a look found it between chunks")
        self.run_to_the_end()
        if self.via == "cli":
            self.start_server()
        self.check_the_end()
        status = self.server.terminate()
        if status != 0:
            raise Violation(f"the server exited with {status} on SIGTERM")
        for log in (self.server.log_path, self.cli_log):
            reports = sanitizer_reports(log)
            if reports:
                raise Violation(f"sanitizer reports in {log}:\n" + "\n".join(reports[:10]))
        print(f"billing crash ({self.database.kind}, via {self.via}): {self.customers} customers, "
              f"{self.total()} invoices; runs killed halfway with {self.kills} invoices finalized; "
              f"{self.runs} runs in all, {self.completed_runs} completed; every invoice once, numbers gapless, "
              f"ledger checked in storage; {', '.join('neruba ' + c for c in self.verified)}: exit 0")

    def stop_server(self):
        if self.server.terminate() != 0:
            raise SetupError("the server did not stop cleanly")

    # --- a kill halfway ------------------------------------------------------------------------

    def kill_a_run_halfway(self):
        """Starts a run and SIGKILLs it once it has committed more than the last kill left, and not
        everything; False when the run got to its end first (nothing more to catch)."""
        before = self.kills[-1] if self.kills else 0
        self.runs += 1
        run = Run(self, self.runs)
        while True:
            time.sleep(self.random.uniform(*LOOK_DELAY))
            if not run.running():
                self.expect_completed(run, "a run the watcher never caught")
                return False
            pid = run.process.pid
            stopped = stop_all_threads(pid)
            try:
                finalized = self.probe.finalized() if stopped else None
            except (sqlite3.Error, SetupError, subprocess.SubprocessError):
                finalized = None  # the database was busy: look again later
            if finalized is not None and before < finalized < self.total():
                run.process.send_signal(signal.SIGKILL)
                run.process.wait()
                break
            os.kill(pid, signal.SIGCONT)
        if self.via == "serve":
            run.thread.join(RUN_TIMEOUT)
            if run.result[0] is not None:
                raise Violation(f"the killed server answered the run: {run.result}")
        self.wait_sessions_gone(run if self.via == "cli" else None)
        left = self.expect_whole_chunks("after a kill")
        if left < finalized:
            raise Violation(f"{finalized} invoices were finalized at the stop, {left} after the kill")
        self.kills.append(left)
        if self.via == "serve":
            self.start_server()
        return True

    def wait_sessions_gone(self, run):
        """PostgreSQL: waits until the killed process's sessions are gone (a COMMIT in transit lands
        or not before that)."""
        name = run.application_name if run else self.server_application_name
        if name is None:
            return
        deadline = time.monotonic() + 30
        while self.probe.sessions_of(name) != 0:
            if time.monotonic() > deadline:
                raise Violation(f"sessions of {name} outlived the kill by 30 s")
            time.sleep(0.05)

    def expect_whole_chunks(self, when):
        """What committed is whole chunks: each customer has both invoices or none, the billed are
        the first customers in id order, a multiple of CHUNK, and numbers run 1..n once each."""
        counts = self.probe.rows("SELECT customer_id, count(*) FROM invoices WHERE tenant_id = :tenant "
                                 "GROUP BY customer_id")
        billed = sorted(customer for customer, count in counts)
        if any(count != "2" for _, count in counts):
            raise Violation(f"{when}: a customer with other than two invoices: {counts[:5]}")
        ids = [row[0] for row in self.probe.rows("SELECT customer_id FROM customers WHERE tenant_id = :tenant")]
        ordered = sorted(ids, key=lambda text: text.encode())
        if billed != ordered[:len(billed)] or (len(billed) % CHUNK != 0 and len(billed) != len(ids)):
            raise Violation(f"{when}: {len(billed)} customers billed, not the first whole chunks of {len(ids)}")
        numbers = sorted(int(row[0]) for row in self.probe.rows(
            "SELECT number FROM invoices WHERE tenant_id = :tenant AND number IS NOT NULL"))
        if numbers != list(range(1, len(numbers) + 1)):
            raise Violation(f"{when}: invoice numbers are not 1..{len(numbers)}: {numbers[:10]}…")
        if len(numbers) != 2 * len(billed):
            raise Violation(f"{when}: {len(numbers)} finalized of {2 * len(billed)} invoices")
        return len(numbers)

    # --- the end -------------------------------------------------------------------------------

    def expect_completed(self, run, what):
        status, report = run.wait()
        self.completed_runs += 1
        if status not in (0, 201) or report is None:
            raise Violation(f"{what} did not complete: {status} {report}")
        return report

    def run_to_the_end(self):
        left = self.kills[-1]
        self.runs += 1
        report = self.expect_completed(Run(self, self.runs), "the run after the kills")
        created = report["invoices_created"]
        if created != self.total() - left or report["invoices_finalized"] != self.total() - left:
            raise Violation(f"the run after the kills created {created} and finalized "
                            f"{report['invoices_finalized']} invoices; {self.total() - left} were left")
        self.runs += 1
        again = self.expect_completed(Run(self, self.runs), "one more run")
        if again["invoices_created"] or again["invoices_updated"] or again["invoices_finalized"]:
            raise Violation(f"one more run changed invoices: {again}")

    def check_the_end(self):
        total = self.total()
        if self.expect_whole_chunks("at the end") != total:
            raise Violation(f"not every invoice is there at the end")
        rows = self.probe.rows
        grant_customers = (self.customers + 2) // 3
        # Amounts: a grant customer's first invoice drawn whole (paid), its second 5.00 of 10.00.
        amounts = sorted(rows("SELECT status, total, credits_applied, count(*) FROM invoices WHERE tenant_id = :tenant "
                              "GROUP BY status, total, credits_applied"))
        expected = sorted([("finalized", "1000", "0", str(total - 2 * grant_customers)),
                           ("finalized", "1000", "500", str(grant_customers)),
                           ("paid", "1000", "1000", str(grant_customers))])
        if amounts != expected:
            raise Violation(f"invoice amounts {amounts}, expected {expected}")
        # The ledger, read in storage (what `ledger verify` checks, for a tree without it).
        kinds = dict(rows("SELECT kind, count(*) FROM ledger_transactions WHERE tenant_id = :tenant GROUP BY kind"))
        if kinds != {"invoice_finalized": str(total), "credit_draw": str(2 * grant_customers),
                     "credit_grant": str(grant_customers)}:
            raise Violation(f"ledger transactions by kind: {kinds}")
        causes = rows("SELECT count(DISTINCT cause) FROM ledger_transactions WHERE tenant_id = :tenant AND "
                      "kind = 'invoice_finalized'")[0][0]
        if causes != str(total):
            raise Violation(f"{causes} invoices finalized in the ledger, {total} expected")
        unbalanced = rows("SELECT transaction_id FROM ledger_entries WHERE tenant_id = :tenant GROUP BY "
                          "transaction_id HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0")
        if unbalanced:
            raise Violation(f"unbalanced ledger transactions: {unbalanced[:5]}")
        drifted = rows("SELECT a.account_id FROM ledger_accounts a WHERE a.tenant_id = :tenant AND (a.debits <> "
                       "(SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.tenant_id = a.tenant_id "
                       "AND e.account_id = a.account_id AND e.side = 'debit') OR a.credits <> "
                       "(SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.tenant_id = a.tenant_id "
                       "AND e.account_id = a.account_id AND e.side = 'credit'))")
        if drifted:
            raise Violation(f"accounts whose totals are not their entries: {drifted[:5]}")
        revenue = rows("SELECT credits - debits FROM ledger_accounts WHERE tenant_id = :tenant AND kind = 'revenue'")
        if revenue != [(str(total * PRICE_MINOR),)]:
            raise Violation(f"revenue {revenue}, expected {total * PRICE_MINOR} minor units")
        self.check_commands()
        self.check_audit(total)

    def check_commands(self):
        help_text = subprocess.run([self.binary, "--help"], capture_output=True, text=True).stdout
        commands = [["audit", "verify"]] + ([["ledger", "verify"]] if "\n  ledger" in help_text else [])
        self.verified = [" ".join(command) for command in commands]
        for command in commands:
            done = subprocess.run([self.binary, *command, "--tenant", self.tenant, "--db", self.database.url],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise Violation(f"neruba {' '.join(command)} exited {done.returncode}: {done.stdout}{done.stderr}")

    def check_audit(self, total):
        port = self.server.port

        def walk(path):
            items, cursor = [], None
            while True:
                target = f"{path}&limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
                page = expect_status(*api_call(port, "GET", target, self.key), 200, target)
                items.extend(page["data"])
                cursor = page["next_cursor"]
                if not cursor:
                    return items

        finalized = [record["target"] for record in walk("/v1/audit?action=invoice.finalized")]
        invoices = [row[0] for row in self.probe.rows("SELECT invoice_id FROM invoices WHERE tenant_id = :tenant")]
        if sorted(finalized) != sorted(invoices):
            raise Violation(f"{len(finalized)} invoice.finalized records ({len(set(finalized))} distinct) "
                            f"for {len(invoices)} invoices")
        runs = walk("/v1/audit?action=billing_run.completed")
        if len(runs) != self.completed_runs:
            raise Violation(f"{len(runs)} billing_run.completed records for {self.completed_runs} completed runs")
        verify = expect_status(*api_call(port, "GET", "/v1/audit/verify", self.key), 200, "audit verify")
        if not verify["ok"]:
            raise Violation(f"the audit chain is broken: {verify}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--via", choices=["serve", "cli"], default="serve")
    parser.add_argument("--customers", type=int, default=800)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int,
                        default=int(os.environ.get("NERUBA_CRASH_SEED", random.randrange(1 << 30))))
    args = parser.parse_args()
    print(f"seed {args.seed} (NERUBA_CRASH_SEED={args.seed} repeats the looks' timing)")
    base_url = None
    if args.backend == "postgres":
        base_url = os.environ.get("NERUBA_TEST_PG_URL")
        if not base_url:
            return missing_postgres_exit(f"crash.billing.{args.via}.postgres")
    temp_dir = tempfile.mkdtemp(prefix="neruba-billing-crash-")
    database = None
    test = None
    try:
        database = Database(base_url, temp_dir, "billing_crash_")
        test = BillingCrashTest(args, temp_dir, database)
        test.run()
        return 0
    except Violation as violation:
        print(f"FAILED: {violation}", file=sys.stderr)
        if test is not None:
            print(test.server.log_tail(), file=sys.stderr)
        return 1
    except SetupError as error:
        print(f"SET-UP PROBLEM: {error}", file=sys.stderr)
        return 2
    finally:
        if test is not None:
            test.server.kill_if_running()
        if database is not None:
            database.drop()
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
