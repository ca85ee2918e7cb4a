// Object: a handle to an object on a token (a key), with typed attribute access.
// Handles of token objects are valid in every session of this process, so an Object
// keeps only the token and the handle; each read borrows a pooled session.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "pkcs11/cryptoki.h"

namespace idvault::p11 {

class Token;
class SessionLease;

class Object {
 public:
  Object(std::shared_ptr<Token> token, CK_OBJECT_HANDLE handle) noexcept
      : token_(std::move(token)), handle_(handle) {}

  [[nodiscard]] Token& token() const noexcept { return *token_; }
  [[nodiscard]] const std::shared_ptr<Token>& token_ptr() const noexcept { return token_; }
  [[nodiscard]] CK_OBJECT_HANDLE handle() const noexcept { return handle_; }

  // C_GetAttributeValue. Throws Pkcs11Error (e.g. CKR_ATTRIBUTE_SENSITIVE) on failure.
  [[nodiscard]] Bytes attribute(CK_ATTRIBUTE_TYPE type) const;
  // nullopt when the object lacks the attribute or keeps it secret.
  [[nodiscard]] std::optional<Bytes> try_attribute(CK_ATTRIBUTE_TYPE type) const;
  [[nodiscard]] bool flag(CK_ATTRIBUTE_TYPE type) const;  // a CK_BBOOL attribute
  [[nodiscard]] CK_ULONG ulong_attribute(CK_ATTRIBUTE_TYPE type) const;

  [[nodiscard]] std::string label() const;
  [[nodiscard]] Bytes id() const;
  [[nodiscard]] CK_OBJECT_CLASS object_class() const { return ulong_attribute(CKA_CLASS); }
  [[nodiscard]] CK_KEY_TYPE key_type() const { return ulong_attribute(CKA_KEY_TYPE); }
  // RFC 7512 URI naming this object: token, object label, id and type.
  [[nodiscard]] std::string uri() const;

  // C_DestroyObject.
  void destroy();

 private:
  std::shared_ptr<Token> token_;
  CK_OBJECT_HANDLE handle_;
};

// Reads one attribute through an already leased session (two-call pattern).
[[nodiscard]] Bytes read_attribute(SessionLease& session, CK_OBJECT_HANDLE handle,
                                   CK_ATTRIBUTE_TYPE type);

// A session object that exists only for one operation (an imported secret, an unwrapped
// key): destroyed when this goes, even if the operation threw.
class TemporaryObject {
 public:
  TemporaryObject(SessionLease& session, CK_OBJECT_HANDLE handle) noexcept
      : session_(&session), handle_(handle) {}
  // Destroying twice would hit whatever object reuses the handle.
  TemporaryObject(const TemporaryObject&) = delete;
  TemporaryObject& operator=(const TemporaryObject&) = delete;
  TemporaryObject(TemporaryObject&&) = delete;
  TemporaryObject& operator=(TemporaryObject&&) = delete;
  ~TemporaryObject();
  [[nodiscard]] CK_OBJECT_HANDLE handle() const noexcept { return handle_; }

 private:
  SessionLease* session_;
  CK_OBJECT_HANDLE handle_;
};

}  // namespace idvault::p11
