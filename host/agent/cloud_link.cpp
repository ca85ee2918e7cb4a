#include "host/agent/cloud_link.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "vault/model/errors.h"

namespace idvault::agent {
namespace {

constexpr std::string_view kAccountsPath = "/v1/accounts/";
constexpr const char* kSetting = "cloud";
constexpr const char* kLogSetting = "account_log";

bool is_lower_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

AccountUrl parse_account_url(std::string_view url) {
  const auto at = url.rfind(kAccountsPath);
  if (at == std::string_view::npos)
    throw vault::FormatError("account_url", "is not https://HOST/v1/accounts/ACCOUNT_ID");
  AccountUrl parsed{std::string(url.substr(0, at)),
                    std::string(url.substr(at + kAccountsPath.size()))};
  const bool scheme = parsed.server.starts_with("https://") || parsed.server.starts_with("http://");
  const std::string_view host =
      std::string_view(parsed.server).substr(parsed.server.find("//") + 2);
  if (!scheme || host.empty() || host.find('/') != std::string_view::npos)
    throw vault::FormatError("account_url", "must start with https://HOST[:PORT]");
  if (parsed.account.size() != 64 || !is_lower_hex(parsed.account))
    throw vault::FormatError("account_url", "must end in the account id, 64 lowercase hex digits");
  return parsed;
}

std::string account_url(const AccountUrl& url) {
  return url.server + std::string(kAccountsPath) + url.account;
}

std::optional<CloudLink> load_cloud_link(vault::VaultStore& store) {
  auto value = store.setting(kSetting);
  if (!value) return std::nullopt;
  try {
    const auto json = nlohmann::json::parse(value->begin(), value->end());
    CloudLink link;
    link.url = parse_account_url(json.at("account_url").get<std::string>());
    link.device_id = json.at("device_id").get<std::string>();
    link.head.seq = json.at("head_seq").get<std::uint64_t>();
    link.head.hash = json.at("head_hash").get<std::string>();
    link.changes_seen = json.at("changes_seen").get<std::int64_t>();
    link.vk_generation = json.value("vk_generation", std::uint64_t{1});
    return link;
  } catch (const nlohmann::json::exception& error) {
    throw vault::FormatError(
        "cloud", std::string("the store's cloud setting is unreadable: ") + error.what());
  }
}

std::pair<std::string, vault::Bytes> cloud_link_setting(const CloudLink& link) {
  const std::string text = nlohmann::json{
      {"account_url", account_url(link.url)},
      {"device_id", link.device_id},
      {"head_seq", link.head.seq},
      {"head_hash", link.head.hash},
      {"changes_seen", link.changes_seen},
      {"vk_generation",
       link.vk_generation}}.dump();
  return {kSetting, vault::Bytes(text.begin(), text.end())};
}

void save_cloud_link(vault::VaultStore& store, const CloudLink& link) {
  auto [name, value] = cloud_link_setting(link);
  store.put_setting(name, value);
}

std::vector<std::string> load_account_log(vault::VaultStore& store) {
  auto value = store.setting(kLogSetting);
  if (!value) return {};
  const auto json = nlohmann::json::parse(value->begin(), value->end(), nullptr, false);
  if (!json.is_array() ||
      !std::all_of(json.begin(), json.end(), [](const auto& entry) { return entry.is_string(); }))
    throw vault::FormatError(kLogSetting, "the store's kept account log is unreadable");
  return json.get<std::vector<std::string>>();
}

void save_account_log(vault::VaultStore& store, const std::vector<std::string>& entries) {
  const std::string text = nlohmann::json(entries).dump();
  store.put_setting(kLogSetting, vault::Bytes(text.begin(), text.end()));
}

std::string device_id_from_name(std::string_view name) {
  std::string id;
  for (char c : name) {
    if (id.size() == 64) break;
    if (is_id_char(c)) id.push_back(c);
  }
  if (id.empty()) throw vault::FormatError("device_name", "needs 1-64 of A-Z a-z 0-9 . _ -");
  return id;
}

}  // namespace idvault::agent
