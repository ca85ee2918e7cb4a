// Not ours -> ours: bundles made by an independent Python encoder (gen_vectors.py, run by
// /usr/bin/python3 with python3-cryptography), each variant reproducing a real encoder's
// habits, decrypted by our PassportDecryptor and compared with the encoder's manifest.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/missing_peer.h"
#include "tests/support/temp_dir.h"
#include "vault/keys/software_keys.h"
#include "vault/wire/passport_decryptor.h"

namespace idvault::vault {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return text.str();
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  unsigned char digest[32];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view text) {
  return sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

class IndependentEncoder : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (std::system("/usr/bin/python3 -c 'import cryptography' 2>/dev/null") != 0) {
      IDVAULT_SKIP_MISSING_PEER(
          "/usr/bin/python3 cannot import cryptography (Debian python3-cryptography; run "
          "scripts/setup)");
    }
    const std::string command = "/usr/bin/python3 '" IDVAULT_INTEROP_DIR "/gen_vectors.py' '" +
                                (dir_ / "bundle").string() + "' " + GetParam();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  idvault::testing::TempDir dir_{"idvault-vectors"};
};

void expect_file(const std::optional<DecryptedFile>& got, const nlohmann::json& want,
                 const std::string& what) {
  ASSERT_TRUE(got.has_value()) << what;
  ASSERT_FALSE(got->missing()) << what;
  EXPECT_EQ(sha256_hex(*got->plaintext), want.get<std::string>()) << what;
}

TEST_P(IndependentEncoder, DecryptsToTheEncodersPlaintexts) {
  const fs::path bundle = dir_ / "bundle";
  const auto manifest = nlohmann::json::parse(read_text(bundle / "manifest.json"));
  const auto key =
      SoftwareServiceKey::from_pem(SecretBytes::from_string(read_text(bundle / "key.pem")));
  const PassportData passport_data = parse_passport_data(read_text(bundle / "passport_data.json"));
  std::map<std::string, std::vector<std::uint8_t>> files;
  for (const auto& entry : fs::directory_iterator(bundle / "files")) {
    const std::string bytes = read_text(entry.path());
    files.emplace(entry.path().filename().string(),
                  std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
  }

  PassportDecryptor decryptor(key);
  const auto result = decryptor.decrypt(
      passport_data,
      [&](std::string_view id) -> std::optional<std::span<const std::uint8_t>> {
        const auto it = files.find(std::string(id));
        if (it == files.end()) return std::nullopt;
        return std::span<const std::uint8_t>(it->second);
      },
      {.expected_nonce = manifest["nonce"].get<std::string>(), .allow_missing_files = false});

  EXPECT_EQ(result.nonce, manifest["nonce"]);
  const auto& elements = manifest["elements"];
  ASSERT_EQ(result.elements.size(), elements.size());
  std::size_t files_checked = 0;
  for (const auto& element : result.elements) {
    const std::string type(to_string(element.type));
    ASSERT_TRUE(elements.contains(type)) << type;
    const auto& want = elements[type];
    if (want.contains("data")) {
      EXPECT_EQ(element.data, want["data"]) << type;
      EXPECT_EQ(sha256_hex(element.data_text), want["data_sha256"]) << type;
    } else {
      EXPECT_TRUE(element.data.is_null()) << type;
    }
    if (want.contains("phone_number")) {
      EXPECT_EQ(element.phone_number, want["phone_number"].get<std::string>());
    }
    if (want.contains("email")) {
      EXPECT_EQ(element.email, want["email"].get<std::string>());
    }
    const auto& want_files = want["files"];
    for (const auto& [slot, file] :
         {std::pair{"front_side", &element.front_side},
          std::pair{"reverse_side", &element.reverse_side}, std::pair{"selfie", &element.selfie}}) {
      EXPECT_EQ(file->has_value(), want_files.contains(slot)) << type << "." << slot;
      if (want_files.contains(slot)) {
        expect_file(*file, want_files[slot], type + "." + slot);
        ++files_checked;
      }
    }
    for (const auto& [slot, list] :
         {std::pair{"files", &element.files}, std::pair{"translation", &element.translation}}) {
      const auto expected = want_files.value(slot, nlohmann::json::array());
      ASSERT_EQ(list->size(), expected.size()) << type << "." << slot;
      for (std::size_t i = 0; i < list->size(); ++i) {
        expect_file((*list)[i], expected[i], type + "." + slot + "[" + std::to_string(i) + "]");
        ++files_checked;
      }
    }
  }
  EXPECT_EQ(files_checked, files.size());
  if (GetParam() == "pad_sweep") {
    EXPECT_EQ(manifest["pads"].size(), 224u);  // every padding length 32..255 was exercised
  }
  if (GetParam() == "tdlib") {
    for (const auto& pad : manifest["pads"]) EXPECT_LE(pad.get<int>(), 47);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, IndependentEncoder,
                         ::testing::Values("android", "tdlib", "legacy", "pad_sweep"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace idvault::vault
