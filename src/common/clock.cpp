#include "common/clock.hpp"

#include "common/crypto.hpp"

namespace neruba {
namespace {

class RandomIdGenerator final : public IdGenerator {
 public:
  std::string next(std::string_view prefix) override {
    return std::string(prefix) + crypto::random_token(24);
  }
};

}  // namespace

std::unique_ptr<IdGenerator> make_random_id_generator() {
  return std::make_unique<RandomIdGenerator>();
}

}  // namespace neruba
