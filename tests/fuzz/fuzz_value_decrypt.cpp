// libFuzzer target: Telegram Passport value decryption (vault/value_cipher.h) on
// attacker-chosen ciphertext, hash and secret. The input is split into fields:
//   byte 0: hash length (mod 40, so the 32 that can match is common but not the only one)
//   then the hash, then 32 bytes of secret, then the ciphertext.
// Decryption must succeed or throw DecryptError, wiping its output on failure. The same
// bytes as a plaintext must also encrypt and decrypt back to themselves.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/secret_bytes.h"
#include "vault/model/errors.h"
#include "vault/wire/value_cipher.h"

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  using namespace idvault;
  using namespace idvault::vault;
  std::span<const std::uint8_t> input(data, size);
  if (input.empty()) return 0;
  const std::size_t hash_size = std::min<std::size_t>(input[0] % 40, input.size() - 1);
  const auto hash = input.subspan(1, hash_size);
  input = input.subspan(1 + hash_size);
  if (input.size() < ValueSecret::kSize) return 0;
  const ValueSecret secret =
      ValueSecret::from_bytes(SecretBytes(input.first(ValueSecret::kSize)), "fuzz.secret");
  const auto ciphertext = input.subspan(ValueSecret::kSize);

  static ValueDecryptor decryptor;  // reused across inputs, as a relying party's worker does
  std::vector<std::uint8_t> out(ciphertext.size());
  try {
    const auto plaintext = decryptor.decrypt_into(ciphertext, hash, secret, out);
    if (plaintext.data() < out.data() ||
        plaintext.data() + plaintext.size() > out.data() + out.size()) {
      __builtin_trap();
    }
  } catch (const DecryptError&) {
    if (std::ranges::any_of(out, [](std::uint8_t b) { return b != 0; })) __builtin_trap();
  }
  try {
    (void)decryptor.decrypt(ciphertext, hash, secret);
  } catch (const DecryptError&) {
  }

  // Round trip: the ciphertext field as a plaintext, with the padding the first byte picks.
  const std::size_t padding = kMinPadding + data[0] % (kMaxPadding - kMinPadding + 1);
  const auto encrypted = is_valid_padding(padding, ciphertext.size())
                             ? encrypt_value(ciphertext, secret, padding)
                             : encrypt_value(ciphertext, secret);
  const SecretBytes decrypted = decryptor.decrypt(encrypted.ciphertext, encrypted.hash, secret);
  if (!std::ranges::equal(decrypted.reveal(), ciphertext)) __builtin_trap();
  return 0;
}
