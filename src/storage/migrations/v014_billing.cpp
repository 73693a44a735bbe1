#include <string>

#include "storage/migrations/migrations.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::migrations {

// Invoices and what moves money around them (issue 17). Money is BIGINT minor units so that the
// rules a write must never break are CHECK constraints both backends enforce: no invoice is paid
// (or credited) beyond its total, no grant is drawn below zero. Uniques carry exactly-once: one
// invoice per customer and billing instant, one number per finalized invoice, one charge per
// charge key, one payment per provider payment id, one draw per invoice and grant.
Migration v014_billing() {
  return {
      14, "invoices, charges, credit grants, payments and billing runs", {}, [](Tx& tx) {
        const std::string key = tx.dialect() == Dialect::postgres ? "TEXT COLLATE \"C\"" : "TEXT";
        tx.exec(
            "CREATE TABLE invoices (tenant_id " + key + " NOT NULL, invoice_id " + key +
            " NOT NULL, customer_id " + key +
            " NOT NULL, billing_instant BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT "
            "NULL CHECK (status IN ('draft', 'finalized', 'paid', 'void')), number BIGINT, "
            "period_start BIGINT NOT NULL, period_end BIGINT NOT NULL, subtotal BIGINT NOT NULL, "
            "total BIGINT NOT NULL, credits_applied BIGINT NOT NULL DEFAULT 0, amount_paid BIGINT "
            "NOT NULL DEFAULT 0 CHECK (amount_paid >= 0), created_at BIGINT NOT NULL, updated_at "
            "BIGINT NOT NULL, finalized_at BIGINT, paid_at BIGINT, voided_at BIGINT, run_id TEXT, "
            "CHECK (status = 'draft' OR (number IS NOT NULL AND finalized_at IS NOT NULL)), "
            "CHECK (status = 'draft' OR total - credits_applied - amount_paid >= 0), "
            "CHECK (status <> 'draft' OR (credits_applied = 0 AND amount_paid = 0)), "
            "PRIMARY KEY (tenant_id, invoice_id), "
            "UNIQUE (tenant_id, customer_id, billing_instant), UNIQUE (tenant_id, number))");
        tx.exec("CREATE INDEX invoices_by_status ON invoices (tenant_id, status, invoice_id)");
        tx.exec(
            "CREATE TABLE invoice_lines (tenant_id " + key + " NOT NULL, invoice_id " + key +
            " NOT NULL, line_index BIGINT NOT NULL, line_id TEXT NOT NULL, subscription_id "
            "TEXT, charge_id TEXT, charge_type TEXT NOT NULL, description TEXT NOT NULL, meter "
            "TEXT, quantity TEXT NOT NULL, unit_price TEXT, amount BIGINT NOT NULL, period_start "
            "BIGINT NOT NULL, period_end BIGINT NOT NULL, inputs TEXT NOT NULL, digest TEXT NOT "
            "NULL, PRIMARY KEY (tenant_id, invoice_id, line_index))");
        // The last number given per tenant: finalizations take it in turn (the row is locked
        // until commit), so numbers are gapless in finalization order.
        tx.exec("CREATE TABLE invoice_numbers (tenant_id " + key +
                " NOT NULL PRIMARY KEY, last_number BIGINT NOT NULL)");
        // One-off charges (and later adjustments) waiting for, or billed on, an invoice.
        tx.exec("CREATE TABLE charges (tenant_id " + key + " NOT NULL, charge_id " + key +
                " NOT NULL, customer_id " + key + " NOT NULL, charge_key " + key +
                " NOT NULL, kind TEXT NOT NULL, amount BIGINT NOT NULL, currency TEXT NOT NULL, "
                "description TEXT NOT NULL, created_at BIGINT NOT NULL, invoice_id TEXT, "
                "PRIMARY KEY (tenant_id, charge_id), UNIQUE (tenant_id, customer_id, charge_key))");
        tx.exec("CREATE INDEX charges_pending ON charges (tenant_id, customer_id, invoice_id)");
        tx.exec(
            "CREATE TABLE credit_grants (tenant_id " + key + " NOT NULL, grant_id " + key +
            " NOT NULL, customer_id " + key +
            " NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('prepaid', 'promotional')), currency "
            "TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0), remaining BIGINT NOT NULL, "
            "priority BIGINT NOT NULL, expires_at BIGINT, expired_at BIGINT, reason_code TEXT, "
            "source TEXT NOT NULL, source_id TEXT, created_at BIGINT NOT NULL, "
            "CHECK (remaining >= 0 AND remaining <= amount), "
            "PRIMARY KEY (tenant_id, grant_id))");
        tx.exec("CREATE INDEX credit_grants_by_customer ON credit_grants (tenant_id, customer_id)");
        tx.exec("CREATE TABLE credit_draws (tenant_id " + key + " NOT NULL, invoice_id " + key +
                " NOT NULL, grant_id " + key +
                " NOT NULL, draw_index BIGINT NOT NULL, amount BIGINT NOT NULL CHECK (amount > "
                "0), PRIMARY KEY (tenant_id, invoice_id, grant_id))");
        tx.exec("CREATE TABLE payments (tenant_id " + key + " NOT NULL, payment_id " + key +
                " NOT NULL, invoice_id " + key + " NOT NULL, customer_id " + key +
                " NOT NULL, provider TEXT NOT NULL, provider_payment_id " + key +
                " NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0), "
                "applied BIGINT NOT NULL CHECK (applied >= 0), excess BIGINT NOT NULL CHECK "
                "(excess >= 0), created_at BIGINT NOT NULL, CHECK (applied + excess = amount), "
                "PRIMARY KEY (tenant_id, payment_id), "
                "UNIQUE (tenant_id, provider, provider_payment_id))");
        tx.exec("CREATE INDEX payments_by_invoice ON payments (tenant_id, invoice_id)");
        tx.exec("CREATE TABLE billing_runs (tenant_id " + key + " NOT NULL, run_id " + key +
                " NOT NULL, as_of BIGINT NOT NULL, customer_id " + key +
                ", finalize BIGINT NOT NULL, "
                "customers BIGINT NOT NULL, invoices_created BIGINT NOT NULL, invoices_updated "
                "BIGINT NOT NULL, invoices_finalized BIGINT NOT NULL, started_at BIGINT NOT NULL, "
                "completed_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, run_id))");
        // Tenants created before this version gain the new setting's default, so that every
        // tenant's settings name every setting (GET /v1/settings, the tenant's representation).
        for (const auto& row : tx.query("SELECT tenant_id, settings FROM tenants")) {
          json::Value settings = sql::parse_stored_json(row.text(1));
          if (!settings.is_object() || settings.find("invoice_grace_period_days") != nullptr) {
            continue;
          }
          settings.set("invoice_grace_period_days", json::Value::number(std::int64_t{0}));
          tx.exec("UPDATE tenants SET settings = $2 WHERE tenant_id = $1",
                  {row.text(0), json::serialize(settings)});
        }
      }};
}

}  // namespace neruba::storage::migrations
