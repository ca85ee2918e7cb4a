#include "vault/account/account_proof.h"

#include <algorithm>

#include "common/json_fields.h"
#include "vault/account/account_log.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

constexpr std::string_view kWhere = "account";

bool is_account_id(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

}  // namespace

nlohmann::ordered_json to_json(const AccountProof& proof) {
  nlohmann::ordered_json json;
  json["id"] = proof.account_id;
  json["log"] = proof.log;
  return json;
}

AccountProof account_proof_from_json(const nlohmann::json& json) {
  json_fields::expect_object(json, kWhere);
  for (const auto& item : json.items()) {
    // A proof is checked as a whole; a member this reader does not know could be one a
    // later version makes part of the proof, so it is not silently skipped.
    if (item.key() != "id" && item.key() != "log")
      throw FormatError(json_fields::path(kWhere, item.key()), "unknown member");
  }
  AccountProof proof;
  proof.account_id = json_fields::require_string(json, "id", kWhere);
  if (!is_account_id(proof.account_id))
    throw FormatError("account.id", "not an account id (64 lowercase hex digits)");
  const nlohmann::json* log = json_fields::optional_array(json, "log", kWhere);
  if (log == nullptr || log->empty())
    throw FormatError("account.log", "missing or empty: a proof starts at the genesis");
  if (log->size() > kMaxAccountProofEntries) {
    throw FormatError("account.log",
                      "more than " + std::to_string(kMaxAccountProofEntries) + " entries");
  }
  proof.log.reserve(log->size());
  for (std::size_t i = 0; i < log->size(); ++i) {
    const nlohmann::json& entry = (*log)[i];
    if (!entry.is_string())
      throw FormatError(json_fields::path("account.log", i), "not an entry's text");
    proof.log.push_back(entry.get<std::string>());
  }
  return proof;
}

ProvenDevice verify_account_proof(const AccountProof& proof, ByteView device_key_spki_der) {
  AccountState state;
  try {
    // No head seen before: a service meets the account through this share.
    state = AccountLog::verify(proof.log, proof.account_id, nullptr);
  } catch (const AccountLogError& error) {
    throw AccountProofError(std::string("account: ") + error.what());
  }
  if (const AccountDevice* device = state.device_with_identity_key(device_key_spki_der))
    return {state.account_id, device->id, state.length};
  for (const auto& [id, device] : state.revoked) {
    if (std::ranges::equal(device.identity_key, device_key_spki_der)) {
      throw AccountProofError("account: the receipt's key is device " + in_quotes(id) +
                              ", revoked at log entry " + std::to_string(*device.revoked_at));
    }
  }
  throw AccountProofError("account: the receipt's key is no device the account's log enrols");
}

}  // namespace idvault::vault
