// What `idvault put` and friends accept for an element type name, with the list of
// valid names in the error.
#pragma once

#include <string>

#include "vault/model/element_type.h"

namespace idvault::cli {

// UsageError "unknown element type 'x' (one of: personal_details, passport, ...)".
[[nodiscard]] vault::ElementType element_type_argument(const std::string& name);

}  // namespace idvault::cli
