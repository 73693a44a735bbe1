#pragma once
// Time and ids reach the core through these seams, so tests control them and the domain stays pure.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/instant.hpp"

namespace neruba {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Instant now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
};

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // A fresh opaque id: prefix + 24 random base62 characters.
  virtual std::string next(std::string_view prefix) = 0;
};

std::unique_ptr<IdGenerator> make_random_id_generator();

}  // namespace neruba
