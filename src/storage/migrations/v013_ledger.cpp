#include "storage/migrations/migrations.hpp"

#include <string>

namespace neruba::storage::migrations {

Migration v013_ledger() {
  return {
      13, "the double-entry ledger: accounts, transactions, entries", {}, [](Tx& tx) {
        const std::string key = tx.dialect() == Dialect::postgres ? "TEXT COLLATE \"C\"" : "TEXT";
        // An account's running totals, in whole minor units. Its balance rule (TigerBeetle's
        // account flags) is stored beside its kind and tied to it, so that the schema itself
        // refuses a wallet below zero or a receivable paid beyond its debits, whoever writes.
        tx.exec("CREATE TABLE ledger_accounts (tenant_id " + key + " NOT NULL, account_id " + key +
                " NOT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL, customer_id " + key +
                ", debits BIGINT NOT NULL, credits BIGINT NOT NULL, rule TEXT NOT NULL, "
                "created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, account_id), "
                "CHECK (debits >= 0), CHECK (credits >= 0), "
                "CHECK (rule = CASE WHEN kind IN ('prepaid_credit', 'promotional_credit') THEN "
                "'debits_must_not_exceed_credits' WHEN kind = 'receivable' THEN "
                "'credits_must_not_exceed_debits' ELSE 'none' END), "
                "CHECK (rule <> 'debits_must_not_exceed_credits' OR debits <= credits), "
                "CHECK (rule <> 'credits_must_not_exceed_debits' OR credits <= debits))");
        tx.exec(
            "CREATE INDEX ledger_accounts_by_customer ON ledger_accounts (tenant_id, "
            "customer_id, account_id)");
        // One row per money movement; its kind and cause are unique, so the ledger effect of
        // one cause (an invoice's finalization, a payment…) cannot be written twice.
        tx.exec("CREATE TABLE ledger_transactions (tenant_id " + key +
                " NOT NULL, transaction_id " + key + " NOT NULL, kind " + key +
                " NOT NULL, cause " + key + " NOT NULL, corrects " + key + ", customer_id " + key +
                ", currency TEXT NOT NULL, effective_at BIGINT NOT NULL, recorded_at BIGINT "
                "NOT NULL, PRIMARY KEY (tenant_id, transaction_id), UNIQUE (tenant_id, kind, "
                "cause))");
        tx.exec(
            "CREATE INDEX ledger_transactions_by_effective_at ON ledger_transactions "
            "(tenant_id, effective_at, transaction_id)");
        tx.exec(
            "CREATE INDEX ledger_transactions_by_customer ON ledger_transactions (tenant_id, "
            "customer_id, effective_at, transaction_id)");
        tx.exec("CREATE TABLE ledger_entries (tenant_id " + key + " NOT NULL, transaction_id " +
                key + " NOT NULL, entry_index BIGINT NOT NULL, account_id " + key +
                " NOT NULL, side TEXT NOT NULL CHECK (side IN ('debit', 'credit')), amount "
                "BIGINT NOT NULL CHECK (amount > 0), PRIMARY KEY (tenant_id, transaction_id, "
                "entry_index))");
        // ledger verify sums each account's entries.
        tx.exec("CREATE INDEX ledger_entries_by_account ON ledger_entries (tenant_id, account_id)");
      }};
}

}  // namespace neruba::storage::migrations
