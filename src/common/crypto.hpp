#pragma once
// Thin wrappers over OpenSSL 3: SHA-256, HMAC-SHA256 and the CSPRNG.
#include <string>
#include <string_view>

namespace neruba::crypto {

std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Uniform random token over [0-9A-Za-z] drawn from the OS CSPRNG.
std::string random_token(std::size_t length);
// Compares without leaking where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace neruba::crypto
