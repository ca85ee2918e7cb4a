#include "host/cloud/server/join_request_routes.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/base64.h"
#include "common/format_error.h"
#include "common/hex.h"
#include "common/json_fields.h"
#include "common/openssl_owners.h"
#include "vault/account/account_log.h"

namespace idvault::cloud {

namespace {

using Json = nlohmann::json;

constexpr std::size_t kIdBytes = 16;  // 128 bits: the id is what lets a joining device read

std::string new_request_id() {
  std::array<std::uint8_t, kIdBytes> bytes{};
  openssl::check(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())), "RAND_bytes");
  return hex_lower(bytes);
}

bool is_request_id(const std::string& id) {
  return id.size() == 2 * kIdBytes && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_nonce(const std::string& nonce) {
  return nonce.size() >= 32 && nonce.size() <= 64 &&
         std::all_of(nonce.begin(), nonce.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::uint32_t client_of(const http::Request& request) {
  in_addr address{};
  if (::inet_pton(AF_INET, request.client_address.c_str(), &address) != 1) return 0;
  return ntohl(address.s_addr);
}

http::Response too_many(const std::string& why, std::int64_t seconds) {
  http::Response response = http::Response::error(429, why);
  response.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, seconds)));
  return response;
}

// Whether the log enrols (or enrolled, then revoked) a device with this identity key.
bool in_log(const vault::AccountState& state, const std::vector<std::uint8_t>& identity_key) {
  const auto same = [&](const auto& pair) {
    return std::ranges::equal(pair.second.identity_key, identity_key);
  };
  return std::ranges::any_of(state.devices, same) || std::ranges::any_of(state.revoked, same);
}

// The body's fields, checked; throws std::invalid_argument with the reason (400).
JoinRequest parse_body(const std::string& body) {
  Json json;
  try {
    json = json_fields::parse(body, "join request");
  } catch (const FormatError&) {
    throw std::invalid_argument("a join request is a JSON object");
  }
  if (!json.is_object()) throw std::invalid_argument("a join request is a JSON object");
  for (const auto& [name, value] : json.items()) {
    if (name != "device_id" && name != "identity_key" && name != "slot_key" && name != "nonce")
      throw std::invalid_argument(
          "a join request holds only device_id, identity_key, slot_key and nonce");
  }
  const auto text = [&](const char* name) {
    const Json* value = json_fields::find(json, name);
    if (value == nullptr || !value->is_string())
      throw std::invalid_argument(std::string(name) + " missing or not a string");
    return value->get<std::string>();
  };
  const auto key = [&](const char* name) {
    try {
      return base64_decode(text(name), name);
    } catch (const FormatError&) {
      throw std::invalid_argument(std::string(name) + " is not base64");
    }
  };
  JoinRequest request;
  request.device_id = text("device_id");
  if (!vault::is_device_id(request.device_id))
    throw std::invalid_argument("device_id is not 1-64 of [A-Za-z0-9._-]");
  request.identity_key = key("identity_key");
  if (!vault::is_identity_key(request.identity_key))
    throw std::invalid_argument("identity_key is not an EC P-256 public key (SPKI DER)");
  request.slot_key = key("slot_key");
  if (!vault::is_slot_key(request.slot_key))
    throw std::invalid_argument(
        "slot_key is not an RSA public key of at least 2048 bits (SPKI DER)");
  request.nonce = text("nonce");
  if (!is_nonce(request.nonce))
    throw std::invalid_argument("nonce is not 32 to 64 lowercase hex digits");
  return request;
}

Json listed(const JoinRequest& request) {
  return {{"id", request.id},
          {"device_id", request.device_id},
          {"identity_key", base64_encode(request.identity_key)},
          {"slot_key", base64_encode(request.slot_key)},
          {"nonce", request.nonce},
          {"created", request.created},
          {"expires", request.expires}};
}

}  // namespace

JoinRequestRoutes::JoinRequestRoutes(CloudStore& store, AccountStates& states, AuthClock clock,
                                     JoinRequestOptions options)
    : store_(store),
      states_(states),
      clock_(std::move(clock)),
      options_(options),
      per_client_(options.per_client) {}

http::Response JoinRequestRoutes::submit(const http::Request& request, const std::string& account) {
  // Counted before anything is looked at: probing for accounts costs the same.
  if (const auto wait =
          per_client_.take(client_of(request), http::RequestRateLimiter::Clock::now()))
    return too_many("too many join requests from this address: retry later", wait->count());
  if (request.body.size() > kMaxJoinRequestBodyBytes)
    return http::Response::error(413, "a join request is smaller than that");
  const auto state = states_.current(account);
  if (!state) return http::Response::error(404, "no such account");
  JoinRequest join = parse_body(request.body);
  if (join.device_id == "recovery" || state->devices.contains(join.device_id) ||
      state->revoked.contains(join.device_id))
    return http::Response::error(409,
                                 "the device id " + join.device_id + " is taken in this account");
  if (in_log(*state, join.identity_key))
    return http::Response::error(409, "the identity key is already a device's in this account");
  join.id = new_request_id();
  join.created = clock_.now();
  join.expires = join.created + options_.ttl.count();
  if (const auto full = store_.add_join_request(account, join, kMaxPendingJoinRequests)) {
    return too_many("the account has " + std::to_string(kMaxPendingJoinRequests) +
                        " join requests waiting: retry once one lapses",
                    full->first_expiry - join.created);
  }
  return http::Response::json(201, Json{{"id", join.id}, {"expires", join.expires}}.dump());
}

http::Response JoinRequestRoutes::status(const std::string& account, const std::string& id) {
  const auto state = states_.current(account);
  if (!state || !is_request_id(id)) return http::Response::error(404, "no such join request");
  const auto join = store_.join_request(account, id);
  if (!join) return http::Response::error(404, "no such join request");
  if (in_log(*state, join->identity_key))
    return http::Response::json(200, R"({"status":"approved"})");
  if (join->expires <= clock_.now())
    return http::Response::error(404, "no such join request (it expired)");
  return http::Response::json(200, R"({"status":"pending"})");
}

http::Response JoinRequestRoutes::pending(const std::string& account) {
  const auto state = states_.current(account);
  if (!state) return http::Response::error(404, "no such account");
  Json requests = Json::array();
  for (const JoinRequest& join : store_.join_requests(account, clock_.now()))
    if (!in_log(*state, join.identity_key)) requests.push_back(listed(join));
  return http::Response::json(200, Json{{"requests", requests}}.dump());
}

http::Response JoinRequestRoutes::decline(const std::string& account, const std::string& id) {
  if (!is_request_id(id) || !store_.remove_join_request(account, id))
    return http::Response::error(404, "no such join request");
  http::Response response;
  response.status = 204;
  return response;
}

std::size_t JoinRequestRoutes::purge() {
  return store_.purge_join_requests(clock_.now() - options_.ttl.count());
}

}  // namespace idvault::cloud
