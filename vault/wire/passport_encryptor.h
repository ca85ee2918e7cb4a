// The holder's side of a share as one pure function: plaintext elements in, what a
// service receives out (Bot API PassportData, the encrypted files by file_id) plus the
// Credentials that were encrypted into it. Used by tests and interop tools; the agent
// reuses its pieces.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/page_aligned.h"
#include "common/secret_bytes.h"
#include "vault/model/element_type.h"
#include "vault/wire/credentials.h"
#include "vault/wire/passport_data.h"

namespace idvault::vault {

struct PlainElement {
  ElementType type = ElementType::personal_details;
  nlohmann::json data;  // the data object, for types that carry data; null otherwise
  std::string value;    // the phone number or e-mail address, for those two types
  std::optional<SecretBytes> front_side;
  std::optional<SecretBytes> reverse_side;
  std::optional<SecretBytes> selfie;
  std::vector<SecretBytes> files;
  std::vector<SecretBytes> translation;
};

// Calls fn with each file of the element (Element: PlainElement or const PlainElement):
// front side, reverse side, selfie, files, translation.
template <typename Element, typename Fn>
void for_each_file(Element& element, Fn&& fn) {
  for (auto* single : {&element.front_side, &element.reverse_side, &element.selfie}) {
    if (*single) fn(**single);
  }
  for (auto& file : element.files) fn(file);
  for (auto& file : element.translation) fn(file);
}

// The elements encrypted, before any service is involved: what the holder's store keeps
// (credentials.nonce is empty; secure_data holds each value's secret and hash).
struct EncryptedElements {
  std::vector<EncryptedPassportElement> elements;
  std::map<std::string, std::vector<std::uint8_t>> files;  // file_id -> ciphertext
  // file_id -> what FileEncryption::sink returned (where it put the ciphertext), for
  // files handed to a sink instead of being kept in `files`.
  std::map<std::string, std::uint64_t> sunk_files;
  Credentials credentials;
};

// How the files of encrypt_elements are encrypted. Each file needs the SHA-256 of its
// whole padded plaintext before AES-CBC can start (the key and IV derive from it), so
// one file is two passes in one thread; different files are independent.
struct FileEncryption {
  // Files encrypted at the same time (1: in the calling thread, one after the other).
  unsigned threads = 1;
  // When set, each file's ciphertext is handed here from the thread that encrypted it as
  // soon as it is ready, and is not kept; what the sink returns lands in sunk_files. The
  // sink owns the bytes and may write them later (the holder's store queues them for its
  // writer thread and the encryptor starts the next file at once). It may throw:
  // encrypt_elements then throws that after every thread has stopped.
  std::function<std::uint64_t(PageAlignedBytes&& ciphertext)> sink;
  // When set, called with each file on the thread that encrypts it, just before that
  // thread reads it: the holder's store fills files whose bytes are read from disk here,
  // so reading one file overlaps encrypting another. It may throw, like the sink.
  std::function<void(const SecretBytes& file)> before_encrypting;
  // When set, called with each file on the thread that encrypted it once its ciphertext
  // is made (and handed to the sink): progress for whoever waits on a large put.
  std::function<void(const SecretBytes& file)> after_encrypting;
};

struct EncryptedBundle {
  PassportData passport_data;
  std::map<std::string, std::vector<std::uint8_t>> files;  // file_id -> ciphertext
  Credentials credentials;
};

// Every value gets a fresh TDLib-style secret and a padding drawn from the whole
// allowed range; file_ids are random (base64url, 24 characters) and unique.
// The element `hash` is ours: SHA-256 over the element's data and file hashes (or its
// type and plain value), base64. Telegram's server computes its own in an unknown way,
// so decoders must treat it as opaque, as the Bot API says.
// Throws FormatError naming the element for a slot its type may not carry, a missing
// required slot, data that is not a JSON object (or present where the type has none),
// an empty phone/e-mail value, data that is not valid UTF-8, or a type given twice; and
// FormatError("public_key", ...) for a public key that is not RSA SPKI PEM.
[[nodiscard]] EncryptedElements encrypt_elements(std::span<const PlainElement> elements,
                                                 const FileEncryption& how = {});

// encrypt_elements, then the credentials (with this nonce) encrypted to the service key.
[[nodiscard]] EncryptedBundle encrypt_passport(std::span<const PlainElement> elements,
                                               std::string_view nonce,
                                               std::string_view service_public_key_pem);

}  // namespace idvault::vault
