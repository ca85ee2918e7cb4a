#include <iostream>

#include "host/rp/rp_commands.h"

namespace idvault::rp {
int run_serve(const std::vector<std::string>&) {
  std::cerr << "idvault-rp serve: not built yet\n";
  return 2;
}
}  // namespace idvault::rp
