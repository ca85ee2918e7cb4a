#include "host/rp/service/result_sealer.h"

#include <openssl/rand.h>

#include "common/aes_gcm.h"
#include "common/openssl_owners.h"
#include "vault/model/errors.h"
#include "vault/signed/signed_statement.h"

namespace idvault::rp {
namespace {

constexpr std::uint8_t kFormat = 0x01;
constexpr std::size_t kKeyBytes = aes_gcm::kKeyBytes;
constexpr std::size_t kIvBytes = aes_gcm::kIvBytes;
constexpr std::size_t kOverhead = 1 + kIvBytes + aes_gcm::kTagBytes;

// "idvault-rp sealed result v1" NUL nonce NUL part: a part opens only as itself, in its
// own result.
std::string additional_data(const std::string& nonce, std::string_view part) {
  std::string aad = "idvault-rp sealed result v1";
  aad.push_back('\0');
  aad += nonce;
  aad.push_back('\0');
  aad += part;
  return aad;
}

}  // namespace

std::string report_part() {
  return "report";
}
std::string errors_part() {
  return "errors";
}
std::string file_part(std::string_view file_id) {
  return "file/" + std::string(file_id);
}

ResultSealer::Sealing ResultSealer::seal_result(std::string nonce) const {
  SecretBytes key(kKeyBytes);
  openssl::check(RAND_priv_bytes(key.reveal_mutable().data(), static_cast<int>(kKeyBytes)),
                 "RAND_priv_bytes");
  vault::Bytes wrapped = seal_key_.wrap(key);
  return Sealing(std::move(nonce), std::move(key), std::move(wrapped));
}

ResultSealer::Opening ResultSealer::open_result(std::string nonce,
                                                vault::ByteView wrapped_key) const {
  SecretBytes key;
  try {
    key = seal_key_.unwrap(wrapped_key);
  } catch (const vault::DecryptError&) {
    throw SealedDataDamaged(
        "the stored result's data key does not unwrap under the seal key: "
        "the row was altered, sealed under another seal key, or sealed by an idvault-rp "
        "that wrapped data keys with AES key wrap instead of AES-GCM");
  }
  if (key.size() != kKeyBytes)
    throw SealedDataDamaged("the stored result's data key has the wrong length");
  return Opening(std::move(nonce), std::move(key));
}

vault::Bytes ResultSealer::Sealing::seal(std::string_view part, vault::ByteView plaintext) const {
  const std::string aad = additional_data(nonce_, part);
  std::uint8_t iv[kIvBytes];
  openssl::check(RAND_bytes(iv, static_cast<int>(kIvBytes)), "RAND_bytes");
  const vault::Bytes sealed = aes_gcm::seal(key_, iv, vault::bytes_of(aad), plaintext);
  vault::Bytes out;
  out.reserve(1 + kIvBytes + sealed.size());
  out.push_back(kFormat);
  out.insert(out.end(), iv, iv + kIvBytes);
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

SecretBytes ResultSealer::Opening::open(std::string_view part, vault::ByteView sealed) const {
  if (sealed.size() < kOverhead || sealed[0] != kFormat)
    throw SealedDataDamaged("a stored " + std::string(part) + " is truncated or not sealed");
  const std::string aad = additional_data(nonce_, part);
  auto opened = aes_gcm::open(key_, sealed.subspan(1, kIvBytes), vault::bytes_of(aad),
                              sealed.subspan(1 + kIvBytes));
  if (!opened) {
    throw SealedDataDamaged("a stored " + std::string(part) +
                            " does not open: altered, or moved from another part or result");
  }
  return std::move(*opened);
}

}  // namespace idvault::rp
