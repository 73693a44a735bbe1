#!/usr/bin/python3
"""A TypeScript client generated from docs/openapi.yaml, and the document's lint.

    /usr/bin/python3 tests/client/client_test.py typecheck
    /usr/bin/python3 tests/client/client_test.py lint
    /usr/bin/python3 tests/client/client_test.py walkthrough PATH/TO/neruba [--backend sqlite|postgres]

typecheck    checks that walkthrough.ts has no cast, `any` or `@ts-` suppression, generates the types
             from the document (openapi-typescript) into a temp dir, checks that no free-form object
             came out as `Record<string, never>`, and type-checks walkthrough.ts against them with
             `tsc --noEmit` under tsconfig.json (strict).
lint         `redocly lint` with the `recommended` ruleset (redocly.yaml); any error, warning or
             ignored problem fails.
walkthrough  generates and compiles the client as typecheck does (emitting JavaScript into the temp
             dir), starts `neruba serve` on a fresh database, runs the README walkthrough through the
             client with node, then verifies the tenant's audit chain with `neruba audit verify` and
             its ledger with `neruba ledger verify` (the README's last two CLI steps).
             --backend postgres takes the database from NERUBA_TEST_PG_URL (a fresh schema); without it
             the test is skipped (exit 77), or fails when NERUBA_REQUIRE_POSTGRES=1.

Nothing is written into the source tree: each run works in its own temp dir, which links
tests/client/node_modules (installed by `npm ci` from package-lock.json; scripts/bootstrap does it).
No network access. Run by Debian's python3 (standard library only) with node on the PATH.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "python"))
import neruba_testing  # noqa: E402
from neruba_testing import SetupError, missing_postgres_exit  # noqa: E402

DOCUMENT = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "openapi.yaml"))
NODE_MODULES = os.path.join(HERE, "node_modules")
TYPES_MODULE = "neruba-openapi"  # what walkthrough.ts imports the generated types as (tsconfig paths)
STEP_TIMEOUT = 120               # seconds for one tool run (generation, tsc, lint)
WALKTHROUGH_TIMEOUT = 120        # seconds for the walkthrough against the server
# The npm tools make no network requests: no telemetry, no update check.
TOOL_ENV = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_UPDATE_NOTIFIER": "1",
            "NO_COLOR": "1", "FORCE_COLOR": "0"}


class Failure(Exception):
    """A check failed; the message says what and how."""


def tool_env():
    env = dict(os.environ)
    env.update(TOOL_ENV)
    return env


def run(what, command, cwd=HERE, timeout=STEP_TIMEOUT):
    """Runs a tool; returns its stdout. A non-zero exit is a Failure with the tool's output."""
    try:
        result = subprocess.run(command, cwd=cwd, env=tool_env(), capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: no answer within {timeout} s ({' '.join(command)})")
    if result.returncode != 0:
        raise Failure(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n"
                      f"{result.stdout}{result.stderr}".rstrip())
    return result.stdout


def check_tools():
    """node and the locked npm packages are there; else a Failure saying how to get them."""
    if shutil.which("node") is None:
        raise Failure("node is not on the PATH (scripts/bootstrap installs Debian's nodejs and npm)")
    missing = [name for name in ("openapi-typescript", "tsc", "redocly")
               if not os.path.exists(os.path.join(NODE_MODULES, ".bin", name))]
    if missing:
        raise Failure(f"{', '.join(missing)} missing from {NODE_MODULES}: run scripts/bootstrap "
                      f"(it runs `npm ci` in tests/client)")


def tool(name):
    return os.path.join(NODE_MODULES, ".bin", name)


# ------------------------------------------------------------------------------------------------
# Generation and compilation


# openapi-typescript writes a JSON Schema object with neither `properties` nor `additionalProperties`
# as `Record<string, never>`: a client could send or read nothing in it. The only such types allowed
# are the empty top-level maps it always writes (`webhooks`, `$defs`) and the request bodies that are
# an empty object by design (`additionalProperties: false`, no properties), named here.
NEVER_OBJECT = re.compile(r"Record<string,\s*never>")
EMPTY_TOP_LEVEL = re.compile(r"^export type [\w$]+ = Record<string, never>;$")
EMPTY_BY_DESIGN = ("InvoiceFinalize",)  # POST /v1/invoices/{invoice_id}/finalize: `{}`
EMPTY_SCHEMA = re.compile(r"^(?:" + "|".join(EMPTY_BY_DESIGN) + r"): Record<string, never>;$")


def generate(work_dir):
    """The document's types in work_dir/schema.d.ts; returns the path."""
    schema = os.path.join(work_dir, "schema.d.ts")
    run("openapi-typescript", [tool("openapi-typescript"), DOCUMENT, "--output", schema])
    with open(schema, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    never = [f"  schema.d.ts:{number}: {line.strip()}" for number, line in enumerate(lines, 1)
             if NEVER_OBJECT.search(line) and not EMPTY_TOP_LEVEL.match(line.strip())
             and not EMPTY_SCHEMA.match(line.strip())]
    if never:
        raise Failure("free-form objects typed Record<string, never> (give them `additionalProperties: true` "
                      "or a schema in docs/openapi.yaml):\n" + "\n".join(never))
    return schema


# The client must type-check as written: no type assertions, no `any`, no suppressed errors.
CASTS = re.compile(r"\bas\s+(?!const\b)[A-Za-z_$({\[]"                       # x as T
                   r"|(?:[=(,:?!&|]|\breturn)\s*<\s*[A-Za-z_$][\w$.]*\s*>\s*[A-Za-z_$(]"  # <T>x
                   r"|\bany\b|@ts-(?:ignore|expect-error|nocheck)|\beslint-disable")
COMMENTS_AND_STRINGS = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`",
                                  re.DOTALL)


def check_no_casts(path):
    """A Failure naming each line of path (comments and string literals aside) with a cast, `any` or
    a `@ts-` suppression (those are looked for in comments too)."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    blanked = COMMENTS_AND_STRINGS.sub(
        lambda m: m.group(0) if "@ts-" in m.group(0) else re.sub(r"[^\n]", " ", m.group(0)), source)
    found = [f"  {os.path.basename(path)}:{number}: {line.strip()}"
             for number, (line, code) in enumerate(zip(source.splitlines(), blanked.splitlines()), 1)
             if CASTS.search(code)]
    if found:
        raise Failure("casts, `any` or suppressed type errors (the generated types must suffice):\n"
                      + "\n".join(found))


def prepare(work_dir):
    """A tsconfig in work_dir that extends tests/client/tsconfig.json and compiles walkthrough.ts
    against work_dir/schema.d.ts into work_dir/dist; node_modules linked for tsc and node."""
    schema = generate(work_dir)
    os.symlink(NODE_MODULES, os.path.join(work_dir, "node_modules"))
    with open(os.path.join(work_dir, "package.json"), "w", encoding="utf-8") as handle:
        json.dump({"private": True, "type": "module"}, handle)
    config = {
        "extends": os.path.join(HERE, "tsconfig.json"),
        "compilerOptions": {
            "rootDir": HERE,
            "outDir": os.path.join(work_dir, "dist"),
            "paths": {TYPES_MODULE: [schema]},
        },
        "files": [os.path.join(HERE, "walkthrough.ts")],
    }
    path = os.path.join(work_dir, "tsconfig.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    return path


def typecheck(work_dir, emit):
    """Generates and type-checks (and with emit, compiles) the walkthrough; returns the JS to run."""
    check_no_casts(os.path.join(HERE, "walkthrough.ts"))
    config = prepare(work_dir)
    command = [tool("tsc"), "--project", config, "--pretty", "false"]
    if not emit:
        command.append("--noEmit")
    run("tsc --strict", command)
    return os.path.join(work_dir, "dist", "walkthrough.js")


# ------------------------------------------------------------------------------------------------
# The commands


def cmd_typecheck(_args):
    with tempfile.TemporaryDirectory(prefix="neruba-client-") as work_dir:
        typecheck(work_dir, emit=False)
    print("client typecheck: no casts; openapi-typescript generated the types; tsc --strict --noEmit passed")
    return 0


def cmd_lint(_args):
    config = os.path.join(HERE, "redocly.yaml")
    stdout = run("redocly lint", [tool("redocly"), "lint", "--config", config, "--format", "json", DOCUMENT])
    try:
        report = json.loads(stdout)
        totals = report["totals"]
    except (ValueError, KeyError) as error:
        raise Failure(f"redocly lint: unreadable JSON report ({error}):\n{stdout[:2000]}")
    problems = report.get("problems", [])
    for problem in problems:
        where = ", ".join(location.get("pointer", "?") for location in problem.get("location", []))
        print(f"{problem.get('severity', '?')} {problem.get('ruleId', '?')}: {problem.get('message', '')} "
              f"(at {where})", file=sys.stderr)
    count = totals.get("errors", 0) + totals.get("warnings", 0) + totals.get("ignored", 0)
    if count or problems:
        raise Failure(f"redocly lint (recommended): {totals.get('errors', 0)} errors, "
                      f"{totals.get('warnings', 0)} warnings, {totals.get('ignored', 0)} ignored; want none")
    print("client lint: redocly lint (recommended): 0 errors, 0 warnings, 0 ignored")
    return 0


def cmd_walkthrough(args):
    base_url = None
    if args.backend == "postgres":
        base_url = os.environ.get("NERUBA_TEST_PG_URL") or None
        if base_url is None:
            return missing_postgres_exit("client walkthrough")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise Failure(f"{binary} is not an executable")

    admin_key = "nrb_admin_client_" + secrets.token_hex(16)
    work_dir = tempfile.mkdtemp(prefix="neruba-client-")
    database = None
    server = None
    ok = False
    try:
        script = typecheck(work_dir, emit=True)
        database = neruba_testing.Database(base_url, work_dir, schema_prefix="client_")
        server = neruba_testing.Server(binary, database.url, os.path.join(work_dir, "data"),
                                       os.path.join(work_dir, "server.log"), admin_key)
        server.start()
        url = f"http://127.0.0.1:{server.port}"
        try:
            result = subprocess.run(["node", script, url, admin_key], cwd=work_dir, env=tool_env(),
                                    capture_output=True, text=True, timeout=WALKTHROUGH_TIMEOUT,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure(f"the walkthrough did not finish within {WALKTHROUGH_TIMEOUT} s")
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            raise Failure(f"the walkthrough failed (exit {result.returncode}) on {database.kind}")
        tenants = re.findall(r"^tenant: (ten_[0-9A-Za-z]+)$", result.stdout, re.MULTILINE)
        if len(tenants) != 1:
            raise Failure("the walkthrough did not print its tenant (`tenant: ten_…`)")
        # README step 7, from the CLI: exit 0 = the chain is intact.
        verify = run("neruba audit verify", [binary, "audit", "verify", "--tenant", tenants[0], "--db", database.url],
                     cwd=work_dir)
        print(f"ok   neruba audit verify --tenant {tenants[0]}: {verify.strip()}")
        # The README's last step: exit 0 = every transaction balances, every balance equals its
        # entries, every invoice's ledger effect equals its totals.
        ledger = run("neruba ledger verify", [binary, "ledger", "verify", "--tenant", tenants[0], "--db",
                                              database.url], cwd=work_dir)
        print(f"ok   neruba ledger verify --tenant {tenants[0]}: {ledger.strip()}")
        code = server.terminate(timeout=40)
        if code != 0:
            raise Failure(f"the server exited with {code} after SIGTERM (want 0)")
        ok = True
    finally:
        if server is not None:
            server.kill_if_running()
            if not ok:
                print(server.log_tail(), file=sys.stderr)
        if database is not None:
            database.drop()
        if args.keep:
            print(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(f"client walkthrough: passed ({database.kind})")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("typecheck", help="generate the types and run tsc --strict --noEmit")
    commands.add_parser("lint", help="redocly lint with the recommended rules, no problem allowed")
    walkthrough = commands.add_parser("walkthrough", help="run the README walkthrough through the client")
    walkthrough.add_argument("binary", help="the neruba executable")
    walkthrough.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                             help="postgres: a fresh schema in NERUBA_TEST_PG_URL (skip with 77 when unset)")
    walkthrough.add_argument("--keep", action="store_true", help="keep the temp dir (generated code, server log)")
    args = parser.parse_args()

    handlers = {"typecheck": cmd_typecheck, "lint": cmd_lint, "walkthrough": cmd_walkthrough}
    try:
        check_tools()
        return handlers[args.command](args)
    except (Failure, SetupError) as failure:
        print(f"FAIL client {args.command}: {failure}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
