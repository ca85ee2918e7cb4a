#include "vault/model/auth_link.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

#include "common/hex.h"
#include "common/openssl_owners.h"
#include "common/quoted_text.h"
#include "common/utf8.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

// A real link is a few KiB (the PEM key dominates); this bounds hostile input.
constexpr std::size_t kMaxLinkBytes = std::size_t{64} * 1024;
constexpr std::size_t kMaxServiceIdBytes = 256;
constexpr unsigned kMinRsaBits = 2048;
// TDLib's UserId::is_valid bound: user and bot ids are below 2^40.
constexpr std::uint64_t kMaxBotId = (std::uint64_t{1} << 40) - 1;

enum class LinkKind { tg_resolve, tg_passport, telegram_web, idvault };

struct LinkPrefix {
  std::string_view prefix;
  LinkKind kind;
};

constexpr std::array<LinkPrefix, 8> kPrefixes = {{
    {"tg://resolve?", LinkKind::tg_resolve},
    {"tg:resolve?", LinkKind::tg_resolve},
    {"tg://passport?", LinkKind::tg_passport},
    {"https://t.me/telegrampassport?", LinkKind::telegram_web},
    {"http://t.me/telegrampassport?", LinkKind::telegram_web},
    {"https://telegram.me/telegrampassport?", LinkKind::telegram_web},
    {"http://telegram.me/telegrampassport?", LinkKind::telegram_web},
    {"idvault://authorize?", LinkKind::idvault},
}};

// Scheme, host and the telegrampassport username are case-insensitive.
bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(a) == lower(b);
  });
}

std::string percent_decode(std::string_view text, const std::string& where) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const bool complete = i + 2 < text.size();
    const int high = complete ? hex_digit_value(text[i + 1]) : -1;
    const int low = complete ? hex_digit_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      throw FormatError(where, "has a malformed %-escape at byte " + std::to_string(i) +
                                   " (a '%' must be followed by two hex digits)");
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  // encodeURIComponent's unreserved set: what Telegram's SDK leaves as is.
  constexpr std::string_view kUnreserved = "-_.!~*'()";
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        kUnreserved.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

constexpr std::array<std::string_view, 7> kKnownParameters = {
    "domain", "bot_id", "scope", "public_key", "nonce", "callback_url", "payload"};

// Decoded values of the known parameters, by index in kKnownParameters.
using Parameters = std::array<std::optional<std::string>, kKnownParameters.size()>;

std::optional<std::size_t> known_index(std::string_view name) {
  for (std::size_t i = 0; i < kKnownParameters.size(); ++i) {
    if (kKnownParameters[i] == name) return i;
  }
  return std::nullopt;
}

Parameters parse_query(std::string_view query) {
  Parameters parameters;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    const auto name = percent_decode(pair.substr(0, equals), "link");
    const auto index = known_index(name);
    if (!index) continue;
    const auto where = "link." + name;
    if (parameters[*index]) throw FormatError(where, "is given more than once");
    const auto raw =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    auto value = percent_decode(raw, where);
    if (!is_valid_utf8(value)) throw FormatError(where, "is not valid UTF-8");
    parameters[*index] = std::move(value);
  }
  return parameters;
}

const std::optional<std::string>& parameter(const Parameters& parameters, std::string_view name) {
  return parameters[*known_index(name)];
}

std::string required_parameter(const Parameters& parameters, std::string_view name) {
  const auto& value = parameter(parameters, name);
  if (!value || value->empty()) {
    throw FormatError("link." + std::string(name), "is missing or empty");
  }
  return *value;
}

std::string checked_bot_id(std::string_view text, const std::string& where) {
  std::uint64_t id = 0;
  const bool digits_only = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (!digits_only || error != std::errc() || end != text.data() + text.size() || id == 0 ||
      id > kMaxBotId) {
    throw FormatError(where,
                      quote_untrusted(text) + " is not a bot id (a positive integer below 2^40)");
  }
  return std::to_string(id);
}

std::string checked_service_id(std::string_view text, bool telegram, const std::string& where) {
  if (telegram) return checked_bot_id(text, where);
  if (text.empty()) throw FormatError(where, "is missing or empty");
  if (text.size() > kMaxServiceIdBytes) throw FormatError(where, "is longer than 256 bytes");
  if (!is_valid_utf8(text) || has_control_characters(text)) {
    throw FormatError(where, "must be UTF-8 text without control characters");
  }
  return std::string(text);
}

ScopeRequest parse_link_scope(const std::string& text) {
  try {
    return parse_scope(text);
  } catch (const FormatError& error) {
    // Keep the scope's own position, under the link parameter it came from.
    const std::string what = error.what();
    const auto prefix = error.where() + ": ";
    const auto message =
        what.compare(0, prefix.size(), prefix) == 0 ? what.substr(prefix.size()) : what;
    throw FormatError("link." + error.where(), message);
  }
}

void check_nonce(std::string_view nonce) {
  if (nonce.empty()) throw FormatError("link.nonce", "is missing or empty");
  if (!is_valid_utf8(nonce)) throw FormatError("link.nonce", "is not valid UTF-8");
}

void check_callback(const std::optional<std::string>& callback) {
  if (callback && (!is_valid_utf8(*callback) || has_control_characters(*callback))) {
    throw FormatError("link.callback_url", "must be UTF-8 text without control characters");
  }
}

// OpenSSL must never stop to ask for a passphrase on a terminal.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return 0;
}

}  // namespace

void validate_service_public_key(std::string_view pem, const std::string& where) {
  if (pem.find("BEGIN RSA PUBLIC KEY") != std::string_view::npos) {
    throw FormatError(where,
                      "is a PKCS#1 key (BEGIN RSA PUBLIC KEY); Telegram Passport needs "
                      "SubjectPublicKeyInfo (BEGIN PUBLIC KEY): convert it with "
                      "`openssl rsa -RSAPublicKey_in -pubout`");
  }
  if (pem.find("PRIVATE KEY") != std::string_view::npos) {
    throw FormatError(where, "is a private key; the link must carry the service's public key");
  }
  auto bio = openssl::make_memory_bio(pem.data(), pem.size());
  openssl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, &refuse_passphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    throw FormatError(where, "is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  }
  if (!EVP_PKEY_is_a(key.get(), "RSA")) {
    throw FormatError(where, "is not an RSA key; Telegram Passport encrypts to RSA only");
  }
  const int bits = EVP_PKEY_get_bits(key.get());
  if (bits < static_cast<int>(kMinRsaBits)) {
    throw FormatError(
        where, "is a " + std::to_string(bits) + "-bit RSA key; at least 2048 bits are required");
  }
}

bool AuthorizationRequest::credentials_use_payload_key() const {
  return scope_text.empty() || scope_text.front() != '{' || scope_text.back() != '}';
}

AuthorizationRequest parse_authorization_link(std::string_view url) {
  if (url.size() > kMaxLinkBytes) {
    throw FormatError("link", "is longer than " + std::to_string(kMaxLinkBytes) + " bytes");
  }
  url = url.substr(0, url.find('#'));
  const auto prefix = std::find_if(kPrefixes.begin(), kPrefixes.end(), [&](const LinkPrefix& p) {
    return starts_with_ignoring_case(url, p.prefix);
  });
  if (prefix == kPrefixes.end()) {
    throw FormatError("link",
                      "is not a Passport authorization link (tg://resolve?domain="
                      "telegrampassport&..., tg://passport?..., idvault://authorize?...)");
  }
  const Parameters parameters = parse_query(url.substr(prefix->prefix.size()));
  if (prefix->kind == LinkKind::tg_resolve) {
    const auto& domain = parameter(parameters, "domain");
    if (!domain || !starts_with_ignoring_case(*domain, "telegrampassport") ||
        domain->size() != std::string_view("telegrampassport").size()) {
      throw FormatError("link.domain", "must be telegrampassport for a Passport request");
    }
  }

  AuthorizationRequest request;
  request.service_id = checked_service_id(required_parameter(parameters, "bot_id"),
                                          prefix->kind != LinkKind::idvault, "link.bot_id");
  request.scope_text = required_parameter(parameters, "scope");
  request.scope = parse_link_scope(request.scope_text);
  request.public_key_pem = required_parameter(parameters, "public_key");
  validate_service_public_key(request.public_key_pem, "link.public_key");

  request.payload = parameter(parameters, "payload");
  const auto& nonce = parameter(parameters, "nonce");
  if (nonce && !nonce->empty()) {
    request.nonce = *nonce;
  } else if (request.payload && !request.payload->empty()) {
    request.nonce = *request.payload;  // Passport 1.0 links carry only payload
  } else {
    throw FormatError("link.nonce", "is missing or empty (and there is no legacy payload)");
  }

  const auto& callback = parameter(parameters, "callback_url");
  if (callback && !callback->empty()) request.callback_url = *callback;
  check_callback(request.callback_url);
  return request;
}

std::string build_authorization_link(const AuthorizationRequest& request, LinkFormat format) {
  const bool telegram = format == LinkFormat::tg;
  const auto service_id = checked_service_id(request.service_id, telegram, "link.bot_id");
  std::string scope_text = request.scope_text;
  if (scope_text.empty()) {
    scope_text = to_packed_json(request.scope);
  } else {
    static_cast<void>(parse_link_scope(scope_text));
  }
  if (request.public_key_pem.empty()) throw FormatError("link.public_key", "is missing or empty");
  validate_service_public_key(request.public_key_pem, "link.public_key");
  check_nonce(request.nonce);
  check_callback(request.callback_url);

  std::string link = telegram ? "tg://resolve?domain=telegrampassport&" : "idvault://authorize?";
  link += "bot_id=" + percent_encode(service_id);
  link += "&scope=" + percent_encode(scope_text);
  link += "&public_key=" + percent_encode(request.public_key_pem);
  link += "&nonce=" + percent_encode(request.nonce);
  if (request.callback_url && !request.callback_url->empty()) {
    link += "&callback_url=" + percent_encode(*request.callback_url);
  }
  if (telegram) link += "&payload=" + percent_encode(request.nonce);
  return link;
}

}  // namespace idvault::vault
