// The README's five-minute walkthrough, run through a client generated from docs/openapi.yaml:
// types by openapi-typescript (`neruba-openapi`, generated at test time), requests by openapi-fetch.
//
//   node dist/walkthrough.js BASE_URL ADMIN_KEY
//
// Compiled with `tsc --strict` and no casts: every request body, parameter and response field used
// here must be typed by the document. Prints one line per step; the first failed check ends the
// process with exit code 1 and says what differed. The last line is `tenant: <id>`, for the caller
// to verify the audit chain from the CLI too.
import { isDeepStrictEqual } from "node:util";
import createClient from "openapi-fetch";
import type { components, paths } from "neruba-openapi";

type Problem = components["schemas"]["Problem"];
type AuditRecord = components["schemas"]["AuditRecord"];
type MeterUsage = components["schemas"]["MeterUsage"];

const PROBLEM_BASE = "https://neruba.dev/errors/";
const GENESIS_HASH = "0".repeat(64);

class CheckFailed extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new CheckFailed(message);
  }
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  check(isDeepStrictEqual(actual, expected), `${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** The response had the status wanted; a failure shows the body the client could not read as data. */
function expectStatus(response: Response, status: number, error: unknown, what: string): void {
  check(response.status === status,
        `${what}: expected HTTP ${status}, got ${response.status}${error === undefined ? "" : ` ${show(error)}`}`);
}

/** The data of a success, or a failure naming the status and problem. */
function expectData<T>(result: { data?: T; error?: unknown; response: Response }, status: number,
                       what: string): T {
  expectStatus(result.response, status, result.error, what);
  check(result.data !== undefined, `${what}: HTTP ${status} without a body`);
  return result.data;
}

/** The problem of a failure with this status and problem type slug. */
function expectProblem(result: { data?: unknown; error?: Problem; response: Response }, status: number,
                       slug: string, what: string): Problem {
  expectStatus(result.response, status, result.data, what);
  const problem = result.error;
  check(problem !== undefined, `${what}: HTTP ${status} without a problem body`);
  expectEqual(result.response.headers.get("Content-Type"), "application/problem+json", `${what}: Content-Type`);
  expectEqual(problem.type, PROBLEM_BASE + slug, `${what}: problem type`);
  expectEqual(problem.status, status, `${what}: problem status`);
  return problem;
}

let stepsDone = 0;

async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const message = error instanceof CheckFailed ? error.message
      : error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`FAIL ${name}\n  ${message}`);
    console.error(`walkthrough: ${stepsDone} steps passed before this one failed`);
    process.exit(1);
  }
  stepsDone += 1;
  console.log(`ok   ${name}`);
}

/** An RFC 3339 instant in whole seconds, as the README's `date -u +%Y-%m-%dT%H:%M:%SZ`. */
function instant(date: Date): string {
  return date.toISOString().replace(/\.[0-9]{3}Z$/, "Z");
}

async function main(): Promise<void> {
  const [baseUrl, adminKey, ...rest] = process.argv.slice(2);
  if (baseUrl === undefined || adminKey === undefined || rest.length > 0) {
    console.error("usage: node dist/walkthrough.js BASE_URL ADMIN_KEY");
    process.exit(2);
  }

  const admin = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminKey}` } });

  // 1. Create a tenant (platform admin key).
  let tenantId = "";
  await step("1. create a tenant with the admin key", async () => {
    const tenant = expectData(await admin.POST("/v1/tenants", {
      body: { name: "Acme Cloud", currency: "USD", timezone: "Europe/Berlin" },
    }), 201, "POST /v1/tenants");
    check(/^ten_[0-9A-Za-z]+$/.test(tenant.id), `tenant id ${show(tenant.id)} is not ten_…`);
    expectEqual([tenant.name, tenant.currency, tenant.timezone], ["Acme Cloud", "USD", "Europe/Berlin"], "tenant");
    expectEqual(tenant.settings.auto_create_customers, false, "tenant settings.auto_create_customers");
    tenantId = tenant.id;
  });

  // 2. Issue a tenant API key; the secret is in this response only.
  let key = "";
  await step("2. issue a tenant API key", async () => {
    const created = expectData(await admin.POST("/v1/tenants/{tenant_id}/api-keys", {
      params: { path: { tenant_id: tenantId } },
      body: { name: "backend", scopes: ["ingest", "read", "write", "operator"] },
    }), 201, "POST /v1/tenants/{tenant_id}/api-keys");
    expectEqual(created.tenant, tenantId, "key tenant");
    expectEqual([...created.scopes].sort(), ["ingest", "operator", "read", "write"], "key scopes");
    check(created.key !== undefined, "the created key has no secret `key`");
    check(created.key.startsWith(created.prefix), `key ${show(created.key)} does not start with its prefix`);
    key = created.key;
  });
  const tenant = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key}` } });

  // 3. Create a customer with an Idempotency-Key; 4. the same request again is replayed.
  const customerBody = { external_id: "cus-42", name: "Globex" };
  const idempotency = { header: { "Idempotency-Key": "create-cus-42" } };
  let customer: components["schemas"]["Customer"] | undefined;
  await step("3. create a customer with an Idempotency-Key", async () => {
    const first = await tenant.POST("/v1/customers", { params: idempotency, body: customerBody });
    customer = expectData(first, 201, "POST /v1/customers");
    expectEqual(first.response.headers.get("Idempotent-Replayed"), null, "first response Idempotent-Replayed");
    check(/^cus_[0-9A-Za-z]+$/.test(customer.id), `customer id ${show(customer.id)} is not cus_…`);
    expectEqual([customer.external_id, customer.name, customer.currency, customer.timezone, customer.metadata],
                ["cus-42", "Globex", "USD", "Europe/Berlin", {}], "customer (currency and time zone from the tenant)");
  });

  await step("4. the same request is replayed: Idempotent-Replayed: true, the same body", async () => {
    const again = await tenant.POST("/v1/customers", { params: idempotency, body: customerBody });
    const replayed = expectData(again, 201, "replayed POST /v1/customers");
    expectEqual(again.response.headers.get("Idempotent-Replayed"), "true", "replay Idempotent-Replayed");
    expectEqual(replayed, customer, "replayed body");
    const read = expectData(await tenant.GET("/v1/customers/{external_id}", {
      params: { path: { external_id: "cus-42" } },
    }), 200, "GET /v1/customers/cus-42");
    expectEqual(read, customer, "the customer read back (created once)");
    const list = expectData(await tenant.GET("/v1/customers", {}), 200, "GET /v1/customers");
    expectEqual(list.data.map((c) => c.external_id), ["cus-42"], "customers after the replay");
  });

  await step("4. the same Idempotency-Key with another body is a 409", async () => {
    const problem = expectProblem(await tenant.POST("/v1/customers", {
      params: idempotency, body: { external_id: "cus-42", name: "Globex Corporation" },
    }), 409, "idempotency-key-reused", "POST /v1/customers, reused key");
    check(problem.request_id.length > 0, "409 problem without request_id");
  });

  await step("customer metadata (cus-44) is sent and read back typed", async () => {
    const metadata = { plan: "enterprise", region: "eu-central" };
    const created = expectData(await tenant.POST("/v1/customers", {
      body: { external_id: "cus-44", name: "Initech", currency: "EUR", metadata },
    }), 201, "POST /v1/customers (metadata)");
    expectEqual(created.metadata, metadata, "metadata");
    expectEqual(created.metadata["plan"], "enterprise", "metadata.plan");
  });

  // 5. Bad input: a precise problem, nothing created. (The README sends `"name":7`, which the
  // generated types refuse at compile time; an empty name and an unknown currency type-check.)
  await step("5. bad input is a 422 problem and changes nothing", async () => {
    const problem = expectProblem(await tenant.POST("/v1/customers", {
      body: { external_id: "cus-43", name: "", currency: "XYZ" },
    }), 422, "validation-failed", "POST /v1/customers, bad input");
    const fields = problem.errors.map((item) => item.field).sort();
    expectEqual(fields, ["currency", "name"], "422 errors[].field");
    const missing = await tenant.GET("/v1/customers/{external_id}", { params: { path: { external_id: "cus-43" } } });
    expectProblem(missing, 404, "not-found", "GET /v1/customers/cus-43 after the 422");
  });

  // 6. The audit trail, page by page; 7. its verification.
  let records: AuditRecord[] = [];
  await step("6. read the audit trail (who, what, before/after, the hash chain)", async () => {
    records = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page += 1) {
      const result = expectData(await tenant.GET("/v1/audit", {
        params: { query: cursor === undefined ? { limit: 10 } : { limit: 10, cursor } },
      }), 200, "GET /v1/audit");
      records.push(...result.data);
      if (result.next_cursor === null) {
        break;
      }
      cursor = result.next_cursor;
    }
    expectEqual(records.map((r) => r.action),
                ["tenant.created", "api_key.created", "customer.created", "customer.created"], "audit actions");
    expectEqual(records.map((r) => r.seq), [1, 2, 3, 4], "audit seq");
    let previous = GENESIS_HASH;
    for (const record of records) {
      expectEqual(record.tenant, tenantId, `record ${record.seq} tenant`);
      expectEqual(record.prev_hash, previous, `record ${record.seq} prev_hash (the previous record's hash)`);
      previous = record.hash;
    }
    const created = records[2];
    check(created !== undefined, "no third audit record");
    expectEqual([created.actor.type, created.actor.name], ["api_key", "backend"], "customer.created actor");
    expectEqual(created.target, customer?.id, "customer.created target");
    expectEqual(created.after?.["external_id"], "cus-42", "customer.created after.external_id");
  });

  await step("7. verify the audit chain", async () => {
    const report = expectData(await tenant.GET("/v1/audit/verify", {}), 200, "GET /v1/audit/verify");
    expectEqual(report.ok, true, "verify ok");
    expectEqual(report.records, records.length, "verified records");
    expectEqual(report.head, records[records.length - 1]?.hash, "verified head");
  });

  // Meters and events.
  await step("create the meters tokens (sum by model) and calls (count)", async () => {
    const tokens = expectData(await tenant.POST("/v1/meters", {
      body: { code: "tokens", event_type: "llm_call", aggregation: "sum", field: "tokens", group_by: ["model"] },
    }), 201, "POST /v1/meters tokens");
    expectEqual([tokens.code, tokens.aggregation, tokens.field, tokens.group_by], ["tokens", "sum", "tokens", ["model"]],
                "meter tokens");
    const calls = expectData(await tenant.POST("/v1/meters", {
      body: { code: "calls", event_type: "llm_call", aggregation: "count" },
    }), 201, "POST /v1/meters calls");
    expectEqual([calls.code, calls.aggregation, calls.field], ["calls", "count", null], "meter calls");
  });

  const now = new Date();
  await step("ingest the batch: accepted 2, duplicates 1, one conflict, one unknown_customer", async () => {
    const timestamp = instant(now);
    const result = expectData(await tenant.POST("/v1/events", {
      body: {
        events: [
          { event_id: "ev-1", customer: "cus-42", type: "llm_call", timestamp, properties: { tokens: 1200.5, model: "large" } },
          { event_id: "ev-2", customer: "cus-42", type: "llm_call", timestamp, properties: { tokens: "300", model: "small" } },
          { event_id: "ev-1", customer: "cus-42", type: "llm_call", timestamp, properties: { tokens: 1200.5, model: "large" } },
          { event_id: "ev-2", customer: "cus-42", type: "llm_call", timestamp, properties: { tokens: 9 } },
          { event_id: "ev-3", customer: "nobody", type: "llm_call", timestamp },
        ],
      },
    }), 200, "POST /v1/events");
    expectEqual(result.accepted, 2, "accepted");
    expectEqual(result.duplicates, 1, "duplicates");
    expectEqual(result.conflicts, [{ index: 3, event_id: "ev-2" }], "conflicts");
    expectEqual(result.rejected.map((r) => [r.index, r.event_id, r.type]), [[4, "ev-3", "unknown_customer"]],
                "rejected");
  });

  await step("read usage: calls 2; tokens 1500.5 (large 1200.5, small 300)", async () => {
    const usage = expectData(await tenant.GET("/v1/customers/{external_id}/usage", {
      params: {
        path: { external_id: "cus-42" },
        query: { from: instant(new Date(now.getTime() - 3600_000)), to: instant(new Date(now.getTime() + 3600_000)) },
      },
    }), 200, "GET /v1/customers/cus-42/usage");
    expectEqual(usage.customer, "cus-42", "usage customer");
    expectEqual(usage.meters.map((m) => m.meter), ["calls", "tokens"], "usage meters (ordered by code)");
    const meter = (code: string): MeterUsage => {
      const found = usage.meters.find((m) => m.meter === code);
      check(found !== undefined, `no usage for meter ${code}`);
      return found;
    };
    const calls = meter("calls");
    expectEqual([calls.aggregation, calls.value, calls.events], ["count", "2", 2], "calls usage");
    const tokens = meter("tokens");
    expectEqual([tokens.aggregation, tokens.value, tokens.events], ["sum", "1500.5", 2], "tokens usage");
    const groups = (tokens.groups ?? [])
      .map((g) => [g.group["model"], g.value, g.events])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expectEqual(groups, [["large", "1200.5", 1], ["small", "300", 1]], "tokens groups by model");
  });

  // Support: the platform admin reads a tenant's data with a justification, and the read is audited.
  const justification = "ticket 1234, customer asked";
  await step("admin read with X-Neruba-Tenant + X-Neruba-Justification, audited", async () => {
    const refused = await admin.GET("/v1/customers/{external_id}", { params: { path: { external_id: "cus-42" } } });
    expectProblem(refused, 403, "tenant-boundary", "admin GET without X-Neruba-Tenant");
    const read = expectData(await admin.GET("/v1/customers/{external_id}", {
      params: {
        path: { external_id: "cus-42" },
        header: { "X-Neruba-Tenant": tenantId, "X-Neruba-Justification": justification },
      },
    }), 200, "admin GET /v1/customers/cus-42");
    expectEqual(read, customer, "the customer the admin read");
    const reads = expectData(await tenant.GET("/v1/audit", {
      params: { query: { action: "tenant.data_read" } },
    }), 200, "GET /v1/audit?action=tenant.data_read");
    expectEqual(reads.data.map((r) => [r.actor.type, r.justification]), [["admin", justification]],
                "tenant.data_read records");
    const report = expectData(await tenant.GET("/v1/audit/verify", {}), 200, "GET /v1/audit/verify");
    expectEqual(report.ok, true, "verify ok after the admin read");
  });

  console.log(`walkthrough: ${stepsDone} steps passed`);
  console.log(`tenant: ${tenantId}`);
}

main().catch((error: unknown) => {
  console.error("walkthrough: unexpected failure:", error);
  process.exit(1);
});
