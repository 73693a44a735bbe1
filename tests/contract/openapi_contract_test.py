#!/usr/bin/python3
"""Checks the running server against docs/openapi.yaml.

    /usr/bin/python3 tests/contract/openapi_contract_test.py PATH/TO/neruba [--backend sqlite|postgres]

Starts `neruba serve` on a free port against a fresh database, drives every documented operation
(successes and error cases), and checks each response against the document: the path and method are
documented, the status is documented for the operation, the Content-Type matches, the documented
headers are there, and the body validates against the schema (Draft 2020-12, $refs resolved). Response
objects are validated strictly: an object schema with `properties` and no `additionalProperties`
gets `additionalProperties: false` here, so a field the server sends but the document does not name
fails the test (the published document itself stays open for clients). Request bodies that succeed
must validate against the documented request schema, and requests the server rejects as invalid must
be rejected by the schema too where the rule is expressible. A batch operation (`x-item-outcomes`:
POST /v1/events) answers 200 with one outcome per item: its envelope must match the schema, every
item must have exactly one outcome, items the documented item schema rejects must be rejected, and
items rejected for a schema-expressible reason must fail the item schema. Finally every documented
operation must have been exercised with a documented success status, and the operations named in
REQUIRED_STATUSES with each of the statuses listed there.

Database: env NERUBA_TEST_DB_URL (default: sqlite in a temp dir). A postgresql:// URL gets a fresh
schema (selected with `?options=-csearch_path%3D<schema>`) that is dropped afterwards.
--backend postgres takes the URL from NERUBA_TEST_PG_URL instead; without it the test is skipped
(exit 77), or fails when NERUBA_REQUIRE_POSTGRES=1.

Needs Debian's python3-yaml and python3-jsonschema (run with /usr/bin/python3).
"""

import argparse
import copy
import datetime
import decimal
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import traceback
import urllib.parse

try:
    import yaml
    import jsonschema
except ImportError as missing:  # pragma: no cover - environment problem
    print(f"openapi contract: cannot import {missing.name}: install the Debian packages python3-yaml and "
          f"python3-jsonschema and run with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

# The set-up helpers shared with the crash test live in tests/support/python (no .pyc written there).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
import neruba_testing  # noqa: E402
from neruba_testing import SetupError, free_port, missing_postgres_exit, psql  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DOC = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "openapi.yaml"))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ADMIN_KEY = "nrb_admin_contract_" + secrets.token_hex(16)

# Statuses the scenario must have seen for an operation (beyond the one success every operation needs).
REQUIRED_STATUSES = {
    "ingestEvents": (200, 400, 401, 403, 409, 413, 415, 422, 429),
    "createMeter": (201, 400, 401, 403, 409, 415, 422),
    "listMeters": (200, 401, 403, 422),
    "getMeter": (200, 401, 403, 404),
    "updateCustomer": (200, 400, 401, 403, 404, 409, 415, 422),
    "getCustomerUsage": (200, 401, 403, 404, 422),
    "createPlan": (201, 400, 401, 403, 409, 415, 422),
    "listPlans": (200, 401, 403, 422),
    "getPlan": (200, 400, 401, 403, 404),
    "createPlanVersion": (201, 400, 401, 403, 404, 409, 415, 422),
    "createSubscription": (201, 400, 401, 403, 404, 409, 415, 422),
    "listSubscriptions": (200, 401, 403, 404, 422),
    "getSubscription": (200, 401, 403, 404),
    "changeSubscription": (200, 400, 401, 403, 404, 409, 415, 422),
    "cancelSubscription": (200, 400, 401, 403, 404, 409, 415, 422),
    "getUpcomingInvoice": (200, 401, 403, 404, 409),
    "createBillingRun": (201, 400, 401, 403, 415, 422),
    "listInvoices": (200, 401, 403, 422),
    "getInvoice": (200, 401, 403, 404),
    "explainInvoice": (200, 401, 403, 404),
    "finalizeInvoice": (200, 400, 401, 403, 404, 409, 415, 422),
    "voidInvoice": (200, 400, 401, 403, 404, 409, 415, 422),
    "createCreditGrant": (201, 400, 401, 403, 415, 422),
    "getCustomerBalance": (200, 401, 403, 404),
    "createCharge": (200, 201, 400, 401, 403, 409, 415, 422),
    "createPayment": (201, 400, 401, 403, 409, 415, 422),
    "listLedgerBalances": (200, 401, 403, 404, 422),
    "listLedgerTransactions": (200, 401, 403, 404, 422),
}


class ContractFailure(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# The document


def strictify(node):
    """Object schemas with `properties` and no additionalProperties get additionalProperties: false."""
    if isinstance(node, dict):
        types = node.get("type")
        is_object = types == "object" or (isinstance(types, list) and "object" in types)
        if (is_object and "properties" in node and "additionalProperties" not in node
                and "unevaluatedProperties" not in node):
            node["additionalProperties"] = False
        for value in node.values():
            strictify(value)
    elif isinstance(node, list):
        for item in node:
            strictify(item)
    return node


class Document:
    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            self.doc = yaml.safe_load(handle)
        self.path = path
        self.strict = strictify(copy.deepcopy(self.doc))
        self.resolver = jsonschema.RefResolver(base_uri="urn:neruba:openapi", referrer=self.doc)
        self.strict_resolver = jsonschema.RefResolver(base_uri="urn:neruba:openapi", referrer=self.strict)
        self.format_checker = jsonschema.FormatChecker()
        self.templates = []  # (template, [segments], literal count)
        for template in self.doc.get("paths", {}):
            segments = template.strip("/").split("/")
            literals = sum(1 for s in segments if not (s.startswith("{") and s.endswith("}")))
            self.templates.append((template, segments, literals))
        self.templates.sort(key=lambda item: -item[2])

    def self_check(self):
        problems = []
        if not str(self.doc.get("openapi", "")).startswith("3.1"):
            problems.append("the document is not OpenAPI 3.1")
        for name, schema in self.doc.get("components", {}).get("schemas", {}).items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.exceptions.SchemaError as error:
                problems.append(f"components.schemas.{name} is not a valid JSON Schema: {error.message}")
        # Every $ref resolves.
        def walk(node, where):
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    try:
                        self.resolver.resolve(ref)
                    except jsonschema.exceptions.RefResolutionError as error:
                        problems.append(f"{where}: unresolvable $ref {ref}: {error}")
                for key, value in node.items():
                    walk(value, f"{where}.{key}")
            elif isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, f"{where}[{index}]")
        walk(self.doc, "$")
        ids = {}
        for template, method, operation in self.operations():
            op_id = operation.get("operationId")
            if not op_id:
                problems.append(f"{method.upper()} {template} has no operationId")
            elif op_id in ids:
                problems.append(f"operationId {op_id} is used twice")
            ids[op_id] = True
            if not operation.get("responses"):
                problems.append(f"{method.upper()} {template} documents no responses")
        return problems

    def operations(self):
        for template, item in self.doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    yield template, method, item[method]

    def deref(self, node, strict=False):
        resolver = self.strict_resolver if strict else self.resolver
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            _, node = resolver.resolve(node["$ref"])
            seen += 1
        return node

    def match_path(self, path):
        """The documented template of `path` (literal segments win), and the decoded parameters."""
        raw_segments = path[1:].split("/")
        segments = [urllib.parse.unquote(s) for s in raw_segments]
        for template, pattern, _ in self.templates:
            if len(pattern) != len(segments):
                continue
            params = {}
            for part, segment in zip(pattern, segments):
                if part.startswith("{") and part.endswith("}"):
                    if segment == "":
                        break
                    params[part[1:-1]] = segment
                elif part != segment:
                    break
            else:
                return template, params
        return None, {}

    def parameters(self, template, method):
        item = self.doc["paths"][template]
        out = {}
        for parameter in item.get("parameters", []) + item[method].get("parameters", []):
            parameter = self.deref(parameter)
            out[(parameter["in"], parameter["name"].lower())] = parameter
        return out

    def validate(self, instance, schema, strict):
        validator = jsonschema.Draft202012Validator(
            schema, resolver=self.strict_resolver if strict else self.resolver,
            format_checker=self.format_checker)
        return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))


def describe_errors(errors, limit=5):
    lines = []
    for error in errors[:limit]:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        lines.append(f"at {where}: {error.message[:300]}")
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more")
    return "; ".join(lines)


# ------------------------------------------------------------------------------------------------
# HTTP


class Exchange:
    def __init__(self, method, target, request_headers, request_body, status, headers, body, label):
        self.method = method
        self.target = target
        self.request_headers = request_headers
        self.request_body = request_body
        self.status = status
        self.headers = headers  # lowercased name -> value
        self.body = body
        self.label = label
        self._json = None

    def json(self):
        if self._json is None:
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())


class Checker:
    def __init__(self, document, base_host, port):
        self.document = document
        self.host = base_host
        self.port = port
        self.passed = 0
        self.failures = []
        self.exercised = {}  # (template, method) -> set of statuses

    # -- issuing requests ---------------------------------------------------------------------

    def call(self, method, target, *, key=None, body=None, raw=None, headers=None, expect=None,
             label=None, expect_unmatched=False, request_invalid=False, content_type="application/json"):
        """Sends one request, checks it against the document, checks `expect`, returns the Exchange."""
        request_headers = {}
        if key is not None:
            request_headers["Authorization"] = f"Bearer {key}"
        payload = None
        if raw is not None:
            payload = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        elif body is not None:
            payload = json.dumps(body).encode("utf-8")
        if payload is not None and content_type is not None:
            request_headers["Content-Type"] = content_type
        request_headers.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, target, body=payload, headers=request_headers)
            response = connection.getresponse()
            data = response.read()
            response_headers = {name.lower(): value for name, value in response.getheaders()}
            status = response.status
        finally:
            connection.close()
        exchange = Exchange(method, target, request_headers, body if raw is None else raw, status,
                            response_headers, data, label or f"{method} {target}")
        self.check(exchange, expect=expect, expect_unmatched=expect_unmatched, request_invalid=request_invalid)
        return exchange

    def call_oversized(self, method, target, *, key, size, expect=413, label=None):
        """Sends a body of `size` bytes over a raw socket while reading the answer."""
        head = (f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode("ascii")
        sock = socket.create_connection((self.host, self.port), timeout=30)
        sent = {"bytes": 0}

        def send_body():
            chunk = b"[" + b"0," * (1 << 15)
            try:
                sock.sendall(head)
                remaining = size
                while remaining > 0:
                    piece = chunk[:remaining]
                    sock.sendall(piece)
                    remaining -= len(piece)
                    sent["bytes"] += len(piece)
            except OSError:
                pass  # the server answered and closed: expected for a refused body

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        received = b""
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                received += piece
        except OSError as error:
            if not received:
                raise ContractFailure(f"{label or target}: no answer to an oversized body ({error})")
        finally:
            sender.join(timeout=30)
            sock.close()
        head_bytes, _, body_bytes = received.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        response_headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get("content-length", len(body_bytes)))
        exchange = Exchange(method, target, {}, None, status, response_headers, body_bytes[:length],
                            label or f"{method} {target} ({size} byte body)")
        self.check(exchange, expect=expect)
        return exchange

    # -- checking -------------------------------------------------------------------------------

    def fail(self, exchange, message):
        self.failures.append(f"{exchange.label}: {message}")

    def check(self, exchange, *, expect=None, expect_unmatched=False, request_invalid=False):
        before = len(self.failures)
        if expect is not None and exchange.status != expect:
            snippet = exchange.body[:400].decode("utf-8", "replace")
            self.fail(exchange, f"expected status {expect}, got {exchange.status}: {snippet}")
        try:
            self._check(exchange, expect_unmatched, request_invalid)
        except ContractFailure as failure:
            self.fail(exchange, str(failure))
        except Exception:  # a bug in the check itself, or an unparseable response
            self.fail(exchange, "checking raised:\n" + traceback.format_exc())
        if len(self.failures) == before:
            self.passed += 1

    def _check(self, exchange, expect_unmatched, request_invalid):
        doc = self.document
        parsed = urllib.parse.urlsplit(exchange.target)
        status = exchange.status

        template, _ = doc.match_path(parsed.path)
        components = doc.doc["components"]["responses"]
        if template is None:
            if not expect_unmatched:
                raise ContractFailure(f"path {parsed.path} is not in the document")
            if status != 404:
                raise ContractFailure(f"an undocumented path answered {status}, not 404")
            self.check_response(exchange, components["NotFound"], "unmatched path")
            return
        if expect_unmatched:
            raise ContractFailure(f"expected {parsed.path} to match no documented path, it matches {template}")

        method = exchange.method.lower()
        item = doc.doc["paths"][template]
        if method not in item:
            if status != 405:
                raise ContractFailure(f"{exchange.method} {template} is not documented, yet the server "
                                      f"answered {status} (want 405)")
            allowed = {m.upper() for m in METHODS if m in item}
            got = {m.strip() for m in (exchange.header("allow") or "").split(",") if m.strip()}
            if got != allowed:
                raise ContractFailure(f"405 Allow is {sorted(got)}, the document has {sorted(allowed)}")
            self.check_response(exchange, doc.doc["x-method-not-allowed"], f"{exchange.method} {template}")
            return

        operation = item[method]
        where = f"{exchange.method} {template}"
        self.exercised.setdefault((template, method), set()).add(status)
        responses = operation.get("responses", {})
        response = responses.get(str(status))
        if response is None:
            response = responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if response is None:
            raise ContractFailure(f"status {status} is not documented for {where} "
                                  f"(documented: {', '.join(sorted(responses))})")
        self.check_response(exchange, response, where)

        # A success with query parameters: each must be documented, and its value allowed.
        parameters = doc.parameters(template, method)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True) if 200 <= status < 300 else {}
        for name, values in query.items():
            parameter = parameters.get(("query", name.lower()))
            if parameter is None:
                raise ContractFailure(f"query parameter {name!r} is not documented for {where}")
            if "schema" in parameter:
                value = values[-1]
                schema = parameter["schema"]
                resolved = doc.deref(schema)
                if resolved.get("type") == "integer":
                    try:
                        value = int(value)
                    except ValueError:
                        raise ContractFailure(f"{where} accepted non-integer {name}={values[-1]!r}")
                errors = doc.validate(value, schema, strict=False)
                if errors:
                    raise ContractFailure(f"{where} accepted {name}={values[-1]!r} which the document "
                                          f"forbids: {describe_errors(errors)}")
        for (location, name), parameter in parameters.items():
            if location == "header" and parameter.get("required") and name not in \
                    {h.lower() for h in exchange.request_headers}:
                if 200 <= status < 300:
                    raise ContractFailure(f"{where} succeeded without the required header {name}")

        # Request bodies: a success must satisfy the documented schema; a 422 the schema can
        # express must be rejected by it too.
        request_body = operation.get("requestBody")
        sent = exchange.request_body
        if request_body is not None and isinstance(sent, (dict, list)):
            media = request_body.get("content", {}).get("application/json")
            if media is None:
                raise ContractFailure(f"{where} documents no application/json request body")
            outcomes = operation.get("x-item-outcomes")
            if outcomes is not None and 200 <= status < 300:
                self.check_item_outcomes(exchange, media["schema"], outcomes)
                return
            errors = doc.validate(sent, media["schema"], strict=False)
            if 200 <= status < 300 and errors:
                raise ContractFailure(f"the server accepted a body the document rejects: "
                                      f"{describe_errors(errors)}")
            if request_invalid and not errors:
                raise ContractFailure("the server rejected the body as invalid but the documented request "
                                      "schema accepts it")
        elif request_body is None and exchange.request_body not in (None, b"", ""):
            if 200 <= status < 300:
                raise ContractFailure(f"{where} accepted a body but documents none")

    def check_item_outcomes(self, exchange, schema, spec):
        """A batch operation (`x-item-outcomes`) answers a success even when some items are invalid.

        The envelope must match the documented schema; each item gets exactly one outcome (counted,
        or listed by index in one of the `listed` arrays, in index order, with the item's id); an item
        the documented item schema rejects must be rejected, and an item rejected with one of the
        `schema-rejections` types must be one the item schema rejects."""
        doc = self.document
        sent = exchange.request_body
        name = spec["items"]
        envelope = copy.deepcopy(doc.deref(schema))
        item_schema = envelope["properties"][name]["items"]
        envelope["properties"][name]["items"] = True
        errors = doc.validate(sent, envelope, strict=False)
        if errors:
            raise ContractFailure(f"the server accepted a batch the document rejects: {describe_errors(errors)}")
        items = sent[name]
        body = exchange.json()
        id_field = spec.get("id", "event_id")
        seen = {}
        for listed in spec["listed"]:
            indices = [entry["index"] for entry in body[listed]]
            if indices != sorted(indices):
                raise ContractFailure(f"{listed} is not in index order: {indices}")
            for entry in body[listed]:
                index = entry["index"]
                if index >= len(items):
                    raise ContractFailure(f"{listed} names index {index} of a batch of {len(items)}")
                if index in seen:
                    raise ContractFailure(f"item {index} has two outcomes ({seen[index]} and {listed})")
                seen[index] = listed
                item = items[index]
                item_id = item.get(id_field) if isinstance(item, dict) else None
                wanted = item_id if isinstance(item_id, str) and entry.get("field") != id_field else ""
                if entry.get(id_field) != wanted:
                    raise ContractFailure(f"{listed} entry for item {index} has {id_field} "
                                          f"{entry.get(id_field)!r}, want {wanted!r}")
        counted = sum(body[counter] for counter in spec["counted"])
        if counted + len(seen) != len(items):
            raise ContractFailure(f"{counted} counted and {len(seen)} listed outcomes for {len(items)} items")
        rejected = {entry["index"]: entry for entry in body[spec["rejected"]]}
        schema_types = set(spec.get("schema-rejections", []))
        for index, item in enumerate(items):
            item_errors = doc.validate(item, item_schema, strict=False)
            if item_errors and index not in rejected:
                raise ContractFailure(f"item {index} does not match the documented item schema "
                                      f"({describe_errors(item_errors, 2)}) but was not rejected")
            if not item_errors and index in rejected and rejected[index]["type"] in schema_types:
                raise ContractFailure(f"item {index} was rejected as {rejected[index]['type']} "
                                      f"({rejected[index].get('detail')}) but the documented item schema accepts it")

    def check_response(self, exchange, response, where):
        doc = self.document
        response = doc.deref(response)
        status = exchange.status
        # Headers.
        for name, header in (response.get("headers") or {}).items():
            header = doc.deref(header)
            value = exchange.header(name)
            if value is None:
                if header.get("required"):
                    raise ContractFailure(f"{status} for {where} lacks the documented header {name}")
                continue
            if "schema" in header:
                errors = doc.validate(value, header["schema"], strict=False)
                if errors:
                    raise ContractFailure(f"header {name}: {value!r} does not match: {describe_errors(errors)}")
        sent_id = {k.lower(): v for k, v in exchange.request_headers.items()}.get("x-request-id")
        if sent_id is not None and exchange.header("x-request-id") not in (None, sent_id):
            raise ContractFailure(f"X-Request-Id {sent_id!r} was not echoed (got {exchange.header('x-request-id')!r})")

        # Content.
        content = response.get("content") or {}
        content_type = exchange.header("content-type")
        if not content:
            if exchange.body:
                raise ContractFailure(f"{status} for {where} documents no body but one was sent")
            return
        media_type = None
        if content_type in content:
            media_type = content_type
        else:
            base = (content_type or "").split(";")[0].strip().lower()
            for candidate in content:
                if candidate.split(";")[0].strip().lower() == base:
                    media_type = candidate
                    break
        if media_type is None:
            raise ContractFailure(f"Content-Type {content_type!r} is not documented for {status} of {where} "
                                  f"(documented: {', '.join(content)})")
        schema = content[media_type].get("schema")
        base = media_type.split(";")[0].strip().lower()
        if base == "application/json" or base.endswith("+json"):
            try:
                body = exchange.json()
            except ValueError as error:
                raise ContractFailure(f"the body is not JSON: {error}")
        else:
            body = exchange.body.decode("utf-8")
        if schema is not None:
            errors = doc.validate(body, schema, strict=True)
            if errors:
                raise ContractFailure(f"the {status} body does not match the documented schema: "
                                      f"{describe_errors(errors)}; body: {exchange.body[:300]!r}")
        if base == "application/problem+json":
            if body.get("status") != status:
                raise ContractFailure(f"problem status {body.get('status')} differs from the HTTP status {status}")
            slug = body.get("type", "").rsplit("/", 1)[-1]
            allowed = response.get("x-problem-types")
            if allowed is not None and slug not in allowed:
                raise ContractFailure(f"problem type {slug!r} is not among the documented {allowed}")
            header_id = exchange.header("x-request-id")
            if header_id is not None and body.get("request_id") != header_id:
                raise ContractFailure(f"problem request_id {body.get('request_id')!r} differs from "
                                      f"X-Request-Id {header_id!r}")

    # -- scenario assertions ----------------------------------------------------------------------

    def expect_true(self, exchange_or_label, condition, message):
        """An extra behavioural assertion (counted as its own check)."""
        label = exchange_or_label.label if isinstance(exchange_or_label, Exchange) else exchange_or_label
        if condition:
            self.passed += 1
        else:
            self.failures.append(f"{label}: {message}")

    def coverage(self):
        missing = []
        for template, method, operation in self.document.operations():
            statuses = self.exercised.get((template, method))
            if not statuses:
                missing.append(f"{method.upper()} {template} was never exercised")
                continue
            wanted = REQUIRED_STATUSES.get(operation.get("operationId"), ())
            unseen = sorted(set(wanted) - statuses)
            if unseen:
                missing.append(f"{method.upper()} {template} was never answered with {unseen} "
                               f"(saw {sorted(statuses)})")
            successes = [s for s in statuses if 200 <= s < 300]
            if not successes:
                missing.append(f"{method.upper()} {template} was never exercised with a success "
                               f"(saw {sorted(statuses)})")
        return missing


# ------------------------------------------------------------------------------------------------
# Database and server (the shared parts are in tests/support/python/neruba_testing.py)


class Database(neruba_testing.Database):
    """A fresh database for one run (see neruba_testing.Database), whose audit trail can be tampered with."""

    def __init__(self, base_url, temp_dir):
        super().__init__(base_url, temp_dir, schema_prefix="contract_")

    def tamper_audit(self, tenant, seq):
        """Alters one stored audit record behind the server's back."""
        sql = (f"UPDATE audit_records SET action = 'tampered' "
               f"WHERE tenant_id = '{tenant}' AND seq = {int(seq)}")
        if self.kind == "postgres":
            psql(self.base_url, f"SET search_path TO {self.schema}; {sql}")
        else:
            import sqlite3
            connection = sqlite3.connect(self.url[len("sqlite:"):], timeout=30)
            try:
                connection.execute(sql)
                connection.commit()
            finally:
                connection.close()


class Server(neruba_testing.Server):
    """`neruba serve` for one scenario: started once (on a fresh port each attempt), stopped with SIGTERM."""

    def __init__(self, binary, db_url, data_dir, log_path):
        super().__init__(binary, db_url, data_dir, log_path, ADMIN_KEY)

    def spawn(self):
        self.port = free_port()  # a start that failed may have lost its port to another process
        return super().spawn()

    def stop(self):
        """SIGTERM: the server drains and must exit 0 (the caller checks the returned status)."""
        code = self.terminate(timeout=40)
        if code is None:
            raise ContractFailure(f"the server did not exit within 40 s of SIGTERM\n{self.log_tail()}")
        return code


# ------------------------------------------------------------------------------------------------
# The scenario


def follow_pages(c, target, key, headers=None, limit=2, label=""):
    """Walks every page of a list with ?limit=; returns all items in order."""
    items = []
    cursor = None
    for _ in range(1000):
        query = {"limit": str(limit)}
        if cursor is not None:
            query["cursor"] = cursor
        separator = "&" if "?" in target else "?"
        page = c.call("GET", f"{target}{separator}{urllib.parse.urlencode(query)}", key=key, headers=headers,
                      expect=200, label=f"{label} page {len(items) // limit + 1}")
        if page.status != 200:
            return items
        body = page.json()
        c.expect_true(page, len(body["data"]) <= limit, f"page has {len(body['data'])} items, limit {limit}")
        items.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    c.expect_true(label, False, "pagination did not end")
    return items


def admin_read(tenant, why="contract test: support ticket 42"):
    return {"X-Neruba-Tenant": tenant, "X-Neruba-Justification": why}


def rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_query(external_id, start, end):
    return f"/v1/customers/{external_id}/usage?" + urllib.parse.urlencode({"from": start, "to": end})


def usage_by_meter(exchange):
    return {m["meter"]: m for m in exchange.json()["meters"]} if exchange.status == 200 else {}


def usage(c, admin, make_key, gamma_reader, acme_writer):
    """Meters, POST /v1/events and GET /v1/customers/{external_id}/usage on a tenant of their own."""
    tenant = c.call("POST", "/v1/tenants", key=admin, body={"name": "Metered"}, expect=201,
                    label="create tenant Metered").json()
    tenant_path = f"/v1/tenants/{tenant['id']}"
    keys_path = f"{tenant_path}/api-keys"
    ingest = make_key("metered ingest", ["ingest"], keys_path)["key"]
    read = make_key("metered read", ["read"], keys_path)["key"]
    write = make_key("metered write", ["write"], keys_path)["key"]
    for external_id in ("u-1", "u-2"):
        c.call("POST", "/v1/customers", key=write, body={"external_id": external_id, "name": external_id},
               expect=201, label=f"create customer {external_id} of Metered")

    def patch_settings(settings, label):
        patched = c.call("PATCH", tenant_path, key=admin, body={"settings": settings}, expect=200, label=label)
        c.expect_true(patched, all(patched.json()["settings"].get(k) == v for k, v in settings.items()),
                      f"settings not applied: {patched.body[:300]!r}")

    # ---- meters ----
    meter_bodies = {
        "api_calls": {"code": "api_calls", "event_type": "api_call", "aggregation": "count"},
        "tokens": {"code": "tokens", "event_type": "llm", "aggregation": "sum", "field": "tokens",
                   "group_by": ["model"]},
        "peak_tokens": {"code": "peak_tokens", "event_type": "llm", "aggregation": "max", "field": "tokens",
                        "filters": {"region": ["eu", "us"]}},
        "users": {"code": "users", "event_type": "login", "aggregation": "unique_count", "field": "user"},
        "seats": {"code": "seats", "event_type": "seat_snapshot", "aggregation": "latest", "field": "seats"},
        "storage": {"code": "storage", "event_type": "storage", "aggregation": "sum", "field": "gb",
                    "filters": {"tier": ["pro", 1, True]}, "group_by": ["region", "tier"]},
    }
    meters = {}
    idem_meter = "idem-meter-" + secrets.token_hex(4)
    for code, body in meter_bodies.items():
        headers = {"Idempotency-Key": idem_meter} if code == "api_calls" else None
        created = c.call("POST", "/v1/meters", key=write, body=body, headers=headers, expect=201,
                         label=f"create meter {code}")
        meters[code] = created.json() if created.status == 201 else {}
        got = meters[code]
        c.expect_true(created, got.get("code") == code and got.get("event_type") == body["event_type"]
                      and got.get("aggregation") == body["aggregation"] and got.get("field") == body.get("field")
                      and got.get("group_by") == body.get("group_by", []),
                      f"the meter does not echo its definition: {got}")
    c.expect_true("create meter storage", meters["storage"].get("filters") == {"tier": ["pro", "1", "true"]},
                  f"filter values are not their text: {meters['storage'].get('filters')}")
    c.expect_true("create meter api_calls", meters["api_calls"].get("filters") == {},
                  f"a meter without filters has {meters['api_calls'].get('filters')}")
    replay = c.call("POST", "/v1/meters", key=write, body=meter_bodies["api_calls"],
                    headers={"Idempotency-Key": idem_meter}, expect=201, label="replay create meter")
    c.expect_true(replay, replay.header("idempotent-replayed") == "true" and replay.json() == meters["api_calls"],
                  "meter creation was not replayed")
    c.call("POST", "/v1/meters", key=write, body=meter_bodies["users"], headers={"Idempotency-Key": idem_meter},
           expect=409, label="meter idempotency key reused")
    duplicate = c.call("POST", "/v1/meters", key=write, body=dict(meter_bodies["api_calls"], event_type="other"),
                       expect=409, label="create meter with a taken code")
    c.expect_true(duplicate, duplicate.json().get("type", "").endswith("/already-exists"),
                  "a taken code is not already-exists")
    invalid_meters = {
        "without aggregation": {"code": "m", "event_type": "e"},
        "with an unknown aggregation": {"code": "m", "event_type": "e", "aggregation": "avg"},
        "sum without field": {"code": "m", "event_type": "e", "aggregation": "sum"},
        "sum with an empty field": {"code": "m", "event_type": "e", "aggregation": "sum", "field": ""},
        "count with a field": {"code": "m", "event_type": "e", "aggregation": "count", "field": "x"},
        "without code": {"event_type": "e", "aggregation": "count"},
        "with an empty code": {"code": "", "event_type": "e", "aggregation": "count"},
        "with a 65-byte code": {"code": "m" * 65, "event_type": "e", "aggregation": "count"},
        "without event_type": {"code": "m", "aggregation": "count"},
        "with an unknown field": {"code": "m", "event_type": "e", "aggregation": "count", "colour": "red"},
        "with an empty filter": {"code": "m", "event_type": "e", "aggregation": "count", "filters": {"a": []}},
        "with an object filter value": {"code": "m", "event_type": "e", "aggregation": "count",
                                        "filters": {"a": [{"b": 1}]}},
        "with filters as an array": {"code": "m", "event_type": "e", "aggregation": "count", "filters": ["a"]},
        "with 17 filters": {"code": "m", "event_type": "e", "aggregation": "count",
                            "filters": {f"p{n}": ["v"] for n in range(17)}},
        "with group_by twice": {"code": "m", "event_type": "e", "aggregation": "count", "group_by": ["a", "a"]},
        "with 9 group_by": {"code": "m", "event_type": "e", "aggregation": "count",
                            "group_by": [f"p{n}" for n in range(9)]},
        "with an empty group_by name": {"code": "m", "event_type": "e", "aggregation": "count", "group_by": [""]},
    }
    for what, body in invalid_meters.items():
        c.call("POST", "/v1/meters", key=write, body=body, expect=422, request_invalid=True,
               label=f"create meter {what}")
    c.call("POST", "/v1/meters", key=write, raw="{nope", expect=400, label="create meter with bad JSON")
    c.call("POST", "/v1/meters", key=write, raw="", expect=400, label="create meter without a body")
    c.call("POST", "/v1/meters", key=write, body=meter_bodies["users"], content_type="text/plain", expect=415,
           label="create meter as text/plain")
    c.call("POST", "/v1/meters", key=read, body=meter_bodies["users"], expect=403, label="create meter with scope read")
    c.call("POST", "/v1/meters", key=ingest, body=meter_bodies["users"], expect=403,
           label="create meter with scope ingest")
    c.call("POST", "/v1/meters", key=admin, headers=admin_read(tenant["id"]), body=meter_bodies["users"], expect=403,
           label="admin creates a meter")
    c.call("POST", "/v1/meters", body=meter_bodies["users"], expect=401, label="create meter without a key")

    listed = c.call("GET", "/v1/meters", key=read, expect=200, label="list meters")
    listed_codes = [m["code"] for m in listed.json()["data"]] if listed.status == 200 else []
    c.expect_true(listed, listed_codes == sorted(meter_bodies) and listed.json()["next_cursor"] is None,
                  f"meters are not every code in order: {listed_codes}")
    c.expect_true(listed, listed.status == 200 and
                  {m["code"]: m for m in listed.json()["data"]} == meters, "listed meters differ from the created")
    c.call("GET", "/v1/meters", key=write, expect=200, label="list meters with scope write")
    admin_meters = c.call("GET", "/v1/meters", key=admin, headers=admin_read(tenant["id"]), expect=200,
                          label="admin lists meters")
    c.expect_true(admin_meters, admin_meters.json() == listed.json(), "the admin's list differs")
    c.call("GET", "/v1/meters", key=admin, expect=403, label="admin lists meters without headers")
    c.call("GET", "/v1/meters", key=ingest, expect=403, label="list meters with scope ingest")
    c.call("GET", "/v1/meters", expect=401, label="list meters without a key")
    others = c.call("GET", "/v1/meters", key=acme_writer["key"], expect=200, label="another tenant lists meters")
    c.expect_true(others, others.json() == {"data": [], "next_cursor": None}, "another tenant sees the meters")
    c.call("DELETE", "/v1/meters", key=write, expect=405, label="DELETE meters")
    # Paging walks every code once, in order.
    paged, cursor = [], None
    for _ in range(len(meter_bodies) + 1):
        page = c.call("GET", "/v1/meters?limit=2" + (f"&cursor={cursor}" if cursor else ""), key=read, expect=200,
                      label="list meters two at a time")
        if page.status != 200:
            break
        paged += [m["code"] for m in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    c.expect_true(page, paged == sorted(meter_bodies), f"paging meters gave {paged}")
    c.call("GET", "/v1/meters?limit=5000", key=read, expect=422, label="list meters limit=5000")

    for code in ("tokens", "storage"):
        got = c.call("GET", f"/v1/meters/{code}", key=read, expect=200, label=f"get meter {code}")
        c.expect_true(got, got.json() == meters[code], "GET meter differs from the create response")
    c.call("GET", "/v1/meters/tokens", key=write, expect=200, label="get meter with scope write")
    c.call("GET", "/v1/meters/tokens", key=admin, headers=admin_read(tenant["id"]), expect=200,
           label="admin reads a meter")
    c.call("GET", "/v1/meters/nothing", key=read, expect=404, label="get unknown meter")
    c.call("GET", "/v1/meters/tokens", key=gamma_reader["key"], expect=404, label="another tenant gets the meter")
    c.call("GET", "/v1/meters/tokens", key=ingest, expect=403, label="get meter with scope ingest")
    c.call("GET", "/v1/meters/tokens", expect=401, label="get meter without a key")
    c.call("GET", "/v1/meters/%zz", key=read, expect=400, label="get meter with a bad percent-encoding")
    c.call("PUT", "/v1/meters/tokens", key=write, body=meter_bodies["tokens"], expect=405, label="PUT meter")

    # ---- events ----
    now = datetime.datetime.now(datetime.timezone.utc)
    base = now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=48)
    t0 = base + datetime.timedelta(minutes=10)
    t1 = base + datetime.timedelta(hours=1, minutes=20)
    t2 = base + datetime.timedelta(hours=2, minutes=5)

    def event(event_id, event_type, moment, properties=None, customer="u-1"):
        out = {"event_id": event_id, "customer": customer, "type": event_type, "timestamp": rfc3339(moment)}
        if properties is not None:
            out["properties"] = properties
        return out

    batch = [
        event("e-1", "api_call", t0, {}),
        event("e-2", "api_call", t1, {"endpoint": "/x", "ms": 12}),
        event("e-3", "llm", t0, {"tokens": 10, "model": "a", "region": "eu"}),
        event("e-4", "llm", t1, {"tokens": "2.5", "model": "b", "region": "us"}),
        event("e-5", "llm", t2, {"tokens": 7, "model": "a", "region": "apac"}),
        event("e-6", "llm", t2, {"model": "a", "region": "eu"}),
        event("l-1", "login", t0, {"user": "alice"}),
        event("l-2", "login", t1, {"user": "bob"}),
        event("l-3", "login", t2, {"user": "alice"}),
        event("l-4", "login", t2, {"user": 42}),
        event("s-5", "seat_snapshot", t1, {"seats": 5}),
        event("s-2", "seat_snapshot", t2, {"seats": 3}),
        event("s-1", "seat_snapshot", t2, {"seats": 8}),
        event("s-0", "seat_snapshot", t0, {"seats": 4}),
        event("g-1", "storage", t0, {"gb": "1.25", "tier": "pro", "region": "eu"}),
        event("g-2", "storage", t1, {"gb": 2, "tier": 1}),
        event("g-3", "storage", t2, {"gb": 4, "tier": True, "region": "us"}),
        event("g-4", "storage", t1, {"gb": 8, "tier": "free", "region": "eu"}),
        event("g-5", "storage", t1, {"gb": 16, "tier": "1.0", "region": "eu"}),
        event("n-1", "not_metered", t1),
    ]
    idem_events = "idem-events-" + secrets.token_hex(4)
    first = c.call("POST", "/v1/events", key=ingest, body={"events": batch}, headers={"Idempotency-Key": idem_events},
                   expect=200, label="ingest a batch")
    c.expect_true(first, first.status == 200 and first.json() == {"accepted": len(batch), "duplicates": 0,
                                                                   "conflicts": [], "rejected": []},
                  f"not every event was accepted: {first.body[:600]!r}")
    replayed = c.call("POST", "/v1/events", key=ingest, body={"events": batch},
                      headers={"Idempotency-Key": idem_events}, expect=200, label="replay an ingested batch")
    c.expect_true(replayed, replayed.header("idempotent-replayed") == "true" and replayed.body == first.body,
                  "the batch was not replayed")
    c.call("POST", "/v1/events", key=ingest, body={"events": batch[:1]}, headers={"Idempotency-Key": idem_events},
           expect=409, label="events idempotency key reused")
    resent = c.call("POST", "/v1/events", key=ingest, body={"events": batch}, expect=200, label="resend a batch")
    c.expect_true(resent, resent.status == 200 and resent.json() == {"accepted": 0, "duplicates": len(batch),
                                                                     "conflicts": [], "rejected": []},
                  f"a resent batch is not all duplicates: {resent.body[:600]!r}")

    # Numbers parsed from their literal text, never through a double.
    exact = (
        '{"events": ['
        '{"event_id": "x-1", "customer": "u-2", "type": "llm", "timestamp": "%s", '
        '"properties": {"tokens": 1.50, "model": "a", "region": "eu"}},'
        '{"event_id": "x-2", "customer": "u-2", "type": "llm", "timestamp": "%s", '
        '"properties": {"tokens": 2.5e-1, "model": "a"}},'
        '{"event_id": "x-3", "customer": "u-2", "type": "llm", "timestamp": "%s", '
        '"properties": {"tokens": 0.1, "model": "a"}},'
        '{"event_id": "x-4", "customer": "u-2", "type": "llm", "timestamp": "%s", '
        '"properties": {"tokens": "0.2", "model": "a"}}]}'
    ) % (rfc3339(t1), rfc3339(t1), rfc3339(t1), rfc3339(t1))
    literal = c.call("POST", "/v1/events", key=ingest, raw=exact, expect=200, label="ingest exact number literals")
    c.expect_true(literal, literal.status == 200 and literal.json()["accepted"] == 4,
                  f"number literals not accepted: {literal.body[:300]!r}")

    # One outcome per event: the good ones are kept, each bad one is reported with its reason.
    one_hour_ahead = now + datetime.timedelta(hours=1)
    forty_days_ago = now - datetime.timedelta(days=40)
    mixed = [
        event("r-ok", "api_call", t1, customer="u-2"),                            # 0 accepted
        "not an object",                                                          # 1
        {"customer": "u-1", "type": "api_call", "timestamp": rfc3339(t1)},        # 2 no event_id
        dict(event("r-3", "api_call", t1), colour="red"),                         # 3 unknown field
        dict(event("r-4", "api_call", t1), timestamp="yesterday"),                # 4
        event("r-5", "api_call", one_hour_ahead),                                # 5 in the future
        event("r-6", "api_call", forty_days_ago),                                 # 6 too old
        event("r-7", "api_call", t1, customer="nobody"),                          # 7 unknown customer
        event("r-8", "llm", t1, {"tokens": "lots", "model": "a"}),                # 8 not a number
        dict(event("r-9", "api_call", t1), properties=[1, 2]),                    # 9
        dict(event("r-10", "api_call", t1), customer=123),                        # 10
        event("r-\u0001", "api_call", t1),                                        # 11 control character
        dict(event("r-12", "api_call", t1), timestamp="2026-02-30T10:00:00Z"),    # 12 no such day
        dict(event("r-13", "api_call", t1), type=""),                             # 13 empty type
        # 14: e-2 again, properties reordered and the timestamp in another offset: a duplicate
        {"event_id": "e-2", "customer": "u-1", "type": "api_call",
         "timestamp": t1.astimezone(datetime.timezone(datetime.timedelta(hours=2))).isoformat(),
         "properties": {"ms": 12, "endpoint": "/x"}},
        event("e-3", "llm", t0, {"tokens": 11, "model": "a", "region": "eu"}),    # 15 conflict
        event("r-ok", "api_call", t1, customer="u-2"),                            # 16 duplicate in the batch
        event("r-ok", "api_call", t2, customer="u-2"),                            # 17 conflict in the batch
    ]
    outcome = c.call("POST", "/v1/events", key=ingest, body={"events": mixed}, expect=200,
                     label="ingest a batch with bad events")
    result = outcome.json() if outcome.status == 200 else {}
    c.expect_true(outcome, (result.get("accepted"), result.get("duplicates")) == (1, 2) and
                  [x["index"] for x in result.get("conflicts", [])] == [15, 17],
                  f"accepted/duplicates/conflicts: {outcome.body[:400]!r}")
    want = {1: ("invalid_event", None), 2: ("invalid_field", "event_id"), 3: ("unknown_field", "colour"),
            4: ("invalid_timestamp", "timestamp"), 5: ("timestamp_in_future", "timestamp"),
            6: ("timestamp_too_old", "timestamp"), 7: ("unknown_customer", "customer"),
            8: ("invalid_property", "properties.tokens"), 9: ("invalid_field", "properties"),
            10: ("invalid_field", "customer"), 11: ("invalid_field", "event_id"),
            12: ("invalid_timestamp", "timestamp"), 13: ("invalid_field", "type")}
    got = {x["index"]: (x["type"], x.get("field")) for x in result.get("rejected", [])}
    c.expect_true(outcome, got == want, f"rejections differ: {got}")

    # Whole-request problems.
    c.call("POST", "/v1/events", key=ingest, body={}, expect=422, request_invalid=True, label="ingest without events")
    c.call("POST", "/v1/events", key=ingest, body={"events": []}, expect=422, request_invalid=True,
           label="ingest an empty batch")
    c.call("POST", "/v1/events", key=ingest, body={"events": {"event_id": "x"}}, expect=422, request_invalid=True,
           label="ingest events as an object")
    c.call("POST", "/v1/events", key=ingest, body={"events": batch[:1], "source": "x"}, expect=422,
           request_invalid=True, label="ingest with an unknown top-level field")
    c.call("POST", "/v1/events", key=ingest, raw='{"events": [', expect=400, label="ingest bad JSON")
    c.call("POST", "/v1/events", key=ingest, raw="[]", expect=400, label="ingest an array body")
    c.call("POST", "/v1/events", key=ingest, raw="", expect=400, label="ingest without a body")
    c.call("POST", "/v1/events", key=ingest, raw='{"events": [], "events": []}', expect=400,
           label="ingest with a duplicate member")
    c.call("POST", "/v1/events", key=ingest, body={"events": batch[:1]}, content_type="text/plain", expect=415,
           label="ingest as text/plain")
    too_many = [event(f"big-{n}", "api_call", t1) for n in range(10_001)]
    big = c.call("POST", "/v1/events", key=ingest, body={"events": too_many}, expect=413,
                 label="ingest 10,001 events")
    c.expect_true(big, big.header("x-request-id") is not None, "the 10,001-event 413 has no X-Request-Id")
    c.call_oversized("POST", "/v1/events", key=ingest, size=11 * 1024 * 1024, expect=413,
                     label="ingest an 11 MiB body")
    c.call("POST", "/v1/events", key=write, body={"events": batch[:1]}, expect=403, label="ingest with scope write")
    c.call("POST", "/v1/events", key=read, body={"events": batch[:1]}, expect=403, label="ingest with scope read")
    c.call("POST", "/v1/events", key=admin, headers=admin_read(tenant["id"]), body={"events": batch[:1]},
           expect=403, label="admin ingests")
    c.call("POST", "/v1/events", body={"events": batch[:1]}, expect=401, label="ingest without a key")
    c.call("GET", "/v1/events", key=read, expect=405, label="GET events")
    nothing = c.call("GET", usage_query("u-1", rfc3339(base), rfc3339(base + datetime.timedelta(hours=3))),
                     key=read, expect=200, label="usage after the rejected requests")
    c.expect_true(nothing, usage_by_meter(nothing).get("api_calls", {}).get("value") == "2",
                  f"a refused request stored events: {nothing.body[:300]!r}")

    # ---- usage ----
    window = (rfc3339(base), rfc3339(base + datetime.timedelta(hours=3)))
    full = c.call("GET", usage_query("u-1", *window), key=read, expect=200, label="get usage")
    body = full.json() if full.status == 200 else {}
    c.expect_true(full, (body.get("customer"), body.get("from"), body.get("to")) == ("u-1",) + window,
                  f"usage header fields: {full.body[:200]!r}")
    c.expect_true(full, [m["meter"] for m in body.get("meters", [])] == sorted(meter_bodies),
                  "usage does not list every meter in code order")
    by_meter = usage_by_meter(full)
    expected = {
        "api_calls": ("2", 2), "tokens": ("19.5", 3), "peak_tokens": ("10", 2), "users": ("3", 4),
        "seats": ("3", 4), "storage": ("7.25", 3),
    }
    for code, (value, events) in expected.items():
        got = by_meter.get(code, {})
        c.expect_true(full, (got.get("value"), got.get("events"), got.get("aggregation")) ==
                      (value, events, meter_bodies[code]["aggregation"]),
                      f"{code}: want value {value} over {events} events, got {got}")
    for code in ("api_calls", "peak_tokens", "users", "seats"):
        c.expect_true(full, "groups" not in by_meter.get(code, {}), f"{code} has groups without group_by")

    def groups_of(code, usage):
        return sorted((json.dumps(g["group"], sort_keys=True), g["value"], g["events"])
                      for g in usage.get(code, {}).get("groups", []))

    c.expect_true(full, groups_of("tokens", by_meter) == [('{"model": "a"}', "17", 2), ('{"model": "b"}', "2.5", 1)],
                  f"tokens groups: {groups_of('tokens', by_meter)}")
    c.expect_true(full, groups_of("storage", by_meter) == sorted([
        ('{"region": "eu", "tier": "pro"}', "1.25", 1), ('{"region": null, "tier": "1"}', "2", 1),
        ('{"region": "us", "tier": "true"}', "4", 1)]), f"storage groups: {groups_of('storage', by_meter)}")
    exact_usage = usage_by_meter(c.call("GET", usage_query("u-2", *window), key=read, expect=200,
                                        label="get usage of exact literals"))
    c.expect_true("get usage of exact literals", exact_usage.get("tokens", {}).get("value") == "2.05" and
                  exact_usage.get("api_calls", {}).get("value") == "1",
                  f"1.50 + 2.5e-1 + 0.1 + \"0.2\" is not 2.05: {exact_usage.get('tokens')}")

    # [from, to): t0 is before the window, t2 is its excluded end; partial hours at both edges.
    edge = usage_by_meter(c.call("GET", usage_query("u-1", rfc3339(base + datetime.timedelta(minutes=30)),
                                                    rfc3339(t2)), key=read, expect=200,
                                 label="get usage over partial hours"))
    c.expect_true("get usage over partial hours",
                  [(edge.get(k, {}).get("value"), edge.get(k, {}).get("events"))
                   for k in ("api_calls", "tokens", "users", "seats")] ==
                  [("1", 1), ("2.5", 1), ("1", 1), ("5", 1)], f"edges: {edge}")
    offset = c.call("GET", usage_query("u-1", (base + datetime.timedelta(hours=2)).astimezone(
        datetime.timezone(datetime.timedelta(hours=2))).isoformat(), window[1]), key=read, expect=200,
        label="get usage with an offset instant")
    c.expect_true(offset, offset.status == 200 and offset.json()["from"] == rfc3339(base + datetime.timedelta(hours=2)),
                  f"from is not normalised to UTC: {offset.body[:200]!r}")
    empty = usage_by_meter(c.call("GET", usage_query("u-1", window[0], window[0]), key=read, expect=200,
                                  label="get usage over an empty window"))
    c.expect_true("get usage over an empty window",
                  {k: (v["value"], v["events"], v.get("groups")) for k, v in empty.items()} ==
                  {"api_calls": ("0", 0, None), "tokens": ("0", 0, []), "peak_tokens": (None, 0, None),
                   "users": ("0", 0, None), "seats": (None, 0, None), "storage": ("0", 0, [])},
                  f"empty window: {empty}")
    admin_usage = c.call("GET", usage_query("u-1", *window), key=admin, headers=admin_read(tenant["id"]),
                         expect=200, label="admin reads usage")
    c.expect_true(admin_usage, admin_usage.json() == full.json(), "the admin's usage read differs")

    # A meter created after the events counts them too (backfill).
    late = c.call("POST", "/v1/meters", key=write, body={"code": "zz_logins", "event_type": "login",
                                                         "aggregation": "count"},
                  expect=201, label="create a meter after its events")
    backfilled = usage_by_meter(c.call("GET", usage_query("u-1", *window), key=read, expect=200,
                                       label="get usage of a backfilled meter"))
    c.expect_true(late, backfilled.get("zz_logins", {}).get("value") == "4",
                  f"the late meter did not count earlier events: {backfilled.get('zz_logins')}")

    for what, query in {
        "without from": "?to=" + window[1], "without to": "?from=" + window[0], "without from and to": "",
        "from=yesterday": "?" + urllib.parse.urlencode({"from": "yesterday", "to": window[1]}),
        "to before from": "?" + urllib.parse.urlencode({"from": window[1], "to": window[0]}),
        "with 7 fraction digits": "?" + urllib.parse.urlencode({"from": "2026-01-05T10:00:00.1234567Z",
                                                                "to": window[1]}),
    }.items():
        c.call("GET", f"/v1/customers/u-1/usage{query}", key=read, expect=422, label=f"get usage {what}")
    c.call("GET", usage_query("nobody", *window), key=read, expect=404, label="get usage of an unknown customer")
    c.call("GET", usage_query("u-1", *window), key=gamma_reader["key"], expect=404,
           label="another tenant gets the usage")
    c.call("GET", usage_query("u-1", *window), key=write, expect=403, label="get usage with scope write")
    c.call("GET", usage_query("u-1", *window), key=ingest, expect=403, label="get usage with scope ingest")
    c.call("GET", usage_query("u-1", *window), key=admin, expect=403, label="admin gets usage without headers")
    c.call("GET", usage_query("u-1", *window), expect=401, label="get usage without a key")
    c.call("POST", "/v1/customers/u-1/usage", key=write, body={}, expect=405, label="POST usage")

    # ---- tenant settings steer ingest ----
    patch_settings({"late_event_window_days": 60, "future_event_skew_seconds": 7200,
                    "auto_create_customers": True}, "widen the ingest windows and auto-create customers")
    widened = c.call("POST", "/v1/events", key=ingest, body={"events": [
        event("w-1", "api_call", forty_days_ago), event("w-2", "api_call", one_hour_ahead),
        event("w-3", "api_call", t1, customer="auto-7")]}, expect=200, label="ingest under the widened settings")
    c.expect_true(widened, widened.status == 200 and widened.json()["accepted"] == 3,
                  f"the settings did not apply: {widened.body[:400]!r}")
    auto = c.call("GET", "/v1/customers/auto-7", key=read, expect=200, label="get an auto-created customer")
    c.expect_true(auto, auto.status == 200 and (auto.json()["name"], auto.json()["currency"]) == ("auto-7", "USD"),
                  f"auto-created customer: {auto.body[:300]!r}")
    created = c.call("GET", "/v1/audit?action=customer.created", key=read, expect=200,
                     label="audit of auto-created customers").json()
    c.expect_true("audit of auto-created customers",
                  any((r.get("after") or {}).get("external_id") == "auto-7" for r in created["data"]),
                  "auto-creation is not audited")
    meter_audit = c.call("GET", "/v1/audit?action=meter.created", key=read, expect=200,
                         label="audit of meter creation").json()
    c.expect_true("audit of meter creation", len(meter_audit["data"]) == len(meter_bodies) + 1,
                  f"{len(meter_audit['data'])} meter.created records for {len(meter_bodies) + 1} meters")

    # ---- backpressure: the tenant's token bucket ----
    patch_settings({"ingest_events_per_second": 1, "ingest_burst": 1}, "throttle ingest to 1 event per second")
    debt = [event(f"t-{n}", "api_call", t1) for n in range(50)]
    admitted = c.call("POST", "/v1/events", key=ingest, body={"events": debt}, expect=200,
                      label="a batch larger than the burst is admitted into debt")
    idem_throttled = "idem-throttled-" + secrets.token_hex(4)
    throttled_batch = {"events": [event("t-late", "api_call", t1)]}
    throttled = c.call("POST", "/v1/events", key=ingest, body=throttled_batch,
                       headers={"Idempotency-Key": idem_throttled}, expect=429, label="ingest over the rate limit")
    retry_after = throttled.header("retry-after") or ""
    c.expect_true(throttled, retry_after.isdigit() and 30 <= int(retry_after) <= 60,
                  f"Retry-After {retry_after!r} is not the ~50 s the debt of 49 events needs")
    c.expect_true(admitted, admitted.status == 200 and admitted.json()["accepted"] == 50, "the batch was not stored")
    patch_settings({"ingest_events_per_second": 50000, "ingest_burst": 100000}, "restore the ingest rate")
    retried = c.call("POST", "/v1/events", key=ingest, body=throttled_batch,
                     headers={"Idempotency-Key": idem_throttled}, expect=200, label="retry after a 429")
    c.expect_true(retried, retried.header("idempotent-replayed") is None and retried.status == 200 and
                  retried.json()["accepted"] == 1, "the 429 used up the Idempotency-Key or stored the event")


def plan_body(code, charges, **fields):
    body = {"code": code, "name": fields.pop("name", code.capitalize()), "currency": "USD", "interval": "month",
            "charges": charges}
    body.update(fields)
    return body


def plans(c, admin, make_key, gamma_reader):
    """POST/GET /v1/plans, GET /v1/plans/{code} and POST /v1/plans/{code}/versions on a tenant of their own.

    Returns what the subscription scenario builds on: the tenant, its keys, and a plan priced with a
    recurring fee, seats and a graduated usage charge."""
    tenant = c.call("POST", "/v1/tenants", key=admin, body={"name": "Catalogued", "currency": "USD"}, expect=201,
                    label="create tenant Catalogued").json()
    keys_path = f"/v1/tenants/{tenant['id']}/api-keys"
    write = make_key("catalog write", ["write"], keys_path)["key"]
    read = make_key("catalog read", ["read"], keys_path)["key"]
    ingest = make_key("catalog ingest", ["ingest"], keys_path)["key"]
    for body in ({"code": "api_calls", "event_type": "api_call", "aggregation": "count"},
                 {"code": "payments", "event_type": "payment", "aggregation": "sum", "field": "amount"},
                 {"code": "storage_gb", "event_type": "storage", "aggregation": "max", "field": "gb"}):
        c.call("POST", "/v1/meters", key=write, body=body, expect=201, label=f"create meter {body['code']} of Catalogued")

    # ---- creating plans ----
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    growth_body = plan_body("growth", [
        {"type": "recurring", "amount": "49.00", "timing": "advance"},
        {"type": "seat", "unit_price": "10.00"},
        {"type": "usage", "meter": "api_calls", "model": "graduated", "tiers": [
            {"up_to": "1000", "unit_price": "0", "flat_fee": "5.00"},
            {"up_to": "10000", "unit_price": "0.002"},
            {"up_to": None, "unit_price": "0.0015"}]},
        {"type": "usage", "meter": "payments", "model": "percentage", "rate": "0.029", "fixed_fee": "0.30",
         "min_per_event": "0.50", "max_per_event": "25.00"},
        {"type": "usage", "meter": "storage_gb", "model": "package", "package_size": "100", "package_price": "4.00",
         "free_units": "10"},
    ], effective_from="2026-01-01T00:00:00Z", proration="day", minimum_commitment="100.00")
    idem_plan = "idem-plan-" + secrets.token_hex(4)
    created = c.call("POST", "/v1/plans", key=write, body=growth_body, headers={"Idempotency-Key": idem_plan},
                     expect=201, label="create plan growth")
    growth = created.json() if created.status == 201 else {}
    v1 = (growth.get("versions") or [{}])[0]
    c.expect_true(created, (growth.get("code"), growth.get("name"), growth.get("currency"), growth.get("interval"),
                            growth.get("latest_version"), len(growth.get("versions", []))) ==
                  ("growth", "Growth", "USD", "month", 1, 1), f"the plan does not echo its body: {growth}")
    c.expect_true(created, (v1.get("version"), v1.get("effective_from"), v1.get("proration"), v1.get("rounding"),
                            v1.get("minimum_commitment"), v1.get("bill_usage_during_trial")) ==
                  (1, "2026-01-01T00:00:00Z", "day", "half_even", "100.00", False),
                  f"version 1 differs from the body or the defaults: {v1}")
    c.expect_true(created, v1.get("charges") == growth_body["charges"],
                  f"the charges are not shown as sent: {v1.get('charges')}")
    replay = c.call("POST", "/v1/plans", key=write, body=growth_body, headers={"Idempotency-Key": idem_plan},
                    expect=201, label="replay create plan")
    c.expect_true(replay, replay.header("idempotent-replayed") == "true" and replay.body == created.body,
                  "plan creation was not replayed")
    c.call("POST", "/v1/plans", key=write, body=plan_body("other", []), headers={"Idempotency-Key": idem_plan},
           expect=409, label="plan idempotency key reused")
    taken = c.call("POST", "/v1/plans", key=write, body=dict(growth_body, name="Again"), expect=409,
                   label="create plan with a taken code")
    c.expect_true(taken, taken.status == 409 and taken.json().get("type", "").endswith("/already-exists"),
                  "a taken plan code is not already-exists")

    # Defaults are filled in; a price keeps its digits, money gets the currency's.
    others = {
        "basic": plan_body("basic", [{"type": "recurring", "amount": "5"}]),
        "metered": plan_body("metered", [
            {"type": "usage", "meter": "api_calls", "model": "per_unit", "unit_price": "0.000000000001"},
            {"type": "usage", "meter": "storage_gb", "model": "volume", "tiers": [
                {"up_to": "0.5", "unit_price": "2"}, {"up_to": None, "unit_price": "1", "flat_fee": "1"}]},
            {"type": "usage", "meter": "payments", "model": "package", "package_size": "1000",
             "package_price": "3.5"}], interval="year", rounding="half_up", bill_usage_during_trial=True),
        "empty": plan_body("empty", [], proration="second"),
        "yen": dict(plan_body("yen", [{"type": "recurring", "amount": "500", "timing": "arrears"},
                                      {"type": "seat", "unit_price": "100"}]), currency="JPY"),
    }
    shown = {}
    for code, body in others.items():
        made = c.call("POST", "/v1/plans", key=write, body=body, expect=201, label=f"create plan {code}")
        shown[code] = made.json()["versions"][0] if made.status == 201 else {}
    c.expect_true("create plan basic", shown["basic"].get("charges") ==
                  [{"type": "recurring", "amount": "5.00", "timing": "advance"}] and
                  (shown["basic"].get("proration"), shown["basic"].get("rounding")) == ("second", "half_even") and
                  "minimum_commitment" not in shown["basic"],
                  f"defaults not filled in: {shown['basic']}")
    c.expect_true("create plan metered", shown["metered"].get("charges") == [
        {"type": "usage", "meter": "api_calls", "model": "per_unit", "unit_price": "0.000000000001",
         "free_units": "0"},
        {"type": "usage", "meter": "storage_gb", "model": "volume", "tiers": [
            {"up_to": "0.5", "unit_price": "2"}, {"up_to": None, "unit_price": "1", "flat_fee": "1.00"}]},
        {"type": "usage", "meter": "payments", "model": "package", "package_size": "1000", "package_price": "3.50",
         "free_units": "0"}] and shown["metered"].get("bill_usage_during_trial") is True and
                  (shown["metered"].get("interval"), shown["metered"].get("rounding")) == ("year", "half_up"),
                  f"metered plan: {shown['metered']}")
    c.expect_true("create plan yen", [x.get("amount", x.get("unit_price")) for x in shown["yen"].get("charges", [])]
                  == ["500", "100"], f"yen amounts: {shown['yen']}")

    recurring = [{"type": "recurring", "amount": "5.00"}]

    def usage_charge(**fields):
        return [dict({"type": "usage", "meter": "api_calls"}, **fields)]

    def tiered(model, tiers, meter="api_calls"):
        return [{"type": "usage", "meter": meter, "model": model, "tiers": tiers}]

    # Refused plans, each a 422; `True` where the documented schema can say why.
    invalid_plans = {
        "without code": ({k: v for k, v in plan_body("p", recurring).items() if k != "code"}, True),
        "with a space in the code": (plan_body("a b", recurring), True),
        "with a 65-byte code": (plan_body("p" * 65, recurring), True),
        "without name": ({k: v for k, v in plan_body("p", recurring).items() if k != "name"}, True),
        "without currency": ({k: v for k, v in plan_body("p", recurring).items() if k != "currency"}, True),
        "with an unknown currency": (plan_body("p", recurring, currency="XYZ"), False),
        "without interval": ({k: v for k, v in plan_body("p", recurring).items() if k != "interval"}, True),
        "with interval week": (plan_body("p", recurring, interval="week"), True),
        "without charges": ({k: v for k, v in plan_body("p", recurring).items() if k != "charges"}, True),
        "with 51 charges": (plan_body("p", recurring * 51), True),
        "with proration hour": (plan_body("p", recurring, proration="hour"), True),
        "with rounding banker": (plan_body("p", recurring, rounding="banker"), True),
        "with effective_from yesterday": (plan_body("p", recurring, effective_from="yesterday"), True),
        "with an unknown field": (plan_body("p", recurring, surprise=1), True),
        "with a charge without type": (plan_body("p", [{"amount": "5.00"}]), True),
        "with a discount charge": (plan_body("p", [{"type": "discount"}]), True),
        "with a recurring charge without amount": (plan_body("p", [{"type": "recurring"}]), True),
        "with a numeric amount": (plan_body("p", [{"type": "recurring", "amount": 5}]), True),
        "with timing later": (plan_body("p", [{"type": "recurring", "amount": "5.00", "timing": "later"}]), True),
        "with a price in exponent form": (plan_body("p", [{"type": "seat", "unit_price": "1e3"}]), True),
        "with a negative fee": (plan_body("p", [{"type": "recurring", "amount": "-1.00"}]), True),
        "with a fee of three decimals": (plan_body("p", [{"type": "recurring", "amount": "5.001"}]), False),
        "with a minimum of three decimals": (plan_body("p", recurring, minimum_commitment="0.001"), False),
        "with a usage charge without model": (plan_body("p", usage_charge(unit_price="1")), True),
        "with tiers on a per_unit charge": (plan_body("p", usage_charge(model="per_unit", unit_price="1", tiers=[])),
                                            True),
        "with a 13-digit unit price": (plan_body("p", usage_charge(model="per_unit", unit_price="0.0000000000001")),
                                       True),
        "with negative free units": (plan_body("p", usage_charge(model="per_unit", unit_price="1",
                                                                 free_units="-5")), True),
        "with no tiers": (plan_body("p", tiered("graduated", [])), True),
        "with 101 tiers": (plan_body("p", tiered("volume", [{"up_to": str(n + 1), "unit_price": "1"}
                                                            for n in range(100)] +
                                                 [{"up_to": None, "unit_price": "1"}])), True),
        "with a tier without up_to": (plan_body("p", tiered("volume", [{"unit_price": "1"}])), True),
        "with a closed last tier": (plan_body("p", tiered("graduated", [{"up_to": "100", "unit_price": "1"}])),
                                    False),
        "with tiers not ascending": (plan_body("p", tiered("graduated", [
            {"up_to": "100", "unit_price": "1"}, {"up_to": "50", "unit_price": "0.5"},
            {"up_to": None, "unit_price": "0.1"}])), False),
        "with an open tier before the last": (plan_body("p", tiered("volume", [
            {"up_to": None, "unit_price": "1"}, {"up_to": None, "unit_price": "0.5"}])), False),
        "with a tier up to zero": (plan_body("p", tiered("volume", [
            {"up_to": "0", "unit_price": "1"}, {"up_to": None, "unit_price": "0.5"}])), False),
        "with a package of zero units": (plan_body("p", usage_charge(model="package", package_size="0",
                                                                     package_price="1.00")), False),
        "with min_per_event above max_per_event": (plan_body("p", usage_charge(
            meter="payments", model="percentage", rate="0.01", min_per_event="2.00", max_per_event="1.00")), False),
        "with an unknown meter": (plan_body("p", usage_charge(meter="ghost", model="per_unit", unit_price="1")), False),
        "with a percentage of a count meter": (plan_body("p", usage_charge(model="percentage", rate="0.01")), False),
        "with a meter priced twice": (plan_body("p", usage_charge(model="per_unit", unit_price="1") * 2), False),
        "with two seat charges": (plan_body("p", [{"type": "seat", "unit_price": "1.00"}] * 2), False),
    }
    for what, (body, schema_says) in invalid_plans.items():
        c.call("POST", "/v1/plans", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"create plan {what}")
    every = c.call("POST", "/v1/plans", key=write, body=plan_body("p", [
        {"type": "recurring", "amount": "-1.00"},
        {"type": "usage", "meter": "ghost", "model": "per_unit", "unit_price": "1"},
        {"type": "usage", "meter": "api_calls", "model": "graduated", "tiers": [{"up_to": "10", "unit_price": "1"}]}]),
        expect=422, request_invalid=True, label="create plan with three problems")
    found = {(e.get("field"), e.get("type")) for e in every.json().get("errors", [])} if every.status == 422 else set()
    c.expect_true(every, {("charges[0].amount", "negative_price"), ("charges[1].meter", "unknown_meter"),
                          ("charges[2].tiers[0].up_to", "tier_last_not_open")} <= found,
                  f"not every problem is reported: {sorted(found)}")
    c.call("POST", "/v1/plans", key=write, raw="{nope", expect=400, label="create plan with bad JSON")
    c.call("POST", "/v1/plans", key=write, body=plan_body("p", recurring), content_type="text/plain", expect=415,
           label="create plan as text/plain")
    c.call("POST", "/v1/plans", key=read, body=plan_body("p", recurring), expect=403, label="create plan with scope read")
    c.call("POST", "/v1/plans", key=ingest, body=plan_body("p", recurring), expect=403,
           label="create plan with scope ingest")
    c.call("POST", "/v1/plans", key=admin, headers=admin_read(tenant["id"]), body=plan_body("p", recurring),
           expect=403, label="admin creates a plan")
    c.call("POST", "/v1/plans", body=plan_body("p", recurring), expect=401, label="create plan without a key")

    # ---- versions ----
    later = rfc3339(now + datetime.timedelta(days=30))
    v2_body = {"name": "Growth 2", "currency": "USD", "interval": "month", "effective_from": later,
               "charges": [{"type": "recurring", "amount": "59.00"}]}
    idem_version = "idem-version-" + secrets.token_hex(4)
    added = c.call("POST", "/v1/plans/growth/versions", key=write, body=v2_body,
                   headers={"Idempotency-Key": idem_version}, expect=201, label="add plan version 2")
    growth2 = added.json() if added.status == 201 else {}
    c.expect_true(added, growth2.get("latest_version") == 2 and growth2.get("name") == "Growth 2" and
                  [v.get("version") for v in growth2.get("versions", [])] == [1, 2] and
                  growth2.get("versions", [{}])[0] == v1 and growth2.get("versions")[1].get("effective_from") == later,
                  f"version 2 not added after version 1: {added.body[:600]!r}")
    again = c.call("POST", "/v1/plans/growth/versions", key=write, body=v2_body,
                   headers={"Idempotency-Key": idem_version}, expect=201, label="replay add plan version")
    c.expect_true(again, again.header("idempotent-replayed") == "true" and again.body == added.body,
                  "adding a version was not replayed")
    c.call("POST", "/v1/plans/growth/versions", key=write, body=dict(v2_body, name="Other"),
           headers={"Idempotency-Key": idem_version}, expect=409, label="plan version idempotency key reused")
    v3_body = dict(v2_body, code="growth", name="Growth 3", effective_from=rfc3339(now + datetime.timedelta(days=60)))
    c.call("POST", "/v1/plans/growth/versions", key=write, body=v3_body, expect=201,
           label="add plan version 3 naming its code")
    for what, body, schema_says in (
            ("in another currency", dict(v2_body, currency="EUR", effective_from=rfc3339(
                now + datetime.timedelta(days=90))), False),
            ("with another interval", dict(v2_body, interval="year", effective_from=rfc3339(
                now + datetime.timedelta(days=90))), False),
            ("before the latest", v2_body, False),
            ("in the past", dict(v2_body, effective_from="2026-02-01T00:00:00Z"), False),
            ("naming another plan", dict(v2_body, code="basic", effective_from=rfc3339(
                now + datetime.timedelta(days=90))), False),
            ("without charges", {k: v for k, v in v2_body.items() if k != "charges"}, True),
            ("with an unknown meter", dict(v2_body, effective_from=rfc3339(now + datetime.timedelta(days=90)),
                                           charges=usage_charge(meter="ghost", model="per_unit", unit_price="1")),
             False)):
        c.call("POST", "/v1/plans/growth/versions", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"add plan version {what}")
    c.call("POST", "/v1/plans/nothing/versions", key=write, body=v2_body, expect=404,
           label="add a version to an unknown plan")
    c.call("POST", "/v1/plans/growth/versions", key=gamma_reader["key"], body=v2_body, expect=403,
           label="add plan version with another tenant's read key")
    c.call("POST", "/v1/plans/growth/versions", key=read, body=v2_body, expect=403,
           label="add plan version with scope read")
    c.call("POST", "/v1/plans/growth/versions", body=v2_body, expect=401, label="add plan version without a key")
    c.call("POST", "/v1/plans/growth/versions", key=write, raw="[1]", expect=400,
           label="add plan version with an array body")
    c.call("POST", "/v1/plans/growth/versions", key=write, body=v2_body, content_type="text/plain", expect=415,
           label="add plan version as text/plain")
    c.call("GET", "/v1/plans/growth/versions", key=read, expect=405, label="GET plan versions")

    # ---- reading plans ----
    got = c.call("GET", "/v1/plans/growth", key=read, expect=200, label="get plan")
    c.expect_true(got, got.status == 200 and got.json()["latest_version"] == 3 and
                  [v["name"] for v in got.json()["versions"]] == ["Growth", "Growth 2", "Growth 3"],
                  f"GET plan does not show every version: {got.body[:400]!r}")
    c.call("GET", "/v1/plans/growth", key=write, expect=200, label="get plan with scope write")
    admin_got = c.call("GET", "/v1/plans/growth", key=admin, headers=admin_read(tenant["id"]), expect=200,
                       label="admin reads a plan")
    c.expect_true(admin_got, admin_got.body == got.body, "the admin's read differs")
    c.call("GET", "/v1/plans/nothing", key=read, expect=404, label="get unknown plan")
    c.call("GET", "/v1/plans/growth", key=gamma_reader["key"], expect=404, label="another tenant gets the plan")
    c.call("GET", "/v1/plans/growth", key=ingest, expect=403, label="get plan with scope ingest")
    c.call("GET", "/v1/plans/growth", key=admin, expect=403, label="admin gets a plan without headers")
    c.call("GET", "/v1/plans/growth", expect=401, label="get plan without a key")
    c.call("GET", "/v1/plans/%zz", key=read, expect=400, label="get plan with a bad percent-encoding")
    c.call("DELETE", "/v1/plans/growth", key=write, expect=405, label="DELETE plan")

    listed = c.call("GET", "/v1/plans", key=read, expect=200, label="list plans")
    codes = sorted(["growth"] + list(others))
    listed_plans = listed.json()["data"] if listed.status == 200 else []
    c.expect_true(listed, [p["code"] for p in listed_plans] == codes and listed.json()["next_cursor"] is None,
                  f"plans are not every code in order: {[p['code'] for p in listed_plans]}")
    listed_growth = next((p for p in listed_plans if p["code"] == "growth"), {})
    c.expect_true(listed, listed_growth.get("latest") == got.json()["versions"][-1] and
                  listed_growth.get("latest_version") == 3, f"a listed plan lacks its latest version: {listed_growth}")
    paged = follow_pages(c, "/v1/plans", read, limit=2, label="list plans")
    c.expect_true("list plans paged", [p["code"] for p in paged] == codes, "paging plans differs")
    c.call("GET", "/v1/plans", key=write, expect=200, label="list plans with scope write")
    c.call("GET", "/v1/plans", key=admin, headers=admin_read(tenant["id"]), expect=200, label="admin lists plans")
    others_list = c.call("GET", "/v1/plans", key=gamma_reader["key"], expect=200, label="another tenant lists plans")
    c.expect_true(others_list, others_list.json() == {"data": [], "next_cursor": None},
                  "another tenant sees the plans")
    c.call("GET", "/v1/plans?limit=5000", key=read, expect=422, label="list plans limit=5000")
    c.call("GET", "/v1/plans", key=ingest, expect=403, label="list plans with scope ingest")
    c.call("GET", "/v1/plans", expect=401, label="list plans without a key")
    c.call("PUT", "/v1/plans", key=write, body=growth_body, expect=405, label="PUT plans")

    audit = c.call("GET", "/v1/audit?target=growth", key=read, expect=200, label="audit of plan growth")
    actions = [r["action"] for r in audit.json()["data"]] if audit.status == 200 else []
    c.expect_true(audit, actions == ["plan.created", "plan.version_created", "plan.version_created"],
                  f"plan writes are not audited once each: {actions}")
    return {"tenant": tenant, "write": write, "read": read, "ingest": ingest}


def body_of(exchange, status=None):
    """The JSON body of a success (or of `status`), else {} — so that a failed step is reported, not fatal."""
    wanted = (status,) if status is not None else tuple(range(200, 300))
    return exchange.json() if exchange.status in wanted else {}


def subscriptions(c, admin, catalog, gamma_reader):
    """Subscriptions and their upcoming invoice, on the plans tenant: a plan with a recurring fee, seats and
    a graduated usage charge; subscribe, change seats now, read, list, upcoming, cancel at period end."""
    tenant, write, read, ingest = catalog["tenant"], catalog["write"], catalog["read"], catalog["ingest"]
    c.call("POST", "/v1/plans", key=write, body=plan_body("scale", [
        {"type": "recurring", "amount": "20.00"},
        {"type": "seat", "unit_price": "5.00"},
        {"type": "usage", "meter": "api_calls", "model": "graduated", "tiers": [
            {"up_to": "100", "unit_price": "0.10"}, {"up_to": None, "unit_price": "0.05", "flat_fee": "1.00"}]},
    ], effective_from="2026-01-01T00:00:00Z"), expect=201, label="create plan scale")
    for external_id, currency in (("sub-1", "USD"), ("sub-2", "USD"), ("sub-euro", "EUR")):
        c.call("POST", "/v1/customers", key=write, body={"external_id": external_id, "name": external_id,
                                                         "currency": currency},
               expect=201, label=f"create customer {external_id}")
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=5)

    # ---- subscribing ----
    create_body = {"customer": "sub-1", "plan": "scale", "start": rfc3339(start)}
    idem_subscription = "idem-subscription-" + secrets.token_hex(4)
    created = c.call("POST", "/v1/subscriptions", key=write, body=create_body,
                     headers={"Idempotency-Key": idem_subscription}, expect=201, label="create subscription")
    subscription = body_of(created)
    sub_id = subscription.get("id", "sub_missing")
    period = subscription.get("current_period") or {}
    c.expect_true(created, (subscription.get("customer"), subscription.get("plan"), subscription.get("seats"),
                            subscription.get("status"), subscription.get("start"), subscription.get("billing_anchor"),
                            subscription.get("trial_end"), subscription.get("ends_at")) ==
                  ("sub-1", "scale", 1, "active", rfc3339(start), rfc3339(start), None, None),
                  f"the subscription does not echo its body and defaults: {created.body[:600]!r}")
    c.expect_true(created, period.get("start") == rfc3339(start) and
                  [(p.get("effective_from"), p.get("plan"), p.get("seats")) for p in subscription.get("phases", [])]
                  == [(rfc3339(start), "scale", 1)], f"period or phases: {created.body[:600]!r}")
    replay = c.call("POST", "/v1/subscriptions", key=write, body=create_body,
                    headers={"Idempotency-Key": idem_subscription}, expect=201, label="replay create subscription")
    c.expect_true(replay, replay.header("idempotent-replayed") == "true" and replay.body == created.body,
                  "subscription creation was not replayed")
    c.call("POST", "/v1/subscriptions", key=write, body=dict(create_body, seats=2),
           headers={"Idempotency-Key": idem_subscription}, expect=409, label="subscription idempotency key reused")
    c.call("POST", "/v1/subscriptions", key=write, body=create_body, expect=409,
           label="subscribe a customer whose meter another subscription bills")
    c.call("POST", "/v1/subscriptions", key=write, body=dict(create_body, customer="nobody"), expect=404,
           label="subscribe an unknown customer")
    c.call("POST", "/v1/subscriptions", key=write, body=dict(create_body, customer="sub-2", plan="nothing"),
           expect=404, label="subscribe to an unknown plan")
    for what, body, schema_says in (
            ("without start", {"customer": "sub-2", "plan": "scale"}, True),
            ("without customer", {"plan": "scale", "start": rfc3339(start)}, True),
            ("with start yesterday", dict(create_body, customer="sub-2", start="yesterday"), True),
            ("with -1 seats", dict(create_body, customer="sub-2", seats=-1), True),
            ("with seats as a string", dict(create_body, customer="sub-2", seats="2"), True),
            ("with a billion and one seats", dict(create_body, customer="sub-2", seats=1_000_000_001), True),
            ("with an unknown field", dict(create_body, customer="sub-2", colour="red"), True),
            ("with trial_end before start", dict(create_body, customer="sub-2",
                                                 trial_end=rfc3339(start - datetime.timedelta(days=1))), False),
            ("with an anchor two months on", dict(create_body, customer="sub-2",
                                                  billing_anchor=rfc3339(start + datetime.timedelta(days=62))), False),
            ("in another currency than the plan's", dict(create_body, customer="sub-euro"), False),
            ("before the plan's first version", dict(create_body, customer="sub-2", start="2025-06-01T00:00:00Z"),
             False)):
        c.call("POST", "/v1/subscriptions", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"create subscription {what}")
    c.call("POST", "/v1/subscriptions", key=write, raw="{", expect=400, label="create subscription with bad JSON")
    c.call("POST", "/v1/subscriptions", key=write, body=create_body, content_type="text/plain", expect=415,
           label="create subscription as text/plain")
    c.call("POST", "/v1/subscriptions", key=read, body=create_body, expect=403,
           label="create subscription with scope read")
    c.call("POST", "/v1/subscriptions", key=admin, headers=admin_read(tenant["id"]), body=create_body, expect=403,
           label="admin creates a subscription")
    c.call("POST", "/v1/subscriptions", body=create_body, expect=401, label="create subscription without a key")

    # Usage in the period: 150 calls, 100 in the first tier and 50 in the second.
    calls = [{"event_id": f"sub-call-{n}", "customer": "sub-1", "type": "api_call",
              "timestamp": rfc3339(start + datetime.timedelta(hours=1, minutes=n))} for n in range(150)]
    sent = c.call("POST", "/v1/events", key=ingest, body={"events": calls}, expect=200,
                  label="ingest the subscription's usage")
    c.expect_true(sent, body_of(sent).get("accepted") == 150, f"usage not accepted: {sent.body[:300]!r}")

    # ---- changing seats now ----
    idem_change = "idem-change-" + secrets.token_hex(4)
    change_body = {"seats": 3, "effective": "now"}
    changed = c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, body=change_body,
                     headers={"Idempotency-Key": idem_change}, expect=200, label="change seats now")
    after_change = body_of(changed)
    phases = after_change.get("phases", [])
    c.expect_true(changed, after_change.get("seats") == 3 and len(phases) == 2 and phases[-1].get("seats") == 3 and
                  phases[-1].get("proration") == "prorate" and phases[-1].get("plan") == "scale",
                  f"the change is not a new phase: {changed.body[:600]!r}")
    again = c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, body=change_body,
                   headers={"Idempotency-Key": idem_change}, expect=200, label="replay change seats")
    c.expect_true(again, again.header("idempotent-replayed") == "true" and again.body == changed.body,
                  "the change was not replayed")
    for what, body, schema_says in (
            ("effective tomorrow", {"seats": 2, "effective": "tomorrow"}, True),
            ("without effective", {"seats": 2}, True),
            ("to -1 seats", {"seats": -1, "effective": "now"}, True),
            ("with proration always", {"seats": 2, "effective": "now", "proration": "always"}, True),
            ("with an unknown field", {"seats": 2, "effective": "now", "colour": "red"}, True),
            ("without plan or seats", {"effective": "now"}, True),
            ("effective in the past", {"seats": 2, "effective": rfc3339(start)}, False),
            ("to what it is already", {"plan": "scale", "seats": 3, "effective": "now"}, False)):
        c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, body=body, expect=422,
               request_invalid=schema_says, label=f"change subscription {what}")
    c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, body={"plan": "nothing", "effective": "now"},
           expect=404, label="change to an unknown plan")
    c.call("POST", "/v1/subscriptions/sub_nothing/changes", key=write, body=change_body, expect=404,
           label="change an unknown subscription")
    c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, raw="[]", expect=400,
           label="change subscription with an array body")
    c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, body=change_body, content_type="text/plain",
           expect=415, label="change subscription as text/plain")
    c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=read, body=change_body, expect=403,
           label="change subscription with scope read")
    c.call("POST", f"/v1/subscriptions/{sub_id}/changes", body=change_body, expect=401,
           label="change subscription without a key")

    # ---- reading ----
    got = c.call("GET", f"/v1/subscriptions/{sub_id}", key=read, expect=200, label="get subscription")
    c.expect_true(got, body_of(got) == after_change, "GET subscription differs from the change's answer")
    c.call("GET", f"/v1/subscriptions/{sub_id}", key=write, expect=200, label="get subscription with scope write")
    c.call("GET", f"/v1/subscriptions/{sub_id}", key=admin, headers=admin_read(tenant["id"]), expect=200,
           label="admin reads a subscription")
    c.call("GET", "/v1/subscriptions/sub_nothing", key=read, expect=404, label="get unknown subscription")
    c.call("GET", f"/v1/subscriptions/{sub_id}", key=gamma_reader["key"], expect=404,
           label="another tenant gets the subscription")
    c.call("GET", f"/v1/subscriptions/{sub_id}", key=ingest, expect=403, label="get subscription with scope ingest")
    c.call("GET", f"/v1/subscriptions/{sub_id}", expect=401, label="get subscription without a key")
    c.call("DELETE", f"/v1/subscriptions/{sub_id}", key=write, expect=405, label="DELETE subscription")

    listed = c.call("GET", "/v1/subscriptions?customer=sub-1", key=read, expect=200, label="list subscriptions")
    c.expect_true(listed, body_of(listed) == {"data": [after_change], "next_cursor": None},
                  f"the customer's subscriptions: {listed.body[:400]!r}")
    none = c.call("GET", "/v1/subscriptions?customer=sub-2", key=read, expect=200,
                  label="list subscriptions of a customer without any")
    c.expect_true(none, body_of(none) == {"data": [], "next_cursor": None}, f"sub-2 has: {none.body[:300]!r}")
    c.call("GET", "/v1/subscriptions?customer=sub-1", key=admin, headers=admin_read(tenant["id"]), expect=200,
           label="admin lists subscriptions")
    c.call("GET", "/v1/subscriptions?customer=sub-1&limit=0", key=read, expect=422, label="list subscriptions limit=0")
    c.call("GET", "/v1/subscriptions", key=read, expect=422, label="list subscriptions without customer")
    c.call("GET", "/v1/subscriptions?customer=nobody", key=read, expect=404,
           label="list subscriptions of an unknown customer")
    c.call("GET", "/v1/subscriptions?customer=sub-1", key=ingest, expect=403,
           label="list subscriptions with scope ingest")
    c.call("GET", "/v1/subscriptions?customer=sub-1", expect=401, label="list subscriptions without a key")

    # ---- the upcoming invoice ----
    upcoming = c.call("GET", f"/v1/subscriptions/{sub_id}/upcoming", key=read, expect=200, label="upcoming invoice")
    invoice = body_of(upcoming)
    lines = invoice.get("lines", [])
    usage_lines = [line for line in lines if line.get("charge_type") == "usage"]
    c.expect_true(upcoming, (invoice.get("subscription"), invoice.get("currency"), invoice.get("period_start"),
                             invoice.get("period_end"), invoice.get("billing_instant")) ==
                  (sub_id, "USD", period.get("start"), period.get("end"), period.get("end")),
                  f"the upcoming invoice is not the current period's: {upcoming.body[:400]!r}")
    # One usage line per part of the period (split by the change): the 150 calls came before it.
    c.expect_true(upcoming, [(u.get("meter"), u.get("quantity"), u.get("amount")) for u in usage_lines] ==
                  [("api_calls", "150", "13.50"), ("api_calls", "0", "0.00")] and
                  [(t.get("units"), t.get("amount")) for t in
                   usage_lines[0].get("explanation", {}).get("usage", {}).get("tiers", [])] ==
                  [("100", "10.00"), ("50", "3.50")],
                  f"150 calls are not 100 × 0.10 + 50 × 0.05 + 1.00 before the change: {usage_lines}")
    c.expect_true(upcoming, any(line.get("charge_type") == "proration" and
                                line.get("explanation", {}).get("credit_of") == "seat" for line in lines),
                  f"the seat change has no proration credit: {[line.get('charge_type') for line in lines]}")
    total = sum(decimal.Decimal(line.get("amount", "0")) for line in lines)
    c.expect_true(upcoming, invoice.get("subtotal") == invoice.get("total") and lines and
                  decimal.Decimal(invoice.get("subtotal", "NaN")) == total,
                  f"subtotal is not the sum of the lines: {invoice.get('subtotal')} vs {total}")
    c.call("GET", f"/v1/subscriptions/{sub_id}/upcoming", key=admin, headers=admin_read(tenant["id"]), expect=200,
           label="admin reads an upcoming invoice")
    c.call("GET", "/v1/subscriptions/sub_nothing/upcoming", key=read, expect=404, label="upcoming of nothing")
    c.call("GET", f"/v1/subscriptions/{sub_id}/upcoming", key=ingest, expect=403,
           label="upcoming invoice with scope ingest")
    c.call("GET", f"/v1/subscriptions/{sub_id}/upcoming", expect=401, label="upcoming invoice without a key")

    # ---- cancelling ----
    idem_cancel = "idem-cancel-" + secrets.token_hex(4)
    canceled = c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, body={"at": "period_end"},
                      headers={"Idempotency-Key": idem_cancel}, expect=200, label="cancel at period end")
    c.expect_true(canceled, body_of(canceled).get("ends_at") == period.get("end") and
                  body_of(canceled).get("status") == "active",
                  f"cancelling at the period's end: {canceled.body[:400]!r}")
    replayed = c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, body={"at": "period_end"},
                      headers={"Idempotency-Key": idem_cancel}, expect=200, label="replay cancel")
    c.expect_true(replayed, replayed.header("idempotent-replayed") == "true", "the cancellation was not replayed")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, body={"at": "later"}, expect=422,
           request_invalid=True, label="cancel at later")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, body={}, expect=422, request_invalid=True,
           label="cancel without at")
    c.call("POST", "/v1/subscriptions/sub_nothing/cancel", key=write, body={"at": "now"}, expect=404,
           label="cancel an unknown subscription")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, raw="nope", expect=400,
           label="cancel with bad JSON")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, body={"at": "now"}, content_type="text/plain",
           expect=415, label="cancel as text/plain")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=read, body={"at": "now"}, expect=403,
           label="cancel with scope read")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", body={"at": "now"}, expect=401, label="cancel without a key")
    c.call("POST", f"/v1/subscriptions/{sub_id}/cancel", key=write, body={"at": "now"}, expect=409,
           label="cancel a cancelled subscription")
    c.call("POST", f"/v1/subscriptions/{sub_id}/changes", key=write, body={"seats": 2, "effective": "period_end"},
           expect=409, label="change a subscription when it ends")

    # An ended subscription takes no change, no second cancellation, and has no upcoming invoice.
    ended = body_of(c.call("POST", "/v1/subscriptions", key=write,
                           body={"customer": "sub-2", "plan": "scale", "start": rfc3339(start), "seats": 2},
                           expect=201, label="create a second subscription"))
    ended_id = ended.get("id", "sub_missing")
    now_canceled = c.call("POST", f"/v1/subscriptions/{ended_id}/cancel", key=write, body={"at": "now"}, expect=200,
                          label="cancel now")
    c.expect_true(now_canceled, body_of(now_canceled).get("status") == "canceled" and
                  body_of(now_canceled).get("current_period") is None,
                  f"a subscription cancelled now: {now_canceled.body[:400]!r}")
    c.call("POST", f"/v1/subscriptions/{ended_id}/cancel", key=write, body={"at": "now"}, expect=409,
           label="cancel an ended subscription")
    c.call("POST", f"/v1/subscriptions/{ended_id}/changes", key=write, body={"seats": 1, "effective": "now"},
           expect=409, label="change an ended subscription")
    c.call("GET", f"/v1/subscriptions/{ended_id}/upcoming", key=read, expect=409,
           label="upcoming invoice of an ended subscription")

    # A subscription that starts later: its upcoming invoice is the first, at the start; canceled
    # before the start, it ends there, canceled at once, and has no upcoming invoice.
    later = start + datetime.timedelta(days=15)
    scheduled = c.call("POST", "/v1/subscriptions", key=write,
                       body={"customer": "sub-2", "plan": "scale", "start": rfc3339(later), "seats": 4},
                       expect=201, label="create a subscription that starts later")
    scheduled_id = body_of(scheduled).get("id", "sub_missing")
    c.expect_true(scheduled, (body_of(scheduled).get("status"), body_of(scheduled).get("current_period")) ==
                  ("scheduled", None), f"a later start: {scheduled.body[:400]!r}")
    first = c.call("GET", f"/v1/subscriptions/{scheduled_id}/upcoming", key=read, expect=200,
                   label="upcoming invoice before the start")
    first_invoice = body_of(first)
    c.expect_true(first, (first_invoice.get("billing_instant"), first_invoice.get("usage_until"),
                          first_invoice.get("period_start"), first_invoice.get("subtotal")) ==
                  (rfc3339(later), rfc3339(later), rfc3339(later), "40.00") and
                  sorted(line.get("charge_type") for line in first_invoice.get("lines", [])) == ["recurring", "seat"],
                  f"the first invoice is not the advance fees at the start (20.00 + 4 × 5.00): {first.body[:600]!r}")
    before_start = c.call("POST", f"/v1/subscriptions/{scheduled_id}/cancel", key=write, body={"at": "now"},
                          expect=200, label="cancel before the start")
    c.expect_true(before_start, (body_of(before_start).get("status"), body_of(before_start).get("ends_at")) ==
                  ("canceled", rfc3339(later)), f"canceled before its start: {before_start.body[:400]!r}")
    c.call("GET", f"/v1/subscriptions/{scheduled_id}/upcoming", key=read, expect=409,
           label="upcoming invoice of a subscription canceled before its start")


def billing(c, admin, make_key, gamma_reader):
    """Billing runs, invoices, credit grants, balances, charges, payments, voids and the ledger's reads, on a
    tenant of its own: b-1 and b-2 subscribe to a plan (20.00 a month in advance, 5.00 a seat) from five days
    ago, b-3 has a one-off charge alone. Every amount is checked by hand."""
    tenant = c.call("POST", "/v1/tenants", key=admin, body={"name": "Billed", "currency": "USD"}, expect=201,
                    label="create tenant Billed").json()
    keys_path = f"/v1/tenants/{tenant['id']}/api-keys"
    write = make_key("billing write", ["write"], keys_path)["key"]
    read = make_key("billing read", ["read"], keys_path)["key"]
    ingest = make_key("billing ingest", ["ingest"], keys_path)["key"]
    operator = make_key("billing operator", ["operator"], keys_path)["key"]
    admin_headers = admin_read(tenant["id"], "contract test: billing review")
    c.call("POST", "/v1/plans", key=write, body=plan_body("monthly", [
        {"type": "recurring", "amount": "20.00"}, {"type": "seat", "unit_price": "5.00"}],
        effective_from="2026-01-01T00:00:00Z"), expect=201, label="create plan monthly")
    for external_id in ("b-1", "b-2", "b-3"):
        c.call("POST", "/v1/customers", key=write, body={"external_id": external_id, "name": external_id},
               expect=201, label=f"create customer {external_id} of Billed")
    now = datetime.datetime.now(datetime.timezone.utc)
    start = rfc3339(now.replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=5))
    for external_id in ("b-1", "b-2"):
        c.call("POST", "/v1/subscriptions", key=write,
               body={"customer": external_id, "plan": "monthly", "start": start},
               expect=201, label=f"subscribe {external_id}")

    # ---- credit grants: 10.00 of promotional credit for b-1 ----
    grant_body = {"customer": "b-1", "amount": "10.00", "currency": "USD", "kind": "promotional",
                  "reason_code": "goodwill"}
    idem_grant = "idem-grant-" + secrets.token_hex(4)
    granted = c.call("POST", "/v1/credit-grants", key=write, body=grant_body,
                     headers={"Idempotency-Key": idem_grant}, expect=201, label="grant credit")
    grant = body_of(granted)
    c.expect_true(granted, (grant.get("customer"), grant.get("kind"), grant.get("amount"), grant.get("remaining"),
                            grant.get("priority"), grant.get("reason_code"), grant.get("source"),
                            grant.get("expires_at")) ==
                  ("b-1", "promotional", "10.00", "10.00", 0, "goodwill", "api", None),
                  f"the grant does not echo its body and defaults: {granted.body[:400]!r}")
    replayed = c.call("POST", "/v1/credit-grants", key=write, body=grant_body,
                      headers={"Idempotency-Key": idem_grant}, expect=201, label="replay grant credit")
    c.expect_true(replayed, replayed.header("idempotent-replayed") == "true" and replayed.body == granted.body,
                  "the grant was not replayed")
    for what, body, schema_says in (
            ("for an unknown customer", dict(grant_body, customer="nobody"), False),
            ("of -1.00", dict(grant_body, amount="-1.00"), True),
            ("of 0", dict(grant_body, amount="0"), True),
            ("of 1.001", dict(grant_body, amount="1.001"), False),
            ("in another currency", dict(grant_body, currency="EUR"), False),
            ("of kind gift", dict(grant_body, kind="gift"), True),
            ("without kind", {k: v for k, v in grant_body.items() if k != "kind"}, True),
            ("with priority -1", dict(grant_body, priority=-1), True),
            ("expiring in the past", dict(grant_body, expires_at="2020-01-01T00:00:00Z"), False),
            ("with an unknown reason code", dict(grant_body, reason_code="because"), False),
            ("with an unknown field", dict(grant_body, colour="red"), True)):
        c.call("POST", "/v1/credit-grants", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"grant credit {what}")
    c.call("POST", "/v1/credit-grants", key=write, raw="{", expect=400, label="grant credit with bad JSON")
    c.call("POST", "/v1/credit-grants", key=write, body=grant_body, content_type="text/plain", expect=415,
           label="grant credit as text/plain")
    c.call("POST", "/v1/credit-grants", key=read, body=grant_body, expect=403, label="grant credit with scope read")
    c.call("POST", "/v1/credit-grants", key=admin, headers=admin_headers, body=grant_body, expect=403,
           label="admin grants credit")
    c.call("POST", "/v1/credit-grants", body=grant_body, expect=401, label="grant credit without a key")
    c.call("GET", "/v1/credit-grants", key=read, expect=405, label="GET credit-grants")

    # ---- a one-off charge of 15.00 for b-3, who has no subscription ----
    charge_body = {"customer": "b-3", "charge_key": "setup", "amount": "15.00", "currency": "USD",
                   "description": "Setup fee"}
    made = c.call("POST", "/v1/charges", key=write, body=charge_body, expect=201, label="create charge")
    charge = body_of(made)
    c.expect_true(made, (charge.get("customer"), charge.get("charge_key"), charge.get("amount"),
                         charge.get("invoice")) == ("b-3", "setup", "15.00", None), f"the charge: {made.body[:400]!r}")
    again = c.call("POST", "/v1/charges", key=write, body=charge_body, expect=200, label="create the same charge again")
    c.expect_true(again, body_of(again) == charge, "the same charge again is not the charge made")
    c.call("POST", "/v1/charges", key=write, body=dict(charge_body, amount="16.00"), expect=409,
           label="create charge with a taken key")
    for what, body, schema_says in (
            ("for an unknown customer", dict(charge_body, customer="nobody", charge_key="x"), False),
            ("of 0.00", dict(charge_body, amount="0.00", charge_key="x"), True),
            ("in another currency", dict(charge_body, currency="EUR", charge_key="x"), False),
            ("with a key with a space", dict(charge_body, charge_key="a b"), True),
            ("without description", {k: v for k, v in charge_body.items() if k != "description"}, True),
            ("with an unknown field", dict(charge_body, charge_key="x", colour="red"), True)):
        c.call("POST", "/v1/charges", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"create charge {what}")
    c.call("POST", "/v1/charges", key=write, raw="[]", expect=400, label="create charge with an array body")
    c.call("POST", "/v1/charges", key=write, body=charge_body, content_type="text/plain", expect=415,
           label="create charge as text/plain")
    c.call("POST", "/v1/charges", key=ingest, body=charge_body, expect=403, label="create charge with scope ingest")
    c.call("POST", "/v1/charges", body=charge_body, expect=401, label="create charge without a key")

    # ---- billing runs ----
    # b-2's first invoice stays a draft; b-1's is finalized: 20.00 + 1 seat × 5.00 = 25.00 at the start, the
    # 10.00 of credit drawn, 15.00 due; b-3's charge, with no subscription to wait for, on an invoice of its own.
    idem_run = "idem-run-" + secrets.token_hex(4)
    draft_run = c.call("POST", "/v1/billing-runs", key=write, body={"customer": "b-2", "finalize": False},
                       headers={"Idempotency-Key": idem_run}, expect=201, label="bill b-2 without finalizing")
    drafts = body_of(draft_run).get("invoices", [])
    c.expect_true(draft_run, [(i.get("customer"), i.get("status"), i.get("number"), i.get("total"),
                               i.get("billing_instant")) for i in drafts] == [("b-2", "draft", None, "25.00", start)],
                  f"b-2's first invoice is not a 25.00 draft at the start: {draft_run.body[:600]!r}")
    replay_run = c.call("POST", "/v1/billing-runs", key=write, body={"customer": "b-2", "finalize": False},
                        headers={"Idempotency-Key": idem_run}, expect=201, label="replay a billing run")
    c.expect_true(replay_run, replay_run.header("idempotent-replayed") == "true" and replay_run.body == draft_run.body,
                  "the billing run was not replayed")
    draft_id = drafts[0].get("id", "inv_missing") if drafts else "inv_missing"
    run = c.call("POST", "/v1/billing-runs", key=write, body={"customer": "b-1"}, expect=201, label="bill b-1")
    report = body_of(run)
    c.expect_true(run, (report.get("invoices_created"), report.get("invoices_finalized"), report.get("finalize"),
                        [(i.get("customer"), i.get("status"), i.get("number"), i.get("total"),
                          i.get("credits_applied"), i.get("amount_due")) for i in report.get("invoices", [])]) ==
                  (1, 1, True, [("b-1", "finalized", "INV-000001", "25.00", "10.00", "15.00")]),
                  f"b-1's invoice: {run.body[:600]!r}")
    invoice_id = report["invoices"][0]["id"] if report.get("invoices") else "inv_missing"
    again = c.call("POST", "/v1/billing-runs", key=write, body={"customer": "b-1"}, expect=201, label="bill b-1 again")
    c.expect_true(again, (body_of(again).get("invoices_created"), body_of(again).get("invoices")) == (0, []),
                  f"billing the same window again made something: {again.body[:400]!r}")
    charged = c.call("POST", "/v1/billing-runs", key=write, body={"customer": "b-3"}, expect=201, label="bill b-3")
    charged_invoices = body_of(charged).get("invoices", [])
    c.expect_true(charged, [(i.get("number"), i.get("total"), i.get("amount_due")) for i in charged_invoices] ==
                  [("INV-000002", "15.00", "15.00")], f"b-3's charge invoice: {charged.body[:600]!r}")
    charge_invoice = charged_invoices[0].get("id", "inv_missing") if charged_invoices else "inv_missing"
    for what, body, schema_says in (
            ("as of next year", {"as_of": rfc3339(now + datetime.timedelta(days=366))}, False),
            ("as of yesterday", {"as_of": "yesterday"}, True),
            ("for an unknown customer", {"customer": "nobody"}, False),
            ("with finalize yes", {"finalize": "yes"}, True),
            ("with an unknown field", {"colour": "red"}, True)):
        c.call("POST", "/v1/billing-runs", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"billing run {what}")
    c.call("POST", "/v1/billing-runs", key=write, raw="nope", expect=400, label="billing run with bad JSON")
    c.call("POST", "/v1/billing-runs", key=write, body={}, content_type="text/plain", expect=415,
           label="billing run as text/plain")
    c.call("POST", "/v1/billing-runs", key=read, body={}, expect=403, label="billing run with scope read")
    c.call("POST", "/v1/billing-runs", key=admin, headers=admin_headers, body={}, expect=403, label="admin runs billing")
    c.call("POST", "/v1/billing-runs", body={}, expect=401, label="billing run without a key")

    # ---- reading invoices ----
    got = c.call("GET", f"/v1/invoices/{invoice_id}", key=read, expect=200, label="get invoice")
    invoice = body_of(got)
    c.expect_true(got, [(line.get("charge_type"), line.get("quantity"), line.get("unit_price"), line.get("amount"),
                         line.get("period_start")) for line in invoice.get("lines", [])] ==
                  [("recurring", "1", "20.00", "20.00", start), ("seat", "1", "5.00", "5.00", start)] and
                  (invoice.get("subtotal"), invoice.get("amount_paid")) == ("25.00", "0.00"),
                  f"b-1's invoice lines: {got.body[:800]!r}")
    c.call("GET", f"/v1/invoices/{invoice_id}", key=write, expect=200, label="get invoice with scope write")
    c.call("GET", f"/v1/invoices/{invoice_id}", key=admin, headers=admin_headers, expect=200,
           label="admin reads an invoice")
    c.call("GET", "/v1/invoices/inv_nothing", key=read, expect=404, label="get unknown invoice")
    c.call("GET", f"/v1/invoices/{invoice_id}", key=gamma_reader["key"], expect=404,
           label="another tenant gets the invoice")
    c.call("GET", f"/v1/invoices/{invoice_id}", key=ingest, expect=403, label="get invoice with scope ingest")
    c.call("GET", f"/v1/invoices/{invoice_id}", expect=401, label="get invoice without a key")
    c.call("DELETE", f"/v1/invoices/{invoice_id}", key=write, expect=405, label="DELETE invoice")

    listed = c.call("GET", "/v1/invoices", key=read, expect=200, label="list invoices")
    all_invoices = body_of(listed).get("data", [])
    c.expect_true(listed, sorted(i.get("customer") for i in all_invoices) == ["b-1", "b-2", "b-3"] and
                  all("lines" not in i for i in all_invoices), f"the tenant's invoices: {listed.body[:400]!r}")
    paged = follow_pages(c, "/v1/invoices", read, limit=1, label="list invoices")
    c.expect_true("list invoices paged", [i.get("id") for i in paged] == [i.get("id") for i in all_invoices],
                  "paging invoices differs")
    only = c.call("GET", "/v1/invoices?customer=b-1", key=read, expect=200, label="list b-1's invoices")
    c.expect_true(only, [i.get("id") for i in body_of(only).get("data", [])] == [invoice_id], "b-1's invoices")
    draft_list = c.call("GET", "/v1/invoices?status=draft", key=write, expect=200, label="list draft invoices")
    c.expect_true(draft_list, [i.get("id") for i in body_of(draft_list).get("data", [])] == [draft_id], "drafts")
    c.call("GET", "/v1/invoices", key=admin, headers=admin_headers, expect=200, label="admin lists invoices")
    c.call("GET", "/v1/invoices?status=open", key=read, expect=422, label="list invoices status=open")
    c.call("GET", "/v1/invoices?limit=0", key=read, expect=422, label="list invoices limit=0")
    c.call("GET", "/v1/invoices", key=ingest, expect=403, label="list invoices with scope ingest")
    c.call("GET", "/v1/invoices", expect=401, label="list invoices without a key")

    # The explanation: each line's inputs and their SHA-256 over the canonical JSON; the 10.00 drawn.
    explained = c.call("GET", f"/v1/invoices/{invoice_id}/explain", key=read, expect=200, label="explain invoice")
    explanation = body_of(explained)
    for line in explanation.get("lines", []):
        canonical = json.dumps(line.get("inputs"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        c.expect_true(explained, hashlib.sha256(canonical.encode("utf-8")).hexdigest() == line.get("input_digest"),
                      f"line {line.get('id')}: input_digest is not the SHA-256 of its canonical inputs")
    c.expect_true(explained, [(line.get("inputs", {}).get("explanation", {}).get("plan"),
                               line.get("inputs", {}).get("explanation", {}).get("proration", {}).get("factor"))
                              for line in explanation.get("lines", [])] == [("monthly", "1/1")] * 2 and
                  explanation.get("credit_draws") == [{"grant": grant.get("id"), "amount": "10.00"}],
                  f"the explanation: {explained.body[:800]!r}")
    c.call("GET", f"/v1/invoices/{invoice_id}/explain", key=admin, headers=admin_headers, expect=200,
           label="admin explains an invoice")
    c.call("GET", "/v1/invoices/inv_nothing/explain", key=read, expect=404, label="explain unknown invoice")
    c.call("GET", f"/v1/invoices/{invoice_id}/explain", key=ingest, expect=403, label="explain with scope ingest")
    c.call("GET", f"/v1/invoices/{invoice_id}/explain", expect=401, label="explain without a key")

    # ---- finalizing b-2's draft by hand: the third number ----
    idem_finalize = "idem-finalize-" + secrets.token_hex(4)
    finalized = c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=write, body={},
                       headers={"Idempotency-Key": idem_finalize}, expect=200, label="finalize a draft")
    c.expect_true(finalized, (body_of(finalized).get("status"), body_of(finalized).get("number"),
                              body_of(finalized).get("amount_due")) == ("finalized", "INV-000003", "25.00"),
                  f"the finalized draft: {finalized.body[:400]!r}")
    replay_finalize = c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=write, body={},
                             headers={"Idempotency-Key": idem_finalize}, expect=200, label="replay finalize")
    c.expect_true(replay_finalize, replay_finalize.header("idempotent-replayed") == "true", "finalize not replayed")
    c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=write, body={}, expect=409,
           label="finalize a finalized invoice")
    c.call("POST", "/v1/invoices/inv_nothing/finalize", key=write, body={}, expect=404,
           label="finalize an unknown invoice")
    c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=write, body={"now": True}, expect=422,
           request_invalid=True, label="finalize with an unknown field")
    c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=write, raw="", expect=400,
           label="finalize without a body")
    c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=write, body={}, content_type="text/plain", expect=415,
           label="finalize as text/plain")
    c.call("POST", f"/v1/invoices/{draft_id}/finalize", key=read, body={}, expect=403,
           label="finalize with scope read")
    c.call("POST", f"/v1/invoices/{draft_id}/finalize", body={}, expect=401, label="finalize without a key")

    # ---- payments on b-1's invoice: 5.00, then 20.00 of which 10.00 is due and 10.00 becomes credit ----
    pay_body = {"invoice": invoice_id, "amount": "5.00", "provider": "manual", "provider_payment_id": "wire-1"}
    idem_pay = "idem-pay-" + secrets.token_hex(4)
    paid = c.call("POST", "/v1/payments", key=write, body=pay_body, headers={"Idempotency-Key": idem_pay},
                  expect=201, label="pay part of an invoice")
    c.expect_true(paid, (body_of(paid).get("applied"), body_of(paid).get("excess"), body_of(paid).get("credit_grant"),
                         body_of(paid).get("invoice_after", {}).get("amount_due"),
                         body_of(paid).get("invoice_after", {}).get("status")) ==
                  ("5.00", "0.00", None, "10.00", "finalized"), f"a partial payment: {paid.body[:600]!r}")
    replay_pay = c.call("POST", "/v1/payments", key=write, body=pay_body, headers={"Idempotency-Key": idem_pay},
                        expect=201, label="replay a payment")
    c.expect_true(replay_pay, replay_pay.header("idempotent-replayed") == "true" and replay_pay.body == paid.body,
                  "the payment was not replayed")
    c.call("POST", "/v1/payments", key=write, body=pay_body, expect=409, label="record a payment twice")
    for what, body, schema_says in (
            ("of an unknown invoice", dict(pay_body, invoice="inv_nothing", provider_payment_id="x"), False),
            ("of 0", dict(pay_body, amount="0", provider_payment_id="x"), True),
            ("of 1.001", dict(pay_body, amount="1.001", provider_payment_id="x"), False),
            ("in another currency", dict(pay_body, currency="EUR", provider_payment_id="x"), False),
            ("by paypal", dict(pay_body, provider="paypal", provider_payment_id="x"), True),
            ("with an unknown field", dict(pay_body, provider_payment_id="x", colour="red"), True)):
        c.call("POST", "/v1/payments", key=write, body=body, expect=422, request_invalid=schema_says,
               label=f"pay {what}")
    rest = c.call("POST", "/v1/payments", key=write, body=dict(pay_body, amount="20.00", provider_payment_id="wire-2"),
                  expect=201, label="pay the rest and more")
    settled = body_of(rest)
    c.expect_true(rest, (settled.get("applied"), settled.get("excess"),
                         settled.get("invoice_after", {}).get("amount_paid"),
                         settled.get("invoice_after", {}).get("amount_due"),
                         settled.get("invoice_after", {}).get("status")) == ("10.00", "10.00", "15.00", "0.00", "paid")
                  and str(settled.get("credit_grant", "")).startswith("grt_"), f"the overpayment: {rest.body[:600]!r}")
    c.call("POST", "/v1/payments", key=write, body=dict(pay_body, provider_payment_id="wire-3"), expect=409,
           label="pay a paid invoice")
    c.call("POST", "/v1/payments", key=write, raw="{", expect=400, label="pay with bad JSON")
    c.call("POST", "/v1/payments", key=write, body=pay_body, content_type="text/plain", expect=415,
           label="pay as text/plain")
    c.call("POST", "/v1/payments", key=read, body=pay_body, expect=403, label="pay with scope read")
    c.call("POST", "/v1/payments", body=pay_body, expect=401, label="pay without a key")

    # ---- voiding b-3's invoice (operator) ----
    void_body = {"reason_code": "billing_error", "justification": "contract test: the setup fee was waived"}
    voided = c.call("POST", f"/v1/invoices/{charge_invoice}/void", key=operator, body=void_body, expect=200,
                    label="void an invoice")
    c.expect_true(voided, (body_of(voided).get("status"), body_of(voided).get("number"),
                           body_of(voided).get("amount_due"), body_of(voided).get("total")) ==
                  ("void", "INV-000002", "0.00", "15.00"), f"the void invoice: {voided.body[:400]!r}")
    c.call("POST", f"/v1/invoices/{charge_invoice}/void", key=operator, body=void_body, expect=409,
           label="void a void invoice")
    c.call("POST", f"/v1/invoices/{invoice_id}/void", key=operator, body=void_body, expect=409,
           label="void a paid invoice")
    c.call("POST", "/v1/invoices/inv_nothing/void", key=operator, body=void_body, expect=404,
           label="void an unknown invoice")
    for what, body, schema_says in (
            ("without justification", {"reason_code": "billing_error"}, True),
            ("with an empty justification", dict(void_body, justification=""), True),
            ("with an unknown reason code", dict(void_body, reason_code="because"), False),
            ("with an unknown field", dict(void_body, colour="red"), True)):
        c.call("POST", f"/v1/invoices/{draft_id}/void", key=operator, body=body, expect=422,
               request_invalid=schema_says, label=f"void {what}")
    c.call("POST", f"/v1/invoices/{draft_id}/void", key=operator, raw="{", expect=400, label="void with bad JSON")
    c.call("POST", f"/v1/invoices/{draft_id}/void", key=operator, body=void_body, content_type="text/plain",
           expect=415, label="void as text/plain")
    c.call("POST", f"/v1/invoices/{draft_id}/void", key=write, body=void_body, expect=403,
           label="void with scope write")
    c.call("POST", f"/v1/invoices/{draft_id}/void", body=void_body, expect=401, label="void without a key")

    # ---- b-1's balance: the overpayment's 10.00 of credit; nothing due; its next invoice accrues 25.00 ----
    balance = c.call("GET", "/v1/customers/b-1/balance", key=read, expect=200, label="customer balance")
    c.expect_true(balance, (body_of(balance).get("credit_balance"), body_of(balance).get("amount_due"),
                            body_of(balance).get("accrued"), body_of(balance).get("pending_charges"),
                            [g.get("source") for g in body_of(balance).get("grants", [])]) ==
                  ("10.00", "0.00", "25.00", "0.00", ["overpayment"]), f"b-1's balance: {balance.body[:600]!r}")
    c.call("GET", "/v1/customers/b-1/balance", key=admin, headers=admin_headers, expect=200,
           label="admin reads a balance")
    c.call("GET", "/v1/customers/nobody/balance", key=read, expect=404, label="balance of an unknown customer")
    c.call("GET", "/v1/customers/b-1/balance", key=ingest, expect=403, label="balance with scope ingest")
    c.call("GET", "/v1/customers/b-1/balance", expect=401, label="balance without a key")

    # ---- the ledger, by hand. b-1: cash Dr 5.00 + 20.00; prepaid credit Cr 10.00 (the excess); promotional
    # credit Cr 10.00 (grant), Dr 10.00 (draw); receivable Dr 25.00, Cr 10.00 + 5.00 + 10.00. ----
    balances = c.call("GET", "/v1/ledger/balances?customer=b-1", key=read, expect=200, label="b-1's ledger balances")
    c.expect_true(balances, [(b["account"].get("kind"), b["account"].get("customer"), b.get("normal_side"),
                              b.get("debits"), b.get("credits"), b.get("balance"))
                             for b in body_of(balances).get("data", [])] ==
                  [("cash", "b-1", "debit", "25.00", "0.00", "25.00"),
                   ("prepaid_credit", "b-1", "credit", "0.00", "10.00", "10.00"),
                   ("promotional_credit", "b-1", "credit", "10.00", "10.00", "0.00"),
                   ("receivable", "b-1", "debit", "25.00", "25.00", "0.00")],
                  f"b-1's balances: {balances.body[:800]!r}")
    # The tenant's: b-2 owes 25.00; b-3's 15.00 was reversed; revenue Cr 25.00 × 2 + 15.00, Dr 15.00.
    everything = follow_pages(c, "/v1/ledger/balances", read, limit=2, label="ledger balances")
    by_account = {(b["account"]["kind"], b["account"].get("customer")): b["balance"] for b in everything}
    c.expect_true("ledger balances", by_account.get(("revenue", None)) == "50.00" and
                  by_account.get(("promotions_expense", None)) == "10.00" and
                  by_account.get(("receivable", "b-2")) == "25.00" and by_account.get(("receivable", "b-3")) == "0.00",
                  f"the tenant's balances: {everything}")
    debits = sum(decimal.Decimal(b["debits"]) for b in everything)
    credits = sum(decimal.Decimal(b["credits"]) for b in everything)
    c.expect_true("ledger balances", debits == credits, f"debits {debits} and credits {credits} differ")
    c.call("GET", "/v1/ledger/balances", key=write, expect=200, label="ledger balances with scope write")
    c.call("GET", "/v1/ledger/balances", key=admin, headers=admin_headers, expect=200, label="admin reads balances")
    c.call("GET", "/v1/ledger/balances?customer=nobody", key=read, expect=404, label="balances of an unknown customer")
    c.call("GET", "/v1/ledger/balances?cursor=nope", key=read, expect=422, label="ledger balances cursor=nope")
    c.call("GET", "/v1/ledger/balances?customer=", key=read, expect=422, label="ledger balances customer=")
    c.call("GET", "/v1/ledger/balances?limit=0", key=read, expect=422, label="ledger balances limit=0")
    c.call("GET", "/v1/ledger/balances", key=ingest, expect=403, label="ledger balances with scope ingest")
    c.call("GET", "/v1/ledger/balances", expect=401, label="ledger balances without a key")
    c.call("POST", "/v1/ledger/balances", key=write, body={}, expect=405, label="POST ledger balances")

    transactions = follow_pages(c, "/v1/ledger/transactions?customer=b-1", read, limit=2,
                                label="b-1's ledger transactions")
    c.expect_true("b-1's ledger transactions", sorted(t.get("kind") for t in transactions) ==
                  ["credit_draw", "credit_grant", "invoice_finalized", "payment", "payment"] and
                  all(t.get("customer") == "b-1" for t in transactions),
                  f"b-1's transactions: {[t.get('kind') for t in transactions]}")
    for t in transactions:
        sides = {"debit": decimal.Decimal(0), "credit": decimal.Decimal(0)}
        for entry in t.get("entries", []):
            sides[entry["side"]] += decimal.Decimal(entry["amount"])
        c.expect_true("b-1's ledger transactions", sides["debit"] == sides["credit"],
                      f"transaction {t.get('id')} does not balance: {sides}")
    voids = c.call("GET", "/v1/ledger/transactions?customer=b-3", key=read, expect=200, label="b-3's ledger")
    b3 = body_of(voids).get("data", [])
    finalization = next((t.get("id") for t in b3 if t.get("kind") == "invoice_finalized"), None)
    c.expect_true(voids, [t.get("kind") for t in b3][-1:] == ["invoice_void"] and finalization is not None and
                  b3[-1].get("corrects") == finalization, f"b-3's void does not correct its finalization: {b3}")
    window = c.call("GET", "/v1/ledger/transactions?" + urllib.parse.urlencode(
        {"from": "2000-01-01T00:00:00Z", "to": "2001-01-01T00:00:00Z"}), key=read, expect=200,
        label="ledger transactions in 2000")
    c.expect_true(window, body_of(window) == {"data": [], "next_cursor": None}, "transactions in 2000")
    c.call("GET", "/v1/ledger/transactions", key=admin, headers=admin_headers, expect=200,
           label="admin reads ledger transactions")
    c.call("GET", "/v1/ledger/transactions?customer=nobody", key=read, expect=404,
           label="ledger transactions of an unknown customer")
    c.call("GET", "/v1/ledger/transactions?from=yesterday", key=read, expect=422, label="ledger transactions from=yesterday")
    c.call("GET", "/v1/ledger/transactions?" + urllib.parse.urlencode(
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}), key=read, expect=422,
        label="ledger transactions to before from")
    c.call("GET", "/v1/ledger/transactions?cursor=abc", key=read, expect=422, label="ledger transactions cursor=abc")
    c.call("GET", "/v1/ledger/transactions", key=ingest, expect=403, label="ledger transactions with scope ingest")
    c.call("GET", "/v1/ledger/transactions", expect=401, label="ledger transactions without a key")

    audit = c.call("GET", "/v1/audit?action=invoice.voided", key=read, expect=200, label="audit of the void")
    records = body_of(audit).get("data", [])
    c.expect_true(audit, [(r.get("target"), r.get("reason_code"), r.get("justification")) for r in records] ==
                  [(charge_invoice, "billing_error", void_body["justification"])], f"the void's record: {records}")


def scenario(c, database):
    admin = ADMIN_KEY

    # ---- operations endpoints ---------------------------------------------------------------------
    c.call("GET", "/healthz", expect=200)
    c.call("GET", "/readyz", expect=200)
    c.call("GET", "/metrics", expect=200)
    c.call("GET", "/healthz?x=%zz", expect=400, label="GET /healthz with a bad percent-encoding")
    c.call("POST", "/healthz", expect=405)

    # ---- authentication ---------------------------------------------------------------------------
    c.call("POST", "/v1/tenants", body={"name": "No key"}, expect=401, label="create tenant without a key")
    c.call("GET", "/v1/tenants", key="not-a-key", expect=401, label="list tenants with a bogus key")
    c.call("GET", "/v1/tenants", key="nrb_nosuchtenant_abcdef", expect=401,
           label="list tenants with an unknown tenant-shaped key")
    c.call("GET", "/v1/tenants", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}, expect=401,
           label="list tenants with Basic auth")

    # ---- tenants ------------------------------------------------------------------------------------
    request_id = "contract-" + secrets.token_hex(6)
    acme_body = {"name": "Acme", "currency": "EUR", "timezone": "Europe/Berlin"}
    idem = "idem-tenant-" + secrets.token_hex(4)
    first = c.call("POST", "/v1/tenants", key=admin, body=acme_body,
                   headers={"Idempotency-Key": idem, "X-Request-Id": request_id}, expect=201,
                   label="create tenant Acme")
    acme = first.json()
    c.expect_true(first, first.header("x-request-id") == request_id, "X-Request-Id not echoed")
    c.expect_true(first, first.header("idempotent-replayed") is None, "first response marked as replayed")
    c.expect_true(first, (acme["name"], acme["currency"], acme["timezone"]) == ("Acme", "EUR", "Europe/Berlin"),
                  f"tenant fields not as sent: {acme}")
    c.expect_true(first, acme["settings"] == {"late_event_window_days": 35, "future_event_skew_seconds": 300,
                                              "ingest_events_per_second": 50000, "ingest_burst": 100000,
                                              "auto_create_customers": False, "invoice_grace_period_days": 0},
                  f"default settings differ: {acme['settings']}")
    replay = c.call("POST", "/v1/tenants", key=admin, body=acme_body, headers={"Idempotency-Key": idem},
                    expect=201, label="replay create tenant")
    c.expect_true(replay, replay.header("idempotent-replayed") == "true", "replay lacks Idempotent-Replayed: true")
    c.expect_true(replay, replay.json() == acme, "replay body differs from the first response")
    c.call("POST", "/v1/tenants", key=admin, body={"name": "Other"}, headers={"Idempotency-Key": idem},
           expect=409, label="idempotency key reused with another body")
    beta = c.call("POST", "/v1/tenants", key=admin, body={"name": "Beta"}, expect=201, label="create tenant Beta").json()
    c.expect_true("create tenant Beta", (beta["currency"], beta["timezone"]) == ("USD", "UTC"),
                  f"tenant defaults are not USD/UTC: {beta}")
    gamma = c.call("POST", "/v1/tenants", key=admin,
                   body={"name": "Gamma", "settings": {"late_event_window_days": 400}}, expect=201,
                   label="create tenant with settings").json()
    c.expect_true("create tenant with settings", gamma["settings"]["late_event_window_days"] == 400,
                  "settings in the create body were not applied")
    c.call("POST", "/v1/tenants", key=admin, body={}, expect=422, request_invalid=True,
           label="create tenant without name")
    c.call("POST", "/v1/tenants", key=admin, body={"name": "X", "colour": "red"}, expect=422,
           request_invalid=True, label="create tenant with an unknown field")
    c.call("POST", "/v1/tenants", key=admin, body={"name": "X", "currency": "EURO"}, expect=422,
           request_invalid=True, label="create tenant with a bad currency")
    c.call("POST", "/v1/tenants", key=admin, body={"name": "X", "settings": {"ingest_burst": 0}}, expect=422,
           request_invalid=True, label="create tenant with an out-of-range setting")
    c.call("POST", "/v1/tenants", key=admin, raw="{not json", expect=400, label="create tenant with bad JSON")
    c.call("POST", "/v1/tenants", key=admin, raw="", expect=400, label="create tenant without a body")
    c.call("POST", "/v1/tenants", key=admin, raw="[1, 2]", expect=400, label="create tenant with an array body")
    c.call("POST", "/v1/tenants", key=admin, raw='{"name": "a", "name": "b"}', expect=400,
           label="create tenant with a duplicate member")
    c.call("POST", "/v1/tenants", key=admin, body={"name": "X"}, content_type="text/plain", expect=415,
           label="create tenant as text/plain")
    c.call("POST", "/v1/tenants", key=admin, body={"name": "X"}, headers={"Idempotency-Key": "k" * 256},
           expect=400, label="create tenant with an over-long Idempotency-Key")

    everything = c.call("GET", "/v1/tenants", key=admin, expect=200, label="list tenants").json()
    all_ids = [t["id"] for t in everything["data"]]
    c.expect_true("list tenants", {acme["id"], beta["id"], gamma["id"]} <= set(all_ids),
                  "created tenants missing from the list")
    c.expect_true("list tenants", everything["next_cursor"] is None, "a short list has a next_cursor")
    paged = follow_pages(c, "/v1/tenants", admin, limit=2, label="list tenants")
    c.expect_true("list tenants paged", [t["id"] for t in paged] == all_ids,
                  "paging with limit=2 does not give the same tenants in the same order")
    for bad in ("0", "1001", "abc", "-1"):
        c.call("GET", f"/v1/tenants?limit={bad}", key=admin, expect=422, label=f"list tenants limit={bad}")

    got = c.call("GET", f"/v1/tenants/{acme['id']}", key=admin, expect=200, label="get tenant")
    c.expect_true(got, got.json() == acme, "GET tenant differs from the create response")
    c.call("GET", "/v1/tenants/ten_doesnotexist", key=admin, expect=404, label="get unknown tenant")

    patched = c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin,
                     body={"settings": {"late_event_window_days": 90, "auto_create_customers": True}},
                     expect=200, label="patch tenant settings").json()
    c.expect_true("patch tenant settings", patched["settings"]["late_event_window_days"] == 90
                  and patched["settings"]["auto_create_customers"] is True
                  and patched["settings"]["future_event_skew_seconds"] == 300,
                  f"settings not merged: {patched['settings']}")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"name": "Acme GmbH"}, expect=200,
           label="rename tenant")
    idem_tenant = "idem-tenant-" + secrets.token_hex(4)
    renamed = c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"name": "Acme GmbH"},
                     headers={"Idempotency-Key": idem_tenant}, expect=200, label="rename tenant with Idempotency-Key")
    renamed_again = c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"name": "Acme GmbH"},
                           headers={"Idempotency-Key": idem_tenant}, expect=200, label="replay rename tenant")
    c.expect_true(renamed_again, renamed_again.header("idempotent-replayed") == "true"
                  and renamed_again.body == renamed.body, "the tenant PATCH was not replayed")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"settings": {"late_event_window_days": 5000}},
           expect=422, request_invalid=True, label="patch tenant with an out-of-range setting")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"settings": {"colour": 1}},
           expect=422, request_invalid=True, label="patch tenant with an unknown setting")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"settings": {"auto_create_customers": "yes"}},
           expect=422, request_invalid=True, label="patch tenant with a mistyped setting")
    c.call("PATCH", "/v1/tenants/ten_doesnotexist", key=admin, body={"name": "x"}, expect=404,
           label="patch unknown tenant")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, body={"name": "x"}, content_type="text/xml",
           expect=415, label="patch tenant as text/xml")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=admin, raw="nope", expect=400, label="patch with bad JSON")
    c.call("PUT", f"/v1/tenants/{acme['id']}", key=admin, body={"name": "x"}, expect=405, label="PUT tenant")
    c.call("DELETE", "/v1/tenants", key=admin, expect=405, label="DELETE tenants")

    # ---- API keys -----------------------------------------------------------------------------------
    keys_path = f"/v1/tenants/{acme['id']}/api-keys"

    def make_key(name, scopes, tenant_path=keys_path):
        created = c.call("POST", tenant_path, key=admin, body={"name": name, "scopes": scopes}, expect=201,
                         label=f"create key {name}")
        return created.json()

    writer = make_key("writer", ["write", "write"])
    c.expect_true("create key writer", writer["scopes"] == ["write"], f"scopes not deduplicated: {writer['scopes']}")
    c.expect_true("create key writer", writer["key"].startswith(writer["prefix"]), "prefix is not the key's start")
    reader = make_key("reader", ["read"])
    ingester = make_key("ingester", ["ingest"])
    operator = make_key("operator", ["operator"])
    beta_writer = make_key("beta writer", ["write", "read"], f"/v1/tenants/{beta['id']}/api-keys")
    gamma_reader = make_key("gamma reader", ["read"], f"/v1/tenants/{gamma['id']}/api-keys")

    idem_key = "idem-key-" + secrets.token_hex(4)
    key_first = c.call("POST", keys_path, key=admin, body={"name": "retried", "scopes": ["read"]},
                       headers={"Idempotency-Key": idem_key}, expect=201, label="create key with Idempotency-Key")
    key_replay = c.call("POST", keys_path, key=admin, body={"name": "retried", "scopes": ["read"]},
                        headers={"Idempotency-Key": idem_key}, expect=201, label="replay create key")
    c.expect_true(key_replay, key_replay.header("idempotent-replayed") == "true" and
                  key_replay.json()["id"] == key_first.json()["id"], "key creation was not replayed")
    c.call("POST", keys_path, key=admin, body={"name": "bad", "scopes": ["admin"]}, expect=422,
           request_invalid=True, label="create key with an unknown scope")
    c.call("POST", keys_path, key=admin, body={"name": "bad", "scopes": []}, expect=422, request_invalid=True,
           label="create key without scopes")
    c.call("POST", keys_path, key=admin, body={"name": "", "scopes": ["read"]}, expect=422, request_invalid=True,
           label="create key with an empty name")
    c.call("POST", keys_path, key=admin, body={"scopes": ["read"]}, expect=422, request_invalid=True,
           label="create key without a name")
    c.call("POST", "/v1/tenants/ten_doesnotexist/api-keys", key=admin, body={"name": "x", "scopes": ["read"]},
           expect=404, label="create key for an unknown tenant")
    c.call("POST", keys_path, key=admin, raw="{", expect=400, label="create key with bad JSON")
    c.call("POST", keys_path, key=admin, body={"name": "x", "scopes": ["read"]}, content_type="text/plain",
           expect=415, label="create key as text/plain")
    c.call("POST", keys_path, key=writer["key"], body={"name": "x", "scopes": ["read"]}, expect=403,
           label="create key with a tenant key")

    listed = c.call("GET", keys_path, key=admin, expect=200, label="list keys").json()
    listed_ids = [k["id"] for k in listed["data"]]
    c.expect_true("list keys", {writer["id"], reader["id"], ingester["id"], operator["id"]} <= set(listed_ids),
                  "created keys missing from the list")
    c.expect_true("list keys", all("key" not in k for k in listed["data"]), "a listed key shows its secret")
    paged_keys = follow_pages(c, keys_path, admin, limit=2, label="list keys")
    c.expect_true("list keys paged", [k["id"] for k in paged_keys] == listed_ids, "paging keys differs")
    c.call("GET", "/v1/tenants/ten_doesnotexist/api-keys", key=admin, expect=404, label="list keys of unknown tenant")
    c.call("GET", f"{keys_path}?limit=1001", key=admin, expect=422, label="list keys limit=1001")
    c.call("GET", keys_path, key=reader["key"], expect=403, label="list keys with a tenant key")

    # ---- tenant keys on admin endpoints --------------------------------------------------------------
    c.call("GET", "/v1/tenants", key=writer["key"], expect=403, label="list tenants with a tenant key")
    c.call("POST", "/v1/tenants", key=writer["key"], body={"name": "x"}, expect=403,
           label="create tenant with a tenant key")
    c.call("GET", f"/v1/tenants/{acme['id']}", key=operator["key"], expect=403, label="get tenant with a tenant key")
    c.call("PATCH", f"/v1/tenants/{acme['id']}", key=writer["key"], body={"name": "x"}, expect=403,
           label="patch tenant with a tenant key")

    # ---- settings ------------------------------------------------------------------------------------
    settings = c.call("GET", "/v1/settings", key=writer["key"], expect=200, label="get settings").json()
    c.expect_true("get settings", settings["tenant"] == acme["id"] and settings["settings"] == patched["settings"],
                  f"settings differ from the patched tenant: {settings}")
    c.call("GET", "/v1/settings", key=reader["key"], expect=403, label="get settings with scope read")
    c.call("GET", "/v1/settings", key=admin, expect=403, label="admin reads settings without headers")
    c.call("GET", "/v1/settings", key=admin, headers={"X-Neruba-Tenant": acme["id"]}, expect=403,
           label="admin reads settings without a justification")
    c.call("GET", "/v1/settings", key=admin, headers={"X-Neruba-Justification": "why"}, expect=403,
           label="admin reads settings without a tenant")
    admin_settings = c.call("GET", "/v1/settings", key=admin, headers=admin_read(acme["id"]), expect=200,
                            label="admin reads settings")
    c.expect_true(admin_settings, admin_settings.json() == settings, "admin read differs from the tenant's own")
    c.call("GET", "/v1/settings", key=admin, headers=admin_read("ten_doesnotexist"), expect=404,
           label="admin reads settings of an unknown tenant")
    c.call("GET", "/v1/settings", key=admin, headers=admin_read(acme["id"], "x" * 2001), expect=400,
           label="admin reads settings with an over-long justification")
    c.call("POST", "/v1/settings", key=writer["key"], body={}, expect=405, label="POST settings")

    # ---- customers -----------------------------------------------------------------------------------
    idem_customer = "idem-customer-" + secrets.token_hex(4)
    one_body = {"external_id": "cust-1", "name": "One", "metadata": {"plan": "gold"}}
    one = c.call("POST", "/v1/customers", key=writer["key"], body=one_body,
                 headers={"Idempotency-Key": idem_customer}, expect=201, label="create customer cust-1")
    customer = one.json()
    c.expect_true(one, (customer["currency"], customer["timezone"]) == ("EUR", "Europe/Berlin"),
                  f"customer does not inherit the tenant's currency and time zone: {customer}")
    again = c.call("POST", "/v1/customers", key=writer["key"], body=one_body,
                   headers={"Idempotency-Key": idem_customer}, expect=201, label="replay create customer")
    c.expect_true(again, again.header("idempotent-replayed") == "true" and again.json() == customer,
                  "customer creation was not replayed")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "cust-9", "name": "Nine"},
           headers={"Idempotency-Key": idem_customer}, expect=409, label="customer idempotency key reused")
    # The same Idempotency-Key in another tenant is another key.
    c.call("POST", "/v1/customers", key=beta_writer["key"], body=one_body,
           headers={"Idempotency-Key": idem_customer}, expect=201, label="same Idempotency-Key in another tenant")
    duplicate = c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "cust-1", "name": "Dup"},
                       expect=409, label="create duplicate customer")
    c.expect_true(duplicate, duplicate.json().get("type", "").endswith("/already-exists"),
                  "duplicate customer is not already-exists")
    for number in range(2, 6):
        c.call("POST", "/v1/customers", key=writer["key"],
               body={"external_id": f"cust-{number}", "name": f"Customer {number}", "currency": "USD",
                     "timezone": "America/New_York"}, expect=201, label=f"create customer cust-{number}")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "bad id", "name": "x"}, expect=422,
           request_invalid=True, label="create customer with a space in external_id")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "a/b", "name": "x"}, expect=422,
           request_invalid=True, label="create customer with a slash in external_id")
    c.call("POST", "/v1/customers", key=writer["key"], body={"name": "x"}, expect=422, request_invalid=True,
           label="create customer without external_id")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "c", "name": "x", "currency": "usd"},
           expect=422, request_invalid=True, label="create customer with a lower-case currency")
    c.call("POST", "/v1/customers", key=writer["key"],
           body={"external_id": "c", "name": "x", "timezone": "Mars/Olympus_Mons"}, expect=422,
           label="create customer with an unknown time zone")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "c", "name": "x", "metadata": {"a": 1}},
           expect=422, request_invalid=True, label="create customer with non-string metadata")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "c", "name": "x", "extra": True},
           expect=422, request_invalid=True, label="create customer with an unknown field")
    c.call("POST", "/v1/customers", key=writer["key"], raw="{]", expect=400, label="create customer with bad JSON")
    c.call("POST", "/v1/customers", key=writer["key"], body={"external_id": "c", "name": "x"},
           content_type="application/xml", expect=415, label="create customer as application/xml")
    c.call_oversized("POST", "/v1/customers", key=writer["key"], size=11 * 1024 * 1024, expect=413,
                     label="create customer with an 11 MiB body")
    c.call("POST", "/v1/customers", key=reader["key"], body={"external_id": "c", "name": "x"}, expect=403,
           label="create customer with scope read")
    c.call("POST", "/v1/customers", key=admin, headers=admin_read(acme["id"]),
           body={"external_id": "c", "name": "x"}, expect=403, label="admin writes a customer")
    c.call("POST", "/v1/customers", body={"external_id": "c", "name": "x"}, expect=401,
           label="create customer without a key")

    customers = c.call("GET", "/v1/customers", key=reader["key"], expect=200, label="list customers").json()
    external_ids = [x["external_id"] for x in customers["data"]]
    c.expect_true("list customers", external_ids == [f"cust-{n}" for n in range(1, 6)],
                  f"customers are not cust-1..cust-5 in order: {external_ids}")
    paged_customers = follow_pages(c, "/v1/customers", reader["key"], limit=2, label="list customers")
    c.expect_true("list customers paged", [x["external_id"] for x in paged_customers] == external_ids,
                  "paging customers differs")
    c.call("GET", "/v1/customers", key=writer["key"], expect=200, label="list customers with scope write")
    c.call("GET", "/v1/customers?limit=5000", key=reader["key"], expect=422, label="list customers limit=5000")
    c.call("GET", "/v1/customers", key=ingester["key"], expect=403, label="list customers with scope ingest")
    admin_list = c.call("GET", "/v1/customers", key=admin, headers=admin_read(acme["id"]), expect=200,
                        label="admin lists customers")
    c.expect_true(admin_list, admin_list.json() == customers, "admin list differs")
    c.call("GET", "/v1/customers", key=admin, expect=403, label="admin lists customers without headers")

    got_customer = c.call("GET", "/v1/customers/cust-1", key=reader["key"], expect=200, label="get customer")
    c.expect_true(got_customer, got_customer.json() == customer, "GET customer differs from the create response")
    c.call("GET", "/v1/customers/cust-1", key=writer["key"], expect=200, label="get customer with scope write")
    c.call("GET", "/v1/customers/cust-1", key=admin, headers=admin_read(acme["id"]), expect=200,
           label="admin reads a customer")
    c.call("GET", "/v1/customers/cust-1", key=gamma_reader["key"], expect=404,
           label="another tenant's key cannot see the customer")
    c.call("GET", "/v1/customers/nobody", key=reader["key"], expect=404, label="get unknown customer")
    c.call("GET", "/v1/customers/%zz", key=reader["key"], expect=400, label="get customer with a bad percent-encoding")
    c.call("GET", "/v1/customers/cust-1", key=ingester["key"], expect=403, label="get customer with scope ingest")
    c.call("GET", "/v1/customers/cust-1", expect=401, label="get customer without a key")
    c.call("DELETE", "/v1/customers/cust-1", key=writer["key"], expect=405, label="DELETE customer")

    # A customer's own grace period: set, replayed, cleared; bad bodies change nothing.
    c.call("POST", "/v1/customers", key=writer["key"],
           body={"external_id": "cust-g", "name": "Grace", "invoice_grace_period_days": 5}, expect=201,
           label="create customer with its own grace period")
    idem_patch = "idem-patch-customer-" + secrets.token_hex(4)
    graced = c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": 7},
                    headers={"Idempotency-Key": idem_patch}, expect=200, label="set a customer's grace period")
    c.expect_true(graced, graced.json()["invoice_grace_period_days"] == 7, f"grace period not set: {graced.body}")
    graced_again = c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": 7},
                          headers={"Idempotency-Key": idem_patch}, expect=200, label="replay a customer PATCH")
    c.expect_true(graced_again, graced_again.header("idempotent-replayed") == "true"
                  and graced_again.body == graced.body, "the customer PATCH was not replayed")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": 8},
           headers={"Idempotency-Key": idem_patch}, expect=409, label="customer PATCH idempotency key reused")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": -1}, expect=422,
           request_invalid=True, label="PATCH a negative grace period")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": 366}, expect=422,
           request_invalid=True, label="PATCH a grace period over a year")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": "7"}, expect=422,
           request_invalid=True, label="PATCH a grace period as a string")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"name": "Renamed"}, expect=422,
           request_invalid=True, label="PATCH a customer's name")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], raw="{]", expect=400, label="PATCH customer with bad JSON")
    c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": 1},
           content_type="text/plain", expect=415, label="PATCH customer as text/plain")
    c.call("PATCH", "/v1/customers/nobody", key=writer["key"], body={"invoice_grace_period_days": 1}, expect=404,
           label="PATCH unknown customer")
    c.call("PATCH", "/v1/customers/cust-2", key=reader["key"], body={"invoice_grace_period_days": 1},
           expect=403, label="PATCH customer with scope read")
    c.call("PATCH", "/v1/customers/cust-2", key=beta_writer["key"], body={"invoice_grace_period_days": 1},
           expect=404, label="another tenant's key cannot PATCH the customer")
    c.call("PATCH", "/v1/customers/cust-2", body={"invoice_grace_period_days": 1}, expect=401,
           label="PATCH customer without a key")
    still = c.call("GET", "/v1/customers/cust-2", key=reader["key"], expect=200, label="get the PATCHed customer")
    c.expect_true(still, still.json()["invoice_grace_period_days"] == 7, f"a rejected PATCH changed it: {still.body}")
    cleared = c.call("PATCH", "/v1/customers/cust-2", key=writer["key"], body={"invoice_grace_period_days": None},
                     expect=200, label="clear a customer's grace period")
    c.expect_true(cleared, cleared.json()["invoice_grace_period_days"] is None, f"not cleared: {cleared.body}")
    updates = c.call("GET", "/v1/audit?action=customer.updated", key=reader["key"], expect=200,
                     label="list customer updates").json()["data"]
    c.expect_true("list customer updates", [(r["before"]["invoice_grace_period_days"],
                                             r["after"]["invoice_grace_period_days"]) for r in updates]
                  == [(None, 7), (7, None)], f"customer.updated records: {updates}")

    # ---- audit -----------------------------------------------------------------------------------------
    audit = c.call("GET", "/v1/audit", key=reader["key"], expect=200, label="list audit").json()
    records = audit["data"]
    seqs = [r["seq"] for r in records]
    c.expect_true("list audit", seqs == list(range(1, len(records) + 1)), f"seq is not 1..n: {seqs}")
    c.expect_true("list audit", bool(records) and records[0]["prev_hash"] == "0" * 64, "first prev_hash is not genesis")
    c.expect_true("list audit", all(records[i]["prev_hash"] == records[i - 1]["hash"] for i in range(1, len(records))),
                  "prev_hash does not chain")
    actions = [r["action"] for r in records]
    for wanted in ("tenant.created", "tenant.updated", "api_key.created", "customer.created", "tenant.data_read"):
        c.expect_true("list audit", wanted in actions, f"no {wanted} record: {actions}")
    created = next((r for r in records if r["action"] == "tenant.created"), None)
    c.expect_true("list audit", created is not None and created["request_id"] == request_id,
                  "tenant.created does not carry the request's X-Request-Id")
    reads = [r for r in records if r["action"] == "tenant.data_read"]
    c.expect_true("list audit", all(r["actor"]["type"] == "admin" and r.get("justification") for r in reads),
                  "admin reads are not recorded with the admin actor and a justification")
    c.call("GET", "/v1/audit", key=operator["key"], expect=200, label="list audit with scope operator")
    c.call("GET", "/v1/audit", key=writer["key"], expect=403, label="list audit with scope write")
    paged_audit = follow_pages(c, "/v1/audit", reader["key"], limit=3, label="list audit")
    c.expect_true("list audit paged", [r["seq"] for r in paged_audit][:len(seqs)] == seqs, "paging audit differs")
    only = c.call("GET", "/v1/audit?action=customer.created", key=reader["key"], expect=200,
                  label="list audit by action").json()
    c.expect_true("list audit by action", len(only["data"]) == 6 and  # cust-1 to cust-5, cust-g
                  all(r["action"] == "customer.created" for r in only["data"]),
                  f"action filter gave {[r['action'] for r in only['data']]}")
    by_actor = c.call("GET", f"/v1/audit?actor={writer['id']}", key=reader["key"], expect=200,
                      label="list audit by actor").json()
    c.expect_true("list audit by actor", by_actor["data"] and
                  all(r["actor"]["id"] == writer["id"] for r in by_actor["data"]), "actor filter")
    by_target = c.call("GET", f"/v1/audit?target={customer['id']}", key=reader["key"], expect=200,
                       label="list audit by target").json()
    c.expect_true("list audit by target", len(by_target["data"]) == 1, "target filter")
    window = c.call("GET", "/v1/audit?" + urllib.parse.urlencode({"from": "2000-01-01T00:00:00Z",
                                                                  "to": "2999-01-01T00:00:00Z"}),
                    key=reader["key"], expect=200, label="list audit in a time window").json()
    c.expect_true("list audit in a time window", len(window["data"]) >= len(records), "time window lost records")
    empty = c.call("GET", "/v1/audit?to=2000-01-01T00:00:00Z", key=reader["key"], expect=200,
                   label="list audit before 2000").json()
    c.expect_true("list audit before 2000", empty == {"data": [], "next_cursor": None}, "records before 2000")
    c.call("GET", "/v1/audit?from=yesterday", key=reader["key"], expect=422, label="list audit from=yesterday")
    c.call("GET", "/v1/audit?cursor=abc", key=reader["key"], expect=422, label="list audit cursor=abc")
    c.call("GET", "/v1/audit?limit=0", key=reader["key"], expect=422, label="list audit limit=0")
    admin_audit = c.call("GET", "/v1/audit?limit=1000", key=admin, headers=admin_read(acme["id"], "audit review"),
                         expect=200, label="admin reads the audit trail").json()
    last = admin_audit["data"][-1]
    c.expect_true("admin reads the audit trail", last["action"] == "tenant.data_read" and
                  last.get("justification") == "audit review" and last["actor"]["type"] == "admin",
                  f"the admin's read is not the newest record: {last}")
    c.call("POST", "/v1/audit", key=operator["key"], body={}, expect=405, label="POST audit")

    verify = c.call("GET", "/v1/audit/verify", key=reader["key"], expect=200, label="verify audit").json()
    c.expect_true("verify audit", verify["ok"] is True and verify["records"] == len(admin_audit["data"])
                  and verify["head"] == last["hash"], f"verify report: {verify}")
    c.call("GET", "/v1/audit/verify", key=operator["key"], expect=200, label="verify audit with scope operator")
    c.call("GET", "/v1/audit/verify", key=admin, headers=admin_read(acme["id"]), expect=200,
           label="admin verifies the audit trail")
    c.call("GET", "/v1/audit/verify", key=writer["key"], expect=403, label="verify audit with scope write")
    c.call("GET", "/v1/audit/verify", expect=401, label="verify audit without a key")
    c.call("POST", "/v1/audit/verify", key=operator["key"], body={}, expect=405, label="POST audit/verify")

    # A tampered chain is still a 200, with ok: false.
    database.tamper_audit(gamma["id"], 1)
    broken = c.call("GET", "/v1/audit/verify", key=gamma_reader["key"], expect=200,
                    label="verify a tampered audit trail").json()
    c.expect_true("verify a tampered audit trail", broken["ok"] is False and broken.get("first_broken_seq") == 1,
                  f"tampering not detected: {broken}")

    # ---- usage: meters, events, usage reads ------------------------------------------------------------
    usage(c, admin, make_key, gamma_reader, writer)

    # ---- catalog: plans and their versions -------------------------------------------------------------
    catalog = plans(c, admin, make_key, gamma_reader)

    # ---- subscriptions and the upcoming invoice ------------------------------------------------------
    subscriptions(c, admin, catalog, gamma_reader)

    # ---- billing: runs, invoices, credit, charges, payments, voids, the ledger ------------------------
    billing(c, admin, make_key, gamma_reader)

    # ---- revoking keys ---------------------------------------------------------------------------------
    revoked = c.call("DELETE", f"{keys_path}/{reader['id']}", key=admin, expect=200, label="revoke key").json()
    c.expect_true("revoke key", revoked["revoked_at"] is not None and "key" not in revoked, f"revoked: {revoked}")
    again = c.call("DELETE", f"{keys_path}/{reader['id']}", key=admin, expect=200, label="revoke key again").json()
    c.expect_true("revoke key again", again == revoked, "revoking twice changed the key")
    c.call("GET", "/v1/customers", key=reader["key"], expect=401, label="use a revoked key")
    c.call("DELETE", f"{keys_path}/key_doesnotexist", key=admin, expect=404, label="revoke unknown key")
    c.call("DELETE", f"/v1/tenants/{beta['id']}/api-keys/{writer['id']}", key=admin, expect=404,
           label="revoke a key through another tenant")
    c.call("DELETE", f"{keys_path}/{ingester['id']}", key=writer["key"], expect=403, label="revoke with a tenant key")
    c.call("DELETE", f"{keys_path}/{ingester['id']}", expect=401, label="revoke without a key")
    c.call("GET", f"{keys_path}/{ingester['id']}", key=admin, expect=405, label="GET a key")
    after = c.call("GET", "/v1/audit?action=api_key.revoked", key=operator["key"], expect=200,
                   label="audit of the revocation").json()
    c.expect_true("audit of the revocation", len(after["data"]) == 1 and
                  after["data"][0]["before"]["revoked_at"] is None and
                  after["data"][0]["after"]["revoked_at"] == revoked["revoked_at"],
                  "the revocation is not audited once with before/after")

    # ---- unknown paths and metrics ----------------------------------------------------------------
    c.call("GET", "/v1/nothing-here", key=admin, expect=404, expect_unmatched=True, label="unknown path")
    metrics = c.call("GET", "/metrics", expect=200, label="metrics after traffic")
    text = metrics.body.decode("utf-8")
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
                        r'[-+]?([0-9.]+([eE][-+]?[0-9]+)?|NaN|Inf)$')
    bad_lines = [line for line in text.splitlines() if line and not line.startswith("#") and not sample.match(line)]
    c.expect_true(metrics, not bad_lines, f"lines that are not Prometheus samples: {bad_lines[:3]}")
    c.expect_true(metrics, 'route="/v1/customers/{external_id}"' in text and 'route="unmatched"' in text,
                  "metrics lack route labels")
    ingest = {m.group(1): float(m.group(2)) for m in re.finditer(r'^(neruba_ingest_[a-z_]+) (\S+)$', text, re.M)}
    c.expect_true(metrics, ingest.get("neruba_ingest_writers", 0) >= 1 and
                  ingest.get("neruba_ingest_events_total", 0) > 0 and
                  ingest.get("neruba_ingest_commits_total", 0) > 0 and
                  ingest.get("neruba_ingest_writer_busy_seconds_total", 0) > 0,
                  f"ingest writer metrics missing or zero after ingest: {ingest}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="the neruba executable")
    parser.add_argument("--backend", choices=("any", "sqlite", "postgres"), default="any",
                        help="postgres: take the database from NERUBA_TEST_PG_URL (skip with 77 when unset)")
    parser.add_argument("--openapi", default=os.environ.get("NERUBA_OPENAPI", DEFAULT_DOC))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and server log")
    args = parser.parse_args()

    base_url = os.environ.get("NERUBA_TEST_DB_URL") or None
    if args.backend == "postgres":
        base_url = os.environ.get("NERUBA_TEST_PG_URL") or None
        if base_url is None:
            return missing_postgres_exit("openapi contract")
    elif args.backend == "sqlite":
        base_url = None

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"openapi contract: {binary} is not an executable", file=sys.stderr)
        return 2
    document = Document(args.openapi)
    problems = document.self_check()
    if problems:
        for problem in problems:
            print(f"FAIL document: {problem}", file=sys.stderr)
        print(f"openapi contract: 0 passed, {len(problems)} failed (the document is invalid)")
        return 1

    temp_dir = tempfile.mkdtemp(prefix="neruba-contract-")
    database = None
    server = None
    checker = None
    failures = []
    try:
        database = Database(base_url, temp_dir)
        server = Server(binary, database.url, os.path.join(temp_dir, "data"), os.path.join(temp_dir, "server.log"))
        server.start()
        checker = Checker(document, "127.0.0.1", server.port)
        try:
            scenario(checker, database)
        except (ContractFailure, SetupError) as failure:  # SetupError: tamper_audit's psql
            failures.append(f"scenario aborted: {failure}")
        except Exception:
            failures.append("scenario aborted:\n" + traceback.format_exc())
        failures = checker.failures + failures + checker.coverage()
        code = server.stop()
        if code != 0:
            failures.append(f"the server exited with {code} after SIGTERM (want 0)\n{server.log_tail()}")
    except (ContractFailure, SetupError) as failure:
        failures.append(str(failure))
    finally:
        if server is not None:
            server.kill_if_running()
        if database is not None:
            database.drop()
        if failures and server is not None:
            print(server.log_tail(), file=sys.stderr)
        if args.keep:
            print(f"kept {temp_dir}")
        else:
            shutil.rmtree(temp_dir, ignore_errors=True)

    passed = checker.passed if checker else 0
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    backend = database.kind if database else "?"
    operations = sum(1 for _ in document.operations())
    exercised = len(checker.exercised) if checker else 0
    print(f"openapi contract: {passed} passed, {len(failures)} failed "
          f"({backend}; {exercised} of {operations} documented operations exercised)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
