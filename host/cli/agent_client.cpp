#include "host/cli/agent_client.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/cli/cli_error.h"
#include "host/rpc/agent_socket.h"
#include "host/rpc/descriptor_sender.h"

namespace idvault::cli {
namespace {

// An answer bigger than this is not from our agent (its largest is a get of scans that
// fit in one 32 MiB request).
constexpr std::size_t kAnswerLimit = 256u << 20;

// The agent drops a connection whose request is over its frame limit or that another
// uid opened; say which is likely rather than "connection reset".
[[noreturn]] void dropped(const std::filesystem::path& path) {
  throw OperationFailed("the agent closed the connection without answering (" + path.string() +
                        "; is it running as your user?)");
}

std::string hint_for(const std::filesystem::path& path) {
  return "no agent answers at " + path.string() + " (start idvault-agent, or set IDVAULT_SOCK)";
}

}  // namespace

std::filesystem::path agent_socket_path() {
  return rpc::default_socket_path();
}

AgentClient::AgentClient(std::filesystem::path socket_path) : path_(std::move(socket_path)) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path_.string();
  if (text.empty() || text.size() >= sizeof(address.sun_path)) {
    throw UsageError("socket path is empty or too long: " + text.substr(0, 120));
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  // As OpenSSH's client checks its agent: nothing is sent (a PIN least of all) to a
  // socket another user could have put there, or to an agent another user runs.
  std::error_code missing;
  if (!std::filesystem::exists(path_.parent_path().empty() ? "." : path_.parent_path(), missing)) {
    throw OperationFailed(hint_for(path_));
  }
  try {
    rpc::check_socket_folder(path_);
  } catch (const std::runtime_error& error) {
    throw OperationFailed(error.what());
  }
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw OperationFailed(std::string("cannot create a socket: ") + std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int saved = errno;
    ::close(fd_);
    fd_ = -1;
    if (saved == EACCES) throw OperationFailed("permission denied on the agent socket " + text);
    throw OperationFailed(hint_for(path_));
  }
  try {
    rpc::check_agent_peer(fd_, path_);
  } catch (const std::runtime_error& error) {
    ::close(fd_);
    fd_ = -1;
    throw OperationFailed(error.what());
  }
}

AgentClient::~AgentClient() {
  if (fd_ >= 0) ::close(fd_);
}

void AgentClient::send_all(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) dropped(path_);
    bytes = bytes.subspan(static_cast<std::size_t>(sent));
  }
}

SecretBytes AgentClient::read_line() {
  std::size_t scanned = 0;  // bytes of pending_ known to hold no newline
  for (;;) {
    const auto* start = pending_.reveal().data();
    const void* newline = pending_length_ > scanned
                              ? std::memchr(start + scanned, '\n', pending_length_ - scanned)
                              : nullptr;
    if (newline != nullptr) {
      const auto length =
          static_cast<std::size_t>(static_cast<const std::uint8_t*>(newline) - start);
      const std::size_t rest = pending_length_ - length - 1;
      if (rest == 0) {  // the usual case: the buffer is the line (a 22 MiB answer is not copied)
        SecretBytes line = std::move(pending_);
        line.resize(length);
        pending_ = SecretBytes();
        pending_length_ = 0;
        return line;
      }
      // A notification (a put's progress) may arrive in the same read as the answer.
      SecretBytes line(pending_.reveal().first(length));
      auto bytes = pending_.reveal_mutable();
      std::memmove(bytes.data(), bytes.data() + length + 1, rest);
      ::explicit_bzero(bytes.data() + rest, pending_length_ - rest);
      pending_length_ = rest;
      return line;
    }
    scanned = pending_length_;
    if (pending_length_ == pending_.size()) {
      if (pending_.size() >= kAnswerLimit) throw OperationFailed("the agent's answer is too large");
      // Grown by copying only what arrived into a buffer recv will fill: resize() would
      // zero the new half and copy the old byte by byte, 45 ms over a 22 MiB answer.
      SecretBytes larger =
          SecretBytes::for_overwrite(std::max<std::size_t>(64u << 10, pending_.size() * 2));
      if (pending_length_ != 0)
        std::memcpy(larger.reveal_mutable().data(), pending_.reveal().data(), pending_length_);
      pending_ = std::move(larger);  // the old buffer is wiped as it is freed
    }
    const ssize_t got = ::recv(fd_, pending_.reveal_mutable().data() + pending_length_,
                               pending_.size() - pending_length_, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) dropped(path_);
    pending_length_ += static_cast<std::size_t>(got);
  }
}

nlohmann::json result_of(const nlohmann::json& answer) {
  if (!answer.is_object()) throw OperationFailed("the agent sent something that is not JSON-RPC");
  if (auto error = answer.find("error"); error != answer.end() && error->is_object()) {
    throw AgentError(error->value("code", 0), error->value("message", std::string("unknown error")),
                     error->value("data", nlohmann::json()));
  }
  auto result = answer.find("result");
  if (result == answer.end())
    throw OperationFailed("the agent's answer has neither result nor error");
  return *result;
}

nlohmann::json AgentClient::call(std::string_view method, const nlohmann::json& params) {
  SecretBytes answer = call_raw(method, params);
  return result_of(nlohmann::json::parse(answer.reveal_text(), nullptr, false));
}

SecretBytes AgentClient::call_raw(std::string_view method, const nlohmann::json& params) {
  const std::string line =
      nlohmann::json{{"jsonrpc", "2.0"}, {"id", next_id()}, {"method", method}, {"params", params}}
          .dump() +
      "\n";
  if (line.size() > kAgentFrameLimit) {
    throw UsageError("request of " + std::to_string(line.size() >> 20) +
                     " MiB is over the agent's 32 MiB limit");
  }
  send_all(std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  return read_line();
}

void AgentClient::ask_status() {
  nlohmann::json status;
  try {
    status = call("status");
  } catch (const AgentError&) {
    status = nlohmann::json::object();  // an agent that cannot say: plain base64 works everywhere
  }
  offers_attachments_ = false;
  const auto offered = status.find("attachments");
  if (offered != status.end() && offered->is_object()) {
    const auto methods = offered->find("methods");
    if (methods != offered->end() && methods->is_array()) {
      for (const auto& method : *methods) {
        if (!method.is_string()) continue;
        attachment_methods_.push_back(method.get<std::string>());
        if (attachment_methods_.back() == "element.put") offers_attachments_ = true;
      }
    }
    offers_descriptors_ = *offers_attachments_ && offered->value("descriptors", false) == true;
  }
}

bool AgentClient::offers_attachments() {
  if (!offers_attachments_) ask_status();
  return *offers_attachments_;
}

bool AgentClient::offers_descriptors() {
  if (!offers_attachments_) ask_status();
  return offers_descriptors_;
}

bool AgentClient::takes_descriptors_for(std::string_view method) {
  if (!offers_descriptors()) return false;
  return std::find(attachment_methods_.begin(), attachment_methods_.end(), method) !=
         attachment_methods_.end();
}

nlohmann::json AgentClient::call_passing(std::string_view method, const nlohmann::json& params,
                                         std::span<const int> descriptors) {
  nlohmann::json request = {
      {"jsonrpc", "2.0"}, {"id", next_id()}, {"method", method}, {"params", params}};
  request["attachments"] = nlohmann::json::array();
  for (std::size_t i = 0; i < descriptors.size(); ++i) request["attachments"].push_back("fd");
  const std::string line = request.dump() + "\n";
  send_with_descriptors(std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()),
                        descriptors);
  return read_answer({});
}

nlohmann::json AgentClient::read_answer(const ProgressCallback& on_progress) {
  for (;;) {
    SecretBytes answer = read_line();
    nlohmann::json parsed = nlohmann::json::parse(answer.reveal_text(), nullptr, false);
    // Notifications carry no id; the answer to our request does.
    if (parsed.is_object() && !parsed.contains("id") && parsed.contains("method")) {
      if (on_progress && parsed["method"] == "element.put.progress")
        on_progress(parsed.value("params", nlohmann::json()));
      continue;
    }
    return result_of(parsed);
  }
}

void AgentClient::send_with_descriptors(std::span<const std::uint8_t> bytes,
                                        std::span<const int> descriptors) {
  if (descriptors.empty()) return send_all(bytes);
  const ssize_t sent = rpc::send_with_descriptors(fd_, bytes, descriptors);
  if (sent <= 0) dropped(path_);
  send_all(
      bytes.subspan(static_cast<std::size_t>(sent)));  // the descriptors went with the first bytes
}

nlohmann::json AgentClient::call(SecretRequest& request, const ProgressCallback& on_progress) {
  const SecretBytes& line = request.finish();
  const std::size_t total = line.size() + request.attachment_bytes() + request.passed_bytes();
  if (total > kAgentFrameLimit) {
    throw UsageError("request of " + std::to_string(total >> 20) + " MiB (files " +
                     (!request.passed_descriptors().empty() ? "passed"
                      : request.attachments().empty()       ? "in base64"
                                                            : "attached") +
                     ") is over the agent's 32 MiB limit: use smaller scans");
  }
  // A put of scans is tens of MiB: with the default socket buffer (~200 KiB) the
  // transfer is thousands of wake-ups of the agent; a larger one (capped by the kernel's
  // wmem_max) lets each side move more per turn.
  if (total - request.passed_bytes() > (1u << 20)) {
    int size = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  send_with_descriptors(line.reveal(), request.passed_descriptors());
  for (const auto& attachment : request.attachments()) send_all(attachment);
  return read_answer(on_progress);
}

}  // namespace idvault::cli
