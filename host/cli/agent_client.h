// The CLI's side of the agent's socket: JSON-RPC 2.0 lines over the Unix socket named by
// $IDVAULT_SOCK (or the agent's default path), one request at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "host/cli/secret_request.h"

namespace idvault::cli {

// The agent answered with a JSON-RPC error.
class AgentError : public std::runtime_error {
 public:
  AgentError(int code, const std::string& message, nlohmann::json data)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}
  [[nodiscard]] int code() const noexcept { return code_; }
  [[nodiscard]] const nlohmann::json& data() const noexcept { return data_; }

 private:
  int code_;
  nlohmann::json data_;
};

// The agent refuses longer lines (host/rpc/rpc_server.h); checked here first so the user
// gets a message that names the size instead of a closed connection.
inline constexpr std::size_t kAgentFrameLimit = 32u << 20;

class AgentClient {
 public:
  // Throws OperationFailed naming the path when nothing answers there.
  explicit AgentClient(std::filesystem::path socket_path);
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;  // owns the connection
  AgentClient& operator=(const AgentClient&) = delete;

  [[nodiscard]] const std::filesystem::path& socket_path() const noexcept { return path_; }

  // The result member; throws AgentError for an error answer, OperationFailed when the
  // connection breaks.
  nlohmann::json call(std::string_view method,
                      const nlohmann::json& params = nlohmann::json::object());
  // The same for a request built in wiping memory (a PIN, scans). on_progress gets the
  // params of each element.put.progress notification that comes before the answer.
  using ProgressCallback = std::function<void(const nlohmann::json& params)>;
  nlohmann::json call(SecretRequest& request, const ProgressCallback& on_progress = {});
  // For answers that carry document contents: the raw answer line stays in wiping
  // memory; the caller parses it and wipes what it parsed.
  [[nodiscard]] SecretBytes call_raw(std::string_view method, const nlohmann::json& params);

  [[nodiscard]] int next_id() noexcept { return ++last_id_; }

  // Whether this agent takes files as binary attachments (its status says so); asked
  // once per connection. Older agents do not, and get base64.
  [[nodiscard]] bool offers_attachments();
  // Whether it also takes files passed as open descriptors (status "descriptors"), so
  // it reads them itself instead of their bytes crossing the socket.
  [[nodiscard]] bool offers_descriptors();
  // Whether it takes passed descriptors for this method (status lists it).
  [[nodiscard]] bool takes_descriptors_for(std::string_view method);
  // call() with these descriptors passed, announced as "fd" attachments 0, 1, ...
  nlohmann::json call_passing(std::string_view method, const nlohmann::json& params,
                              std::span<const int> descriptors);

 private:
  void send_all(std::span<const std::uint8_t> bytes);
  // Sends the first bytes of `bytes` with the descriptors (SCM_RIGHTS), then the rest.
  void send_with_descriptors(std::span<const std::uint8_t> bytes, std::span<const int> descriptors);
  void ask_status();
  [[nodiscard]] SecretBytes read_line();
  // The result of the answer to the request just sent, passing over notifications
  // before it (on_progress gets each element.put.progress one's params).
  nlohmann::json read_answer(const ProgressCallback& on_progress);

  std::filesystem::path path_;
  int fd_ = -1;
  int last_id_ = 0;
  SecretBytes pending_;  // what the agent sent that no read_line has returned yet
  std::size_t pending_length_ = 0;
  std::optional<bool> offers_attachments_;
  bool offers_descriptors_ = false;
  std::vector<std::string> attachment_methods_;
};

// $IDVAULT_SOCK, else the agent's default (host/rpc/agent_socket.h).
[[nodiscard]] std::filesystem::path agent_socket_path();

// Parses an answer line; returns the result or throws AgentError.
[[nodiscard]] nlohmann::json result_of(const nlohmann::json& answer);

}  // namespace idvault::cli
