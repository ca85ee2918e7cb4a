// The holder's store: SQLite (WAL, synchronous=FULL) holding only ciphertext — elements
// and files in Telegram's format with their hashes, value secrets wrapped by the master
// key, settings (wrapped keys, token URIs), the receipt log, attestations and the
// errors services sent. Nothing readable, and no unwrapped key, is ever written here.
// Since schema 3 file ciphertexts live beside the database (CiphertextFiles, vault.db
// -> vault.db.files/), one file ("pack") per put holding each of its files' ciphertext,
// every row naming its pack, offset and size; rows written before keep their
// ciphertext in the row and stay readable.
//
// A write returns only after its transaction committed, so an acknowledged write
// survives a crash; every multi-row change (an element and its files) is one
// transaction, so a crash never leaves half an element. File ciphertexts are on disk
// (data and directory entry synced) before the commit that refers to them, and removed
// only after the commit that stops referring to them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vault/keys/keys.h"
#include "vault/model/element_type.h"
#include "vault/store/ciphertext_files.h"
#include "vault/store/sqlite_db.h"

namespace idvault::vault {

inline constexpr int kVaultSchemaVersion = 3;

struct StoredFile {
  std::string file_id;
  std::string slot;  // front_side, reverse_side, selfie, files, translation
  int position = 0;  // index within files / translation
  Bytes ciphertext;  // Telegram-format ciphertext (what a service downloads)
  Bytes file_hash;   // SHA-256 of the padded plaintext
  Bytes wrapped_secret;
  std::int64_t file_date = 0;
  Bytes recovery_sealed_secret;  // empty unless recovery is set up
  // The file beside the database holding the ciphertext (CiphertextFiles). Read back:
  // always set for rows of schema 3. Put: set when the caller already wrote it there
  // (VaultStore::write_ciphertext), ciphertext then empty; else put_element writes it.
  std::string stored_name;
  std::size_t ciphertext_size = 0;  // with stored_name
  std::uint64_t stored_offset = 0;  // where in that file
};

struct StoredElement {
  ElementType type = ElementType::personal_details;
  std::optional<Bytes> data;  // encrypted data JSON, for types that carry data
  Bytes data_hash;
  Bytes wrapped_data_secret;
  Bytes recovery_sealed_data_secret;  // empty unless recovery is set up
  std::optional<std::string> plain;   // phone_number / email, which Telegram sends in clear
  Bytes element_hash;                 // opaque, what services echo in errors
  std::int64_t updated_at = 0;
  std::vector<StoredFile> files;  // ordered by slot then position
};

struct StoredReceipt {
  std::int64_t sequence = 0;
  std::string receipt_json;  // the signed receipt, as shared
  Bytes previous_hash;       // entry hash of the previous receipt (32 zero bytes for the first)
  Bytes entry_hash;
};

struct StoredNote {  // an attestation or an element error, kept as the JSON received
  std::int64_t id = 0;
  ElementType type = ElementType::personal_details;
  std::string json;
  std::int64_t added_at = 0;
};

class VaultStore {
 public:
  // Opens an existing store, or creates one when create is true. Migrates an older
  // schema; refuses one from a newer idvault with a StoreError saying so.
  static std::unique_ptr<VaultStore> open(const std::filesystem::path& path, bool create);

  [[nodiscard]] int schema_version();

  // Small named values: wrapped vault key, key URIs, mode, recovery parameters.
  void put_setting(const std::string& name, ByteView value);
  [[nodiscard]] std::optional<Bytes> setting(const std::string& name);
  void put_settings(const std::vector<std::pair<std::string, Bytes>>& settings);  // one transaction

  // Replaces the element of that type and all its files, atomically. The element's
  // errors are cleared (the holder changed it: Telegram's fix-and-resend rule), and so
  // are its attestations (they vouch for the version replaced).
  void put_element(const StoredElement& element);
  // A pack for one put's file ciphertexts, written ahead of put_element: append() from
  // any thread as each file is encrypted (its write-back starts at once, put_element
  // waits for it), then StoredFile::stored_name = pack name, stored_offset = what
  // append returned. A pack no put_element commits is removed by discard_pack (or,
  // after a crash, at the next open).
  [[nodiscard]] std::unique_ptr<CiphertextFiles::Pack> open_pack() { return files_.open_pack(); }
  void discard_pack(const std::string& name) noexcept { files_.remove(name); }

  // with_file_bytes=false leaves StoredFile::ciphertext empty (for listings). Throws
  // StoreError naming the file when a ciphertext file is missing or the wrong size.
  [[nodiscard]] std::optional<StoredElement> element(ElementType type, bool with_file_bytes = true);
  [[nodiscard]] std::vector<StoredElement> elements(bool with_file_bytes = false);
  bool remove_element(ElementType type);
  // put_element deletes the files of the element it replaced after returning, on a
  // thread of its own; this waits for that (tests, and anyone counting files).
  void wait_for_removals() { files_.wait_for_removals(); }
  // Replaces the wrapped and recovery-sealed secrets of these stored elements and their
  // files (matched by file_id), writes the settings and removes the named ones, all in
  // one transaction: what re-enrolling on a new token or adding recovery changes, and
  // either all of it happens or none. StoreError if a row changed shape meanwhile.
  struct SecretsChange {
    std::vector<StoredElement> elements;
    std::vector<std::pair<std::string, Bytes>> settings;
    std::vector<std::string> removed_settings;
  };
  void replace_secrets(const SecretsChange& change);
  void remove_setting(const std::string& name);

  void append_receipt(const StoredReceipt& receipt);  // sequence is assigned
  [[nodiscard]] std::vector<StoredReceipt> receipts();
  [[nodiscard]] std::optional<StoredReceipt> last_receipt();

  std::int64_t add_attestation(ElementType type, const std::string& json);
  [[nodiscard]] std::vector<StoredNote> attestations();
  std::int64_t add_element_error(ElementType type, const std::string& json);
  [[nodiscard]] std::vector<StoredNote> element_errors();
  void clear_element_errors(ElementType type);

  explicit VaultStore(const std::filesystem::path& path, bool create);

 private:
  void migrate();
  std::vector<std::string> commit_element(const StoredElement& element,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::uint64_t>& offsets);
  std::vector<std::string> stored_names_of(const std::string& type);
  std::vector<StoredFile> files_of(ElementType type, bool with_file_bytes);
  std::vector<StoredNote> notes(const char* table);
  std::int64_t add_note(const char* table, ElementType type, const std::string& json);

  std::mutex mutex_;  // one writer at a time through this handle
  SqliteDatabase db_;
  CiphertextFiles files_;
};

}  // namespace idvault::vault
