#!/usr/bin/python3
"""Two `neruba serve --billing-interval 1` nodes on one PostgreSQL database bill nothing twice.

    /usr/bin/python3 tests/nodes/billing_nodes_test.py PATH/TO/neruba [--customers N]

Issue 17: the billing scheduler runs on every node. A first node without it (the default) makes a
tenant, a monthly plan of 10.00 in advance and N customers (default 250: two chunks of a run)
subscribed from 40 days ago, so that two invoices of each are due (at the start, and a month
later). Then two nodes with the scheduler on start at once on the same database and bill as they
please, pass after pass; once that is billed, N/5 more customers are made while both pass every
second. Once every invoice is there and a few more seconds have passed (each node passing
again), every customer has exactly its two invoices, finalized, numbered INV-000001 to INV-<2M>
(M customers in all) without a gap or a repeat, each finalized once in the audit trail; the
scheduled runs' audit records (actor "billing scheduler") created and finalized 2M invoices
between them; no node logged a failure; the audit chain verifies. The summary says how many
runs each node recorded. PostgreSQL only (several nodes share PostgreSQL; SQLite is
one process's file). Standard library only.
"""

import argparse
import datetime
import os
import secrets
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
from neruba_testing import (Database, Server, SetupError, api_call as request,  # noqa: E402
                            expect_status as expect, missing_postgres_exit)

ADMIN_KEY = "nrb_admin_billing_nodes_" + secrets.token_hex(16)
BILLED_WITHIN = 180.0  # seconds for the two nodes to bill everything
PASSES_AFTER = 4.0     # seconds of further passes once everything is billed


def walk(port, path, key):
    """Every item of a cursor-paged list."""
    items, cursor = [], None
    while True:
        separator = "&" if "?" in path else "?"
        target = f"{path}{separator}limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = expect(*request(port, "GET", target, key), 200, f"GET {target}")
        items.extend(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


def set_up(port):
    tenant = expect(*request(port, "POST", "/v1/tenants", ADMIN_KEY, {"name": "Billing Nodes Inc"}), 201,
                    "tenant")["id"]
    key = expect(*request(port, "POST", f"/v1/tenants/{tenant}/api-keys", ADMIN_KEY,
                          {"name": "nodes", "scopes": ["read", "write"]}), 201, "key")["key"]
    expect(*request(port, "POST", "/v1/plans", key,
                    {"code": "flat", "name": "Flat", "currency": "USD", "interval": "month",
                     "effective_from": "2020-01-01T00:00:00Z",
                     "charges": [{"type": "recurring", "amount": "10.00", "timing": "advance"}]}),
           201, "plan")
    return key


def add_customers(port, key, first, count):
    """Customers cus-<first> … subscribed from 40 days ago: two invoices of each are due."""
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=40)).replace(microsecond=0)
    start_text = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in range(first, first + count):
        external = f"cus-{c:04d}"
        expect(*request(port, "POST", "/v1/customers", key,
                        {"external_id": external, "name": external, "currency": "USD"}), 201, external)
        expect(*request(port, "POST", "/v1/subscriptions", key,
                        {"customer": external, "plan": "flat", "start": start_text}), 201, f"sub {external}")


def wait_billed(port, key, invoices):
    deadline = time.monotonic() + BILLED_WITHIN
    while True:
        billed = len(walk(port, "/v1/invoices?status=finalized", key))
        if billed == invoices:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{billed} of {invoices} invoices billed within {BILLED_WITHIN:.0f} s")
        time.sleep(0.5)


def check(port, key, customers):
    problems = []
    invoices = walk(port, "/v1/invoices", key)
    by_customer = {}
    for invoice in invoices:
        by_customer.setdefault(invoice["customer"], []).append(invoice)
        if invoice["status"] != "finalized" or invoice["total"] != "10.00":
            problems.append(f"invoice {invoice['id']}: {invoice['status']} {invoice['total']}")
    for c in range(customers):
        external = f"cus-{c:04d}"
        instants = sorted(i["billing_instant"] for i in by_customer.get(external, []))
        if len(instants) != 2 or instants[0] == instants[1]:
            problems.append(f"{external}: invoices at {instants}")
    numbers = sorted(int(i["number"][4:]) for i in invoices if i["number"])
    if numbers != list(range(1, 2 * customers + 1)):
        problems.append(f"numbers are not 1..{2 * customers} once each: {len(numbers)} numbers, "
                        f"first {numbers[:5]}, last {numbers[-5:]}")
    finalized = walk(port, "/v1/audit?action=invoice.finalized", key)
    targets = [record["target"] for record in finalized]
    if sorted(targets) != sorted(i["id"] for i in invoices):
        problems.append(f"{len(targets)} invoice.finalized records ({len(set(targets))} distinct) for "
                        f"{len(invoices)} invoices")
    runs = walk(port, "/v1/audit?action=billing_run.completed", key)
    created = sum(run["after"]["invoices_created"] for run in runs)
    finalized_by_runs = sum(run["after"]["invoices_finalized"] for run in runs)
    actors = {run["actor"]["name"] for run in runs}
    if created != 2 * customers or finalized_by_runs != 2 * customers:
        problems.append(f"the scheduled runs created {created} and finalized {finalized_by_runs} invoices, "
                        f"not {2 * customers}")
    if actors != {"billing scheduler"}:
        problems.append(f"scheduled runs by {actors}")
    verify = expect(*request(port, "GET", "/v1/audit/verify", key), 200, "verify")
    if not verify["ok"]:
        problems.append(f"audit chain broken: {verify}")
    return problems, len(invoices), len(runs)


def run(binary, customers):
    base_url = os.environ.get("NERUBA_TEST_PG_URL")
    if not base_url:
        return missing_postgres_exit("nodes.billing.postgres")
    temp_dir = tempfile.mkdtemp(prefix="neruba-billing-nodes-")
    database = Database(base_url, temp_dir, "billing_nodes_")
    servers = []
    try:
        def server(name, serve_args):
            data_dir = os.path.join(temp_dir, name)
            os.makedirs(data_dir)
            node = Server(binary, database.url, data_dir, os.path.join(temp_dir, f"{name}.log"), ADMIN_KEY,
                          serve_args=serve_args)
            servers.append(node)
            return node

        setup = server("setup", [])
        setup.start()
        key = set_up(setup.port)
        add_customers(setup.port, key, 0, customers)
        if setup.terminate() != 0:
            raise SetupError("the set-up node did not stop cleanly")
        nodes = [server(name, ["--billing-interval", "1"]) for name in ("a", "b")]
        for node in nodes:
            node.spawn()  # both at once: their first passes race
        for node in nodes:
            if not node.wait_ready():
                raise SetupError(f"a node did not become ready\n{node.log_tail()}")
        wait_billed(nodes[0].port, key, 2 * customers)
        # More customers while both nodes pass every second: each bills what it finds.
        added = customers // 5
        add_customers(nodes[0].port, key, customers, added)
        customers += added
        wait_billed(nodes[1].port, key, 2 * customers)
        time.sleep(PASSES_AFTER)
        problems, invoices, runs = check(nodes[1].port, key, customers)
        recorded_by = []
        for node in nodes:
            with open(node.log_path, encoding="utf-8", errors="replace") as handle:
                recorded_by.append(handle.read().count("scheduled billing run"))
        for node in nodes:
            if node.process.poll() is not None:
                problems.append(f"a node exited with {node.process.returncode}")
            with open(node.log_path, encoding="utf-8", errors="replace") as handle:
                log = handle.read()
            if "billing scheduler on" not in log:
                problems.append(f"no scheduler started on {node.log_path}")
            if "scheduled billing failed" in log or "AddressSanitizer" in log:
                problems.append(f"failures in {node.log_path}")
        for node in nodes:
            if node.terminate() != 0:
                problems.append("a node did not stop cleanly on SIGTERM")
        if problems:
            raise AssertionError("\n".join(problems[:20]))
        print(f"billing nodes: {customers} customers, {invoices} invoices billed once by two scheduling "
              f"nodes in {runs} recorded runs ({recorded_by[0]} by a, {recorded_by[1]} by b); numbers "
              f"gapless; audit verified")
        return 0
    except (AssertionError, SetupError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        for node in servers:
            print(node.log_tail(), file=sys.stderr)
        return 1
    finally:
        for node in servers:
            node.kill_if_running()
        database.drop()
        shutil.rmtree(temp_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--customers", type=int, default=250)
    args = parser.parse_args()
    return run(args.binary, args.customers)


if __name__ == "__main__":
    sys.exit(main())
