// The simulator's one error type: what failed, in words a person running it can act on.
// It never carries a PIN, a key or card data.
#pragma once

#include <stdexcept>
#include <string>

namespace idvault::cardsim {

class CardsimError : public std::runtime_error {
 public:
  explicit CardsimError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace idvault::cardsim
