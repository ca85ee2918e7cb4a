// The cloud server's storage: per account, the signed account log, key slots, items,
// files addressed by the SHA-256 of their ciphertext, a change counter for incremental
// pull and a byte quota; and, for every account, the request-signature nonces seen.
//
// Everything stored is ciphertext or signed statements made on the devices: the store
// keeps bytes and never interprets them (it cannot read an item, check a log entry's
// signature or add a device). Its only rules are the ones a server can enforce without
// a key: the log only grows at its end, an item is written only on top of the revision
// it was based on, a file is stored only under its own hash, an account stays inside its
// quota, and every row belongs to exactly one account (every query is keyed by it).
//
// Two back-ends behind one interface, chosen by open_cloud_store(): SQLite plus a files
// folder in one data directory (sqlite_cloud_store.h), and PostgreSQL for many server
// processes on one database (postgres_cloud_store.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "host/cloud/store/incoming_file.h"

namespace idvault::cloud {

// The database cannot be reached (down, restarting, connection lost), or lost a commit
// whose outcome it could not settle: nothing half-done stays, the same call may succeed
// a moment later. The server answers 503 with Retry-After.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// create_account for an account id already taken (409).
class AccountExists : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Any call naming an account that was never created (404).
class UnknownAccount : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// put_file with bytes whose SHA-256 is not the name given: nothing is stored (400).
class FileHashMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A write that would take the account past its quota: nothing is stored (413 / 507).
class QuotaExceeded : public std::runtime_error {
 public:
  QuotaExceeded(std::int64_t used, std::int64_t needed, std::int64_t limit);
  std::int64_t used;    // bytes the account holds now
  std::int64_t needed;  // bytes the refused write would add
  std::int64_t limit;
};

// Ids that come from requests are checked before any query (std::invalid_argument, 400):
// an account id is lowercase hex (1..128 digits), a file's name the 64 lowercase hex
// digits of its SHA-256, and item, slot, device ids and nonces printable ASCII without
// spaces, 1..256 bytes. So no id can name a path outside an account's folder.
[[nodiscard]] bool valid_account_id(std::string_view id) noexcept;
[[nodiscard]] bool valid_sha256_hex(std::string_view id) noexcept;
[[nodiscard]] bool valid_name(std::string_view id) noexcept;

// Lowercase hex SHA-256 of bytes: the name a file is stored under.
[[nodiscard]] std::string sha256_hex(std::span<const std::uint8_t> bytes);

struct CloudLimits {
  // Bytes one account may hold: items, files, slots and log entries (their bytes, not
  // their ids). Deleting an item (its tombstone is smaller) or a slot gives room back.
  std::int64_t account_bytes = std::int64_t{1} << 30;
};

struct LogEntry {
  std::int64_t seq = 0;  // 0 is the genesis
  std::vector<std::uint8_t> bytes;
};

// append_log_entry's refusal: the seq given was not the log's length (another device's
// entry got there first, or a client skipped one). The client reads the log from its
// length, checks it and signs its entry again on top.
struct LogConflict {
  std::int64_t length = 0;  // the log's length now: the seq an append must name
};

struct KeySlot {
  std::string slot_id;
  std::vector<std::uint8_t> bytes;
};

// One write of an item: new content (or a tombstone) on top of parent_revision, which is
// empty for an item's first write. Revisions are the client's opaque strings.
struct ItemWrite {
  std::string item_id;
  std::string revision;  // not empty
  std::string parent_revision;
  std::vector<std::uint8_t> bytes;  // for a tombstone: whatever the client signs with it
  bool deleted = false;
};

struct StoredItem {
  std::string item_id;
  std::string revision;
  std::string parent_revision;
  std::vector<std::uint8_t> bytes;
  bool deleted = false;
  std::int64_t counter = 0;  // the change counter of its last write
};

// put_item's refusal (the server's 409): the write was based on a revision that is not
// the stored one. The client fetches the item, merges against its parent and writes again.
struct ItemConflict {
  std::string current_revision;  // empty: no item exists (the write named a parent)
  bool current_deleted = false;
};

enum class ChangeKind { log, slot, item, file };
[[nodiscard]] std::string_view to_string(ChangeKind kind) noexcept;

// One thing changed since a counter: the log entry (id = its seq in decimal), the slot
// (put or removed: slots() says which), the item, or the file (id = its SHA-256). Each
// thing is listed once, with the counter of its latest change.
struct Change {
  ChangeKind kind = ChangeKind::item;
  std::string id;
  std::int64_t counter = 0;
};

// A device's request to join an account (design.md, "Enrolment"), kept until a while
// after it expires. The server checked its fields; the store keeps them as they are.
struct JoinRequest {
  std::string id;  // 32 lowercase hex digits, random, made by the server
  std::string device_id;
  std::vector<std::uint8_t> identity_key;  // SPKI DER
  std::vector<std::uint8_t> slot_key;      // SPKI DER
  std::string nonce;
  std::int64_t created = 0;  // Unix seconds
  std::int64_t expires = 0;
};

// add_join_request's refusal: the account has as many unexpired requests as it may.
struct JoinRequestsFull {
  std::int64_t first_expiry = 0;  // when the oldest of them lapses
};

class CloudStore {
 public:
  CloudStore() = default;
  virtual ~CloudStore() = default;
  // A store owns its connections: one owner closes them.
  CloudStore(const CloudStore&) = delete;
  CloudStore& operator=(const CloudStore&) = delete;
  CloudStore(CloudStore&&) = delete;
  CloudStore& operator=(CloudStore&&) = delete;

  // A new account whose log starts with the genesis entry (seq 0); throws AccountExists.
  virtual void create_account(const std::string& account,
                              std::span<const std::uint8_t> genesis) = 0;
  [[nodiscard]] virtual bool has_account(const std::string& account) = 0;

  // Appends when seq is the log's length now (compare-and-set: of two racing appends of
  // one seq exactly one lands), else changes nothing and says the length.
  [[nodiscard]] virtual std::optional<LogConflict> append_log_entry(
      const std::string& account, std::int64_t seq, std::span<const std::uint8_t> bytes) = 0;
  // Entries from from_seq on, in order.
  [[nodiscard]] virtual std::vector<LogEntry> log(const std::string& account,
                                                  std::int64_t from_seq) = 0;

  // Puts (adds or replaces) a slot; removing one that is not there returns false.
  virtual void put_slot(const std::string& account, const std::string& slot_id,
                        std::span<const std::uint8_t> bytes) = 0;
  virtual bool remove_slot(const std::string& account, const std::string& slot_id) = 0;
  [[nodiscard]] virtual std::vector<KeySlot> slots(const std::string& account) = 0;

  // Writes when write.parent_revision is the stored revision (tombstones included), or
  // when no item exists and it is empty; else changes nothing and returns the conflict.
  [[nodiscard]] virtual std::optional<ItemConflict> put_item(const std::string& account,
                                                             const ItemWrite& write) = 0;
  [[nodiscard]] virtual std::optional<StoredItem> item(const std::string& account,
                                                       const std::string& item_id) = 0;

  // Stores bytes under their SHA-256 (hex), which must be sha256; throws FileHashMismatch
  // otherwise. A file already there is kept as it is (same name, same bytes).
  virtual void put_file(const std::string& account, const std::string& sha256,
                        std::span<const std::uint8_t> bytes) = 0;
  [[nodiscard]] virtual bool has_file(const std::string& account, const std::string& sha256) = 0;
  [[nodiscard]] virtual std::optional<std::vector<std::uint8_t>> file(
      const std::string& account, const std::string& sha256) = 0;
  // Where a stored file's bytes lie, for a back-end that keeps them in files (so they can
  // be sent from disk); nullopt for a file not stored or a back-end that keeps files
  // elsewhere (file() reads it then).
  [[nodiscard]] virtual std::optional<std::filesystem::path> file_on_disk(
      const std::string& account, const std::string& sha256) = 0;

  // A file upload, before its first byte arrives: throws UnknownAccount, or QuotaExceeded
  // when size more bytes would take the account past its quota (none are counted when a
  // file by that name is stored already: the upload is then only hashed). The bytes go
  // into the returned IncomingFile as they arrive; put_file(account, sha256, file) below
  // then stores them.
  [[nodiscard]] virtual std::unique_ptr<IncomingFile> receive_file(const std::string& account,
                                                                   const std::string& sha256,
                                                                   std::uint64_t size) = 0;
  // What receive_file took in, stored under sha256 when it hashed to it (FileHashMismatch
  // otherwise, and nothing kept), the quota checked again. A file already there is kept
  // as it is.
  virtual void put_file(const std::string& account, const std::string& sha256,
                        IncomingFile& file) = 0;

  // What changed after `after` (a counter a device saw before; 0: everything), oldest
  // first, at most `limit` of them: a device pulls from the last counter listed.
  [[nodiscard]] virtual std::vector<Change> changes_since(const std::string& account,
                                                          std::int64_t after,
                                                          std::size_t limit) = 0;
  // The account's change counter: every log append, slot put or removal, item write and
  // new file bumps it by one.
  [[nodiscard]] virtual std::int64_t counter(const std::string& account) = 0;
  [[nodiscard]] virtual std::int64_t bytes_used(const std::string& account) = 0;

  // Join requests (join_requests in each back-end's own file). Adds request when the
  // account has fewer than max_pending requests unexpired at request.created, else
  // changes nothing and says when the first lapses. Not counted in the quota (bounded by
  // max_pending), and no change is recorded: devices list them, they do not sync them.
  [[nodiscard]] virtual std::optional<JoinRequestsFull> add_join_request(
      const std::string& account, const JoinRequest& request, std::size_t max_pending) = 0;
  // The requests unexpired at now, oldest first.
  [[nodiscard]] virtual std::vector<JoinRequest> join_requests(const std::string& account,
                                                               std::int64_t now) = 0;
  // One request, expired or not, until it is purged; nullopt for an id it does not hold.
  [[nodiscard]] virtual std::optional<JoinRequest> join_request(const std::string& account,
                                                                const std::string& id) = 0;
  virtual bool remove_join_request(const std::string& account, const std::string& id) = 0;
  // Drops every account's requests that expired at or before `expired_by`; how many.
  virtual std::size_t purge_join_requests(std::int64_t expired_by) = 0;

  // The account's recovery key envelope: opaque bytes sealed on a device, put (replacing
  // the one before) and read whole. Not counted in the quota: one per account, its size
  // bounded by the server.
  virtual void put_recovery_key(const std::string& account,
                                std::span<const std::uint8_t> envelope) = 0;
  [[nodiscard]] virtual std::optional<std::vector<std::uint8_t>> recovery_key(
      const std::string& account) = 0;

  // Request-signature nonces: true the first time (device_id, nonce) is seen, and again
  // only once an earlier sighting's expires_at has passed (<= now); false for a replay.
  // A request's signed time must be younger than its nonce's lifetime, so a nonce
  // forgotten after expiry cannot be replayed with a time the server would accept.
  [[nodiscard]] virtual bool remember_nonce(const std::string& device_id, const std::string& nonce,
                                            std::int64_t expires_at, std::int64_t now) = 0;
  // Drops nonces expired at now; returns how many.
  virtual std::size_t purge_nonces(std::int64_t now) = 0;
};

// "postgresql://..." or "postgres://..." (a libpq URI): PostgreSQL; anything else is the
// data directory of a SQLite store (created private when missing).
[[nodiscard]] bool names_postgres(std::string_view where) noexcept;
[[nodiscard]] std::unique_ptr<CloudStore> open_cloud_store(const std::string& where,
                                                           const CloudLimits& limits = {});

}  // namespace idvault::cloud
