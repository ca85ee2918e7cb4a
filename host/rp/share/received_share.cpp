#include "host/rp/share/received_share.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/base64.h"
#include "common/json_fields.h"
#include "common/quoted_text.h"
#include "host/rp/share/bundle_text.h"
#include "host/rpc/file_descriptor.h"
#include "vault/model/errors.h"

namespace idvault::rp {
namespace {

using vault::FormatError;

// A file_id names a file on disk only when it cannot name anything outside the directory.
bool is_plain_file_name(std::string_view id) {
  if (id.empty() || id.size() > 255 || id.front() == '.') return false;
  for (char c : id) {
    if (c == '/' || c == '\0' || c == '\\') return false;
  }
  return true;
}

template <typename Visit>
void for_each_file(const vault::PassportData& data, Visit visit) {
  for (const auto& element : data.data) {
    for (const auto* file : {&element.front_side, &element.reverse_side, &element.selfie}) {
      if (*file) visit(**file);
    }
    for (const auto& file : element.files) visit(file);
    for (const auto& file : element.translation) visit(file);
  }
}

// A file of files_dir, open, and how big it was when opened.
struct DirectoryFile {
  std::string_view file_id;
  rpc::FileDescriptor fd;
  std::size_t size = 0;
};

// The file_id came from the sender: quoted wherever it is shown.
std::string where_in_dir(std::string_view file_id) {
  return "files_dir." + quote_untrusted(file_id);
}

// Opens the file_id's file; nullopt when there is none (the share reports it missing).
std::optional<DirectoryFile> open_in(const std::filesystem::path& dir, std::string_view file_id) {
  const std::string where = where_in_dir(file_id);
  rpc::FileDescriptor fd(::open((dir / file_id).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw FormatError(where, "cannot be read");
  if (!S_ISREG(info.st_mode)) throw FormatError(where, "is not a regular file");
  return DirectoryFile{file_id, std::move(fd), static_cast<std::size_t>(info.st_size)};
}

// One pread loop straight into its place in the arena; what was read is what is used.
std::span<const std::uint8_t> read_into(const DirectoryFile& file, std::span<std::uint8_t> into) {
  std::size_t done = 0;
  while (done < into.size()) {
    const ssize_t n =
        ::pread(file.fd.get(), into.data() + done, into.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FormatError(where_in_dir(file.file_id), "cannot be read");
    if (n == 0) break;  // shrank since fstat: the hash check will say the file is wrong
    done += static_cast<std::size_t>(n);
  }
  return into.first(done);
}

}  // namespace

vault::FileLookup ReceivedShare::lookup() const {
  return [this](std::string_view file_id) -> std::optional<std::span<const std::uint8_t>> {
    auto it = files.find(file_id);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

// Megabytes per share on the Bot API migration path, so: every file opened and sized
// first, one arena sized once (reused by the next read), each file read by one pread
// loop into its place — no stream, no per-byte iterator, no second copy.
void ShareReader::read_from_dir(const std::filesystem::path& dir) {
  std::vector<DirectoryFile> opened;
  std::size_t capacity = 0;
  for_each_file(share_.passport_data, [&](const vault::PassportFile& file) {
    const std::string_view id = file.file_id;
    if (share_.files.count(id) != 0) return;
    if (std::any_of(opened.begin(), opened.end(),
                    [&](const DirectoryFile& other) { return other.file_id == id; }))
      return;
    if (!is_plain_file_name(id)) {
      throw FormatError("files_dir",
                        "file_id " + quote_untrusted(id) + " is not a plain file name");
    }
    if (auto found = open_in(dir, id)) {
      capacity += found->size;
      opened.push_back(std::move(*found));
    }
  });
  // Sized before any span is handed out: they must not move.
  if (from_dir_.size() < capacity) from_dir_.resize(capacity);
  std::size_t used = 0;
  for (const DirectoryFile& file : opened) {
    const auto bytes = read_into(file, std::span(from_dir_).subspan(used, file.size));
    used += file.size;
    share_.files.emplace(file.file_id, bytes);
  }
}

const ReceivedShare& ShareReader::read(std::string_view json_text,
                                       const std::optional<std::filesystem::path>& files_dir) {
  share_ = ReceivedShare{};
  BundleText parts = split_bundle_text(json_text);
  if (!parts.passport_data.empty()) {
    share_.is_bundle = true;
    share_.passport_data =
        vault::passport_data_from_json(json_fields::parse(parts.passport_data, "passport_data"));
    if (parts.receipt.empty())
      throw FormatError("bundle.receipt", "missing: a bundle carries the holder's receipt");
    share_.receipt = vault::receipt_from_json(json_fields::parse(parts.receipt, "receipt"));
    if (!parts.account.empty()) {
      share_.account = vault::account_proof_from_json(json_fields::parse(parts.account, "account"));
    }
    if (!parts.attestations.empty()) {
      nlohmann::json list = json_fields::parse(parts.attestations, "attestations");
      if (!list.is_array()) throw FormatError("attestations", "must be an array");
      for (auto& item : list) share_.attestations.push_back(std::move(item));
    }
    std::size_t capacity = 0;
    for (const auto& [id, text] : parts.files) capacity += base64_decoded_capacity(text.size());
    // Sized once up front: the spans handed out below must not move.
    if (decoded_.size() < capacity) decoded_.resize(capacity);
    std::size_t used = 0;
    for (const auto& [id, text] : parts.files) {
      auto out = std::span(decoded_).subspan(used, base64_decoded_capacity(text.size()));
      auto bytes = base64_decode_into(text, out, "bundle.files." + id);
      used += bytes.size();
      share_.files.emplace(id, bytes);
    }
  } else {
    // Not a bundle: the text must be a Bot API PassportData, which is small.
    share_.passport_data =
        vault::passport_data_from_json(json_fields::parse(json_text, "passport_data"));
  }
  if (files_dir) read_from_dir(*files_dir);
  return share_;
}

}  // namespace idvault::rp
