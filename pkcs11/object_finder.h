// Finding objects on a token: by template, by RFC 7512 URI, by label/id.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "pkcs11/cryptoki.h"
#include "pkcs11/object.h"

namespace idvault::p11 {

class SessionLease;
class Token;
class Uri;

// One C_FindObjectsInit .. C_FindObjectsFinal on a leased session. Only one search may
// be active per session, and an unfinished one blocks every other operation on it.
class ObjectSearch {
 public:
  ObjectSearch(SessionLease& session, std::span<const CK_ATTRIBUTE> search_template);
  // Copying would finish the search twice.
  ObjectSearch(const ObjectSearch&) = delete;
  ObjectSearch& operator=(const ObjectSearch&) = delete;
  ObjectSearch(ObjectSearch&&) = delete;
  ObjectSearch& operator=(ObjectSearch&&) = delete;
  // C_FindObjectsFinal; errors swallowed.
  ~ObjectSearch();

  // Up to max more handles; empty when the search is exhausted.
  [[nodiscard]] std::vector<CK_OBJECT_HANDLE> next(CK_ULONG max = 32);

 private:
  SessionLease& session_;
};

// Every object matching the template.
[[nodiscard]] std::vector<Object> find_objects(const std::shared_ptr<Token>& token,
                                               std::span<const CK_ATTRIBUTE> search_template);

// The one object the URI names (object=, id=, type=; token attributes are the caller's
// business). Throws BadArgument if the URI names no object or several objects match,
// ObjectNotFound if none does.
[[nodiscard]] Object find_object(const std::shared_ptr<Token>& token, const Uri& uri);

// Same, restricted to one class (CKO_PRIVATE_KEY, ...), so "pkcs11:object=identity"
// finds the private key even though the public one shares its label. A URI whose
// type= names another class matches nothing (ObjectNotFound).
[[nodiscard]] Object find_object(const std::shared_ptr<Token>& token, const Uri& uri,
                                 CK_OBJECT_CLASS required_class);

// The one object of this class with this label and (when non-empty) CKA_ID.
[[nodiscard]] Object find_key(const std::shared_ptr<Token>& token, CK_OBJECT_CLASS object_class,
                              std::string_view label, ByteView id = {});

// The public key object paired with a private key (same CKA_ID, else same label).
[[nodiscard]] Object find_public_key_for(const Object& private_key);

}  // namespace idvault::p11
