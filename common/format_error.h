// Input that does not follow its format: a bad field, malformed base64 or JSON, a link or
// scope of the wrong shape. The message names where (e.g. "personal_details.birth_date",
// "scope.data[2]") and never carries secret bytes or document contents.
#pragma once

#include <stdexcept>
#include <string>

namespace idvault {

class FormatError : public std::runtime_error {
 public:
  FormatError(std::string where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what), where_(std::move(where)) {}
  // e.g. "personal_details.birth_date", "scope.data[2]", "link.public_key"
  [[nodiscard]] const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

}  // namespace idvault
