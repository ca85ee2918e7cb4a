#include "vault/model/element_shape.h"

#include <string>

#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

void check_slot(ElementType type, std::string_view slot_name, Slot rule, std::size_t count) {
  std::string where(to_string(type));
  where += '.';
  where += slot_name;
  if (rule == Slot::forbidden && count > 0) {
    throw FormatError(where, std::string("is not allowed for ") + std::string(to_string(type)));
  }
  if (rule == Slot::required && count == 0) {
    throw FormatError(where, std::string("is required for ") + std::string(to_string(type)));
  }
}

std::size_t count_of(bool present) {
  return present ? 1 : 0;
}

}  // namespace

void validate_element_shape(ElementType type, const ElementShape& shape) {
  const ElementRules& rules = rules_for(type);
  check_slot(type, "data", rules.data ? Slot::required : Slot::forbidden, count_of(shape.data));
  // The plain value is keyed by the type's own name in the Bot API ("phone_number",
  // "email"); other types have no such key, so call the slot "plain" for them.
  check_slot(type, rules.plain ? to_string(type) : "plain",
             rules.plain ? Slot::required : Slot::forbidden, count_of(shape.plain));
  check_slot(type, "front_side", rules.front_side, count_of(shape.front_side));
  check_slot(type, "reverse_side", rules.reverse_side, count_of(shape.reverse_side));
  check_slot(type, "selfie", rules.selfie, count_of(shape.selfie));
  check_slot(type, "translation", rules.translation, shape.translation_count);
  check_slot(type, "files", rules.files, shape.file_count);
}

}  // namespace idvault::vault
