#include "host/cli/element_args.h"

#include "common/cli/cli_error.h"
#include "host/cli/agent_messages.h"

namespace idvault::cli {

vault::ElementType element_type_argument(const std::string& name) {
  if (auto type = vault::parse_element_type(name)) return *type;
  std::string known;
  for (auto type : vault::kAllElementTypes)
    known += (known.empty() ? "" : ", ") + std::string(vault::to_string(type));
  throw UsageError("unknown element type '" + one_line(name, 40) + "' (one of: " + known + ")");
}

}  // namespace idvault::cli
