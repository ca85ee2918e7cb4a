// The short authentication string of a join (design.md, "Enrolment"): what the person
// compares on the new device and on the device that approves it, so a join request
// planted by someone else (the server, or anyone who knows the account's URL) is not
// approved by mistake.
//
// SHA-256(genesis hash (32 bytes) || the new device's identity key SPKI DER || its slot
// key SPKI DER || the request nonce (its bytes)), its first 5 bytes read as a number
// modulo 10^8 (both keys are DER, whose own length prefixes keep the concatenation
// unambiguous; callers pass keys they parsed), shown as 8 digits in two groups of four
// ("0417-2983"). An attacker who wants a request of theirs to show the same digits as the real one
// must try about 10^8 key pairs while the real request is pending: each try is a key generation,
// and the requests expire in minutes.
#pragma once

#include <string>
#include <string_view>

#include "vault/keys/keys.h"

namespace idvault::vault {

inline constexpr std::size_t kJoinNonceBytes = 16;

// Throws FormatError("account", ...) for an account id that is not 64 lowercase hex
// digits, FormatError("nonce", ...) for a nonce that is not lowercase hex of 16 to 32
// bytes.
[[nodiscard]] std::string join_code(std::string_view account_id, ByteView identity_key_spki_der,
                                    ByteView slot_key_spki_der, std::string_view nonce_hex);

// A fresh request nonce: kJoinNonceBytes from OpenSSL's generator, lowercase hex.
[[nodiscard]] std::string new_join_nonce();

}  // namespace idvault::vault
