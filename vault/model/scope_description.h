// How what a share carries is named to people. The holder's consent prompt and a
// service's page describe it in the same words, so a person sees on the service's page
// exactly what the prompt will ask them to agree to.
#pragma once

#include <string>
#include <vector>

#include "vault/model/element_type.h"
#include "vault/model/scope.h"

namespace idvault::vault {

// One element and the parts of it that go: "passport (data, front_side, selfie)".
[[nodiscard]] std::string describe_element(ElementType type, const std::vector<std::string>& parts);

// The parts a scope asks of a choice: "data" or the type name (phone_number, email), the
// file slots the type requires, and selfie / translation when asked for.
[[nodiscard]] std::vector<std::string> requested_parts(const ScopeChoice& choice);

// A whole scope: items joined by "; ", the choices of a one_of by " or ", e.g.
// "personal_details (data); passport (data, front_side, selfie) or identity_card (...)".
[[nodiscard]] std::string describe_scope(const ScopeRequest& scope);

}  // namespace idvault::vault
