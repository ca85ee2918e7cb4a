// libFuzzer target: attestation JSON as a share or attestation.add carries it. Reading
// must succeed or throw FormatError; what reads must be written and read back the same;
// verify_attestation_signature and check_attestation promise never to throw, whatever
// the JSON, and are run with the attestation's own key trusted so every check is reached.
// Claims the signer accepts are signed with a fixed test key and must then verify.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/json_fields.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"

namespace {

using namespace idvault;
using namespace idvault::vault;

const SoftwareSigningKey& test_key() {
  static const SoftwareSigningKey key = SoftwareSigningKey::generate();
  return key;
}

}  // namespace

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The bounded parse every reader of outside JSON uses (vault/json_fields.h).
  nlohmann::json json;
  try {
    json = json_fields::parse(text, "attestation");
  } catch (const FormatError&) {
    return 0;
  }

  Attestation attestation;
  try {
    attestation = attestation_from_json(json);
  } catch (const FormatError&) {
    DecryptedPassport empty;
    const auto check = check_attestation(json, empty, "", {}, 0);
    if (check.valid) __builtin_trap();
    return 0;
  }
  const Attestation again = attestation_from_json(to_json(attestation));
  if (!(again.claims == attestation.claims) ||
      again.verifier_key_spki_der != attestation.verifier_key_spki_der ||
      again.signature != attestation.signature) {
    __builtin_trap();
  }
  (void)verify_attestation_signature(attestation);

  // A share holding an element of the attested type, the attestation's key trusted, and
  // "now" inside its validity: check_attestation then runs every comparison.
  DecryptedPassport share;
  DecryptedElement element;
  element.type = attestation.claims.element_type;
  share.elements.push_back(element);
  const Bytes trusted[] = {attestation.verifier_key_spki_der};
  const auto check =
      check_attestation(json, share, attestation.claims.holder_key_sha256,
                        std::span<const Bytes>(trusted), attestation.claims.issued_at);
  (void)check;

  // The signer is stricter than the reader (it also wants hex digests and a validity
  // period), so it may refuse with FormatError; what it signs must verify.
  try {
    const Attestation signed_again = sign_attestation(attestation.claims, test_key());
    if (!verify_attestation_signature(signed_again)) __builtin_trap();
    const auto reread = attestation_from_json(to_json(signed_again));
    if (!verify_attestation_signature(reread) || !(reread.claims == attestation.claims))
      __builtin_trap();
  } catch (const FormatError&) {
  }
  return 0;
}
