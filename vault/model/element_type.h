// The 13 Telegram Passport element types and what each one may carry.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace idvault::vault {

enum class ElementType {
  personal_details,
  passport,
  driver_license,
  identity_card,
  internal_passport,
  address,
  utility_bill,
  bank_statement,
  rental_agreement,
  passport_registration,
  temporary_registration,
  phone_number,
  email,
};

inline constexpr std::array<ElementType, 13> kAllElementTypes = {
    ElementType::personal_details,
    ElementType::passport,
    ElementType::driver_license,
    ElementType::identity_card,
    ElementType::internal_passport,
    ElementType::address,
    ElementType::utility_bill,
    ElementType::bank_statement,
    ElementType::rental_agreement,
    ElementType::passport_registration,
    ElementType::temporary_registration,
    ElementType::phone_number,
    ElementType::email,
};

// How a file slot may be used by a type (Telegram's table, spec §4.1).
enum class Slot { forbidden, optional, required };

// What an element of a type carries. "data" is encrypted JSON; "plain" means the value
// is sent unencrypted (phone_number, email) and never appears in credentials.
struct ElementRules {
  bool data;
  Slot front_side;
  Slot reverse_side;
  Slot selfie;
  Slot translation;
  Slot files;  // required means at least one file
  bool plain;
};

[[nodiscard]] std::string_view to_string(ElementType type) noexcept;
[[nodiscard]] std::optional<ElementType> parse_element_type(std::string_view name) noexcept;
[[nodiscard]] const ElementRules& rules_for(ElementType type) noexcept;

// passport, driver_license, identity_card, internal_passport
[[nodiscard]] bool is_identity_document(ElementType type) noexcept;
// utility_bill, bank_statement, rental_agreement, passport_registration, temporary_registration
[[nodiscard]] bool is_address_document(ElementType type) noexcept;

}  // namespace idvault::vault
