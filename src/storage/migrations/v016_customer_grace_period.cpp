#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v016_customer_grace_period() {
  return {16,
          "customers: a per-customer override of the tenant's invoice grace period",
          {
              // Days a closed period's invoices of this customer stay drafts (issue 17); NULL
              // (every customer before this migration) takes the tenant's setting.
              "ALTER TABLE customers ADD COLUMN invoice_grace_period_days BIGINT",
          }};
}

}  // namespace neruba::storage::migrations
