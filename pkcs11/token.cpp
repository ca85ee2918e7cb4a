#include "pkcs11/token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pkcs11/padded_text.h"
#include "pkcs11/uri.h"

namespace idvault::p11 {

Token::Token(std::shared_ptr<Module> module, CK_SLOT_ID slot)
    : module_(std::move(module)), slot_(slot) {
  CK_TOKEN_INFO raw{};
  const CK_RV rv = module_->call(IDVAULT_P11_FN(C_GetTokenInfo), slot_, &raw);
  if (rv != CKR_OK) {
    if (classify(rv) == ErrorClass::token_gone || rv == CKR_GENERAL_ERROR)
      throw TokenGone(rv, "C_GetTokenInfo", "");
    throw Pkcs11Error(rv, "C_GetTokenInfo", "");
  }
  label_ = padded_text(raw.label);
  serial_ = padded_text(raw.serialNumber);
  uri_ = format_token_uri(raw);
  write_protected_ = (raw.flags & CKF_WRITE_PROTECTED) != 0;
  pool_ = std::make_unique<SessionPool>(*this, raw.ulMaxSessionCount);
  pin_key_ = SecretBytes(32);
  if (RAND_bytes(pin_key_.reveal_mutable().data(), static_cast<int>(pin_key_.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}

Token::~Token() = default;

CK_TOKEN_INFO Token::raw_info() {
  CK_TOKEN_INFO raw{};
  check(IDVAULT_P11_FN(C_GetTokenInfo), slot_, &raw);
  return raw;
}

TokenInfo Token::info() {
  return make_token_info(slot_, raw_info());
}

bool Token::present_in_slot() const noexcept {
  if (gone()) return false;
  CK_SLOT_INFO slot_info{};
  if (module_->call(IDVAULT_P11_FN(C_GetSlotInfo), slot_, &slot_info) != CKR_OK) return false;
  if ((slot_info.flags & CKF_TOKEN_PRESENT) == 0) return false;
  CK_TOKEN_INFO raw{};
  if (module_->call(IDVAULT_P11_FN(C_GetTokenInfo), slot_, &raw) != CKR_OK) return false;
  return padded_text(raw.serialNumber) == serial_ && padded_text(raw.label) == label_;
}

void Token::mark_gone() noexcept {
  gone_.store(true, std::memory_order_release);
  pool_->invalidate();
}

void Token::raise_if_gone(const char* function, CK_RV rv) {
  // Codes like CKR_SESSION_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID or
  // CKR_GENERAL_ERROR are what SoftHSM returns once its token directory is gone; only
  // the slot can tell removal from a plain bad handle, so ask it on every failure.
  if (classify(rv) == ErrorClass::token_gone || !present_in_slot()) {
    mark_gone();
    throw TokenGone(rv, function, label_);
  }
}

void Token::fail(const char* function, CK_RV rv) {
  raise_if_gone(function, rv);
  throw Pkcs11Error(rv, function, label_);
}

bool Token::offers(CK_MECHANISM_TYPE mechanism, CK_FLAGS needed) {
  std::optional<CK_MECHANISM_INFO> info;
  {
    std::lock_guard lock(mechanisms_mutex_);
    if (auto it = mechanisms_.find(mechanism); it != mechanisms_.end()) {
      info = it->second;
    } else {
      CK_MECHANISM_INFO raw{};
      const CK_RV rv = module_->call(IDVAULT_P11_FN(C_GetMechanismInfo), slot_, mechanism, &raw);
      if (rv == CKR_OK) {
        info = raw;
      } else if (rv != CKR_MECHANISM_INVALID) {
        // Not a "no": the token may be gone. Do not cache.
        if (classify(rv) == ErrorClass::token_gone || !present_in_slot()) {
          mark_gone();
          throw TokenGone(rv, "C_GetMechanismInfo", label_);
        }
      }
      if (rv == CKR_OK || rv == CKR_MECHANISM_INVALID) mechanisms_[mechanism] = info;
    }
  }
  return info.has_value() && (info->flags & needed) == needed;
}

bool Token::key_size_ok(CK_MECHANISM_TYPE mechanism, CK_ULONG size) {
  if (!offers(mechanism, 0)) return false;
  std::lock_guard lock(mechanisms_mutex_);
  const auto& info = mechanisms_[mechanism];
  // Units differ by mechanism (bits or bytes); AES key sizes are bytes in SoftHSM and
  // OpenSC but bits in some HSMs, so accept either reading.
  const auto in_range = [&](CK_ULONG v) {
    return v >= info->ulMinKeySize && v <= info->ulMaxKeySize;
  };
  return in_range(size) || in_range(size * 8);
}

void Token::require(CK_MECHANISM_TYPE mechanism, CK_FLAGS needed, std::string_view what) {
  if (!offers(mechanism, needed)) {
    throw UnsupportedMechanism(label_, std::string(what) + " needs " + mechanism_name(mechanism) +
                                           ", which this token does not offer");
  }
}

Capabilities Token::capabilities() {
  return probe_capabilities(*this);
}

Token::PinDigest Token::pin_digest(const SecretBytes& pin) const {
  PinDigest out{};
  size_t out_len = 0;
  const auto key = pin_key_.reveal();
  const auto data = pin.reveal();
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(),
                data.size(), out.data(), out.size(), &out_len) == nullptr ||
      out_len != out.size()) {
    throw std::runtime_error("HMAC-SHA-256 failed");
  }
  return out;
}

bool Token::pin_rejected_before(const PinDigest& digest) const {
  std::lock_guard lock(login_mutex_);
  return rejected_pins_.contains(digest);
}

void Token::remember_rejected_pin(const PinDigest& digest) {
  std::lock_guard lock(login_mutex_);
  rejected_pins_.insert(digest);
}

void Token::forget_rejected_pins() {
  std::lock_guard lock(login_mutex_);
  rejected_pins_.clear();
}

void Token::add_login() {
  std::lock_guard lock(login_mutex_);
  ++logins_;
}

bool Token::drop_login() {
  std::lock_guard lock(login_mutex_);
  return --logins_ == 0;
}

}  // namespace idvault::p11
