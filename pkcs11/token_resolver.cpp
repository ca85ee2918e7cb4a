#include "pkcs11/token_resolver.h"

#include <string>
#include <vector>

namespace idvault::p11 {

std::shared_ptr<Token> resolve_token(const std::shared_ptr<Module>& module, const Uri& uri) {
  std::vector<CK_SLOT_ID> matching;
  std::vector<std::string> matching_uris;
  for (CK_SLOT_ID slot : module->slots_with_token()) {
    CK_TOKEN_INFO raw{};
    // A token pulled out between the two calls is simply not a candidate.
    if (module->call(IDVAULT_P11_FN(C_GetTokenInfo), slot, &raw) != CKR_OK) continue;
    // An uninitialised token (SoftHSM always keeps a spare one) holds no keys and no
    // PIN: it is never what a user means, even by `pkcs11:`.
    if ((raw.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    if (!uri.matches_token(raw)) continue;
    matching.push_back(slot);
    matching_uris.push_back(format_token_uri(raw));
  }
  if (matching.empty()) throw TokenNotFound(uri.text(), module->path().string());
  if (matching.size() > 1) throw AmbiguousToken(uri.text(), std::move(matching_uris));
  return module->token_at(matching.front());
}

std::shared_ptr<Token> open_token(std::string_view uri_text,
                                  const std::filesystem::path& fallback_module) {
  const Uri uri = Uri::parse(uri_text);
  std::filesystem::path module_path = fallback_module;
  if (auto from_uri = uri.module_path()) module_path = *from_uri;
  if (module_path.empty()) {
    throw ModuleLoadError("",
                          "no module given: pass one or put ?module-path= in '" + uri.text() + "'");
  }
  return resolve_token(Module::load(module_path), uri);
}

}  // namespace idvault::p11
