#include "vault/store/vault_store.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>

namespace idvault::vault {
namespace {

// Each entry moves the schema one version up; the index is the version it produces
// minus one. Never edit a shipped entry: add one.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE elements (
  type TEXT PRIMARY KEY,
  data BLOB, data_hash BLOB, wrapped_data_secret BLOB,
  plain TEXT,
  element_hash BLOB NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE files (
  file_id TEXT PRIMARY KEY,
  element_type TEXT NOT NULL REFERENCES elements(type) ON DELETE CASCADE,
  slot TEXT NOT NULL, position INTEGER NOT NULL,
  ciphertext BLOB NOT NULL, file_hash BLOB NOT NULL, wrapped_secret BLOB NOT NULL,
  file_date INTEGER NOT NULL);
CREATE INDEX files_by_element ON files(element_type, slot, position);
CREATE TABLE receipts (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  receipt TEXT NOT NULL, previous_hash BLOB NOT NULL, entry_hash BLOB NOT NULL);
CREATE TABLE attestations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, element_type TEXT NOT NULL, body TEXT NOT NULL,
  added_at INTEGER NOT NULL);
CREATE TABLE element_errors (
  id INTEGER PRIMARY KEY AUTOINCREMENT, element_type TEXT NOT NULL, body TEXT NOT NULL,
  added_at INTEGER NOT NULL);
)sql",
    // 2: recovery. Each value secret is also sealed to the recovery public key.
    R"sql(
ALTER TABLE elements ADD COLUMN recovery_sealed_data_secret BLOB;
ALTER TABLE files ADD COLUMN recovery_sealed_secret BLOB;
)sql",
    // 3: file ciphertexts beside the database (CiphertextFiles): a row with a
    // stored_name has its ciphertext at stored_offset of that pack and an empty
    // ciphertext column; older rows keep theirs.
    R"sql(
ALTER TABLE files ADD COLUMN stored_name TEXT;
ALTER TABLE files ADD COLUMN stored_offset INTEGER;
ALTER TABLE files ADD COLUMN ciphertext_size INTEGER;
)sql",
};
static_assert(std::size(kMigrations) == kVaultSchemaVersion);

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ElementType type_from_column(const std::string& name) {
  auto type = parse_element_type(name);
  if (!type) throw StoreError("store", "unknown element type in store: " + name.substr(0, 40));
  return *type;
}

}  // namespace

// A put writes megabytes of scan ciphertext as overflow pages. Measured on 8 x 2 MiB
// (docs/PERFORMANCE.md): with 4 KiB pages and the default 2 MB cache the commit took
// 80-190 ms, mostly per-page work and the cache spilling dirty pages into the WAL before
// the commit; with 64 KiB pages and room for a whole put in the cache, 22-36 ms. Both
// leave synchronous=FULL and the commit-before-acknowledge rule as they are.
constexpr int kStorePageSize = 64 * 1024;
constexpr const char* kStoreCache =
    "PRAGMA cache_size=-65536";  // KiB: up to 64 MiB of ciphertext pages

VaultStore::VaultStore(const std::filesystem::path& path, bool create)
    : db_(path, create, kStorePageSize), files_(CiphertextFiles::beside(path)) {
  db_.execute(kStoreCache);
  migrate();
  // Files a crash left between their write and the commit meant to refer to them, or
  // between a commit that dropped them and their removal.
  std::set<std::string> referenced;
  auto statement = db_.prepare("SELECT stored_name FROM files WHERE stored_name IS NOT NULL");
  while (statement.step()) referenced.insert(statement.text(0));
  (void)files_.remove_unreferenced(referenced);
}

std::vector<std::string> VaultStore::stored_names_of(const std::string& type) {
  std::vector<std::string> names;
  auto statement = db_.prepare(
      "SELECT DISTINCT stored_name FROM files WHERE element_type = ? AND stored_name IS NOT NULL");
  statement.bind(1, type);
  while (statement.step()) names.push_back(statement.text(0));
  return names;
}

std::unique_ptr<VaultStore> VaultStore::open(const std::filesystem::path& path, bool create) {
  return std::make_unique<VaultStore>(path, create);
}

int VaultStore::schema_version() {
  auto statement = db_.prepare("PRAGMA user_version");
  (void)statement.step();
  return static_cast<int>(statement.integer(0));
}

void VaultStore::migrate() {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_);
  int version = schema_version();
  if (version > kVaultSchemaVersion) {
    throw StoreError("store", "written by a newer idvault (schema " + std::to_string(version) +
                                  ", this one knows up to " + std::to_string(kVaultSchemaVersion) +
                                  ")");
  }
  for (int next = version; next < kVaultSchemaVersion; ++next) {
    db_.execute(kMigrations[next]);
    db_.execute("PRAGMA user_version = " + std::to_string(next + 1));
  }
  transaction.commit();
}

void VaultStore::put_setting(const std::string& name, ByteView value) {
  put_settings({{name, Bytes(value.begin(), value.end())}});
}

void VaultStore::put_settings(const std::vector<std::pair<std::string, Bytes>>& settings) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_);
  auto statement = db_.prepare("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)");
  for (const auto& [name, value] : settings) {
    statement.bind(1, name).bind_blob(2, value).run();
    statement.reset();
  }
  transaction.commit();
}

std::optional<Bytes> VaultStore::setting(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare("SELECT value FROM settings WHERE name = ?");
  statement.bind(1, name);
  if (!statement.step()) return std::nullopt;
  return statement.blob(0);
}

void VaultStore::put_element(const StoredElement& element) {
  // Every ciphertext on disk and its directory entry synced before the commit that
  // refers to it. Files the caller wrote ahead (write_ciphertext) are only published
  // here; their write-back started when they were written.
  std::vector<std::string> written;
  std::vector<std::string> names;      // each file's pack
  std::vector<std::uint64_t> offsets;  // and where in it
  try {
    std::unique_ptr<CiphertextFiles::Pack> pack;
    for (const auto& file : element.files) {
      if (!file.stored_name.empty()) {
        names.push_back(file.stored_name);
        offsets.push_back(file.stored_offset);
        continue;
      }
      if (!pack) {
        pack = files_.open_pack();
        written.push_back(pack->name());
      }
      offsets.push_back(pack->append(file.ciphertext));
      names.push_back(pack->name());
    }
    std::vector<std::string> packs = names;
    std::sort(packs.begin(), packs.end());
    packs.erase(std::unique(packs.begin(), packs.end()), packs.end());
    if (!packs.empty()) files_.publish(packs);
  } catch (...) {
    for (const auto& name : written) files_.remove(name);
    throw;
  }
  std::vector<std::string> replaced;
  try {
    replaced = commit_element(element, names, offsets);
  } catch (...) {
    for (const auto& name : written) files_.remove(name);  // the caller discards its own
    throw;
  }
  // Committed: the replaced element's files are unreferenced now (unless the new rows
  // kept one: an element read back and put again names the same files).
  // They go on the store's own thread: the put is durable and can be answered now.
  std::vector<std::string> unreferenced;
  for (const auto& name : replaced) {
    if (std::find(names.begin(), names.end(), name) == names.end()) unreferenced.push_back(name);
  }
  files_.remove_later(std::move(unreferenced));
}

std::vector<std::string> VaultStore::commit_element(const StoredElement& element,
                                                    const std::vector<std::string>& names,
                                                    const std::vector<std::uint64_t>& offsets) {
  std::lock_guard lock(mutex_);
  const std::string type(to_string(element.type));
  SqliteTransaction transaction(db_);
  std::vector<std::string> replaced = stored_names_of(type);
  db_.prepare("DELETE FROM elements WHERE type = ?").bind(1, type).run();  // cascades to files
  auto insert = db_.prepare(
      "INSERT INTO elements(type, data, data_hash, wrapped_data_secret, plain, element_hash, "
      "updated_at, "
      "recovery_sealed_data_secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, type);
  if (element.data) {
    insert.bind_blob(2, *element.data)
        .bind_blob(3, element.data_hash)
        .bind_blob(4, element.wrapped_data_secret);
  } else {
    insert.bind_null(2).bind_null(3).bind_null(4);
  }
  if (element.plain) {
    insert.bind(5, *element.plain);
  } else {
    insert.bind_null(5);
  }
  insert.bind_blob(6, element.element_hash)
      .bind(7, element.updated_at ? element.updated_at : now_seconds());
  if (element.recovery_sealed_data_secret.empty()) {
    insert.bind_null(8);
  } else {
    insert.bind_blob(8, element.recovery_sealed_data_secret);
  }
  insert.run();

  auto file_insert = db_.prepare(
      "INSERT INTO files(file_id, element_type, slot, position, ciphertext, file_hash, "
      "wrapped_secret, file_date, "
      "recovery_sealed_secret, stored_name, ciphertext_size, stored_offset) VALUES (?, ?, ?, ?, "
      "X'', ?, ?, ?, ?, ?, ?, "
      "?)");
  for (std::size_t i = 0; i < element.files.size(); ++i) {
    const StoredFile& file = element.files[i];
    const std::size_t size =
        file.stored_name.empty() ? file.ciphertext.size() : file.ciphertext_size;
    file_insert.bind(1, file.file_id)
        .bind(2, type)
        .bind(3, file.slot)
        .bind(4, file.position)
        .bind(9, names[i])
        .bind(10, static_cast<std::int64_t>(size))
        .bind(11, static_cast<std::int64_t>(offsets[i]))
        .bind_blob(5, file.file_hash)
        .bind_blob(6, file.wrapped_secret)
        .bind(7, file.file_date);
    if (file.recovery_sealed_secret.empty()) {
      file_insert.bind_null(8);
    } else {
      file_insert.bind_blob(8, file.recovery_sealed_secret);
    }
    file_insert.run();
    file_insert.reset();
  }
  db_.prepare("DELETE FROM element_errors WHERE element_type = ?").bind(1, type).run();
  // An attestation vouches for the version it saw: kept past a put it would go on
  // carrying the old version's hashes (a phone number's value_sha256 is guessed in a
  // second) with every share.
  db_.prepare("DELETE FROM attestations WHERE element_type = ?").bind(1, type).run();
  transaction.commit();
  return replaced;
}

std::vector<StoredFile> VaultStore::files_of(ElementType type, bool with_file_bytes) {
  auto statement =
      db_.prepare(with_file_bytes ? "SELECT file_id, slot, position, file_hash, wrapped_secret, "
                                    "file_date, recovery_sealed_secret, "
                                    "stored_name, ciphertext_size, stored_offset, ciphertext FROM "
                                    "files WHERE element_type = ? "
                                    "ORDER BY slot, position"
                                  : "SELECT file_id, slot, position, file_hash, wrapped_secret, "
                                    "file_date, recovery_sealed_secret, "
                                    "stored_name, ciphertext_size, stored_offset FROM files WHERE "
                                    "element_type = ? ORDER BY slot, position");
  statement.bind(1, std::string(to_string(type)));
  std::vector<StoredFile> files;
  while (statement.step()) {
    StoredFile file;
    file.file_id = statement.text(0);
    file.slot = statement.text(1);
    file.position = static_cast<int>(statement.integer(2));
    file.file_hash = statement.blob(3);
    file.wrapped_secret = statement.blob(4);
    file.file_date = statement.integer(5);
    file.recovery_sealed_secret = statement.blob(6);
    if (!statement.is_null(7)) {
      file.stored_name = statement.text(7);
      file.ciphertext_size = static_cast<std::size_t>(statement.integer(8));
      file.stored_offset = static_cast<std::uint64_t>(statement.integer(9));
      if (with_file_bytes)
        file.ciphertext = files_.read(file.stored_name, file.stored_offset, file.ciphertext_size);
    } else if (with_file_bytes) {
      file.ciphertext = statement.blob(10);  // a row from before schema 3
    }
    files.push_back(std::move(file));
  }
  return files;
}

std::optional<StoredElement> VaultStore::element(ElementType type, bool with_file_bytes) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare(
      "SELECT data, data_hash, wrapped_data_secret, plain, element_hash, updated_at, "
      "recovery_sealed_data_secret "
      "FROM elements WHERE type = ?");
  statement.bind(1, std::string(to_string(type)));
  if (!statement.step()) return std::nullopt;
  StoredElement element;
  element.type = type;
  if (!statement.is_null(0)) {
    element.data = statement.blob(0);
    element.data_hash = statement.blob(1);
    element.wrapped_data_secret = statement.blob(2);
  }
  if (!statement.is_null(3)) element.plain = statement.text(3);
  element.element_hash = statement.blob(4);
  element.updated_at = statement.integer(5);
  element.recovery_sealed_data_secret = statement.blob(6);
  element.files = files_of(type, with_file_bytes);
  return element;
}

std::vector<StoredElement> VaultStore::elements(bool with_file_bytes) {
  std::vector<StoredElement> all;
  for (ElementType type : kAllElementTypes) {
    if (auto element = this->element(type, with_file_bytes)) all.push_back(std::move(*element));
  }
  return all;
}

bool VaultStore::remove_element(ElementType type) {
  std::vector<std::string> stored;
  bool removed = false;
  {
    std::lock_guard lock(mutex_);
    SqliteTransaction transaction(db_);
    const std::string name(to_string(type));
    stored = stored_names_of(name);
    db_.prepare("DELETE FROM elements WHERE type = ?").bind(1, name).run();
    removed = sqlite3_changes(db_.handle()) > 0;
    db_.prepare("DELETE FROM element_errors WHERE element_type = ?").bind(1, name).run();
    db_.prepare("DELETE FROM attestations WHERE element_type = ?").bind(1, name).run();
    transaction.commit();
  }
  for (const auto& file : stored) files_.remove(file);  // rows first, then files
  return removed;
}

void VaultStore::replace_secrets(const SecretsChange& change) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_);
  auto update_element = db_.prepare(
      "UPDATE elements SET wrapped_data_secret = ?, recovery_sealed_data_secret = ? WHERE type = "
      "?");
  auto update_file = db_.prepare(
      "UPDATE files SET wrapped_secret = ?, recovery_sealed_secret = ? WHERE file_id = ? AND "
      "element_type = ?");
  // Empty is NULL, as put_element writes it (an element without data has no secret).
  const auto bind_optional = [](SqliteStatement& statement, int index, const Bytes& value) {
    if (value.empty()) {
      statement.bind_null(index);
    } else {
      statement.bind_blob(index, value);
    }
  };
  for (const StoredElement& element : change.elements) {
    const std::string type(to_string(element.type));
    bind_optional(update_element, 1, element.wrapped_data_secret);
    bind_optional(update_element, 2, element.recovery_sealed_data_secret);
    update_element.bind(3, type).run();
    if (sqlite3_changes(db_.handle()) != 1)
      throw StoreError("store", "element " + type + " changed during the update");
    update_element.reset();
    for (const StoredFile& file : element.files) {
      update_file.bind_blob(1, file.wrapped_secret);
      bind_optional(update_file, 2, file.recovery_sealed_secret);
      update_file.bind(3, file.file_id).bind(4, type).run();
      if (sqlite3_changes(db_.handle()) != 1)
        throw StoreError("store", "a file of " + type + " changed during the update");
      update_file.reset();
    }
  }
  auto put = db_.prepare("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)");
  for (const auto& [name, value] : change.settings) {
    put.bind(1, name).bind_blob(2, value).run();
    put.reset();
  }
  auto remove = db_.prepare("DELETE FROM settings WHERE name = ?");
  for (const auto& name : change.removed_settings) {
    remove.bind(1, name).run();
    remove.reset();
  }
  transaction.commit();
}

void VaultStore::remove_setting(const std::string& name) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM settings WHERE name = ?").bind(1, name).run();
}

void VaultStore::append_receipt(const StoredReceipt& receipt) {
  std::lock_guard lock(mutex_);
  db_.prepare("INSERT INTO receipts(receipt, previous_hash, entry_hash) VALUES (?, ?, ?)")
      .bind(1, receipt.receipt_json)
      .bind_blob(2, receipt.previous_hash)
      .bind_blob(3, receipt.entry_hash)
      .run();
}

std::vector<StoredReceipt> VaultStore::receipts() {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare(
      "SELECT sequence, receipt, previous_hash, entry_hash FROM receipts ORDER BY sequence");
  std::vector<StoredReceipt> all;
  while (statement.step()) {
    all.push_back({statement.integer(0), statement.text(1), statement.blob(2), statement.blob(3)});
  }
  return all;
}

std::optional<StoredReceipt> VaultStore::last_receipt() {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare(
      "SELECT sequence, receipt, previous_hash, entry_hash FROM receipts ORDER BY sequence DESC "
      "LIMIT 1");
  if (!statement.step()) return std::nullopt;
  return StoredReceipt{statement.integer(0), statement.text(1), statement.blob(2),
                       statement.blob(3)};
}

std::int64_t VaultStore::add_note(const char* table, ElementType type, const std::string& json) {
  std::lock_guard lock(mutex_);
  db_.prepare(std::string("INSERT INTO ") + table +
              "(element_type, body, added_at) VALUES (?, ?, ?)")
      .bind(1, std::string(to_string(type)))
      .bind(2, json)
      .bind(3, now_seconds())
      .run();
  return sqlite3_last_insert_rowid(db_.handle());
}

std::vector<StoredNote> VaultStore::notes(const char* table) {
  std::lock_guard lock(mutex_);
  auto statement = db_.prepare(std::string("SELECT id, element_type, body, added_at FROM ") +
                               table + " ORDER BY id");
  std::vector<StoredNote> all;
  while (statement.step()) {
    all.push_back({statement.integer(0), type_from_column(statement.text(1)), statement.text(2),
                   statement.integer(3)});
  }
  return all;
}

std::int64_t VaultStore::add_attestation(ElementType type, const std::string& json) {
  return add_note("attestations", type, json);
}
std::vector<StoredNote> VaultStore::attestations() {
  return notes("attestations");
}
std::int64_t VaultStore::add_element_error(ElementType type, const std::string& json) {
  return add_note("element_errors", type, json);
}
std::vector<StoredNote> VaultStore::element_errors() {
  return notes("element_errors");
}

void VaultStore::clear_element_errors(ElementType type) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM element_errors WHERE element_type = ?")
      .bind(1, std::string(to_string(type)))
      .run();
}

}  // namespace idvault::vault
