// An element as the socket API carries it: data as a JSON object, the plain value of
// phone_number/email as "value", each file as base64 or as a reference to one of the
// request's attachments, bytes or passed file (docs/AGENT.md, "Attachments").
//   {"type":"passport","data":{...},"front_side":"B64","selfie":{"attachment":0},"translation":["B64"]}
#pragma once

#include <nlohmann/json.hpp>

#include "host/agent/passed_files.h"
#include "host/rpc/method_table.h"
#include "vault/store/holder_vault.h"
#include "vault/wire/passport_encryptor.h"

namespace idvault::agent {

// Throws RpcError(invalid_params) naming the member for a wrong shape, bad base64, an
// attachment index the request did not announce, or (with a context) an attachment
// announced but not referenced. A file the client passed as a descriptor is taken only
// with `passed`: the element then holds a placeholder that passed->load() fills.
[[nodiscard]] vault::PlainElement element_from_params(const nlohmann::json& params,
                                                      const rpc::CallContext* context = nullptr,
                                                      PassedFiles* passed = nullptr);
[[nodiscard]] nlohmann::json element_to_json(const vault::PlainElement& element);
[[nodiscard]] nlohmann::json summary_to_json(const vault::ElementSummary& summary);

}  // namespace idvault::agent
