#include "vault/sync/cloud_item.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "common/aes_gcm.h"
#include "common/base64.h"
#include "common/hex.h"
#include "common/json_fields.h"
#include "common/openssl_owners.h"
#include "common/secret_bytes.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

constexpr std::size_t kHashHexDigits = 64;
constexpr std::size_t kItemSecretBytes = 32;
// Ends in a NUL on purpose: the label is the one part of the additional data without a
// separator of its own after it.
constexpr std::string_view kAadLabel{"idvault-cloud item v1\0", 22};

struct Prefix {
  ItemKind kind;
  std::string_view text;
};
constexpr std::array<Prefix, 4> kPrefixes = {{{ItemKind::element, "element."},
                                              {ItemKind::receipt, "receipt."},
                                              {ItemKind::attestation, "attestation."},
                                              {ItemKind::error, "error."}}};

std::string_view prefix_of(ItemKind kind) {
  for (const auto& prefix : kPrefixes) {
    if (prefix.kind == kind) return prefix.text;
  }
  throw std::invalid_argument("unknown item kind");
}

bool is_lower_hex_hash(std::string_view text) {
  return text.size() == kHashHexDigits && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Checked before sealing and opening alike, so an id that could not be sealed is never
// reported as a body that does not open.
Bytes additional_data(std::string_view account, std::string_view item_id) {
  if (account.empty() || account.find('\0') != std::string_view::npos) {
    throw FormatError("account", "must be non-empty and hold no NUL");
  }
  (void)parse_item_id(item_id);
  std::string aad(kAadLabel);
  aad += account;
  aad.push_back('\0');
  aad += item_id;
  return {aad.begin(), aad.end()};
}

void random_fill(std::span<std::uint8_t> out) {
  openssl::check(RAND_bytes(out.data(), static_cast<int>(out.size())), "RAND_bytes");
}

}  // namespace

std::string element_item_id(ElementType type) {
  return std::string(prefix_of(ItemKind::element)) + std::string(to_string(type));
}

std::string receipt_item_id(std::string_view entry_hash_hex) {
  if (!is_lower_hex_hash(entry_hash_hex)) {
    throw std::invalid_argument("a receipt's entry hash is 64 lowercase hex digits");
  }
  return std::string(prefix_of(ItemKind::receipt)) + std::string(entry_hash_hex);
}

std::string attestation_item_id(std::string_view json) {
  return std::string(prefix_of(ItemKind::attestation)) + sha256_hex(bytes_of(json));
}

std::string error_item_id(std::string_view json) {
  return std::string(prefix_of(ItemKind::error)) + sha256_hex(bytes_of(json));
}

std::string to_string(const ItemId& id) {
  const std::string_view rest =
      id.kind == ItemKind::element ? to_string(id.element) : std::string_view(id.hash_hex);
  return std::string(prefix_of(id.kind)) + std::string(rest);
}

ItemId parse_item_id(std::string_view text) {
  for (const auto& prefix : kPrefixes) {
    if (!text.starts_with(prefix.text)) continue;
    const std::string_view rest = text.substr(prefix.text.size());
    ItemId id;
    id.kind = prefix.kind;
    if (prefix.kind == ItemKind::element) {
      const auto type = parse_element_type(rest);
      if (!type) throw FormatError("item_id", "names no element type");
      id.element = *type;
    } else {
      if (!is_lower_hex_hash(rest)) {
        throw FormatError("item_id", "must end in 64 lowercase hex digits");
      }
      id.hash_hex = std::string(rest);
    }
    return id;
  }
  throw FormatError("item_id", "must start with element., receipt., attestation. or error.");
}

Bytes seal_item(const MasterKey& vk, std::string_view account, std::string_view item_id,
                const nlohmann::json& plaintext) {
  const Bytes aad = additional_data(account, item_id);
  SecretBytes secret(kItemSecretBytes);  // wiped when it goes, on every path
  random_fill(secret.reveal_mutable());
  std::array<std::uint8_t, aes_gcm::kIvBytes> iv{};
  random_fill(iv);
  const std::string text = canonical_bytes(plaintext);
  const Bytes ciphertext = aes_gcm::seal(secret, iv, aad, bytes_of(text));
  const nlohmann::json body = {{"v", 1},
                               {"wrapped_secret", base64_encode(vk.wrap(secret))},
                               {"iv", base64_encode(iv)},
                               {"ciphertext", base64_encode(ciphertext)}};
  const std::string bytes = canonical_bytes(body);
  return {bytes.begin(), bytes.end()};
}

nlohmann::json open_item(const MasterKey& vk, std::string_view account, std::string_view item_id,
                         ByteView body) {
  const Bytes aad = additional_data(account, item_id);
  const std::string id(item_id);
  try {
    const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
    const nlohmann::json json = json_fields::parse(text, "item");
    json_fields::expect_object(json, "item");
    // Exactly these members: a body with more is not one this version wrote.
    if (json.size() != 4 || json_fields::require_integer(json, "v", "item") != 1) {
      throw CloudItemError(id);
    }
    const Bytes iv = base64_decode(json_fields::require_string(json, "iv", "item"), "item.iv");
    if (iv.size() != aes_gcm::kIvBytes) throw CloudItemError(id);
    const Bytes wrapped =
        base64_decode(json_fields::require_string(json, "wrapped_secret", "item"), "item");
    const Bytes ciphertext =
        base64_decode(json_fields::require_string(json, "ciphertext", "item"), "item");
    const SecretBytes secret = vk.unwrap(wrapped);
    if (secret.size() != kItemSecretBytes) throw CloudItemError(id);
    const auto plaintext = aes_gcm::open(secret, iv, aad, ciphertext);
    if (!plaintext) throw CloudItemError(id);
    return json_fields::parse(plaintext->reveal_text(), "item.plaintext");
  } catch (const CloudItemError&) {
    throw;
  } catch (const DecryptError&) {
    throw CloudItemError(id);
  } catch (const FormatError&) {
    throw CloudItemError(id);
  }
}

}  // namespace idvault::vault
