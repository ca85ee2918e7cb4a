// Whether an element's parts fit its type (spec §4.1, vault/element_type.h): which file
// slots are filled, whether it has data or a plain value.
#pragma once

#include <cstddef>

#include "vault/model/element_type.h"

namespace idvault::vault {

struct ElementShape {
  bool data = false;   // an encrypted data object
  bool plain = false;  // a plain phone_number / email value
  bool front_side = false;
  bool reverse_side = false;
  bool selfie = false;
  std::size_t translation_count = 0;
  std::size_t file_count = 0;
};

// Throws FormatError("<type>.<slot>", ...) for the first part that is forbidden for the
// type or required and missing, e.g. "passport.reverse_side: a passport has no reverse
// side" or "utility_bill.files: at least one file is required".
void validate_element_shape(ElementType type, const ElementShape& shape);

}  // namespace idvault::vault
