// What the idvault-rp and idvault-verifier commands need around their real work besides
// the command-line scaffold (common/cli): reading input files, the clock, and keygen's
// --json summary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace idvault::rp {

// The whole file. Throws std::runtime_error("cannot read <path>: <reason>").
[[nodiscard]] std::string read_text_file(const std::filesystem::path& path);

[[nodiscard]] std::int64_t unix_now();

// The printed summary of a key made on a token, --json's shape for keygen:
// {"key_uri", "algorithm", "public_key_pem", "public_key_sha256"}, and "seal_key_uri"
// when one is given.
[[nodiscard]] std::string keygen_json(const std::string& key_uri, const std::string& algorithm,
                                      const std::string& public_key_pem,
                                      const std::string& public_key_sha256,
                                      const std::string& seal_key_uri = {});

}  // namespace idvault::rp
