#include "services/billing/internal.hpp"

#include <algorithm>
#include <span>

#include "common/assert.hpp"
#include "common/crypto.hpp"
#include "domain/time.hpp"
#include "services/audit_log.hpp"

namespace neruba::services::billing::internal {

using domain::ledger::AccountKind;
using domain::ledger::Side;

std::string derived_id(std::string_view prefix, std::initializer_list<std::string_view> parts) {
  std::string key;
  for (const std::string_view part : parts) {
    key += part;
    key += '\x1f';  // a separator no id or instant contains
  }
  return std::string(prefix) + crypto::sha256_hex(key).substr(0, 24);
}

std::string invoice_id_of(const TenantId& tenant, const CustomerId& customer, Instant at) {
  return derived_id("inv_", {tenant.str(), customer.str(), domain::format_rfc3339(at)});
}

domain::ledger::Account customer_account(AccountKind kind, const domain::Currency& currency,
                                         const CustomerId& customer) {
  return {kind, currency.code(), customer.str()};
}

domain::ledger::Account tenant_account(AccountKind kind, const domain::Currency& currency) {
  return {kind, currency.code(), std::nullopt};
}

std::string money_text(std::int64_t minor, const domain::Currency& currency) {
  return domain::from_minor_units(minor, currency).to_string();
}

Error conflict(std::string slug, std::string field, std::string detail) {
  return Error{
      ErrorCode::conflict, detail, {FieldError{std::move(field), std::move(slug), detail, {}}}, {}};
}

namespace {

// The transaction a movement posts, checked: every movement is built here from amounts the
// service computed, so a refusal is a defect.
storage::LedgerTransactionRecord transaction_of(const RequestContext& ctx, const TenantId& tenant,
                                                Movement movement) {
  std::vector<domain::ledger::Posting> postings;
  postings.reserve(movement.entries.size());
  for (const auto& entry : movement.entries) {
    postings.push_back({entry.account, entry.side,
                        domain::from_minor_units(entry.amount_minor, movement.currency)});
  }
  if (const auto problem = domain::ledger::check_transaction(postings)) {
    NERUBA_ASSERT_MSG(false, "an unbalanced or malformed ledger transaction was built");
  }
  return storage::LedgerTransactionRecord{
      tenant,
      derived_id("ltx_", {tenant.str(), movement.kind, movement.cause}),
      movement.kind,
      movement.cause,
      std::move(movement.corrects),
      std::move(movement.customer),
      movement.currency.code(),
      movement.effective_at,
      ctx.now,
      std::move(movement.entries)};
}

// Posts the transactions as one; `what` names them in a refusal.
Status post_all(storage::Tx& tx, std::span<const storage::LedgerTransactionRecord> transactions,
                const std::string& what) {
  switch (storage::ledger::post_many(tx, transactions)) {
    case storage::ledger::PostOutcome::posted:
      return ok_status();
    case storage::ledger::PostOutcome::already_posted:
      return Error::make(ErrorCode::internal, "The ledger already has " + what + ".");
    case storage::ledger::PostOutcome::limit_exceeded:
      return conflict("balance_limit", "amount",
                      what +
                          " would take an account beyond its balance rule (a wallet below zero "
                          "or a receivable paid beyond what is owed); nothing was written.");
  }
  return ok_status();
}

std::string name_of(const storage::LedgerTransactionRecord& transaction) {
  return "the " + transaction.kind + " transaction of " + transaction.cause;
}

}  // namespace

Status post(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant, Movement movement) {
  const auto transaction = transaction_of(ctx, tenant, std::move(movement));
  return post_all(tx, std::span(&transaction, 1), name_of(transaction));
}

Status Journal::post(Movement movement) {
  const TenantId& tenant = ctx_.principal.tenant;
  if (!buffered_) return internal::post(tx_, ctx_, tenant, std::move(movement));
  transactions_.push_back(transaction_of(ctx_, tenant, std::move(movement)));
  return ok_status();
}

void Journal::audit(audit::Entry entry) {
  if (!buffered_) return audit::append(tx_, ctx_, ctx_.principal.tenant, std::move(entry));
  if (!entry.id) entry.id = AuditRecordId(ctx_.new_id(id_prefix::audit_record));
  entries_.push_back(std::move(entry));
}

bool Journal::insert_invoice(storage::InvoiceRecord invoice) {
  if (!buffered_) return storage::invoices::insert_draft(tx_, invoice);
  const auto [slot, added] = held_.try_emplace(invoice.id, invoices_.size());
  if (!added) return false;
  invoices_.push_back(std::move(invoice));
  return true;
}

Status Journal::finalize_invoice(const storage::InvoiceRecord& invoice) {
  if (const auto held = held_.find(invoice.id); held != held_.end()) {
    invoices_[held->second] = invoice;
    return ok_status();
  }
  const TenantId& tenant = ctx_.principal.tenant;
  NERUBA_ASSERT_MSG(invoice.number && invoice.finalized_at, "a finalization without a number");
  if (!storage::invoices::finalize(tx_, tenant, invoice.id, *invoice.number,
                                   invoice.credits_applied_minor, *invoice.finalized_at)) {
    return Error::make(ErrorCode::internal, "Invoice " + invoice.id + " could not be finalized.");
  }
  if (invoice.status == storage::InvoiceStatus::paid &&
      !storage::invoices::mark_paid(tx_, tenant, invoice.id, *invoice.paid_at)) {
    return Error::make(ErrorCode::internal, "Invoice " + invoice.id + " could not be settled.");
  }
  return ok_status();
}

std::int64_t Journal::take_number() {
  const TenantId& tenant = ctx_.principal.tenant;
  if (!buffered_ || !last_number_) {
    last_number_ = storage::invoices::take_number(tx_, tenant);
  } else {
    ++*last_number_;
    ++numbers_held_;
  }
  return *last_number_;
}

Status Journal::flush() {
  if (!invoices_.empty()) {
    if (storage::invoices::insert_many(tx_, invoices_) !=
        static_cast<std::int64_t>(invoices_.size())) {
      return conflict("invoice_exists", "as_of",
                      "An invoice of this run was created by another billing run meanwhile; "
                      "run again.");
    }
    invoices_.clear();
    held_.clear();
  }
  if (numbers_held_ > 0) {
    // The counter row is this transaction's since the first number: nobody took one meanwhile.
    NERUBA_ASSERT_MSG(
        storage::invoices::take_number(tx_, ctx_.principal.tenant, numbers_held_) == last_number_,
        "the invoice number counter moved under its lock");
    numbers_held_ = 0;
  }
  if (!transactions_.empty()) {
    const std::string what = transactions_.size() == 1
                                 ? name_of(transactions_.front())
                                 : std::to_string(transactions_.size()) + " transactions";
    if (auto posted = post_all(tx_, transactions_, what); !posted) return posted;
    transactions_.clear();
  }
  audit::append_many(tx_, ctx_, ctx_.principal.tenant, std::move(entries_));
  entries_.clear();
  return ok_status();
}

Status expire_credit(storage::Tx& tx, const RequestContext& ctx,
                     const storage::CustomerRecord& customer, Instant at, Journal& journal) {
  const TenantId& tenant = customer.tenant;
  for (const auto& grant : storage::credit_grants::due_to_expire(tx, tenant, customer.id, at)) {
    if (!storage::credit_grants::expire(tx, tenant, grant.id, *grant.expires_at)) {
      return Error::make(ErrorCode::internal, "The expiry of " + grant.id + " was recorded twice.");
    }
    if (grant.remaining_minor > 0) {
      const auto currency = *domain::Currency::of(grant.currency);
      const bool prepaid = grant.kind == "prepaid";
      // Unused prepaid credit is earned as breakage; unused promotional credit never cost the
      // tenant anything, so its expense is reversed.
      Movement expiry{
          "credit_expiry",
          grant.id,
          std::nullopt,
          customer.id,
          currency,
          *grant.expires_at,
          {{customer_account(
                prepaid ? AccountKind::prepaid_credit : AccountKind::promotional_credit, currency,
                customer.id),
            Side::debit, grant.remaining_minor},
           {tenant_account(prepaid ? AccountKind::breakage : AccountKind::promotions_expense,
                           currency),
            Side::credit, grant.remaining_minor}}};
      if (auto posted = journal.post(std::move(expiry)); !posted) return posted;
    }
    json::Value after = grant_document(grant, customer.external_id);
    after.set("expired", json::Value::string(money_text(grant.remaining_minor,
                                                        *domain::Currency::of(grant.currency))));
    journal.audit({"credit_grant.expired", grant.id, std::nullopt, std::move(after),
                   grant.reason_code, std::nullopt});
  }
  return ok_status();
}

Status finalize_draft(storage::Tx& tx, const RequestContext& ctx,
                      const storage::CustomerRecord& customer, storage::InvoiceRecord draft,
                      Journal& journal, bool may_hold_credit) {
  const TenantId& tenant = customer.tenant;
  const std::string invoice_id = draft.id;
  if (draft.status != storage::InvoiceStatus::draft) {
    return conflict("invoice_not_draft", "id",
                    "Invoice " + invoice_id + " is " +
                        std::string(storage::invoice_status_name(draft.status)) +
                        ": only a draft can be finalized.");
  }
  const domain::Currency currency = draft.currency;
  const std::int64_t total = draft.total_minor;
  const std::int64_t number = journal.take_number();
  std::int64_t credits_applied = 0;
  std::vector<storage::CreditDrawRecord> drawn;
  if (total > 0) {
    Movement effect{
        "invoice_finalized",
        invoice_id,
        std::nullopt,
        customer.id,
        currency,
        ctx.now,
        {{customer_account(AccountKind::receivable, currency, customer.id), Side::debit, total},
         {tenant_account(AccountKind::revenue, currency), Side::credit, total}}};
    if (auto posted = journal.post(std::move(effect)); !posted) return posted;
    // Credit draws, in draw order, up to what is due.
    Movement draws{"credit_draw", invoice_id, std::nullopt, customer.id, currency, ctx.now, {}};
    std::int64_t index = 0;
    const auto grants =
        may_hold_credit ? storage::credit_grants::drawable(tx, tenant, customer.id, currency.code())
                        : std::vector<storage::CreditGrantRecord>();
    for (const auto& grant : grants) {
      if (credits_applied == total) break;
      if (grant.expires_at && *grant.expires_at <= ctx.now) continue;
      const std::int64_t amount = std::min(grant.remaining_minor, total - credits_applied);
      storage::CreditDrawRecord draw{invoice_id, grant.id, index, amount};
      if (!storage::credit_grants::draw(tx, tenant, grant.id, amount) ||
          !storage::credit_grants::insert_draw(tx, tenant, draw)) {
        return Error::make(ErrorCode::internal, "A credit draw on " + grant.id + " failed.");
      }
      drawn.push_back(std::move(draw));
      ++index;
      credits_applied += amount;
      draws.entries.push_back(
          {customer_account(grant.kind == "prepaid" ? AccountKind::prepaid_credit
                                                    : AccountKind::promotional_credit,
                            currency, customer.id),
           Side::debit, amount});
    }
    if (credits_applied > 0) {
      draws.entries.push_back({customer_account(AccountKind::receivable, currency, customer.id),
                               Side::credit, credits_applied});
      if (auto posted = journal.post(std::move(draws)); !posted) return posted;
    }
  } else if (total < 0) {
    // More credited than charged (a downgrade's credit): the surplus becomes prepaid credit the
    // next invoices draw, shown as a negative credits_applied so that nothing is due.
    const std::string grant_id = derived_id("grt_", {tenant.str(), "invoice_credit", invoice_id});
    storage::CreditGrantRecord grant{
        tenant, grant_id,     customer.id,  "prepaid",    currency.code(),  -total,     -total,
        0,      std::nullopt, std::nullopt, std::nullopt, "invoice_credit", invoice_id, ctx.now};
    if (!storage::credit_grants::insert(tx, grant)) {
      return Error::make(ErrorCode::internal, "The credit of " + invoice_id + " exists already.");
    }
    Movement effect{"invoice_finalized",
                    invoice_id,
                    std::nullopt,
                    customer.id,
                    currency,
                    ctx.now,
                    {{tenant_account(AccountKind::revenue, currency), Side::debit, -total},
                     {customer_account(AccountKind::prepaid_credit, currency, customer.id),
                      Side::credit, -total}}};
    if (auto posted = journal.post(std::move(effect)); !posted) return posted;
    credits_applied = total;
  }
  // The invoice as finalized (a draft has no payments: they are refused).
  draft.status = storage::InvoiceStatus::finalized;
  draft.number = number;
  draft.credits_applied_minor = credits_applied;
  draft.finalized_at = ctx.now;
  draft.updated_at = ctx.now;
  if (total - credits_applied == 0) {
    draft.status = storage::InvoiceStatus::paid;
    draft.paid_at = ctx.now;
  }
  if (auto finalized = journal.finalize_invoice(draft); !finalized) return finalized;
  const Invoice view{std::move(draft), customer.external_id, std::move(drawn), {}};
  journal.audit({"invoice.finalized", invoice_id, std::nullopt, invoice_document(view, false),
                 std::nullopt, std::nullopt});
  return ok_status();
}

Invoice invoice_view(storage::Tx& tx, const TenantId& tenant, storage::InvoiceRecord record,
                     const std::string& customer_external_id) {
  auto draws = storage::credit_grants::draws_of(tx, tenant, record.id);
  auto payments = storage::payments::of_invoice(tx, tenant, record.id);
  return Invoice{std::move(record), customer_external_id, std::move(draws), std::move(payments)};
}

std::vector<Invoice> invoice_views(storage::Tx& tx, const TenantId& tenant,
                                   std::vector<storage::InvoiceRecord> records) {
  std::vector<std::string> ids;
  std::vector<CustomerId> customer_ids;
  ids.reserve(records.size());
  for (const auto& record : records) {
    ids.push_back(record.id);
    customer_ids.push_back(record.customer);
  }
  std::sort(customer_ids.begin(), customer_ids.end());
  customer_ids.erase(std::unique(customer_ids.begin(), customer_ids.end()), customer_ids.end());
  const auto customers = storage::customers::find_many(tx, tenant, customer_ids);
  auto draws = storage::credit_grants::draws_of_many(tx, tenant, ids);
  auto payments = storage::payments::of_invoices(tx, tenant, ids);
  std::vector<Invoice> out;
  out.reserve(records.size());
  for (auto& record : records) {
    const auto customer = customers.find(record.customer);
    NERUBA_ASSERT_MSG(customer != customers.end(), "an invoice without its customer");
    const auto drawn = draws.find(record.id);
    const auto paid = payments.find(record.id);
    out.push_back(Invoice{
        std::move(record), customer->second.external_id,
        drawn == draws.end() ? std::vector<storage::CreditDrawRecord>() : std::move(drawn->second),
        paid == payments.end() ? std::vector<storage::PaymentRecord>() : std::move(paid->second)});
  }
  return out;
}

}  // namespace neruba::services::billing::internal
