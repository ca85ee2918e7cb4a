#include "firmware-sim/card_state.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <system_error>

#include "firmware-sim/errors.h"
#include "firmware-sim/openssl_owners.h"
#include "firmware-sim/unique_fd.h"

namespace idvault::cardsim {

namespace {

constexpr const char* kFormat = "idvault-cardsim-state/1";

using nlohmann::json;

// nlohmann's strings are plain std::string; PINs and key PEM pass through them, so every
// string in a document is wiped before the document dies.
void wipe_strings(json& j) noexcept {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  } else if (j.is_structured()) {
    for (auto& child : j) wipe_strings(child);
  }
}

struct WipedJson {
  json doc;
  WipedJson() = default;
  WipedJson(const WipedJson&) = delete;
  WipedJson& operator=(const WipedJson&) = delete;
  WipedJson(WipedJson&&) = delete;  // one owner, one wipe
  WipedJson& operator=(WipedJson&&) = delete;
  ~WipedJson() { wipe_strings(doc); }
};

struct WipedString {
  std::string text;
  WipedString() = default;
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  WipedString(WipedString&&) = delete;  // one owner, one wipe
  WipedString& operator=(WipedString&&) = delete;
  ~WipedString() { OPENSSL_cleanse(text.data(), text.size()); }
};

std::string errno_text() {
  return std::system_category().message(errno);
}

std::string slot_name(std::uint8_t ref) {
  return to_hex(ByteView(&ref, 1));
}

std::string certificate_pem(ByteView der) {
  const unsigned char* p = der.data();
  X509Owner cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  BioOwner bio(BIO_new(BIO_s_mem()));
  if (!cert || !bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    ERR_clear_error();
    throw CardsimError("could not encode a certificate as PEM");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Bytes certificate_der(const std::string& pem) {
  BioOwner bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Owner cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    throw CardsimError("certificate_pem does not parse");
  }
  const int len = i2d_X509(cert.get(), nullptr);
  Bytes der(static_cast<std::size_t>(len > 0 ? len : 0));
  unsigned char* p = der.data();
  if (len <= 0 || i2d_X509(cert.get(), &p) != len)
    throw CardsimError("certificate does not encode");
  return der;
}

WipedBytes secret_field(const json& doc, const char* name) {
  const auto& s = doc.at(name).get_ref<const std::string&>();
  return WipedBytes::from_text(s);
}

unsigned tries_field(const json& doc, const char* name) {
  const auto v = doc.at(name).get<long long>();
  if (v < 0 || v > static_cast<long long>(CardState::kMaxTries)) {
    throw CardsimError(std::string(name) + " must be between 0 and 3");
  }
  return static_cast<unsigned>(v);
}

void write_all(int fd, const std::string& text, const std::string& where) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw CardsimError("cannot write " + where + ": " + errno_text());
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::optional<std::string> pin_format_problem(ByteView pin) {
  if (pin.size() < 6 || pin.size() > 8) return "a PIN must be 6 to 8 digits";
  for (const std::uint8_t c : pin) {
    if (c < '0' || c > '9') return "a PIN must be digits only";
  }
  return std::nullopt;
}

std::optional<std::string> puk_format_problem(ByteView puk) {
  if (puk.size() < 6 || puk.size() > 8) return "a PUK must be 6 to 8 characters";
  for (const std::uint8_t c : puk) {
    if (c < 0x20 || c > 0x7E) return "a PUK must be printable ASCII";
  }
  return std::nullopt;
}

CardState load_card_state(const std::filesystem::path& file) {
  const std::string where = "state file " + file.string();
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw CardsimError("cannot read " + where + ": " + errno_text());
  // Like ssh with its keys: a card whose private keys anyone may read is not a card.
  if ((st.st_mode & 077) != 0) {
    throw CardsimError(where + " is readable by group or others; chmod 600 it");
  }
  WipedString text;
  {
    const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) throw CardsimError("cannot read " + where + ": " + errno_text());
    // Read straight into a wiped buffer: no stream buffer keeps a copy of the keys.
    text.text.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < text.text.size()) {
      const ssize_t n = ::read(fd.get(), text.text.data() + done, text.text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw CardsimError("cannot read " + where + ": " + errno_text());
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    text.text.resize(done);
  }
  WipedJson parsed;
  try {
    parsed.doc = json::parse(text.text);
    const json& doc = parsed.doc;
    if (!doc.is_object() || doc.value("format", "") != kFormat) {
      throw CardsimError(where + " is not an idvault-cardsim state file (format " + kFormat + ")");
    }
    CardState state;
    state.label = doc.at("label").get<std::string>();
    state.guid = from_hex(doc.at("guid").get<std::string>());
    if (state.guid.size() != 16) throw CardsimError("guid must be 16 bytes (32 hex digits)");
    state.pin = secret_field(doc, "pin");
    state.puk = secret_field(doc, "puk");
    if (auto problem = pin_format_problem(state.pin.reveal()))
      throw CardsimError("pin: " + *problem);
    if (auto problem = puk_format_problem(state.puk.reveal()))
      throw CardsimError("puk: " + *problem);
    state.pin_tries_left = tries_field(doc, "pin_tries_left");
    state.puk_tries_left = tries_field(doc, "puk_tries_left");
    for (const auto& [name, slot] : doc.at("slots").items()) {
      const Bytes ref = from_hex(name);
      if (ref.size() != 1) throw CardsimError("slot name " + name + " is not one hex byte");
      const WipedBytes pem = secret_field(slot, "private_key_pem");
      CardSlot entry{CardKey::from_private_pem(pem),
                     certificate_der(slot.at("certificate_pem").get<std::string>())};
      state.slots.emplace(ref[0], std::move(entry));
    }
    return state;
  } catch (const json::exception& e) {
    throw CardsimError(where + " is malformed: " + e.what());
  } catch (const CardsimError& e) {
    const std::string what = e.what();
    if (what.rfind(where, 0) == 0) throw;
    throw CardsimError(where + ": " + what);
  }
}

void save_card_state(const std::filesystem::path& file, const CardState& state) {
  const std::string where = "state file " + file.string();
  WipedJson out;
  json& doc = out.doc;
  doc["format"] = kFormat;
  doc["label"] = state.label;
  doc["guid"] = to_hex(state.guid);
  doc["pin"] = std::string(state.pin.reveal_text());
  doc["puk"] = std::string(state.puk.reveal_text());
  doc["pin_tries_left"] = state.pin_tries_left;
  doc["puk_tries_left"] = state.puk_tries_left;
  doc["slots"] = json::object();
  for (const auto& [ref, slot] : state.slots) {
    const WipedBytes pem = slot.key.private_pem();
    doc["slots"][slot_name(ref)] = {
        {"algorithm", slot_name(static_cast<std::uint8_t>(slot.key.algorithm()))},  // informational
        {"private_key_pem", std::string(pem.reveal_text())},
        {"certificate_pem", certificate_pem(slot.certificate_der)},
    };
  }
  WipedString text;
  text.text = doc.dump(2);  // moved in, so the only copy is the wiped one
  text.text.push_back('\n');

  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
  std::string temp_name = (dir / ("." + file.filename().string() + ".XXXXXX")).string();
  // mkstemp creates the file 0600, so the keys are never readable by others, not even briefly.
  UniqueFd fd(::mkstemp(temp_name.data()));
  if (!fd.valid())
    throw CardsimError("cannot create a temporary file next to " + where + ": " + errno_text());
  try {
    write_all(fd.get(), text.text, where);
    if (::fsync(fd.get()) != 0) throw CardsimError("cannot fsync " + where + ": " + errno_text());
    fd.reset();
    if (::rename(temp_name.c_str(), file.c_str()) != 0) {
      throw CardsimError("cannot replace " + where + ": " + errno_text());
    }
  } catch (...) {
    ::unlink(temp_name.c_str());
    throw;
  }
  // The rename is durable only once the directory entry is.
  const UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) {
    throw CardsimError("cannot fsync the directory of " + where + ": " + errno_text());
  }
}

}  // namespace idvault::cardsim
