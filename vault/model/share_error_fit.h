// Whether an element error a service sent is about the share it received. The holder's
// receipt for that share names each shared element and signs its opaque hash, which
// covers the element's data and file hashes (vault/passport_encryptor.cpp); a hash of
// padded plaintext under a fresh secret is something only a recipient of the share can
// know. So an error is kept only for an element type the receipt lists, and only when
// every hash it names is one of that element's own (design.md, "Signed statements").
#pragma once

#include <optional>
#include <string>

#include "vault/model/element_error.h"
#include "vault/signed/share_receipt.h"
#include "vault/store/vault_store.h"

namespace idvault::vault {

enum class ErrorFit {
  current,   // about the element as stored now: keep it
  outdated,  // the element was changed or removed since the share: nothing left to fix
};

// stored: the element of error.type as the vault holds it now (without file bytes), or
// nullopt. Throws FormatError(where, ...) when the share did not include the element
// ("the share did not include passport") or, for an element unchanged since the share,
// when a hash the error names is not that element's ("data_hash is not the hash of the
// passport that was shared"). An element changed since the share can no longer be
// matched hash by hash; its receipt entry is still required.
[[nodiscard]] ErrorFit fit_error_to_share(const PassportElementError& error,
                                          const ReceiptFields& share,
                                          const std::optional<StoredElement>& stored,
                                          const std::string& where);

}  // namespace idvault::vault
