// Finding a token by RFC 7512 URI, never by slot number.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "pkcs11/module.h"
#include "pkcs11/token.h"
#include "pkcs11/uri.h"

namespace idvault::p11 {

// The one initialised token of module that uri matches. `pkcs11:` matches any token. Throws
// TokenNotFound when none matches, AmbiguousToken (listing each match's URI) when
// several do.
[[nodiscard]] std::shared_ptr<Token> resolve_token(const std::shared_ptr<Module>& module,
                                                   const Uri& uri);

// Loads the module named by the URI's module-path, or fallback_module when it names
// none (ModuleLoadError if neither), then resolve_token().
[[nodiscard]] std::shared_ptr<Token> open_token(std::string_view uri_text,
                                                const std::filesystem::path& fallback_module = {});

}  // namespace idvault::p11
