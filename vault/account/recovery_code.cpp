#include "vault/account/recovery_code.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/openssl_owners.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kWhere = "recovery_code";
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kCodeChars = kRecoveryCodeGroupLength - 1;
constexpr std::size_t kTypedLength = kRecoveryCodeGroups * kRecoveryCodeGroupLength;
constexpr std::size_t kSymbols = kRecoveryCodeGroups * kCodeChars;  // 32 x 5 bits = 160
static_assert(kSymbols * 5 == kRecoveryCodeBytes * 8);

// GF(32) with x^5 + x^2 + 1 (primitive: x has order 31, so x^1..x^6 are distinct).
std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b) {
  std::uint8_t product = 0;
  for (int bit = 0; bit < 5; ++bit) {
    if ((b >> bit) & 1) product ^= a;
    a = static_cast<std::uint8_t>(a << 1);
    if (a & 0x20) a ^= 0x25;
  }
  return product;
}

std::uint8_t gf_pow_x(int exponent) {
  std::uint8_t value = 1;
  for (int i = 0; i < exponent; ++i) value = gf_mul(value, 2);
  return value;
}

// The group's check character: s4 such that
//   x^1 s0 + x^2 s1 + x^3 s2 + x^4 s3 + x^5 s4 + x^6 (group + 1) = 0.
// Each position has its own nonzero weight, so one changed symbol, or two swapped, can
// never keep the sum at zero; the group's number makes a group in the wrong place fail.
std::uint8_t check_symbol(const std::uint8_t* code, std::size_t group) {
  std::uint8_t sum = gf_mul(gf_pow_x(6), static_cast<std::uint8_t>(group + 1));
  for (std::size_t i = 0; i < kCodeChars; ++i)
    sum ^= gf_mul(gf_pow_x(static_cast<int>(i) + 1), code[i]);
  // Divide by x^5: multiply by x^(31-5).
  return gf_mul(sum, gf_pow_x(31 - 5));
}

int symbol_value(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c == 'O') c = '0';
  if (c == 'I' || c == 'L') c = '1';
  const std::size_t at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

bool is_separator(char c) {
  return c == ' ' || c == '-' || c == '\t' || c == '\n' || c == '\r';
}

// Big-endian 5-bit symbols of the 160 bits, and back.
std::array<std::uint8_t, kSymbols> symbols_of(const SecretBytes& bits) {
  std::array<std::uint8_t, kSymbols> symbols{};
  const auto bytes = bits.reveal();
  for (std::size_t s = 0; s < kSymbols; ++s) {
    std::uint8_t value = 0;
    for (std::size_t b = 0; b < 5; ++b) {
      const std::size_t bit = s * 5 + b;
      value = static_cast<std::uint8_t>((value << 1) | ((bytes[bit / 8] >> (7 - bit % 8)) & 1));
    }
    symbols[s] = value;
  }
  return symbols;
}

SecretBytes bits_of(const std::array<std::uint8_t, kSymbols>& symbols) {
  SecretBytes bits(kRecoveryCodeBytes);
  auto bytes = bits.reveal_mutable();
  for (std::size_t s = 0; s < kSymbols; ++s)
    for (std::size_t b = 0; b < 5; ++b) {
      const std::size_t bit = s * 5 + b;
      if ((symbols[s] >> (4 - b)) & 1)
        bytes[bit / 8] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    }
  return bits;
}

std::string group_list(const std::vector<std::size_t>& groups) {
  std::string text = groups.size() == 1 ? "group " : "groups ";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) text += i + 1 == groups.size() ? " and " : ", ";
    text += std::to_string(groups[i] + 1);
  }
  return text;
}

}  // namespace

RecoveryCode RecoveryCode::generate() {
  SecretBytes bits(kRecoveryCodeBytes);
  openssl::check(RAND_bytes(bits.reveal_mutable().data(), static_cast<int>(bits.size())),
                 "RAND_bytes");
  return RecoveryCode(std::move(bits));
}

RecoveryCode RecoveryCode::from_bytes(const SecretBytes& bits) {
  if (bits.size() != kRecoveryCodeBytes)
    throw FormatError(std::string(kWhere),
                      "must be " + std::to_string(kRecoveryCodeBytes) + " bytes");
  return RecoveryCode(bits.clone());
}

RecoveryCode RecoveryCode::parse(std::string_view typed) {
  // The typed symbols live in a wiping buffer: they are the secret.
  SecretBytes symbols(kTypedLength);
  auto out = symbols.reveal_mutable();
  std::size_t count = 0;
  std::optional<std::size_t> foreign;  // the group of the first character not in the alphabet
  for (char c : typed) {
    if (is_separator(c)) continue;
    const int value = symbol_value(c);
    if (value < 0 && !foreign) foreign = count / kRecoveryCodeGroupLength;
    if (count < kTypedLength) out[count] = static_cast<std::uint8_t>(value < 0 ? 0 : value);
    ++count;
  }
  if (foreign) {
    throw FormatError(std::string(kWhere), group_list({*foreign}) +
                                               " of the recovery code has a character that is not "
                                               "in one (letters and digits only; no U)");
  }
  if (count != kTypedLength) {
    throw FormatError(std::string(kWhere), "has " + std::to_string(count) +
                                               " letters and digits; a recovery code has " +
                                               std::to_string(kTypedLength) + " (" +
                                               std::to_string(kRecoveryCodeGroups) + " groups of " +
                                               std::to_string(kRecoveryCodeGroupLength) + ")");
  }
  std::vector<std::size_t> mistyped;
  std::array<std::uint8_t, kSymbols> code{};
  for (std::size_t group = 0; group < kRecoveryCodeGroups; ++group) {
    const std::uint8_t* typed_group = out.data() + group * kRecoveryCodeGroupLength;
    if (check_symbol(typed_group, group) != typed_group[kCodeChars]) mistyped.push_back(group);
    for (std::size_t i = 0; i < kCodeChars; ++i) code[group * kCodeChars + i] = typed_group[i];
  }
  if (!mistyped.empty()) {
    throw FormatError(std::string(kWhere), group_list(mistyped) +
                                               " of the recovery code: a character is mistyped; "
                                               "check against the printed code");
  }
  SecretBytes bits = bits_of(code);
  detail::wipe(code.data(), code.size());
  return RecoveryCode(std::move(bits));
}

SecretBytes RecoveryCode::printed() const {
  std::array<std::uint8_t, kSymbols> code = symbols_of(bits_);
  SecretBytes text(kTypedLength + kRecoveryCodeGroups - 1);
  auto out = text.reveal_mutable();
  std::size_t at = 0;
  for (std::size_t group = 0; group < kRecoveryCodeGroups; ++group) {
    if (group > 0) out[at++] = '-';
    const std::uint8_t* group_code = code.data() + group * kCodeChars;
    for (std::size_t i = 0; i < kCodeChars; ++i)
      out[at++] = static_cast<std::uint8_t>(kAlphabet[group_code[i]]);
    out[at++] = static_cast<std::uint8_t>(kAlphabet[check_symbol(group_code, group)]);
  }
  detail::wipe(code.data(), code.size());
  return text;
}

RecoveryEnvelope seal_recovery_key_under_code(const RecoveryCode& code,
                                              const SigningKey& identity_key,
                                              RecoveryKdfParams params) {
  // The printed form is what Argon2id takes: one canonical spelling of the code, whatever
  // case or separators were typed.
  return create_recovery_envelope(code.printed(), identity_key, params);
}

RecoveryOpener open_recovery_key_with_code(const RecoveryEnvelope& envelope,
                                           const RecoveryCode& code) {
  try {
    return RecoveryOpener::open(envelope, code.printed());
  } catch (const DecryptError&) {
    throw DecryptError("wrong recovery code");
  }
}

namespace {

// The recovery key as the slot opener MemoryVaultKey::open_slot takes: it only decrypts.
class RecoverySlotKey final : public ServiceKey {
 public:
  explicit RecoverySlotKey(const RecoveryOpener& opener) : opener_(opener) {}
  [[nodiscard]] SecretBytes decrypt_oaep_sha1(ByteView ciphertext) const override {
    return opener_.unseal_slot(ciphertext);
  }
  [[nodiscard]] std::string public_key_pem() const override {
    throw std::logic_error("RecoverySlotKey: not a service key");
  }

 private:
  const RecoveryOpener& opener_;
};

}  // namespace

MemoryVaultKey open_recovery_slot(const RecoveryOpener& recovery_key, ByteView sealed) {
  return MemoryVaultKey::open_slot(RecoverySlotKey(recovery_key), sealed);
}

}  // namespace idvault::vault
