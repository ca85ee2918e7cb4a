#include "host/cli/token_match.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/cli/cli_error.h"
#include "pkcs11/uri.h"

namespace idvault::cli {
namespace {

template <std::size_t N>
void pad(CK_UTF8CHAR (&field)[N], const std::string& text) {
  std::memset(field, ' ', N);
  std::memcpy(field, text.data(), std::min(N, text.size()));
}

// CK_TOKEN_INFO's blank-padded fields, rebuilt from what `tokens` reported, so p11-kit
// can match a URI against them exactly as it would against the token itself.
CK_TOKEN_INFO token_info_of(const nlohmann::json& token) {
  CK_TOKEN_INFO info{};
  pad(info.label, token.value("label", std::string()));
  pad(info.manufacturerID, token.value("manufacturer", std::string()));
  pad(info.model, token.value("model", std::string()));
  pad(info.serialNumber, token.value("serial", std::string()));
  return info;
}

p11::Uri parse_uri(const std::string& text, const char* what) {
  try {
    return p11::Uri::parse(text);
  } catch (const std::exception& error) {
    throw UsageError(std::string(what) + ": " + error.what());
  }
}

std::vector<std::string> matching(const p11::Uri& uri, const nlohmann::json& tokens) {
  std::vector<std::string> found;
  for (const auto& token : tokens) {
    if (uri.matches_token(token_info_of(token))) found.push_back(token.value("uri", std::string()));
  }
  return found;
}

}  // namespace

void check_agent_uses_token(const std::string& uri, const nlohmann::json& agent_tokens,
                            const std::string& agent_token_uri) {
  const p11::Uri wanted = parse_uri(uri, "--token");
  const std::vector<std::string> ours = matching(wanted, agent_tokens);
  if (ours.empty())
    throw OperationFailed("no token the agent sees matches " + uri + " (see 'idvault tokens')");
  const std::vector<std::string> agents =
      matching(parse_uri(agent_token_uri, "the agent's token URI"), agent_tokens);
  if (agents.size() == 1 && std::find(ours.begin(), ours.end(), agents.front()) != ours.end()) {
    if (ours.size() > 1)
      throw OperationFailed(uri + " matches " + std::to_string(ours.size()) +
                            " tokens; name one (see 'idvault tokens')");
    return;
  }
  throw OperationFailed("the agent is set to use " + agent_token_uri + ", not " + uri +
                        ": restart idvault-agent with --token '" + uri + "'");
}

}  // namespace idvault::cli
