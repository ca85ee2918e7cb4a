#include "host/rp/http/http_message.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace idvault::rp {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// A field value or request target may hold visible characters, spaces, tabs and bytes
// above 0x7F, nothing else: a CR or LF inside would end the line for another parser.
bool is_field_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7F);
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string HttpRequest::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse HttpResponse::json(int status, const std::string& body) {
  HttpResponse response;
  response.status = status;
  response.body = body;
  return response;
}

HttpResponse HttpResponse::error(int status, const std::string& message) {
  return json(status, nlohmann::json{{"error", message}}.dump());
}

bool parse_request_head(std::string_view head, HttpRequest& out, HttpHeadError& error) {
  const auto line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const auto first_space = request_line.find(' ');
  const auto second_space =
      request_line.find(' ', first_space == std::string_view::npos ? 0 : first_space + 1);
  if (first_space == std::string_view::npos || second_space == std::string_view::npos) {
    error = {400, "malformed request line"};
    return false;
  }
  if (!std::all_of(request_line.begin(), request_line.end(), is_field_char)) {
    error = {400, "control character in the request line"};
    return false;
  }
  out.method = std::string(request_line.substr(0, first_space));
  out.target = std::string(request_line.substr(first_space + 1, second_space - first_space - 1));
  const std::string_view version = request_line.substr(second_space + 1);
  if (out.method.empty() || !std::all_of(out.method.begin(), out.method.end(), is_token_char)) {
    error = {400, "malformed method"};
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    error = {505, "only HTTP/1.0 and HTTP/1.1 are spoken here"};
    return false;
  }
  if (out.target.empty() || out.target.front() != '/') {
    error = {400, "the target must be an absolute path"};
    return false;
  }
  const auto question = out.target.find('?');
  out.path = out.target.substr(0, question);
  if (question != std::string::npos)
    out.query = parse_query(std::string_view(out.target).substr(question + 1));

  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), is_token_char)) {
      error = {400, "malformed header line"};
      return false;
    }
    const std::string name = lowercase(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_char)) {
      error = {400, "control character (a bare CR or LF?) in header " + name};
      return false;
    }
    // Request smuggling guards: the two headers that say where the body ends must say it
    // once and plainly, or a proxy and this server may disagree.
    const bool framing = name == "content-length" || name == "transfer-encoding";
    if (framing && out.headers.count(name) != 0) {
      error = {400, "header " + name + " given twice"};
      return false;
    }
    if (framing && value.empty()) {
      error = {400, "header " + name + " is empty"};
      return false;
    }
    out.headers[name] = std::string(value);
  }
  return true;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto equals = pair.find('=');
    out[percent_decode(pair.substr(0, equals))] =
        equals == std::string_view::npos ? std::string() : percent_decode(pair.substr(equals + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string serialize(const HttpResponse& response, MessageBody body) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " +
      std::string(reason_phrase(response.status)) + "\r\nContent-Type: " + response.content_type +
      "\r\nContent-Length: " + std::to_string(response.body.size()) +
      "\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  if (body == MessageBody::send) out += response.body;
  return out;
}

}  // namespace idvault::rp
