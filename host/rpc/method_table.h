// The agent's dispatch table: one small handler per method, looked up by name, in the
// manner of ssh-agent's process_* table.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/secret_bytes.h"
#include "host/rpc/file_descriptor.h"
#include "host/rpc/json_rpc.h"
#include "host/rpc/peer_credentials.h"

namespace idvault::rpc {

// A file the client passed as an open descriptor instead of sending its bytes: a
// regular file, `size` bytes long when the handler took it. The handler reads it.
struct PassedFile {
  FileDescriptor fd;
  std::size_t size = 0;
};
// One attachment as it arrived: bytes that followed the line, or a passed descriptor.
using Attachment = std::variant<SecretBytes, FileDescriptor>;

// What a handler knows of its call besides the params.
class CallContext {
 public:
  // passed_file_budget: how many bytes the files of the request's descriptors may hold
  // together (the frame limit less the line and its byte attachments).
  // notify: sends one line to this connection ahead of the answer (none: dropped).
  CallContext(PeerIdentity peer, std::function<void()> subscribe,
              std::vector<Attachment>* attachments = nullptr, std::size_t passed_file_budget = 0,
              std::function<void(std::string line)> notify = {})
      : peer_(peer),
        subscribe_(std::move(subscribe)),
        notify_(std::move(notify)),
        attachments_(attachments),
        passed_file_budget_(passed_file_budget) {}
  [[nodiscard]] const PeerIdentity& peer() const noexcept { return peer_; }
  // Asks for server-pushed notifications (token in/out, lock) on this connection.
  void subscribe_events() const { subscribe_(); }
  // A JSON-RPC notification to this client only, sent before the call's answer (a
  // put's progress). Callable from any thread until the handler returns.
  void notify(const std::string& method, const nlohmann::json& params) const;

  // The attachments of the request (docs/AGENT.md, "Attachments").
  [[nodiscard]] std::size_t attachment_count() const noexcept {
    return attachments_ == nullptr ? 0 : attachments_->size();
  }
  // Moves attachment `index` out; throws RpcError(invalid_params) naming `where` for an
  // index the request did not announce, one already taken, or a passed descriptor.
  [[nodiscard]] SecretBytes take_attachment(const nlohmann::json& index,
                                            const std::string& where) const;
  // The same, taking a passed descriptor too: RpcError(invalid_params) if it is not a
  // regular file or is empty, frame_too_large if the request's files are over budget.
  [[nodiscard]] std::variant<SecretBytes, PassedFile> take_file(const nlohmann::json& index,
                                                                const std::string& where) const;
  // A passed descriptor the handler is to write to (an answer too large for the socket):
  // RpcError(invalid_params) unless it is a regular file open for writing.
  [[nodiscard]] FileDescriptor take_output_file(const nlohmann::json& index,
                                                const std::string& where) const;
  // Throws RpcError(invalid_params) if an announced attachment was not referenced: the
  // client sent bytes it did not mean, so the request is refused before it acts.
  void require_all_attachments_taken() const;

 private:
  Attachment& claim(const nlohmann::json& index, const std::string& where) const;

  PeerIdentity peer_;
  std::function<void()> subscribe_;
  std::function<void(std::string line)> notify_;
  std::vector<Attachment>* attachments_;
  mutable std::size_t passed_file_budget_;
  mutable std::vector<bool> taken_;
};

// Returns the result; throws RpcError for anything the caller should see. params is
// mutable so a handler can wipe a secret (a PIN) out of it once taken. Any other
// exception becomes internal_error with a generic message (details are not leaked).
using MethodHandler = std::function<nlohmann::json(nlohmann::json& params, const CallContext&)>;

class MethodTable {
 public:
  void add(std::string name, MethodHandler handler) {
    handlers_[std::move(name)] = std::move(handler);
  }
  // Methods that take attachments; a request with attachments for any other method is
  // refused before its handler runs.
  void accept_attachments(std::string name) { with_attachments_.insert(std::move(name)); }
  [[nodiscard]] bool accepts_attachments(const std::string& name) const {
    return with_attachments_.contains(name);
  }
  [[nodiscard]] const MethodHandler* find(const std::string& name) const {
    auto it = handlers_.find(name);
    return it == handlers_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, MethodHandler, std::less<>> handlers_;
  std::set<std::string, std::less<>> with_attachments_;
};

}  // namespace idvault::rpc
