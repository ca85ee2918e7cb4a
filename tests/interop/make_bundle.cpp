// interop_make_bundle OUTDIR [--key-bits N]
//
// Writes what a relying party would receive from idvault for one element of every type,
// for python-telegram-bot to decrypt (ptb_decrypt.py):
//   OUTDIR/key.pem              the service's RSA private key (PKCS#8)
//   OUTDIR/passport_data.json   Bot API PassportData
//   OUTDIR/files/<file_id>      the encrypted files, as getFile would deliver them
//   OUTDIR/plain/<name>         each file's plaintext (name: passport.front_side,
//   utility_bill.files.1) OUTDIR/expected.json        {"nonce", "elements": {type:
//   {"data"|"phone_number"|"email",
//                                "files": {slot: name | [names]}}}}
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "tests/vault/wire/sample_passport.h"
#include "vault/keys/software_keys.h"
#include "vault/wire/passport_encryptor.h"

namespace fs = std::filesystem;
using namespace idvault;
using namespace idvault::vault;

namespace {

void write_file(const fs::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_text(const fs::path& path, std::string_view text) {
  write_file(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::string write_plain(const fs::path& dir, const std::string& name, const SecretBytes& bytes) {
  write_file(dir / "plain" / name, bytes.reveal());
  return name;
}

nlohmann::json expected_element(const fs::path& dir, const PlainElement& element) {
  const std::string type(to_string(element.type));
  nlohmann::json out = nlohmann::json::object();
  if (element.type == ElementType::phone_number) out["phone_number"] = element.value;
  if (element.type == ElementType::email) out["email"] = element.value;
  if (!element.data.is_null()) out["data"] = element.data;
  nlohmann::json files = nlohmann::json::object();
  const auto single = [&](const char* slot, const std::optional<SecretBytes>& bytes) {
    if (bytes) files[slot] = write_plain(dir, type + "." + slot, *bytes);
  };
  const auto list = [&](const char* slot, const std::vector<SecretBytes>& items) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      files[slot].push_back(
          write_plain(dir, type + "." + slot + "." + std::to_string(i), items[i]));
    }
  };
  single("front_side", element.front_side);
  single("reverse_side", element.reverse_side);
  single("selfie", element.selfie);
  list("files", element.files);
  list("translation", element.translation);
  out["files"] = std::move(files);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string(argv[2]) == "--key-bits")) {
    std::cerr << "usage: interop_make_bundle OUTDIR [--key-bits N]\n";
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    const int bits = argc == 4 ? std::stoi(argv[3]) : 2048;
    fs::create_directories(dir / "files");
    fs::create_directories(dir / "plain");

    std::vector<PlainElement> elements = testing::every_type();
    elements[1].front_side =
        testing::scan(300 * 1024 + 5);  // a scan-sized file, off the 16-byte grid
    const std::string nonce = "idvault-interop/nonce+ünï-" + std::to_string(bits);

    const auto key = SoftwareServiceKey::generate(bits);
    const auto bundle = encrypt_passport(elements, nonce, key.public_key_pem());

    write_text(dir / "key.pem", key.private_key_pem().reveal_text());
    write_text(dir / "passport_data.json", to_json(bundle.passport_data).dump());
    for (const auto& [file_id, bytes] : bundle.files) write_file(dir / "files" / file_id, bytes);
    nlohmann::json expected = {{"nonce", nonce}, {"elements", nlohmann::json::object()}};
    for (const auto& element : elements) {
      expected["elements"][std::string(to_string(element.type))] = expected_element(dir, element);
    }
    write_text(dir / "expected.json", expected.dump(1));
    std::cout << "wrote " << elements.size() << " elements, " << bundle.files.size() << " files to "
              << dir.string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "interop_make_bundle: " << e.what() << "\n";
    return 1;
  }
}
