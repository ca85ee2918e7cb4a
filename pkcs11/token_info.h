// What a token says about itself (C_GetTokenInfo), and the list of present tokens.
#pragma once

#include <string>
#include <vector>

#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

class Module;

struct TokenInfo {
  CK_SLOT_ID slot = 0;  // for diagnostics only: slot ids are not stable, URIs are
  std::string label;
  std::string manufacturer;
  std::string model;
  std::string serial;
  CK_FLAGS flags = 0;
  CK_ULONG max_session_count = 0;
  std::string
      uri;  // RFC 7512, e.g. "pkcs11:model=SoftHSM%20v2;manufacturer=...;serial=...;token=holder"

  [[nodiscard]] bool write_protected() const noexcept { return (flags & CKF_WRITE_PROTECTED) != 0; }
  [[nodiscard]] bool pin_locked() const noexcept { return (flags & CKF_USER_PIN_LOCKED) != 0; }
  [[nodiscard]] bool pin_final_try() const noexcept {
    return (flags & CKF_USER_PIN_FINAL_TRY) != 0;
  }
  [[nodiscard]] bool pin_count_low() const noexcept {
    return (flags & CKF_USER_PIN_COUNT_LOW) != 0;
  }
};

[[nodiscard]] TokenInfo make_token_info(CK_SLOT_ID slot, const CK_TOKEN_INFO& raw);

// Every slot with a token present (CKF_TOKEN_PRESENT), with its info and URI. A token
// that disappears between the slot list and C_GetTokenInfo is left out.
[[nodiscard]] std::vector<TokenInfo> list_tokens(const Module& module);

}  // namespace idvault::p11
