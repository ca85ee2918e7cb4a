// The holder's side of idvault-cloud (docs/CLOUD.md, "Routes"): one call per route, on
// libcurl. Requests are signed by the device set with sign_as (vault::RequestSigner, its
// identity key on its token); the few unsigned routes (a join request, its status, the
// recovery key) are sent unsigned whatever the signer.
//
// What it promises:
//  - ids (account, item, slot, join request) and revisions are 1-256 characters of
//    [A-Za-z0-9._~-] (not "." or ".."); anything else is refused with FormatError before a
//    byte is sent, so what goes on the request line is exactly what was signed;
//  - answers are bounded: a file's up to 64 MiB plus a little, anything else up to 1 MiB
//    plus a little; a longer answer is refused as it arrives, never buffered whole;
//  - a file read back hashes to the name it was asked by, or the call throws;
//  - TLS verifies the server (against Options::ca_file when given), no redirect is
//    followed, only http and https are spoken;
//  - every answer that is not a 2xx, and is not an outcome named below (409 on the log and
//    on items, 404 where an optional is returned), throws CloudError with the status, the
//    Retry-After seconds and the server's error text. A 404 "no such route" (a server
//    without that route) is always a CloudError, never an empty optional.
//
// One thread at a time per instance; cancel() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vault/account/request_signature.h"
#include "vault/keys/keys.h"

namespace idvault::cloud {

// What the server answered instead of what was asked, or that it did not answer.
struct CloudError : std::runtime_error {
  CloudError(const std::string& message, long status, std::optional<long> retry_after_seconds,
             std::string body);
  // The HTTP status of the answer refused; 0: no answer (cannot connect, timed out,
  // cancelled).
  long status;
  std::optional<long> retry_after_seconds;  // from Retry-After (seconds form only)
  std::string body;                         // the start of the answer's body (4 KiB at most)
};

// cloud_client.cpp's: one request to send, one answer read whole, libcurl's multi handle.
struct CloudCall;
struct CloudAnswer;
struct CurlMulti;

struct CloudClientOptions {
  std::string ca_file;  // PEM bundle to verify the server by; empty: the system's
  std::chrono::seconds timeout{30};
};

class CloudClient {
 public:
  using Options = CloudClientOptions;
  // base_url: http(s)://host[:port], no path, query or user. Throws FormatError otherwise.
  explicit CloudClient(std::string base_url, Options options = {});
  ~CloudClient();
  // One owner of the transfer cancel() may wake from another thread.
  CloudClient(const CloudClient&) = delete;
  CloudClient& operator=(const CloudClient&) = delete;
  CloudClient(CloudClient&&) = delete;
  CloudClient& operator=(CloudClient&&) = delete;

  // The device requests are signed as; nullptr: unsigned requests. Not owned: it must
  // outlive every request made while it is set.
  void sign_as(const vault::RequestSigner* signer) noexcept { signer_ = signer; }
  // The local IP address to connect from (e.g. 127.1.0.2); empty: the system's choice.
  // Lets a load test stand for many devices on one host (the server caps connections
  // per client address).
  void connect_from(std::string local_address) { local_address_ = std::move(local_address); }
  // Thread-safe: the request in progress (e.g. a long poll) ends at once with CloudError
  // status 0, and so does every later one until reset_cancel().
  void cancel() noexcept;
  void reset_cancel() noexcept;

  // POST /v1/accounts with the genesis entry (signed by its device): the account id,
  // checked to be the entry's hash.
  [[nodiscard]] std::string create_account(const std::string& genesis_entry);
  // The log's entries from seq `from` on, each its exact text.
  [[nodiscard]] std::vector<std::string> log(const std::string& account, std::uint64_t from);
  struct Appended {
    bool appended;
    std::uint64_t length;  // the log's length after the entry, or the server's on 409
  };
  // Signed, or unsigned with no signer (an entry the recovery key signed).
  [[nodiscard]] Appended append_log(const std::string& account, const std::string& entry);

  [[nodiscard]] std::vector<std::pair<std::string, vault::Bytes>> slots(const std::string& account);
  [[nodiscard]] std::optional<vault::Bytes> slot(const std::string& account, const std::string& id);
  void put_slot(const std::string& account, const std::string& id, vault::ByteView sealed);
  void delete_slot(const std::string& account, const std::string& id);

  struct ItemWrite {
    bool stored;           // false on 409: revision and deleted are then the current ones
    std::string revision;  // the new revision, or the current one when not stored
    bool deleted;
  };
  // based_on: the revision this write was made on; nullopt: a new item (If-None-Match: *).
  [[nodiscard]] ItemWrite put_item(const std::string& account, const std::string& item,
                                   vault::ByteView bytes,
                                   const std::optional<std::string>& based_on);
  [[nodiscard]] ItemWrite delete_item(const std::string& account, const std::string& item,
                                      const std::string& based_on);
  struct Item {
    vault::Bytes bytes;  // empty for a deleted item
    std::string revision;
    bool deleted;
  };
  // nullopt: no such item; a deleted one (410) comes back with deleted = true.
  [[nodiscard]] std::optional<Item> item(const std::string& account, const std::string& id);

  // Stores ciphertext under its SHA-256; returns that name (lowercase hex).
  std::string put_file(const std::string& account, vault::ByteView ciphertext);
  // The file's bytes, checked to hash to sha256_hex; a missing file is CloudError 404.
  [[nodiscard]] vault::Bytes file(const std::string& account, const std::string& sha256_hex);

  struct Change {
    std::string kind;  // "log", "slot", "item", "file", ...
    std::string id;
    std::int64_t counter;
  };
  struct Changes {
    std::vector<Change> changes;
    std::int64_t counter;  // ask from here next time
  };
  // The changes after `since`; with wait > 0 a long poll that answers as soon as
  // something changes (the server caps wait at 60 s). Its time-out is wait + timeout.
  [[nodiscard]] Changes changes(const std::string& account, std::int64_t since,
                                std::chrono::seconds wait);

  // Join requests: a new device asks (unsigned), an enrolled device lists and declines.
  struct JoinRequest {
    std::string id;
    std::string device_id;
    vault::Bytes identity_key;  // SPKI DER
    vault::Bytes slot_key;      // SPKI DER
    std::string nonce;          // lowercase hex
    std::int64_t created = 0;
    std::int64_t expires = 0;
  };
  // Returns the request as sent, with the server's id and expiry (created stays 0).
  [[nodiscard]] JoinRequest request_join(const std::string& account, const std::string& device_id,
                                         vault::ByteView identity_key, vault::ByteView slot_key,
                                         const std::string& nonce);
  [[nodiscard]] std::vector<JoinRequest> join_requests(const std::string& account);
  // "pending" or "approved"; nullopt: no such request (declined, expired or never made).
  [[nodiscard]] std::optional<std::string> join_status(const std::string& account,
                                                       const std::string& id);
  void decline_join(const std::string& account, const std::string& id);

  // The recovery key sealed under the recovery code: put signed, read unsigned.
  void put_recovery_key(const std::string& account, vault::ByteView envelope);
  [[nodiscard]] std::optional<vault::Bytes> recovery_key(const std::string& account);

 private:
  [[nodiscard]] CloudAnswer perform(const CloudCall& call);

  std::string base_url_;
  Options options_;
  const vault::RequestSigner* signer_ = nullptr;
  std::string local_address_;
  std::atomic<bool> cancelled_{false};
  // libcurl's multi handle (kept out of this header): its connection cache, and what
  // cancel() wakes. Lives as long as the client.
  std::unique_ptr<CurlMulti> multi_;
};

}  // namespace idvault::cloud
