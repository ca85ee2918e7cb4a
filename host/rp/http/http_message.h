// The little of HTTP/1.1 the relying party's server speaks: one request per connection
// (Connection: close), a body only with Content-Length, and responses with a length.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idvault::rp {

struct HttpRequest {
  std::string method;
  std::string target;                          // as sent: /result?nonce=...
  std::string path;                            // target up to '?', not decoded
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  [[nodiscard]] std::string header(const std::string& lowercase_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  [[nodiscard]] static HttpResponse json(int status, const std::string& body);
  // {"error": message}
  [[nodiscard]] static HttpResponse error(int status, const std::string& message);
};

// Why a request head could not be read: the status to answer with and a message.
struct HttpHeadError {
  int status;
  std::string message;
};

// Parses "METHOD SP TARGET SP HTTP/1.x CRLF (NAME: VALUE CRLF)* CRLF" (head excludes the
// final blank line). Returns false and fills error for anything else, including what
// other parsers on the way (a proxy in front) could read differently: a CR or LF that is
// not part of a CRLF, other control characters, an empty Transfer-Encoding or
// Content-Length, either of them given twice.
bool parse_request_head(std::string_view head, HttpRequest& out, HttpHeadError& error);

// k=v&k2=v2 with %XX and '+' decoded; malformed escapes are kept as written.
[[nodiscard]] std::map<std::string, std::string> parse_query(std::string_view query);

[[nodiscard]] std::string_view reason_phrase(int status) noexcept;
// Whether the serialized answer carries its body: not for a HEAD request, whose answer
// has the head (Content-Length included) of the GET answer.
enum class MessageBody { send, omit };
[[nodiscard]] std::string serialize(const HttpResponse& response,
                                    MessageBody body = MessageBody::send);

}  // namespace idvault::rp
