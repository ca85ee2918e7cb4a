#include "pkcs11/token_info.h"

#include "pkcs11/module.h"
#include "pkcs11/padded_text.h"
#include "pkcs11/uri.h"

namespace idvault::p11 {

TokenInfo make_token_info(CK_SLOT_ID slot, const CK_TOKEN_INFO& raw) {
  TokenInfo info;
  info.slot = slot;
  info.label = padded_text(raw.label);
  info.manufacturer = padded_text(raw.manufacturerID);
  info.model = padded_text(raw.model);
  info.serial = padded_text(raw.serialNumber);
  info.flags = raw.flags;
  info.max_session_count = raw.ulMaxSessionCount;
  info.uri = format_token_uri(raw);
  return info;
}

std::vector<TokenInfo> list_tokens(const Module& module) {
  std::vector<TokenInfo> tokens;
  for (CK_SLOT_ID slot : module.slots_with_token()) {
    CK_TOKEN_INFO raw{};
    if (module.call(IDVAULT_P11_FN(C_GetTokenInfo), slot, &raw) != CKR_OK) continue;
    tokens.push_back(make_token_info(slot, raw));
  }
  return tokens;
}

}  // namespace idvault::p11
