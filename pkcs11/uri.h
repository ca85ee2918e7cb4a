// RFC 7512 PKCS#11 URIs, parsed and matched by p11-kit (never by hand).
//
//   pkcs11:token=holder;object=identity;type=private
//   pkcs11:token=holder;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//   pkcs11:                       (matches any token)
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/cryptoki.h"

struct p11_kit_uri;

namespace idvault::p11 {

class Uri {
 public:
  // Throws UriError (quoting the text and p11-kit's reason) for a malformed URI, a wrong
  // scheme or an attribute p11-kit does not recognise.
  static Uri parse(std::string_view text);

  // Owns a p11_kit_uri; copying would free it twice.
  Uri(const Uri&) = delete;
  Uri& operator=(const Uri&) = delete;
  Uri(Uri&& other) noexcept;
  Uri& operator=(Uri&& other) noexcept;
  ~Uri();

  [[nodiscard]] const std::string& text() const noexcept { return text_; }

  // p11_kit_uri_match_token_info: true if every token attribute in the URI matches.
  [[nodiscard]] bool matches_token(const CK_TOKEN_INFO& info) const;
  // p11_kit_uri_match_attributes: true if every object attribute in the URI matches
  // (attributes the URI names but attrs lacks do not match).
  [[nodiscard]] bool matches_object(std::span<const CK_ATTRIBUTE> attrs) const;
  // The URI's object attributes (CKA_CLASS, CKA_LABEL, CKA_ID) as a search template.
  // Points into this Uri: valid while it lives.
  [[nodiscard]] std::vector<CK_ATTRIBUTE> object_template() const;
  [[nodiscard]] bool names_object() const;

  [[nodiscard]] std::optional<std::string> module_path() const;
  [[nodiscard]] std::optional<std::string> pin_source() const;

 private:
  Uri(std::string text, p11_kit_uri* uri) noexcept : text_(std::move(text)), uri_(uri) {}
  std::string text_;
  p11_kit_uri* uri_ = nullptr;
};

// p11_kit_uri_format of a token: model, manufacturer, serial and label.
[[nodiscard]] std::string format_token_uri(const CK_TOKEN_INFO& info);
// An object on a token: the token's URI plus object label, id and type.
[[nodiscard]] std::string format_object_uri(const CK_TOKEN_INFO& info,
                                            std::span<const CK_ATTRIBUTE> attrs);

}  // namespace idvault::p11
