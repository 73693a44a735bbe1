#include "storage/invoices.hpp"

#include <map>
#include <span>

#include "common/assert.hpp"
#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage {

std::string_view invoice_status_name(InvoiceStatus status) {
  switch (status) {
    case InvoiceStatus::draft:
      return "draft";
    case InvoiceStatus::finalized:
      return "finalized";
    case InvoiceStatus::paid:
      return "paid";
    case InvoiceStatus::void_:
      return "void";
  }
  return "draft";
}

std::optional<InvoiceStatus> parse_invoice_status(std::string_view name) {
  for (const InvoiceStatus status : {InvoiceStatus::draft, InvoiceStatus::finalized,
                                     InvoiceStatus::paid, InvoiceStatus::void_}) {
    if (invoice_status_name(status) == name) return status;
  }
  return std::nullopt;
}

std::string invoice_number_text(std::int64_t number) {
  std::string digits = std::to_string(number);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return "INV-" + digits;
}

namespace invoices {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view invoice_columns =
    "tenant_id, invoice_id, customer_id, billing_instant, currency, status, number, period_start, "
    "period_end, subtotal, total, credits_applied, amount_paid, created_at, updated_at, "
    "finalized_at, paid_at, voided_at, run_id";

std::optional<Instant> optional_instant(const Row& row, std::size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return from_unix_micros(row.integer(i));
}

InvoiceStatus stored_status(const std::string& text) {
  const auto status = parse_invoice_status(text);
  if (!status) throw StorageError(StorageError::Kind::other, "stored invoice status: " + text);
  return *status;
}

InvoiceRecord invoice_from_row(const Row& row) {
  InvoiceRecord out{TenantId(row.text(0)),
                    row.text(1),
                    CustomerId(row.text(2)),
                    from_unix_micros(row.integer(3)),
                    columns::stored_currency(row.text(4)),
                    stored_status(row.text(5)),
                    row.is_null(6) ? std::nullopt : std::optional<std::int64_t>(row.integer(6)),
                    from_unix_micros(row.integer(7)),
                    from_unix_micros(row.integer(8)),
                    row.integer(9),
                    row.integer(10),
                    row.integer(11),
                    row.integer(12),
                    from_unix_micros(row.integer(13)),
                    from_unix_micros(row.integer(14)),
                    optional_instant(row, 15),
                    optional_instant(row, 16),
                    optional_instant(row, 17),
                    row.optional_text(18),
                    {}};
  return out;
}

constexpr std::string_view line_columns =
    "line_id, subscription_id, charge_id, charge_type, description, meter, quantity, unit_price, "
    "amount, period_start, period_end, inputs, digest";

// A line from its columns, which start at column `at` of the row.
InvoiceLineRecord line_from_row(const Row& row, std::size_t at) {
  return InvoiceLineRecord{row.text(at),
                           row.optional_text(at + 1),
                           row.optional_text(at + 2),
                           row.text(at + 3),
                           row.text(at + 4),
                           row.optional_text(at + 5),
                           row.text(at + 6),
                           row.optional_text(at + 7),
                           row.integer(at + 8),
                           from_unix_micros(row.integer(at + 9)),
                           from_unix_micros(row.integer(at + 10)),
                           row.text(at + 11),
                           row.text(at + 12)};
}

std::vector<InvoiceLineRecord> lines_of(Tx& tx, const TenantId& tenant, const std::string& id) {
  const auto rows = tx.query(sql::select_from(line_columns,
                                              "FROM invoice_lines WHERE tenant_id = $1 AND "
                                              "invoice_id = $2 ORDER BY line_index"),
                             {tenant.str(), id});
  std::vector<InvoiceLineRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(line_from_row(row, 0));
  return out;
}

void insert_lines(Tx& tx, std::span<const InvoiceRecord> invoices) {
  std::vector<std::pair<const InvoiceRecord*, std::int64_t>> rows;
  for (const auto& invoice : invoices) {
    for (std::size_t i = 0; i < invoice.lines.size(); ++i) {
      rows.emplace_back(&invoice, static_cast<std::int64_t>(i));
    }
  }
  const std::int64_t written = sql::insert_rows<std::pair<const InvoiceRecord*, std::int64_t>>(
      tx,
      "INSERT INTO invoice_lines (tenant_id, invoice_id, line_index, line_id, subscription_id, "
      "charge_id, charge_type, description, meter, quantity, unit_price, amount, period_start, "
      "period_end, inputs, digest)",
      "", 16, rows, [&](const auto& entry, std::vector<Param>& params) {
        const InvoiceRecord& invoice = *entry.first;
        const InvoiceLineRecord& line = invoice.lines[static_cast<std::size_t>(entry.second)];
        params.emplace_back(TextRef{invoice.tenant.str()});
        params.emplace_back(TextRef{invoice.id});
        params.emplace_back(entry.second);
        params.emplace_back(TextRef{line.id});
        params.emplace_back(columns::optional_text(line.subscription));
        params.emplace_back(columns::optional_text(line.charge));
        params.emplace_back(TextRef{line.charge_type});
        params.emplace_back(TextRef{line.description});
        params.emplace_back(columns::optional_text(line.meter));
        params.emplace_back(TextRef{line.quantity});
        params.emplace_back(columns::optional_text(line.unit_price));
        params.emplace_back(line.amount_minor);
        params.emplace_back(to_unix_micros(line.period_start));
        params.emplace_back(to_unix_micros(line.period_end));
        params.emplace_back(TextRef{line.inputs});
        params.emplace_back(TextRef{line.digest});
      });
  NERUBA_ASSERT_MSG(written == static_cast<std::int64_t>(rows.size()),
                    "an invoice line row was not written");
}

Param optional_micros(const std::optional<Instant>& at) {
  if (at) return to_unix_micros(*at);
  return std::monostate{};
}

std::optional<InvoiceRecord> find_with(Tx& tx, const TenantId& tenant, const std::string& id,
                                       std::string_view suffix) {
  const auto rows = tx.query(
      sql::select_from(invoice_columns, "FROM invoices WHERE tenant_id = $1 AND invoice_id = $2" +
                                            std::string(suffix)),
      {tenant.str(), id});
  if (rows.empty()) return std::nullopt;
  InvoiceRecord out = invoice_from_row(rows.front());
  out.lines = lines_of(tx, tenant, id);
  return out;
}

std::vector<InvoiceRecord> invoices_from(const Rows& rows) {
  std::vector<InvoiceRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(invoice_from_row(row));
  return out;
}

}  // namespace

bool insert_draft(Tx& tx, const InvoiceRecord& invoice) {
  NERUBA_ASSERT_MSG(invoice.status == InvoiceStatus::draft, "inserting a draft that is not one");
  return insert_many(tx, std::span(&invoice, 1)) == 1;
}

std::int64_t insert_many(Tx& tx, std::span<const InvoiceRecord> invoices) {
  const std::int64_t inserted = sql::insert_rows<InvoiceRecord>(
      tx,
      "INSERT INTO invoices (tenant_id, invoice_id, customer_id, billing_instant, currency, "
      "status, number, period_start, period_end, subtotal, total, credits_applied, amount_paid, "
      "created_at, updated_at, finalized_at, paid_at, voided_at, run_id)",
      " ON CONFLICT DO NOTHING", 19, invoices,
      [](const InvoiceRecord& invoice, std::vector<Param>& p) {
        p.emplace_back(TextRef{invoice.tenant.str()});
        p.emplace_back(TextRef{invoice.id});
        p.emplace_back(TextRef{invoice.customer.str()});
        p.emplace_back(to_unix_micros(invoice.billing_instant));
        p.emplace_back(invoice.currency.code());
        p.emplace_back(std::string(invoice_status_name(invoice.status)));
        p.emplace_back(invoice.number ? Param(*invoice.number) : Param());
        p.emplace_back(to_unix_micros(invoice.period_start));
        p.emplace_back(to_unix_micros(invoice.period_end));
        p.emplace_back(invoice.subtotal_minor);
        p.emplace_back(invoice.total_minor);
        p.emplace_back(invoice.credits_applied_minor);
        p.emplace_back(invoice.amount_paid_minor);
        p.emplace_back(to_unix_micros(invoice.created_at));
        p.emplace_back(to_unix_micros(invoice.updated_at));
        p.emplace_back(optional_micros(invoice.finalized_at));
        p.emplace_back(optional_micros(invoice.paid_at));
        p.emplace_back(optional_micros(invoice.voided_at));
        p.emplace_back(columns::optional_text(invoice.run_id));
      });
  // All or none: the caller refuses a batch of which one was taken (its transaction rolls back).
  if (inserted == static_cast<std::int64_t>(invoices.size())) insert_lines(tx, invoices);
  return inserted;
}

bool replace_draft(Tx& tx, const InvoiceRecord& invoice) {
  const std::int64_t updated = tx.exec(
      "UPDATE invoices SET period_start = $3, period_end = $4, subtotal = $5, total = $6, "
      "updated_at = $7, run_id = $8 WHERE tenant_id = $1 AND invoice_id = $2 AND status = 'draft'",
      {invoice.tenant.str(), invoice.id, to_unix_micros(invoice.period_start),
       to_unix_micros(invoice.period_end), invoice.subtotal_minor, invoice.total_minor,
       to_unix_micros(invoice.updated_at), columns::optional_text(invoice.run_id)});
  if (updated != 1) return false;
  // A draft's lines are derived state: recomputed whole, never edited one by one.
  tx.exec("DELETE FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2",
          {invoice.tenant.str(), invoice.id});
  insert_lines(tx, std::span(&invoice, 1));
  return true;
}

std::optional<InvoiceRecord> find(Tx& tx, const TenantId& tenant, const std::string& id) {
  return find_with(tx, tenant, id, "");
}

std::optional<InvoiceRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                             const std::string& id) {
  return find_with(tx, tenant, id, tx.dialect() == Dialect::postgres ? " FOR UPDATE" : "");
}

std::vector<InvoiceRecord> of_customer_between(Tx& tx, const TenantId& tenant,
                                               const CustomerId& customer, Instant from,
                                               Instant to) {
  return invoices_from(tx.query(
      sql::select_from(invoice_columns,
                       "FROM invoices WHERE tenant_id = $1 AND customer_id = $2 AND "
                       "billing_instant >= $3 AND billing_instant <= $4 ORDER BY billing_instant"),
      {tenant.str(), customer.str(), to_unix_micros(from), to_unix_micros(to)}));
}

std::vector<InvoiceRecord> of_customers_between(Tx& tx, const TenantId& tenant,
                                                const CustomerId& first, const CustomerId& last,
                                                Instant from, Instant to) {
  return invoices_from(tx.query(
      sql::select_from(invoice_columns,
                       "FROM invoices WHERE tenant_id = $1 AND customer_id >= $2 AND customer_id "
                       "<= $3 AND billing_instant >= $4 AND billing_instant <= $5 ORDER BY "
                       "customer_id, billing_instant"),
      {tenant.str(), first.str(), last.str(), to_unix_micros(from), to_unix_micros(to)}));
}

std::vector<InvoiceRecord> find_many(Tx& tx, const TenantId& tenant,
                                     std::span<const std::string> ids) {
  std::map<std::string, InvoiceRecord, std::less<>> found;
  sql::query_in(
      tx, sql::select_from(invoice_columns, "FROM invoices WHERE tenant_id = $1 AND invoice_id"),
      "", {tenant.str()}, ids, [&](const Rows& rows) {
        for (const auto& row : rows) {
          auto invoice = invoice_from_row(row);
          found.emplace(invoice.id, std::move(invoice));
        }
      });
  std::vector<std::string> present;
  present.reserve(found.size());
  for (const auto& [id, invoice] : found) present.push_back(id);
  sql::query_in(tx,
                "SELECT invoice_id, " + std::string(line_columns) +
                    " FROM invoice_lines WHERE tenant_id = $1 AND invoice_id",
                " ORDER BY invoice_id, line_index", {tenant.str()}, present, [&](const Rows& rows) {
                  for (const auto& row : rows) {
                    const auto invoice = found.find(row.text(0));
                    NERUBA_ASSERT_MSG(invoice != found.end(), "a line of an invoice not asked for");
                    invoice->second.lines.push_back(line_from_row(row, 1));
                  }
                });
  std::vector<InvoiceRecord> out;
  out.reserve(found.size());
  for (const auto& id : ids) {
    const auto invoice = found.find(id);
    if (invoice == found.end()) continue;
    out.push_back(std::move(invoice->second));
    found.erase(invoice);  // an id asked twice is given once
  }
  return out;
}

std::vector<InvoiceRecord> page(Tx& tx, const TenantId& tenant, const InvoiceFilter& filter) {
  std::string where = "FROM invoices WHERE tenant_id = $1 AND invoice_id > $2";
  std::vector<Param> params{tenant.str(), filter.after_id};
  if (filter.customer) {
    params.emplace_back(filter.customer->str());
    where += " AND customer_id = $" + std::to_string(params.size());
  }
  if (filter.status) {
    params.emplace_back(std::string(invoice_status_name(*filter.status)));
    where += " AND status = $" + std::to_string(params.size());
  }
  params.emplace_back(static_cast<std::int64_t>(filter.limit));
  where += " ORDER BY invoice_id LIMIT $" + std::to_string(params.size());
  return invoices_from(tx.query(sql::select_from(invoice_columns, where), params));
}

std::vector<InvoiceRecord> issued_page(Tx& tx, const TenantId& tenant, const std::string& after_id,
                                       std::size_t limit) {
  return invoices_from(
      tx.query(sql::select_from(invoice_columns,
                                "FROM invoices WHERE tenant_id = $1 AND invoice_id > $2 AND "
                                "status <> 'draft' ORDER BY invoice_id LIMIT $3"),
               {tenant.str(), after_id, static_cast<std::int64_t>(limit)}));
}

std::int64_t take_number(Tx& tx, const TenantId& tenant, std::int64_t count) {
  NERUBA_ASSERT_MSG(count > 0, "taking no invoice numbers");
  // The upsert locks the tenant's counter row until commit: finalizations take turns.
  const auto rows = tx.query(
      "INSERT INTO invoice_numbers (tenant_id, last_number) VALUES ($1, $2) ON CONFLICT "
      "(tenant_id) DO UPDATE SET last_number = invoice_numbers.last_number + $2 RETURNING "
      "last_number",
      {tenant.str(), count});
  return rows.at(0).integer(0);
}

bool finalize(Tx& tx, const TenantId& tenant, const std::string& id, std::int64_t number,
              std::int64_t credits_applied_minor, Instant at) {
  return tx.exec(
             "UPDATE invoices SET status = 'finalized', number = $3, credits_applied = $4, "
             "finalized_at = $5, updated_at = $5 WHERE tenant_id = $1 AND invoice_id = $2 AND "
             "status = 'draft'",
             {tenant.str(), id, number, credits_applied_minor, to_unix_micros(at)}) == 1;
}

bool add_payment(Tx& tx, const TenantId& tenant, const std::string& id, std::int64_t amount_minor,
                 Instant at) {
  return tx.exec(
             "UPDATE invoices SET amount_paid = amount_paid + $3, updated_at = $4, status = CASE "
             "WHEN total - credits_applied - amount_paid - $3 = 0 THEN 'paid' ELSE status END, "
             "paid_at = CASE WHEN total - credits_applied - amount_paid - $3 = 0 THEN $4 ELSE "
             "paid_at END WHERE tenant_id = $1 AND invoice_id = $2 AND status = 'finalized' AND "
             "$3 > 0 AND $3 <= total - credits_applied - amount_paid",
             {tenant.str(), id, amount_minor, to_unix_micros(at)}) == 1;
}

bool void_invoice(Tx& tx, const TenantId& tenant, const std::string& id, Instant at) {
  return tx.exec(
             "UPDATE invoices SET status = 'void', voided_at = $3, updated_at = $3 WHERE "
             "tenant_id = $1 AND invoice_id = $2 AND status IN ('finalized', 'paid') AND "
             "amount_paid = 0",
             {tenant.str(), id, to_unix_micros(at)}) == 1;
}

bool mark_paid(Tx& tx, const TenantId& tenant, const std::string& id, Instant at) {
  return tx.exec(
             "UPDATE invoices SET status = 'paid', paid_at = $3, updated_at = $3 WHERE tenant_id "
             "= $1 AND invoice_id = $2 AND status = 'finalized' AND total - credits_applied - "
             "amount_paid = 0",
             {tenant.str(), id, to_unix_micros(at)}) == 1;
}

}  // namespace invoices
}  // namespace neruba::storage
