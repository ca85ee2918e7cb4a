#include "pkcs11/object.h"

#include <cstring>

#include "pkcs11/padded_text.h"
#include "pkcs11/token.h"
#include "pkcs11/uri.h"

namespace idvault::p11 {

Bytes read_attribute(SessionLease& session, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE type) {
  Token& token = session.token();
  CK_ATTRIBUTE attr{type, nullptr, 0};
  token.check(IDVAULT_P11_FN(C_GetAttributeValue), session.handle(), handle, &attr, CK_ULONG{1});
  if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    token.fail("C_GetAttributeValue", CKR_ATTRIBUTE_TYPE_INVALID);
  }
  Bytes value(attr.ulValueLen);
  attr.pValue = value.data();
  token.check(IDVAULT_P11_FN(C_GetAttributeValue), session.handle(), handle, &attr, CK_ULONG{1});
  value.resize(attr.ulValueLen);
  return value;
}

Bytes Object::attribute(CK_ATTRIBUTE_TYPE type) const {
  auto session = token_->sessions().acquire();
  return read_attribute(session, handle_, type);
}

std::optional<Bytes> Object::try_attribute(CK_ATTRIBUTE_TYPE type) const {
  try {
    return attribute(type);
  } catch (const TokenGone&) {
    throw;
  } catch (const Pkcs11Error& e) {
    if (e.rv() == CKR_ATTRIBUTE_TYPE_INVALID || e.rv() == CKR_ATTRIBUTE_SENSITIVE)
      return std::nullopt;
    throw;
  }
}

bool Object::flag(CK_ATTRIBUTE_TYPE type) const {
  const Bytes value = attribute(type);
  return value.size() == sizeof(CK_BBOOL) && value[0] != CK_FALSE;
}

CK_ULONG Object::ulong_attribute(CK_ATTRIBUTE_TYPE type) const {
  const Bytes value = attribute(type);
  if (value.size() != sizeof(CK_ULONG))
    throw Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, "C_GetAttributeValue", token_->label());
  CK_ULONG out = 0;
  std::memcpy(&out, value.data(), sizeof out);
  return out;
}

std::string Object::label() const {
  const auto value = try_attribute(CKA_LABEL);
  return value ? std::string(value->begin(), value->end()) : std::string();
}

Bytes Object::id() const {
  return try_attribute(CKA_ID).value_or(Bytes{});
}

std::string Object::uri() const {
  const CK_TOKEN_INFO info = token_->raw_info();
  CK_OBJECT_CLASS object_class = this->object_class();
  Bytes label_bytes = try_attribute(CKA_LABEL).value_or(Bytes{});
  Bytes id_bytes = id();
  std::vector<CK_ATTRIBUTE> attrs{{CKA_CLASS, &object_class, sizeof object_class}};
  if (!label_bytes.empty()) attrs.push_back({CKA_LABEL, label_bytes.data(), label_bytes.size()});
  if (!id_bytes.empty()) attrs.push_back({CKA_ID, id_bytes.data(), id_bytes.size()});
  return format_object_uri(info, attrs);
}

void Object::destroy() {
  auto session = token_->sessions().acquire();
  token_->check(IDVAULT_P11_FN(C_DestroyObject), session.handle(), handle_);
}

TemporaryObject::~TemporaryObject() {
  // Swallowed: if the token is gone, so is the session object.
  (void)session_->token().call(IDVAULT_P11_FN(C_DestroyObject), session_->handle(), handle_);
}

}  // namespace idvault::p11
