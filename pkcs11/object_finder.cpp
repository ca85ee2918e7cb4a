#include "pkcs11/object_finder.h"

#include <algorithm>
#include <cstring>

#include "pkcs11/token.h"
#include "pkcs11/uri.h"

namespace idvault::p11 {

namespace {

std::string describe_search(std::string_view label, ByteView id, CK_OBJECT_CLASS object_class) {
  static constexpr const char* kClassNames[] = {"data", "certificate", "public key", "private key",
                                                "secret key"};
  std::string what = object_class < std::size(kClassNames) ? kClassNames[object_class] : "object";
  what += " labelled '" + std::string(label) + "'";
  if (!id.empty()) {
    static constexpr char kHex[] = "0123456789abcdef";
    what += " with id ";
    for (auto b : id) {
      what += kHex[b >> 4];
      what += kHex[b & 15];
    }
  }
  return what;
}

}  // namespace

ObjectSearch::ObjectSearch(SessionLease& session, std::span<const CK_ATTRIBUTE> search_template)
    : session_(session) {
  session.token().check(IDVAULT_P11_FN(C_FindObjectsInit), session.handle(),
                        const_cast<CK_ATTRIBUTE*>(search_template.data()),
                        static_cast<CK_ULONG>(search_template.size()));
}

ObjectSearch::~ObjectSearch() {
  (void)session_.token().call(IDVAULT_P11_FN(C_FindObjectsFinal), session_.handle());
}

std::vector<CK_OBJECT_HANDLE> ObjectSearch::next(CK_ULONG max) {
  std::vector<CK_OBJECT_HANDLE> handles(max);
  CK_ULONG found = 0;
  session_.token().check(IDVAULT_P11_FN(C_FindObjects), session_.handle(), handles.data(), max,
                         &found);
  handles.resize(found);
  return handles;
}

std::vector<Object> find_objects(const std::shared_ptr<Token>& token,
                                 std::span<const CK_ATTRIBUTE> search_template) {
  std::vector<Object> objects;
  auto session = token->sessions().acquire();
  ObjectSearch search(session, search_template);
  for (auto batch = search.next(); !batch.empty(); batch = search.next()) {
    for (CK_OBJECT_HANDLE handle : batch) objects.emplace_back(token, handle);
  }
  return objects;
}

namespace {

Object find_one(const std::shared_ptr<Token>& token, const Uri& uri,
                const CK_OBJECT_CLASS* required_class) {
  auto search_template = uri.object_template();
  if (search_template.empty()) {
    throw BadArgument("C_FindObjects", token->label(),
                      "'" + uri.text() + "' names no object (add object=, id= or type=)");
  }
  const bool names_class = std::any_of(search_template.begin(), search_template.end(),
                                       [](const CK_ATTRIBUTE& a) { return a.type == CKA_CLASS; });
  if (required_class != nullptr && !names_class) {
    search_template.push_back(
        {CKA_CLASS, const_cast<CK_OBJECT_CLASS*>(required_class), sizeof *required_class});
  }
  std::vector<Object> matches;
  for (Object& candidate : find_objects(token, search_template)) {
    // The token did the filtering; p11-kit's matcher confirms it by the URI's own rules.
    auto object_class = candidate.try_attribute(CKA_CLASS).value_or(Bytes{});
    auto label = candidate.try_attribute(CKA_LABEL).value_or(Bytes{});
    auto id = candidate.try_attribute(CKA_ID).value_or(Bytes{});
    const CK_ATTRIBUTE attrs[] = {{CKA_CLASS, object_class.data(), object_class.size()},
                                  {CKA_LABEL, label.data(), label.size()},
                                  {CKA_ID, id.data(), id.size()}};
    if (!uri.matches_object(attrs)) continue;
    if (required_class != nullptr && object_class.size() == sizeof(CK_OBJECT_CLASS) &&
        std::memcmp(object_class.data(), required_class, sizeof(CK_OBJECT_CLASS)) != 0) {
      continue;
    }
    matches.push_back(std::move(candidate));
  }
  if (matches.empty()) throw ObjectNotFound(token->label(), "'" + uri.text() + "'");
  if (matches.size() > 1) {
    throw BadArgument(
        "C_FindObjects", token->label(),
        std::to_string(matches.size()) + " objects match '" + uri.text() + "'; add id= or type=");
  }
  return std::move(matches.front());
}

}  // namespace

Object find_object(const std::shared_ptr<Token>& token, const Uri& uri) {
  return find_one(token, uri, nullptr);
}

Object find_object(const std::shared_ptr<Token>& token, const Uri& uri,
                   CK_OBJECT_CLASS required_class) {
  return find_one(token, uri, &required_class);
}

Object find_key(const std::shared_ptr<Token>& token, CK_OBJECT_CLASS object_class,
                std::string_view label, ByteView id) {
  std::vector<CK_ATTRIBUTE> search_template{
      {CKA_CLASS, &object_class, sizeof object_class},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  if (!id.empty())
    search_template.push_back({CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()});
  auto objects = find_objects(token, search_template);
  const auto what = describe_search(label, id, object_class);
  if (objects.empty()) throw ObjectNotFound(token->label(), what);
  if (objects.size() > 1) {
    throw BadArgument("C_FindObjects", token->label(),
                      std::to_string(objects.size()) + " objects match " + what);
  }
  return std::move(objects.front());
}

Object find_public_key_for(const Object& private_key) {
  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  const Bytes id = private_key.id();
  if (!id.empty()) {
    const CK_ATTRIBUTE by_id[] = {{CKA_CLASS, &public_class, sizeof public_class},
                                  {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()}};
    auto found = find_objects(private_key.token_ptr(), by_id);
    if (found.size() == 1) return std::move(found.front());
  }
  return find_key(private_key.token_ptr(), CKO_PUBLIC_KEY, private_key.label());
}

}  // namespace idvault::p11
