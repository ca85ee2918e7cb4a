// What the shared HTTP server hands a handler and what it takes back. No Beast here: a
// handler sees a request already framed, checked and read whole (into its body, or into
// the sink its plan named: server.h, ServerOptions::plan_body).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idvault::http {

// Where a request's body goes as it arrives, instead of into Request::body: a file upload
// written to disk while it is hashed, never held whole in memory.
class BodySink {
 public:
  BodySink() = default;
  BodySink(const BodySink&) = delete;  // one body goes to one sink
  BodySink& operator=(const BodySink&) = delete;
  BodySink(BodySink&&) = delete;
  BodySink& operator=(BodySink&&) = delete;
  virtual ~BodySink() = default;
  // The body's next bytes, in order. Runs on a socket thread: it may write to a local
  // disk but never waits on anything else. Throws to refuse the body (the client gets a
  // 500 and the connection closes); the sink is then dropped unfinished.
  virtual void write(std::span<const std::uint8_t> bytes) = 0;
};

// An answer's body sent from an open file rather than copied into Response::body.
class FileContent {
 public:
  // Takes descriptor (open for reading; closed with this); size: the bytes sent, from
  // offset 0. A file shorter than size when it is read ends the connection early.
  FileContent(int descriptor, std::uint64_t size) noexcept : descriptor_(descriptor), size_(size) {}
  FileContent(const FileContent&) = delete;  // closes its descriptor exactly once
  FileContent& operator=(const FileContent&) = delete;
  FileContent(FileContent&&) = delete;
  FileContent& operator=(FileContent&&) = delete;
  ~FileContent();
  [[nodiscard]] int descriptor() const noexcept { return descriptor_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

 private:
  int descriptor_;
  std::uint64_t size_;
};

struct Request {
  std::string method;
  std::string target;                          // as sent: /result?nonce=...
  std::string path;                            // target up to '?', not decoded
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names lowercased; a repeated name: the last
  std::string body;                            // empty when body_sink took it
  std::shared_ptr<BodySink> body_sink;         // the sink the body's plan named, if any, once fed
  std::string client_address;                  // the connecting peer's IPv4 address, "203.0.113.7"
  bool tls = false;                            // whether it came over TLS
  [[nodiscard]] std::string header(const std::string& lowercase_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is this file's bytes (body is ignored): sent as it is read.
  std::shared_ptr<const FileContent> file;
  // Added after the server's own (Content-Type, Content-Length, Connection,
  // Cache-Control: no-store, X-Content-Type-Options: nosniff). A name that is not a token,
  // a value with a control character, and Content-Length, Transfer-Encoding, Connection
  // or Content-Type (content_type says that one) are dropped, never sent.
  std::vector<std::pair<std::string, std::string>> headers;

  [[nodiscard]] static Response json(int status, const std::string& body);
  // {"error": message}
  [[nodiscard]] static Response error(int status, const std::string& message);
};

// k=v&k2=v2 with %XX and '+' decoded; malformed escapes are kept as written.
[[nodiscard]] std::map<std::string, std::string> parse_query(std::string_view query);

[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace idvault::http
