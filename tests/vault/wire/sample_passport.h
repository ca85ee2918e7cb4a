// Plaintext Passport elements for the wire tests: every type, every file slot, real-world
// text quirks (non-ASCII names, empty optional fields), and file sizes on and off the
// 16-byte grid.
#pragma once

#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "vault/wire/passport_encryptor.h"

namespace idvault::vault::testing {

inline std::vector<std::uint8_t> random_bytes(std::size_t size) {
  std::vector<std::uint8_t> out(size);
  if (size != 0 && RAND_bytes(out.data(), static_cast<int>(size)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

inline SecretBytes scan(std::size_t size) {
  return SecretBytes(random_bytes(size));
}

inline std::vector<std::uint8_t> bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

inline PlainElement personal_details() {
  PlainElement e;
  e.type = ElementType::personal_details;
  e.data = {{"first_name", "Zoë"},           {"middle_name", ""},
            {"last_name", "Łukasiewicz/Ås"}, {"first_name_native", "Зоя"},
            {"middle_name_native", ""},      {"last_name_native", "Лукасевич"},
            {"birth_date", "29.02.1996"},    {"gender", "female"},
            {"country_code", "PL"},          {"residence_country_code", "SE"}};
  return e;
}

inline PlainElement id_document(ElementType type, bool reverse, bool selfie, int translations) {
  PlainElement e;
  e.type = type;
  e.data = {{"document_no", "AB 123/456"}, {"expiry_date", ""}};
  e.front_side = scan(20'000);
  if (reverse) e.reverse_side = scan(17);
  if (selfie) e.selfie = scan(16);
  for (int i = 0; i < translations; ++i)
    e.translation.push_back(scan(1000 + static_cast<std::size_t>(i)));
  return e;
}

inline PlainElement address() {
  PlainElement e;
  e.type = ElementType::address;
  e.data = {{"street_line1", "Karl-Marx-Allee 123"},
            {"street_line2", "Aufgang B, 4. OG"},
            {"city", "Berlin"},
            {"state", ""},
            {"country_code", "DE"},
            {"post_code", "10243"}};
  return e;
}

inline PlainElement proof_document(ElementType type, int files, int translations) {
  PlainElement e;
  e.type = type;
  for (int i = 0; i < files; ++i) e.files.push_back(scan(1 + 300 * static_cast<std::size_t>(i)));
  for (int i = 0; i < translations; ++i) e.translation.push_back(scan(33));
  return e;
}

inline PlainElement plain(ElementType type, std::string value) {
  PlainElement e;
  e.type = type;
  e.value = std::move(value);
  return e;
}

// One element of each of the 13 types.
inline std::vector<PlainElement> every_type() {
  std::vector<PlainElement> out;
  out.push_back(personal_details());
  out.push_back(id_document(ElementType::passport, false, true, 2));
  out.push_back(id_document(ElementType::driver_license, true, true, 0));
  out.push_back(id_document(ElementType::identity_card, true, false, 1));
  out.push_back(id_document(ElementType::internal_passport, false, false, 0));
  out.push_back(address());
  out.push_back(proof_document(ElementType::utility_bill, 2, 1));
  out.push_back(proof_document(ElementType::bank_statement, 1, 0));
  out.push_back(proof_document(ElementType::rental_agreement, 3, 0));
  out.push_back(proof_document(ElementType::passport_registration, 1, 2));
  out.push_back(proof_document(ElementType::temporary_registration, 1, 0));
  out.push_back(plain(ElementType::phone_number, "491701234567"));
  out.push_back(plain(ElementType::email, "zoë@example.org"));
  return out;
}

}  // namespace idvault::vault::testing
