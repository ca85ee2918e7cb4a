// The files of an element.put that the client passed as open descriptors instead of
// sending their bytes (docs/AGENT.md, "Attachments"). Each stands in the element as a
// buffer of the file's size and is read into it by the vault's encrypting thread, just
// before that thread encrypts it (HolderVault::put's loader): reading one file overlaps
// encrypting another, and no byte of it crossed the socket.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/secret_bytes.h"
#include "host/rpc/method_table.h"

namespace idvault::agent {

class PassedFiles {
 public:
  // A buffer of file.size bytes for the element, not yet filled; it must stay the same
  // buffer (moving the SecretBytes is fine) until load() has filled it.
  [[nodiscard]] SecretBytes placeholder(rpc::PassedFile&& file, std::string where);
  [[nodiscard]] bool empty() const noexcept { return sources_.empty(); }

  // Fills `file` if it is one of the placeholders, else leaves it alone. Throws
  // RpcError(invalid_params) naming the slot if the file cannot be read, or changed
  // while it was read (then what was read is not what the client meant to store).
  // Safe to call from several threads for different files.
  void load(SecretBytes& file) const;

 private:
  struct Source {
    rpc::FileDescriptor fd;
    std::size_t size = 0;
    std::string where;
  };
  std::unordered_map<const std::uint8_t*, Source> sources_;  // by the placeholder's bytes
};

}  // namespace idvault::agent
