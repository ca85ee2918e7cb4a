#include "vault/model/element_type.h"

namespace idvault::vault {
namespace {

constexpr std::array<std::string_view, 13> kNames = {
    "personal_details",
    "passport",
    "driver_license",
    "identity_card",
    "internal_passport",
    "address",
    "utility_bill",
    "bank_statement",
    "rental_agreement",
    "passport_registration",
    "temporary_registration",
    "phone_number",
    "email",
};

using enum Slot;
constexpr ElementRules kPersonal{true,      forbidden, forbidden, forbidden,
                                 forbidden, forbidden, false};
constexpr ElementRules kOneSided{true, required, forbidden, optional, optional, forbidden, false};
constexpr ElementRules kTwoSided{true, required, required, optional, optional, forbidden, false};
constexpr ElementRules kAddress{true, forbidden, forbidden, forbidden, forbidden, forbidden, false};
constexpr ElementRules kProof{false, forbidden, forbidden, forbidden, optional, required, false};
constexpr ElementRules kPlain{false, forbidden, forbidden, forbidden, forbidden, forbidden, true};

}  // namespace

std::string_view to_string(ElementType type) noexcept {
  return kNames[static_cast<std::size_t>(type)];
}

std::optional<ElementType> parse_element_type(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<ElementType>(i);
  }
  return std::nullopt;
}

const ElementRules& rules_for(ElementType type) noexcept {
  switch (type) {
    case ElementType::personal_details:
      return kPersonal;
    case ElementType::passport:
    case ElementType::internal_passport:
      return kOneSided;
    case ElementType::driver_license:
    case ElementType::identity_card:
      return kTwoSided;
    case ElementType::address:
      return kAddress;
    case ElementType::phone_number:
    case ElementType::email:
      return kPlain;
    default:
      return kProof;
  }
}

bool is_identity_document(ElementType type) noexcept {
  return type == ElementType::passport || type == ElementType::driver_license ||
         type == ElementType::identity_card || type == ElementType::internal_passport;
}

bool is_address_document(ElementType type) noexcept {
  return type == ElementType::utility_bill || type == ElementType::bank_statement ||
         type == ElementType::rental_agreement || type == ElementType::passport_registration ||
         type == ElementType::temporary_registration;
}

}  // namespace idvault::vault
