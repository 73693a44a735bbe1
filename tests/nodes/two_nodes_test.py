#!/usr/bin/python3
"""Two `neruba serve` nodes on one PostgreSQL database, racing to create the same new customers.

    /usr/bin/python3 tests/nodes/two_nodes_test.py PATH/TO/neruba [--rounds N]

Issue 15, defect 1: with auto_create_customers on, four clients post batches that bring the same
new customers to both nodes at once. Every batch must answer every event accepted, and then every
customer must exist once, with one customer.created audit record, and count every event sent for
it — none stored under a customer that was never created. The audit chain verifies. PostgreSQL
only (several nodes share PostgreSQL; SQLite is one process's file). Standard library only.
"""

import argparse
import datetime
import os
import secrets
import shutil
import sys
import tempfile
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
from neruba_testing import (Database, Server, SetupError, api_call as request,  # noqa: E402
                            expect_status as expect, missing_postgres_exit)

ADMIN_KEY = "nrb_admin_nodes_" + secrets.token_hex(16)
CLIENTS = 4
CUSTOMERS_PER_ROUND = 6
EVENTS_PER_CUSTOMER = 2  # per client and round
# Yesterday (UTC): inside the late-arrival window, never in the future.
DAY = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)).isoformat()


def run(binary, rounds):
    base_url = os.environ.get("NERUBA_TEST_PG_URL")
    if not base_url:
        return missing_postgres_exit("nodes.two_nodes.postgres")
    temp_dir = tempfile.mkdtemp(prefix="neruba-nodes-")
    database = Database(base_url, temp_dir, "nodes_")
    nodes = []
    try:
        for name in ("a", "b"):
            data_dir = os.path.join(temp_dir, name)
            os.makedirs(data_dir)
            nodes.append(Server(binary, database.url, data_dir, os.path.join(temp_dir, f"{name}.log"),
                                ADMIN_KEY, serve_args=["--threads", "8"]))
        for node in nodes:
            node.start()
        a = nodes[0].port
        tenant = expect(*request(a, "POST", "/v1/tenants", ADMIN_KEY, {"name": "Two Nodes Inc"}), 201,
                        "create tenant")["id"]
        expect(*request(a, "PATCH", f"/v1/tenants/{tenant}", ADMIN_KEY,
                        {"settings": {"auto_create_customers": True}}), 200, "settings")
        key = expect(*request(a, "POST", f"/v1/tenants/{tenant}/api-keys", ADMIN_KEY,
                              {"name": "nodes", "scopes": ["ingest", "read", "write"]}), 201, "key")["key"]
        expect(*request(a, "POST", "/v1/meters", key,
                        {"code": "calls", "event_type": "call", "aggregation": "count"}), 201, "meter")

        sent = {}  # external id -> events sent (every one must be accepted)
        failures = []
        lock = threading.Lock()
        barrier = threading.Barrier(CLIENTS)

        def client(index):
            port = nodes[index % 2].port
            for round_number in range(rounds):
                events = []
                for c in range(CUSTOMERS_PER_ROUND):
                    customer = f"cus-{round_number}-{c}"
                    for e in range(EVENTS_PER_CUSTOMER):
                        events.append({"event_id": f"ev-{index}-{round_number}-{c}-{e}", "customer": customer,
                                       "type": "call", "timestamp": f"{DAY}T10:{c:02d}:{e:02d}Z"})
                barrier.wait()  # every client sends its round at once, to both nodes
                status, body = request(port, "POST", "/v1/events", key, {"events": events})
                with lock:
                    if status != 200 or body["accepted"] != len(events):
                        failures.append(f"client {index} round {round_number}: {status} {body}")
                    for event in events:
                        sent[event["customer"]] = sent.get(event["customer"], 0) + 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise AssertionError("batches not fully accepted:\n" + "\n".join(failures[:10]))

        created = {}
        cursor = None
        while True:
            path = "/v1/audit?action=customer.created&limit=1000" + (f"&cursor={cursor}" if cursor else "")
            page = expect(*request(a, "GET", path, key), 200, "audit")
            for record in page["data"]:
                external = record["after"]["external_id"]
                created[external] = created.get(external, 0) + 1
            cursor = page["next_cursor"]
            if not cursor:
                break
        problems = []
        for customer, events in sorted(sent.items()):
            usage = expect(*request(nodes[1].port, "GET",
                                    f"/v1/customers/{customer}/usage?from={DAY}T00:00:00Z&to={DAY}T23:00:00Z",
                                    key), 200, f"usage of {customer}")
            counted = next(m for m in usage["meters"] if m["meter"] == "calls")
            if counted["value"] != str(events) or counted["events"] != events:
                problems.append(f"{customer}: sent {events}, counted {counted['value']}")
            if created.get(customer) != 1:
                problems.append(f"{customer}: {created.get(customer, 0)} customer.created records")
        listed = expect(*request(a, "GET", "/v1/customers?limit=1000", key), 200, "customers")["data"]
        if len(listed) != len(sent):
            problems.append(f"{len(listed)} customers stored for {len(sent)} external ids")
        verify = expect(*request(a, "GET", "/v1/audit/verify", key), 200, "verify")
        if not verify["ok"]:
            problems.append(f"audit chain broken: {verify}")
        if problems:
            raise AssertionError("\n".join(problems[:20]))
        print(f"two nodes: {len(sent)} customers created under race, {sum(sent.values())} events, "
              f"every one counted once; audit verified ({verify['records']} records)")
        return 0
    except (AssertionError, SetupError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        for node in nodes:
            print(node.log_tail(), file=sys.stderr)
        return 1
    finally:
        for node in nodes:
            node.terminate()
        database.drop()
        shutil.rmtree(temp_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    return run(args.binary, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
