// The README's five-minute walkthrough, run through a client generated from docs/openapi.yaml:
// types by openapi-typescript (`neruba-openapi`, generated at test time), requests by openapi-fetch.
//
//   node dist/walkthrough.js BASE_URL ADMIN_KEY
//
// Compiled with `tsc --strict` and no casts: every request body, parameter and response field used
// here must be typed by the document. It ends as the README does: credit, a billing run, the
// invoice's explanation, a payment in two parts, a second invoice voided by an operator key, and the
// ledger's balances and transactions, every amount checked by hand. Prints one line per step; the first failed check ends the
// process with exit code 1 and says what differed. The last line is `tenant: <id>`, for the caller
// to verify the audit chain from the CLI too.
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import createClient from "openapi-fetch";
import type { components, paths } from "neruba-openapi";

type Problem = components["schemas"]["Problem"];
type AuditRecord = components["schemas"]["AuditRecord"];
type MeterUsage = components["schemas"]["MeterUsage"];
type LedgerBalance = components["schemas"]["LedgerBalance"];
type LedgerTransaction = components["schemas"]["LedgerTransaction"];

const PROBLEM_BASE = "https://neruba.dev/errors/";
const GENESIS_HASH = "0".repeat(64);

class CheckFailed extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new CheckFailed(message);
  }
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => typeof item === "bigint" ? `${item}n` : item) ?? String(value);
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

/** Waits until the clock is in a later whole second than `date`, as the README's `sleep 1` does: an
 *  instant() taken then is strictly after instant(date). */
async function afterSecondOf(date: Date): Promise<void> {
  const next = (Math.floor(date.getTime() / 1000) + 1) * 1000;
  while (Date.now() < next) {
    await new Promise<void>((resolve) => setTimeout(resolve, next - Date.now()));
  }
}

/** A money amount with exactly 2 fraction digits (USD's minor unit), in cents. */
function cents(amount: string, what: string): bigint {
  const match = /^(-?)(0|[1-9][0-9]*)\.([0-9]{2})$/.exec(amount);
  check(match !== null, `${what}: ${show(amount)} is not an amount with exactly 2 fraction digits`);
  const magnitude = BigInt(`${match[2] ?? ""}${match[3] ?? ""}`);
  return match[1] === "-" ? -magnitude : magnitude;
}

/** An exact decimal written without trailing fraction zeros ("2.000" → "2", "1.500" → "1.5"), to
 *  compare values the server writes at the scale it computed them with. */
function plain(decimal: string | null): string | null {
  if (decimal === null || !decimal.includes(".")) {
    return decimal;
  }
  return decimal.replace(/0+$/, "").replace(/\.$/, "");
}

/** n × amount / d rounded half-even to whole cents (the plans' default rounding). */
function prorate(amountCents: bigint, factor: string, what: string): bigint {
  const match = /^([0-9]+)\/([1-9][0-9]*)$/.exec(factor);
  check(match !== null, `${what}: factor ${show(factor)} is not n/d`);
  const [n, d] = [BigInt(match[1] ?? "0"), BigInt(match[2] ?? "1")];
  check(n > 0n && n <= d, `${what}: factor ${factor} is not in (0, 1]`);
  const numerator = amountCents * n;
  const sign = numerator < 0n ? -1n : 1n;
  const magnitude = numerator * sign;
  let quotient = magnitude / d;
  const twice = 2n * (magnitude % d);
  if (twice > d || (twice === d && quotient % 2n === 1n)) {
    quotient += 1n;
  }
  return quotient * sign;
}

/** JSON with object members sorted by name and no white space: what an invoice line's input_digest
 *  is the SHA-256 of. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const members = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${members.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Every item of a list, page by page: `fetchPage` reads the page after `cursor` (the first without). */
async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<{ data: T[]; next_cursor: string | null }>):
    Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const result = await fetchPage(cursor);
    items.push(...result.data);
    if (result.next_cursor === null) {
      return items;
    }
    cursor = result.next_cursor;
  }
  throw new CheckFailed(`more than 100 pages: ${items.length} items so far`);
}

/** "kind customer" of a ledger account ("-" for the tenant's own). */
function accountName(account: components["schemas"]["LedgerAccount"]): string {
  return `${account.kind} ${account.customer ?? "-"}`;
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
    records = await allPages(async (cursor) => expectData(await tenant.GET("/v1/audit", {
      params: { query: cursor === undefined ? { limit: 10 } : { limit: 10, cursor } },
    }), 200, "GET /v1/audit"));
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

  // Price it: plan growth (monthly fee, seats, graduated tiers) with a second version from next New
  // Year on, plan scale; subscribe cus-42, send usage, upgrade mid-period, read the upcoming invoice.
  const growthCharges: components["schemas"]["ChargeInput"][] = [
    { type: "recurring", amount: "49.00", timing: "advance" },
    { type: "seat", unit_price: "10.00" },
    { type: "usage", meter: "tokens", model: "graduated", tiers: [
      { up_to: "1000", unit_price: "0.002" }, { up_to: null, unit_price: "0.001", flat_fee: "1.00" }] },
  ];
  const newYear = `${new Date().getUTCFullYear() + 1}-01-01T00:00:00Z`;
  await step("plan growth (version 1) and its version 2 from next New Year", async () => {
    const created = expectData(await tenant.POST("/v1/plans", {
      body: { code: "growth", name: "Growth", currency: "USD", interval: "month",
              effective_from: "2026-01-01T00:00:00Z", charges: growthCharges },
    }), 201, "POST /v1/plans growth");
    expectEqual([created.code, created.name, created.currency, created.interval, created.latest_version],
                ["growth", "Growth", "USD", "month", 1], "plan growth");
    expectEqual(created.versions.map((v) => [v.version, v.effective_from, v.proration, v.rounding]),
                [[1, "2026-01-01T00:00:00Z", "second", "half_even"]], "growth versions after POST /v1/plans");
    expectEqual(created.versions[0]?.charges, growthCharges, "growth version 1 charges");
    const nextYearCharges: components["schemas"]["ChargeInput"][] = [
      { type: "recurring", amount: "59.00", timing: "advance" },
      { type: "seat", unit_price: "10.00" },
      { type: "usage", meter: "tokens", model: "graduated", tiers: [
        { up_to: "1000", unit_price: "0.002" }, { up_to: null, unit_price: "0.001", flat_fee: "1.00" }] },
    ];
    const plan = expectData(await tenant.POST("/v1/plans/{code}/versions", {
      params: { path: { code: "growth" } },
      body: { name: "Growth next year", currency: "USD", interval: "month", effective_from: newYear,
              charges: nextYearCharges },
    }), 201, "POST /v1/plans/growth/versions");
    expectEqual([plan.code, plan.name, plan.latest_version], ["growth", "Growth next year", 2],
                "plan growth after its version 2 (the name is the latest version's)");
    expectEqual(plan.versions.map((v) => [v.version, v.name, v.effective_from]),
                [[1, "Growth", "2026-01-01T00:00:00Z"], [2, "Growth next year", newYear]], "growth versions");
    expectEqual(plan.versions.map((v) => v.charges), [growthCharges, nextYearCharges], "growth versions' charges");
  });

  await step("plan scale", async () => {
    const charges: components["schemas"]["ChargeInput"][] = [
      { type: "recurring", amount: "199.00", timing: "advance" },
      { type: "seat", unit_price: "8.00" },
      { type: "usage", meter: "tokens", model: "graduated", tiers: [
        { up_to: "10000", unit_price: "0.0015" }, { up_to: null, unit_price: "0.0005" }] },
    ];
    const plan = expectData(await tenant.POST("/v1/plans", {
      body: { code: "scale", name: "Scale", currency: "USD", interval: "month",
              effective_from: "2026-01-01T00:00:00Z", charges },
    }), 201, "POST /v1/plans scale");
    expectEqual([plan.code, plan.name, plan.latest_version], ["scale", "Scale", 1], "plan scale");
    expectEqual(plan.versions.map((v) => v.charges), [charges], "scale version 1 charges");
  });

  // The subscription starts in a later second than the events sent above (the README's `sleep 1`
  // before START): they are outside its periods, and only the 1,500 tokens below are billed.
  let subscriptionId = "";
  let start = "";
  let periodEnd = "";
  await step("subscribe cus-42 to growth from now with 3 seats", async () => {
    await afterSecondOf(now);
    const startDate = new Date();
    start = instant(startDate);
    const subscription = expectData(await tenant.POST("/v1/subscriptions", {
      params: { header: { "Idempotency-Key": "sub-cus-42" } },
      body: { customer: "cus-42", plan: "growth", start, seats: 3 },
    }), 201, "POST /v1/subscriptions");
    check(/^sub_[0-9A-Za-z]+$/.test(subscription.id), `subscription id ${show(subscription.id)} is not sub_…`);
    expectEqual([subscription.customer, subscription.plan, subscription.seats, subscription.status, subscription.start],
                ["cus-42", "growth", 3, "active", start], "subscription");
    expectEqual([subscription.billing_anchor, subscription.trial_end, subscription.ends_at], [start, null, null],
                "subscription anchor, trial_end, ends_at");
    check(subscription.current_period !== null, "an active subscription without current_period");
    expectEqual(subscription.current_period.start, start, "current_period.start");
    subscriptionId = subscription.id;
    periodEnd = subscription.current_period.end;
    // The README's `sleep 1` before the usage: the event is in a later second than the start.
    await afterSecondOf(startDate);
  });

  await step("send 1,500 tokens (ev-10)", async () => {
    const result = expectData(await tenant.POST("/v1/events", {
      body: {
        events: [{ event_id: "ev-10", customer: "cus-42", type: "llm_call", timestamp: instant(new Date()),
                   properties: { tokens: 1500, model: "large" } }],
      },
    }), 200, "POST /v1/events ev-10");
    expectEqual([result.accepted, result.duplicates, result.conflicts, result.rejected], [1, 0, [], []], "ev-10");
  });

  let changedAt = "";
  await step("upgrade now to scale with 5 seats, prorated", async () => {
    const subscription = expectData(await tenant.POST("/v1/subscriptions/{id}/changes", {
      params: { path: { id: subscriptionId } },
      body: { plan: "scale", seats: 5, effective: "now", proration: "prorate" },
    }), 200, "POST /v1/subscriptions/{id}/changes");
    expectEqual([subscription.id, subscription.plan, subscription.seats, subscription.status],
                [subscriptionId, "scale", 5, "active"], "subscription after the change");
    expectEqual(subscription.phases.map((p) => [p.plan, p.seats, p.billing_anchor, p.proration]),
                [["growth", 3, start, "prorate"], ["scale", 5, start, "prorate"]], "phases");
    const change = subscription.phases[1];
    check(change !== undefined, "no second phase");
    const [from, at, to] = [Date.parse(start), Date.parse(change.effective_from), Date.parse(periodEnd)];
    check(from < at && at < to, `the change at ${change.effective_from} is not inside the period [${start}, ${periodEnd})`);
    changedAt = change.effective_from;
  });

  await step("the upcoming invoice: prorations, usage tier by tier, next period's fees on scale", async () => {
    const invoice = expectData(await tenant.GET("/v1/subscriptions/{id}/upcoming", {
      params: { path: { id: subscriptionId } },
    }), 200, "GET /v1/subscriptions/{id}/upcoming");
    expectEqual([invoice.subscription, invoice.currency, invoice.period_start, invoice.period_end,
                 invoice.billing_instant], [subscriptionId, "USD", start, periodEnd, periodEnd], "invoice");
    const lines = invoice.lines;
    expectEqual(lines.map((l) => [l.charge_type, l.explanation.plan, l.explanation.credit_of ?? null, l.quantity]),
                [["proration", "growth", "recurring", "1"], ["proration", "growth", "seat", "3"],
                 ["proration", "scale", "recurring", "1"], ["proration", "scale", "seat", "5"],
                 ["usage", "growth", null, "1500"], ["usage", "scale", null, "0"],
                 ["recurring", "scale", null, "1"], ["seat", "scale", null, "5"]],
                "lines (charge_type, plan, credit_of, quantity)");
    for (const line of lines) {
      expectEqual(line.explanation.plan_version, 1, `${line.description}: plan_version`);
      expectEqual(line.explanation.trial, false, `${line.description}: trial`);
    }

    // Growth's fee and 3 seats credited for the rest of the period, Scale's fee and 5 seats charged:
    // amount = ±(full fee × factor), rounded half-even to the cent.
    const fees: [string, string, bigint][] = [["49.00", "49.00", -1n], ["10.00", "30.00", -1n],
                                              ["199.00", "199.00", 1n], ["8.00", "40.00", 1n]];
    const factors = new Set<string>();
    fees.forEach(([unitPrice, full, sign], index) => {
      const line = lines[index];
      check(line !== undefined, `no proration line ${index}`);
      const what = `proration line ${show(line.description)}`;
      expectEqual([line.unit_price, line.explanation.full_amount], [unitPrice, full], `${what}: unit_price, full_amount`);
      const proration = line.explanation.proration;
      expectEqual([proration.basis, proration.part_start, proration.part_end, proration.period_start,
                   proration.period_end], ["second", changedAt, periodEnd, start, periodEnd],
                  `${what}: the rest of the period`);
      expectEqual([line.period_start, line.period_end], [changedAt, periodEnd], `${what}: period`);
      const amount = cents(line.amount, `${what}: amount`);
      check(sign < 0n ? amount < 0n : amount > 0n, `${what}: amount ${line.amount} has the wrong sign`);
      expectEqual(amount, sign * prorate(cents(full, `${what}: full_amount`), proration.factor, what),
                  `${what}: amount in cents (full_amount × factor ${proration.factor})`);
      factors.add(proration.factor);
    });
    expectEqual(factors.size, 1, "one proration factor for the four lines");

    // The 1,500 tokens on growth, tier by tier: 1,000 × 0.002 + 500 × 0.001 + 1.00 = 3.50.
    const growthUsage = lines[4];
    check(growthUsage !== undefined, "no usage line on growth");
    const usage = growthUsage.explanation.usage;
    check(usage !== undefined, "the growth usage line has no explanation.usage");
    expectEqual([growthUsage.meter, growthUsage.amount, growthUsage.period_start, growthUsage.period_end],
                ["tokens", "3.50", start, changedAt], "usage on growth (meter, amount, from the start to the change)");
    expectEqual([usage.model, usage.quantity, usage.already_used, usage.period_quantity, usage.events],
                ["graduated", "1500", "0", "1500", 1], "usage on growth: explanation.usage");
    expectEqual(usage.tiers.map((t) => [t.tier, plain(t.from), plain(t.to), plain(t.units), plain(t.unit_price),
                                        plain(t.flat_fee), plain(t.amount)]),
                [[0, "0", "1000", "1000", "0.002", "0", "2"], [1, "1000", null, "500", "0.001", "1", "1.5"]],
                "usage on growth: explanation.usage.tiers");

    // Since the change, on scale: no usage yet.
    const scaleUsage = lines[5];
    check(scaleUsage !== undefined, "no usage line on scale");
    expectEqual([scaleUsage.meter, scaleUsage.amount, scaleUsage.period_start, scaleUsage.period_end,
                 scaleUsage.explanation.usage?.tiers], ["tokens", "0.00", changedAt, periodEnd, []],
                "usage on scale since the change");

    // The next period's advance fee and seats, on scale: 199.00 and 5 × 8.00 = 40.00.
    const [fee, seats] = [lines[6], lines[7]];
    check(fee !== undefined && seats !== undefined, "no advance lines");
    expectEqual([fee.unit_price, fee.amount, fee.period_start], ["199.00", "199.00", periodEnd], "next period's fee");
    expectEqual([seats.unit_price, seats.amount, seats.period_start], ["8.00", "40.00", periodEnd],
                "next period's seats");
    expectEqual(cents(seats.amount, "seats amount"), 5n * cents("8.00", "seat price"), "seats amount = 5 × 8.00");

    // Every amount has exactly 2 fraction digits; the subtotal is their sum, in cents.
    const sum = lines.reduce((total, l) => total + cents(l.amount, `${l.description}: amount`), 0n);
    expectEqual(cents(invoice.subtotal, "subtotal"), sum, "subtotal in cents (the sum of the lines)");
    expectEqual(invoice.total, invoice.subtotal, "total");
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

  // Bill it: credit, a billing run, the explanation, a payment in two parts, a second invoice
  // voided by an operator, and the ledger under all of it.
  let grantId = "";
  await step("grant cus-42 25.00 of promotional credit (goodwill)", async () => {
    const grant = expectData(await tenant.POST("/v1/credit-grants", {
      body: { customer: "cus-42", amount: "25.00", currency: "USD", kind: "promotional", reason_code: "goodwill" },
    }), 201, "POST /v1/credit-grants");
    expectEqual([grant.customer, grant.kind, grant.amount, grant.remaining, grant.reason_code, grant.source],
                ["cus-42", "promotional", "25.00", "25.00", "goodwill", "api"], "grant");
    grantId = grant.id;
  });

  // The first invoice, at the start, carries the first period's advance fees on growth (the
  // upgrade's prorations and the tokens go on the invoice at the period's end): 49.00 + 3 × 10.00.
  let invoiceId = "";
  await step("bill now: cus-42's first invoice INV-000001, 79.00, 25.00 of credit drawn, 54.00 due", async () => {
    const run = expectData(await tenant.POST("/v1/billing-runs", {
      params: { header: { "Idempotency-Key": "run-1" } }, body: {},
    }), 201, "POST /v1/billing-runs");
    expectEqual([run.finalize, run.customers, run.invoices_created, run.invoices_updated, run.invoices_finalized,
                 run.invoices_truncated], [true, 1, 1, 0, 1, false], "the run's counts");
    const invoice = run.invoices[0];
    check(invoice !== undefined && run.invoices.length === 1, `the run billed ${show(run.invoices)}`);
    expectEqual([invoice.customer, invoice.number, invoice.status, invoice.billing_instant, invoice.period_start,
                 invoice.period_end], ["cus-42", "INV-000001", "finalized", start, start, periodEnd], "the invoice");
    expectEqual([invoice.subtotal, invoice.total, invoice.credits_applied, invoice.amount_paid, invoice.amount_due],
                ["79.00", "79.00", "25.00", "0.00", "54.00"], "the invoice's totals");
    const listed = expectData(await tenant.GET("/v1/invoices", { params: { query: { customer: "cus-42" } } }),
                              200, "GET /v1/invoices?customer=cus-42");
    expectEqual(listed.data.map((i) => i.id), [invoice.id], "cus-42's invoices");
    const read = expectData(await tenant.GET("/v1/invoices/{invoice_id}", {
      params: { path: { invoice_id: invoice.id } },
    }), 200, "GET /v1/invoices/{invoice_id}");
    expectEqual(read.lines.map((l) => [l.charge_type, l.quantity, l.unit_price, l.amount, l.period_start, l.period_end,
                                       l.subscription]),
                [["recurring", "1", "49.00", "49.00", start, periodEnd, subscriptionId],
                 ["seat", "3", "10.00", "30.00", start, periodEnd, subscriptionId]], "the invoice's lines");
    const sum = read.lines.reduce((total, l) => total + cents(l.amount, "line amount"), 0n);
    expectEqual(cents(read.subtotal, "subtotal"), sum, "subtotal = the sum of the lines");
    invoiceId = invoice.id;
  });

  await step("explain the invoice: each line's inputs and their SHA-256, the 25.00 drawn", async () => {
    const explained = expectData(await tenant.GET("/v1/invoices/{invoice_id}/explain", {
      params: { path: { invoice_id: invoiceId } },
    }), 200, "GET /v1/invoices/{invoice_id}/explain");
    expectEqual(explained.lines.map((l) => [l.charge_type, l.amount]), [["recurring", "49.00"], ["seat", "30.00"]],
                "explained lines");
    for (const line of explained.lines) {
      const digest = createHash("sha256").update(canonicalJson(line.inputs), "utf8").digest("hex");
      expectEqual(line.input_digest, digest, `${line.description}: input_digest = SHA-256 of the canonical inputs`);
      check("explanation" in line.inputs, `${line.description}: not a subscription line's inputs`);
      const explanation = line.inputs.explanation;
      expectEqual([line.inputs.subscription, explanation.plan, explanation.plan_version, explanation.proration.factor,
                   explanation.full_amount], [subscriptionId, "growth", 1, "1/1", line.amount],
                  `${line.description}: inputs (the first period, whole)`);
    }
    expectEqual(explained.credit_draws, [{ grant: grantId, amount: "25.00" }], "credit draws");
    expectEqual([explained.total, explained.credits_applied, explained.payments], ["79.00", "25.00", []], "totals");
  });

  await step("pay 20.00, then the remaining 34.00: the invoice is paid", async () => {
    const first = expectData(await tenant.POST("/v1/payments", {
      body: { invoice: invoiceId, amount: "20.00", provider: "manual", provider_payment_id: "wire-1" },
    }), 201, "POST /v1/payments 20.00");
    expectEqual([first.amount, first.applied, first.excess, first.credit_grant], ["20.00", "20.00", "0.00", null],
                "the first payment");
    expectEqual([first.invoice_after.status, first.invoice_after.amount_paid, first.invoice_after.amount_due],
                ["finalized", "20.00", "34.00"], "the invoice after 20.00");
    const rest = expectData(await tenant.POST("/v1/payments", {
      body: { invoice: invoiceId, amount: "34.00", provider: "manual", provider_payment_id: "wire-2" },
    }), 201, "POST /v1/payments 34.00");
    expectEqual([rest.applied, rest.excess, rest.invoice_after.status, rest.invoice_after.amount_paid,
                 rest.invoice_after.amount_due], ["34.00", "0.00", "paid", "54.00", "0.00"], "the invoice after 34.00");
    check(rest.invoice_after.paid_at !== null, "a paid invoice without paid_at");
  });

  let secondId = "";
  await step("cus-45's one-off charge of 15.00 is billed on an invoice of its own, INV-000002", async () => {
    expectData(await tenant.POST("/v1/customers", { body: { external_id: "cus-45", name: "Initech" } }), 201,
               "POST /v1/customers cus-45");
    const charge = expectData(await tenant.POST("/v1/charges", {
      body: { customer: "cus-45", charge_key: "onboarding", amount: "15.00", currency: "USD",
              description: "Onboarding workshop" },
    }), 201, "POST /v1/charges");
    expectEqual([charge.customer, charge.amount, charge.invoice], ["cus-45", "15.00", null], "the charge");
    const run = expectData(await tenant.POST("/v1/billing-runs", {
      params: { header: { "Idempotency-Key": "run-2" } }, body: {},
    }), 201, "POST /v1/billing-runs (second)");
    // cus-42 has nothing new: its window is billed once.
    expectEqual(run.invoices.map((i) => [i.customer, i.number, i.status, i.total, i.amount_due]),
                [["cus-45", "INV-000002", "finalized", "15.00", "15.00"]], "the second run's invoices");
    expectEqual([run.invoices_created, run.invoices_finalized], [1, 1], "the second run's counts");
    secondId = run.invoices[0]?.id ?? "";
    const read = expectData(await tenant.GET("/v1/invoices/{invoice_id}", {
      params: { path: { invoice_id: secondId } },
    }), 200, "GET the second invoice");
    expectEqual(read.lines.map((l) => [l.charge_type, l.description, l.amount, l.charge]),
                [["one_off", "Onboarding workshop", "15.00", charge.id]], "the second invoice's line");
  });

  const voidJustification = "The workshop was cancelled, ticket 1235";
  await step("void INV-000002 with an operator key, a reason code and a justification", async () => {
    const created = expectData(await admin.POST("/v1/tenants/{tenant_id}/api-keys", {
      params: { path: { tenant_id: tenantId } }, body: { name: "support", scopes: ["operator"] },
    }), 201, "POST an operator key");
    check(created.key !== undefined, "the operator key has no secret");
    const operator = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${created.key}` } });
    const body = { reason_code: "billing_error", justification: voidJustification };
    const refused = await tenant.POST("/v1/invoices/{invoice_id}/void", {
      params: { path: { invoice_id: invoiceId } }, body,
    });
    expectProblem(refused, 409, "conflict", "void the paid INV-000001");
    const voided = expectData(await operator.POST("/v1/invoices/{invoice_id}/void", {
      params: { path: { invoice_id: secondId } }, body,
    }), 200, "POST /v1/invoices/{invoice_id}/void");
    expectEqual([voided.number, voided.status, voided.total, voided.amount_due], ["INV-000002", "void", "15.00", "0.00"],
                "the void invoice");
    const records = expectData(await tenant.GET("/v1/audit", { params: { query: { action: "invoice.voided" } } }),
                               200, "GET /v1/audit?action=invoice.voided");
    expectEqual(records.data.map((r) => [r.target, r.actor.name, r.reason_code, r.justification, r.before?.["status"],
                                        r.after?.["status"]]),
                [[secondId, "support", "billing_error", voidJustification, "finalized", "void"]], "the void's record");
  });

  await step("the ledger's balances, by hand; debits equal credits", async () => {
    const balances: LedgerBalance[] = await allPages(async (cursor) => expectData(await tenant.GET("/v1/ledger/balances", {
      params: { query: cursor === undefined ? { limit: 2 } : { limit: 2, cursor } },
    }), 200, "GET /v1/ledger/balances"));
    const byAccount = new Map(balances.map((b) => [accountName(b.account), [b.debits, b.credits, b.balance]]));
    // cus-42: cash 20.00 + 34.00; promotional credit 25.00 granted and drawn; receivable 79.00
    // invoiced, 25.00 + 20.00 + 34.00 settled. cus-45: 15.00 invoiced and reversed. The tenant:
    // promotions expense 25.00; revenue 79.00 + 15.00 earned, 15.00 reversed.
    expectEqual(Object.fromEntries(byAccount), {
      "cash cus-42": ["54.00", "0.00", "54.00"],
      "promotional_credit cus-42": ["25.00", "25.00", "0.00"],
      "promotions_expense -": ["25.00", "0.00", "25.00"],
      "receivable cus-42": ["79.00", "79.00", "0.00"],
      "receivable cus-45": ["15.00", "15.00", "0.00"],
      "revenue -": ["15.00", "94.00", "79.00"],
    }, "ledger balances (debits, credits, balance)");
    const debits = balances.reduce((total, b) => total + cents(b.debits, "debits"), 0n);
    const credits = balances.reduce((total, b) => total + cents(b.credits, "credits"), 0n);
    expectEqual(debits, credits, "the ledger's debits and credits");
  });

  await step("the ledger's transactions: each balanced; the void corrects the finalization", async () => {
    const ofCustomer = async (customer: string): Promise<LedgerTransaction[]> =>
      expectData(await tenant.GET("/v1/ledger/transactions", { params: { query: { customer } } }), 200,
                 `GET /v1/ledger/transactions?customer=${customer}`).data;
    const cus42 = await ofCustomer("cus-42");
    // The grant, then the finalization and its draw (one instant), then the two payments.
    expectEqual(cus42.map((t) => t.kind).slice(0, 1), ["credit_grant"], "first cus-42 transaction");
    expectEqual(cus42.slice(1, 3).map((t) => t.kind).sort(), ["credit_draw", "invoice_finalized"],
                "then the finalization and its credit draw");
    expectEqual(cus42.slice(3).map((t) => [t.kind, t.entries.map((e) => [e.side, accountName(e.account), e.amount])]),
                [["payment", [["debit", "cash cus-42", "20.00"], ["credit", "receivable cus-42", "20.00"]]],
                 ["payment", [["debit", "cash cus-42", "34.00"], ["credit", "receivable cus-42", "34.00"]]]],
                "then the payments");
    for (const transaction of [...cus42, ...await ofCustomer("cus-45")]) {
      const side = (wanted: string): bigint => transaction.entries.filter((e) => e.side === wanted)
        .reduce((total, e) => total + cents(e.amount, "entry amount"), 0n);
      expectEqual(side("debit"), side("credit"), `transaction ${transaction.id} (${transaction.kind}) balances`);
    }
    const cus45 = await ofCustomer("cus-45");
    expectEqual(cus45.map((t) => t.kind), ["invoice_finalized", "invoice_void"], "cus-45's transactions");
    expectEqual(cus45[1]?.corrects, cus45[0]?.id, "the void corrects the finalization");
    expectEqual(cus45.map((t) => t.cause), [secondId, secondId], "both are caused by INV-000002");
  });

  await step("verify the audit chain after billing", async () => {
    const report = expectData(await tenant.GET("/v1/audit/verify", {}), 200, "GET /v1/audit/verify");
    expectEqual(report.ok, true, "verify ok after billing");
  });

  console.log(`walkthrough: ${stepsDone} steps passed`);
  console.log(`tenant: ${tenantId}`);
}

main().catch((error: unknown) => {
  console.error("walkthrough: unexpected failure:", error);
  process.exit(1);
});
