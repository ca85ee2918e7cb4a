#include "host/cloud/server/request_auth.h"

#include <span>
#include <string_view>
#include <vector>

#include "common/format_error.h"
#include "vault/account/request_signature.h"

namespace idvault::cloud {

namespace {

std::vector<std::string> entry_texts(const std::vector<LogEntry>& entries) {
  std::vector<std::string> texts;
  texts.reserve(entries.size());
  for (const LogEntry& entry : entries) texts.emplace_back(entry.bytes.begin(), entry.bytes.end());
  return texts;
}

AuthResult refuse(int status, std::string message) {
  AuthResult result;
  result.status = status;
  result.message = std::move(message);
  return result;
}

}  // namespace

std::shared_ptr<const vault::AccountState> AccountStates::current(const std::string& account) {
  std::shared_ptr<const vault::AccountState> known;
  {
    const std::lock_guard lock(mutex_);
    const auto found = states_.find(account);
    if (found != states_.end()) known = found->second;
  }
  if (!known && !store_.has_account(account)) return nullptr;
  const auto from = known ? static_cast<std::int64_t>(known->length) : 0;
  const std::vector<std::string> entries = entry_texts(store_.log(account, from));
  if (known && entries.empty()) return known;
  auto state = std::make_shared<vault::AccountState>();
  if (known) {
    *state = *known;
    vault::AccountLog::extend(*state, entries);
  } else {
    *state = vault::AccountLog::verify(entries, account, nullptr);
  }
  remember(state);
  return state;
}

void AccountStates::remember(const std::shared_ptr<const vault::AccountState>& state) {
  const std::lock_guard lock(mutex_);
  auto& slot = states_[state->account_id];
  if (!slot || slot->length < state->length) slot = state;
}

AuthResult authenticate(const http::Request& request, const vault::AccountState& state,
                        CloudStore& store, const AuthClock& clock,
                        std::optional<std::string_view> body_sha256) {
  const auto found = request.headers.find("idvault-signature");
  if (found == request.headers.end())
    return refuse(401, "no Idvault-Signature header: every request is signed by a device");
  bool revoked = false;
  bool by_recovery_key = false;
  const vault::EnrolledDeviceLookup lookup =
      [&](std::string_view account,
          std::string_view device) -> std::optional<vault::EnrolledDevice> {
    if (account != state.account_id) return std::nullopt;
    const std::string id(device);
    const vault::AccountDevice* record = nullptr;
    if (const auto enrolled = state.devices.find(id); enrolled != state.devices.end()) {
      record = &enrolled->second;
    } else if (const auto gone = state.revoked.find(id); gone != state.revoked.end()) {
      // Checked like an enrolled one, so only the device itself learns it was revoked.
      record = &gone->second;
      revoked = true;
    }
    if (record == nullptr) {
      // The recovery key, by the id of a current recovery slot (no device can take that
      // id: a device's slot has its id). PS256 by that slot's RSA key.
      const auto slot = state.slots.find(id);
      if (slot == state.slots.end() || slot->second.slot_for != vault::SlotFor::recovery)
        return std::nullopt;
      by_recovery_key = true;
      return vault::EnrolledDevice{state.account_id, id, slot->second.key, true};
    }
    return vault::EnrolledDevice{state.account_id, id, record->identity_key, false};
  };
  const std::int64_t now = clock.now();
  const vault::NonceAlreadySeen nonce_seen = [&](const vault::RequestSignatureHeader& header) {
    return !store.remember_nonce(header.account + "/" + header.device, header.nonce,
                                 now + 2 * clock.skew_seconds, now);
  };
  const vault::ReceivedRequest received{
      request.method, request.target,
      vault::ByteView(reinterpret_cast<const std::uint8_t*>(request.body.data()),
                      request.body.size()),
      body_sha256};
  const vault::RequestVerdict verdict =
      vault::check_request_signature(std::string_view(found->second), received, lookup,
                                     vault::RequestClock{now, clock.skew_seconds}, nonce_seen);
  if (!verdict.ok()) {
    std::string message(vault::describe(*verdict.refusal));
    if (!verdict.detail.empty()) message += " (" + verdict.detail + ")";
    return refuse(401, message);
  }
  const vault::RequestSignatureHeader header = vault::parse_request_signature(found->second);
  if (revoked) return refuse(403, "device " + header.device + " was revoked from this account");
  AuthResult result;
  result.who = Authenticated{header.account, header.device, by_recovery_key};
  result.status = 200;
  return result;
}

AuthResult authenticate(const http::Request& request, AccountStates& states, CloudStore& store,
                        const AuthClock& clock, std::optional<std::string_view> body_sha256) {
  const auto found = request.headers.find("idvault-signature");
  if (found == request.headers.end())
    return refuse(401, "no Idvault-Signature header: every request is signed by a device");
  std::string account;
  try {
    account = vault::parse_request_signature(found->second).account;
  } catch (const FormatError& e) {
    return refuse(401, std::string("malformed Idvault-Signature header: ") + e.what());
  }
  if (!valid_account_id(account)) return refuse(401, "the signature names no known account");
  const auto state = states.current(account);
  if (!state) return refuse(401, "the signature names no known account");
  return authenticate(request, *state, store, clock, body_sha256);
}

}  // namespace idvault::cloud
