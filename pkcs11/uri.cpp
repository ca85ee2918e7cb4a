#include "pkcs11/uri.h"

#include <p11-kit/uri.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "pkcs11/error.h"

namespace idvault::p11 {

namespace {

struct UriDeleter {
  void operator()(p11_kit_uri* uri) const noexcept { p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<p11_kit_uri, UriDeleter>;

struct MallocDeleter {
  // p11_kit_uri_format hands back malloc'ed text.
  void operator()(char* p) const noexcept {
    std::free(p);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  }
};

constexpr CK_ATTRIBUTE_TYPE kObjectAttributes[] = {CKA_CLASS, CKA_LABEL, CKA_ID};

std::string format(p11_kit_uri* uri, P11KitUriType type) {
  char* raw = nullptr;
  const int rc = p11_kit_uri_format(uri, type, &raw);
  std::unique_ptr<char, MallocDeleter> text(raw);
  if (rc != P11_KIT_URI_OK || text == nullptr)
    throw UriError("", std::string("cannot format: ") + p11_kit_uri_message(rc));
  return text.get();
}

UriPtr uri_for_token(const CK_TOKEN_INFO& info) {
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) throw std::bad_alloc();
  std::memcpy(p11_kit_uri_get_token_info(uri.get()), &info, sizeof info);
  return uri;
}

}  // namespace

Uri Uri::parse(std::string_view text) {
  std::string owned(text);
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) throw std::bad_alloc();
  const int rc = p11_kit_uri_parse(owned.c_str(), P11_KIT_URI_FOR_ANY, uri.get());
  if (rc != P11_KIT_URI_OK) throw UriError(owned, p11_kit_uri_message(rc));
  // RFC 7512 says a URI with attributes we do not understand matches nothing; say so
  // instead of silently finding no token.
  if (p11_kit_uri_any_unrecognized(uri.get()) != 0)
    throw UriError(owned, "it has an attribute p11-kit does not recognise");
  return Uri(std::move(owned), uri.release());
}

Uri::Uri(Uri&& other) noexcept
    : text_(std::move(other.text_)), uri_(std::exchange(other.uri_, nullptr)) {}

Uri& Uri::operator=(Uri&& other) noexcept {
  if (this != &other) {
    if (uri_ != nullptr) p11_kit_uri_free(uri_);
    text_ = std::move(other.text_);
    uri_ = std::exchange(other.uri_, nullptr);
  }
  return *this;
}

Uri::~Uri() {
  if (uri_ != nullptr) p11_kit_uri_free(uri_);
}

bool Uri::matches_token(const CK_TOKEN_INFO& info) const {
  return p11_kit_uri_match_token_info(uri_, &info) != 0;
}

bool Uri::matches_object(std::span<const CK_ATTRIBUTE> attrs) const {
  return p11_kit_uri_match_attributes(uri_, attrs.data(), attrs.size()) != 0;
}

std::vector<CK_ATTRIBUTE> Uri::object_template() const {
  std::vector<CK_ATTRIBUTE> out;
  for (CK_ATTRIBUTE_TYPE type : kObjectAttributes) {
    if (const CK_ATTRIBUTE* attr = p11_kit_uri_get_attribute(uri_, type)) out.push_back(*attr);
  }
  return out;
}

bool Uri::names_object() const {
  return !object_template().empty();
}

std::optional<std::string> Uri::module_path() const {
  const char* path = p11_kit_uri_get_module_path(uri_);
  if (path == nullptr) return std::nullopt;
  return std::string(path);
}

std::optional<std::string> Uri::pin_source() const {
  const char* source = p11_kit_uri_get_pin_source(uri_);
  if (source == nullptr) return std::nullopt;
  return std::string(source);
}

std::string format_token_uri(const CK_TOKEN_INFO& info) {
  auto uri = uri_for_token(info);
  return format(uri.get(), P11_KIT_URI_FOR_TOKEN);
}

std::string format_object_uri(const CK_TOKEN_INFO& info, std::span<const CK_ATTRIBUTE> attrs) {
  auto uri = uri_for_token(info);
  for (const CK_ATTRIBUTE& attr : attrs) {
    CK_ATTRIBUTE copy = attr;  // p11-kit copies the value; the API just is not const-correct
    if (p11_kit_uri_set_attribute(uri.get(), &copy) != P11_KIT_URI_OK) {
      throw UriError("", "cannot add an object attribute to a URI");
    }
  }
  return format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN);
}

}  // namespace idvault::p11
