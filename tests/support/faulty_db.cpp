#include "support/faulty_db.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

namespace neruba::test {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string_view text_of(const storage::Param& param) {
  if (const auto* text = std::get_if<std::string>(&param)) return *text;
  if (const auto* ref = std::get_if<storage::TextRef>(&param)) return ref->text;
  return {};
}

class FaultyTx final : public storage::Tx {
 public:
  FaultyTx(FaultyDb& db, std::unique_ptr<storage::Tx> inner) : db_(db), inner_(std::move(inner)) {}

  storage::Dialect dialect() const override { return inner_->dialect(); }

  storage::Rows query(std::string_view sql, std::span<const storage::Param> params) override {
    const OperationInfo info{Operation::statement, sql, params};
    db_.before(info);
    auto rows = inner_->query(sql, params);
    db_.after(info);
    return rows;
  }

  std::int64_t exec(std::string_view sql, std::span<const storage::Param> params) override {
    const OperationInfo info{Operation::statement, sql, params};
    db_.before(info);
    const auto changed = inner_->exec(sql, params);
    db_.after(info);
    return changed;
  }

  std::int64_t copy_in(std::string_view copy_sql, std::string_view data) override {
    const storage::Param stream = storage::TextRef{data};
    const OperationInfo info{Operation::copy, copy_sql, std::span(&stream, 1)};
    db_.before(info);
    const auto copied = inner_->copy_in(copy_sql, data);
    db_.after(info);
    return copied;
  }

  void commit() override {
    const OperationInfo info{Operation::commit, {}, {}};
    db_.before(info);
    inner_->commit();
    db_.after(info);
  }

 private:
  FaultyDb& db_;
  std::unique_ptr<storage::Tx> inner_;
};

}  // namespace

OperationPredicate is(Operation operation) {
  return [operation](const OperationInfo& info) { return info.operation == operation; };
}

OperationPredicate statement_containing(std::string text) {
  return [text = std::move(text)](const OperationInfo& info) {
    return (info.operation == Operation::statement || info.operation == Operation::copy) &&
           contains(info.sql, text);
  };
}

OperationPredicate statement_with(std::string text, std::string value) {
  return [text = std::move(text), value = std::move(value)](const OperationInfo& info) {
    if (info.operation != Operation::statement && info.operation != Operation::copy) return false;
    if (!contains(info.sql, text)) return false;
    return std::any_of(info.params.begin(), info.params.end(), [&](const storage::Param& param) {
      const auto param_text = text_of(param);
      return info.operation == Operation::copy ? contains(param_text, value) : param_text == value;
    });
  };
}

void Gate::arrive_and_wait() {
  std::unique_lock lock(mutex_);
  reached_ = true;
  changed_.notify_all();
  changed_.wait(lock, [&] { return open_; });
}

bool Gate::wait_until_reached(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return reached_; });
}

void Gate::open() {
  std::lock_guard lock(mutex_);
  open_ = true;
  changed_.notify_all();
}

bool Gate::reached() const {
  std::lock_guard lock(mutex_);
  return reached_;
}

FaultyDb::~FaultyDb() { clear(); }

std::unique_ptr<storage::Tx> FaultyDb::begin(storage::TxMode mode) {
  const bool write = mode == storage::TxMode::write;
  const OperationInfo info{write ? Operation::begin_write : Operation::begin_read, {}, {}};
  {
    std::lock_guard lock(mutex_);
    if (write) ++writers_waiting_;
  }
  struct Leave {
    FaultyDb& db;
    bool write;
    ~Leave() {
      std::lock_guard lock(db.mutex_);
      if (write) --db.writers_waiting_;
    }
  } leave{*this, write};
  before(info);
  auto tx = std::make_unique<FaultyTx>(*this, inner_.begin(mode));
  after(info);
  return tx;
}

void FaultyDb::fail_once(OperationPredicate predicate, std::size_t skip,
                         storage::StorageError::Kind kind, When when) {
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{std::move(predicate), skip, true, false, kind, when, nullptr});
}

void FaultyDb::fail_always(OperationPredicate predicate, storage::StorageError::Kind kind) {
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{std::move(predicate), 0, false, false, kind, When::before, nullptr});
}

std::shared_ptr<Gate> FaultyDb::pause_once(OperationPredicate predicate, std::size_t skip) {
  auto gate = std::make_shared<Gate>();
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{std::move(predicate), skip, true, false, storage::StorageError::Kind::other,
                        When::before, gate});
  return gate;
}

void FaultyDb::clear() {
  std::vector<Rule> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(rules_);
  }
  for (auto& rule : dropped) {
    if (rule.gate) rule.gate->open();
  }
}

std::size_t FaultyDb::count(Operation operation) const {
  std::lock_guard lock(mutex_);
  return counts_[static_cast<std::size_t>(operation)];
}

std::size_t FaultyDb::writers_waiting() const {
  std::lock_guard lock(mutex_);
  return writers_waiting_;
}

std::size_t FaultyDb::faults_injected() const {
  std::lock_guard lock(mutex_);
  return faults_injected_;
}

// A rule is due when it has not fired, matches the operation and has nothing left to skip. The
// first due pause holds the operation and the first due failure fails it — both may be due at
// once: held, then failed. Every rule counts the operation for itself: should it run, each rule
// still skipping counts it, whichever other rule paused it; should it fail, it did not run, and
// no rule counts it.
void FaultyDb::before(const OperationInfo& info) {
  std::shared_ptr<Gate> gate;
  std::optional<storage::StorageError::Kind> failure;
  {
    std::lock_guard lock(mutex_);
    ++counts_[static_cast<std::size_t>(info.operation)];
    const auto applies = [&](const Rule& rule) {
      return !rule.fired && (rule.gate || rule.when == When::before) && rule.predicate(info);
    };
    Rule* pause = nullptr;
    Rule* fault = nullptr;
    for (auto& rule : rules_) {
      if (rule.skip > 0 || !applies(rule)) continue;
      if (rule.gate && pause == nullptr) pause = &rule;
      if (!rule.gate && fault == nullptr) fault = &rule;
    }
    if (pause != nullptr) {
      pause->fired = true;
      gate = pause->gate;
    }
    if (fault != nullptr) {
      fault->fired = fault->once;
      ++faults_injected_;
      failure = fault->kind;
    } else {
      for (auto& rule : rules_) {
        if (rule.skip > 0 && applies(rule)) --rule.skip;
      }
    }
  }
  if (gate) gate->arrive_and_wait();
  if (failure) {
    throw storage::StorageError(
        *failure,
        "fault injected by the test before " +
            std::string(info.sql.empty() ? "a transaction step" : info.sql.substr(0, 60)));
  }
}

// The operation ran: every When::after rule still skipping counts it, and the first due one fails
// it.
void FaultyDb::after(const OperationInfo& info) {
  std::optional<storage::StorageError::Kind> failure;
  {
    std::lock_guard lock(mutex_);
    for (auto& rule : rules_) {
      if (rule.fired || rule.gate || rule.when != When::after || !rule.predicate(info)) continue;
      if (rule.skip > 0) {
        --rule.skip;
      } else if (!failure) {
        rule.fired = rule.once;
        ++faults_injected_;
        failure = rule.kind;
      }
    }
  }
  if (failure) {
    throw storage::StorageError(*failure, "fault injected by the test after it ran");
  }
}

}  // namespace neruba::test
