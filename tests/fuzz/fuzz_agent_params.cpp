// libFuzzer target: the agent's method parameters, from the JSON a client sends to the
// model the vault works on — without a token, so only the conversion functions:
//   element.put      element_from_params, then the encryptor's validation of the element
//   errors.add       signed_element_errors_from_json on params.errors
//   attestation.add  attestation_from_json on params.attestation
// element_from_params may only throw RpcError (invalid_params); the vault's parsers only
// FormatError. An element that converts must convert back to the same JSON.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "host/agent/element_json.h"
#include "host/rpc/json_line_parser.h"
#include "host/rpc/json_rpc.h"
#include "vault/model/errors.h"
#include "vault/signed/attestation.h"
#include "vault/signed/element_error_signature.h"
#include "vault/wire/passport_encryptor.h"

namespace {

using namespace idvault;

void check_element(const nlohmann::json& params) {
  vault::PlainElement element;
  try {
    element = agent::element_from_params(params);
  } catch (const rpc::RpcError& error) {
    if (error.code() != rpc::RpcCode::invalid_params) __builtin_trap();
    return;
  }
  const nlohmann::json written = agent::element_to_json(element);
  if (agent::element_to_json(agent::element_from_params(written)) != written) __builtin_trap();
  try {
    const auto encrypted = vault::encrypt_elements(std::span(&element, 1));
    if (encrypted.elements.size() != 1 || encrypted.elements[0].type != element.type)
      __builtin_trap();
  } catch (const vault::FormatError&) {
  }
}

void check_errors(const nlohmann::json& params) {
  auto it = params.find("errors");
  if (it == params.end()) return;
  try {
    const auto parsed = vault::signed_element_errors_from_json(*it);
    (void)vault::verify_element_errors(parsed, std::string(64, '0'));
    const auto again = vault::signed_element_errors_from_json(vault::to_json(parsed));
    if (vault::canonical_error_notice_bytes(again.notice) !=
            vault::canonical_error_notice_bytes(parsed.notice) ||
        again.signature != parsed.signature) {
      __builtin_trap();
    }
  } catch (const vault::FormatError&) {
  }
}

void check_attestation(const nlohmann::json& params) {
  auto it = params.find("attestation");
  if (it == params.end()) return;
  try {
    const auto parsed = vault::attestation_from_json(*it);
    (void)vault::verify_attestation_signature(parsed);
  } catch (const vault::FormatError&) {
  }
}

}  // namespace

// The entry point libFuzzer calls; its name is fixed by libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The agent's own parser of a request line, with its depth limit.
  const nlohmann::json params = idvault::rpc::parse_json_line(text);
  if (params.is_discarded()) return 0;
  check_element(params);
  if (params.is_object()) {
    check_errors(params);
    check_attestation(params);
  }
  return 0;
}
