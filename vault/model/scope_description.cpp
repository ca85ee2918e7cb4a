#include "vault/model/scope_description.h"

namespace idvault::vault {

std::string describe_element(ElementType type, const std::vector<std::string>& parts) {
  std::string text = std::string(to_string(type)) + " (";
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? ", " : "") + parts[i];
  return text + ")";
}

std::vector<std::string> requested_parts(const ScopeChoice& choice) {
  const ElementRules& rules = rules_for(choice.type);
  std::vector<std::string> parts;
  if (rules.data) parts.emplace_back("data");
  if (rules.plain) parts.emplace_back(to_string(choice.type));
  if (rules.front_side == Slot::required) parts.emplace_back("front_side");
  if (rules.reverse_side == Slot::required) parts.emplace_back("reverse_side");
  if (rules.files == Slot::required) parts.emplace_back("files");
  if (choice.selfie) parts.emplace_back("selfie");
  if (choice.translation) parts.emplace_back("translation");
  return parts;
}

std::string describe_scope(const ScopeRequest& scope) {
  std::string text;
  for (const ScopeItem& item : scope.items) {
    if (!text.empty()) text += "; ";
    for (std::size_t i = 0; i < item.choices.size(); ++i) {
      if (i) text += " or ";
      text += describe_element(item.choices[i].type, requested_parts(item.choices[i]));
    }
  }
  return text;
}

}  // namespace idvault::vault
