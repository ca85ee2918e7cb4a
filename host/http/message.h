// What the shared HTTP server hands a handler and what it takes back. No Beast here: a
// handler sees a request already framed, checked and read whole.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idvault::http {

struct Request {
  std::string method;
  std::string target;                          // as sent: /result?nonce=...
  std::string path;                            // target up to '?', not decoded
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names lowercased; a repeated name: the last
  std::string body;
  std::string client_address;  // the connecting peer's IPv4 address, "203.0.113.7"
  bool tls = false;            // whether it came over TLS
  [[nodiscard]] std::string header(const std::string& lowercase_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
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
