// The same share decrypted by idvault-rp on the HSM and by python-telegram-bot 13 with
// the same key in software gives the same values: the service side stays wire-compatible
// with the Bot API's own decoder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "tests/host/rp/service_side_fixture.h"
#include "tests/support/missing_peer.h"
#include "vault/keys/software_keys.h"

using namespace idvault;
using namespace idvault::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RpPtbInteropTest : public ServiceSideTest {
 protected:
  // A holder's share of every type, for a key both sides hold, and its files on disk by
  // file_id, as a bot that fetched them would have them.
  struct Share {
    std::string key_uri;
    fs::path key_pem;
    json bundle;
    json passport_data;
    fs::path files_dir;
  };

  Share make_share() {
    Share share;
    // PTB needs the private key in a file, so this key is made in software and imported
    // into the token: the HSM still does idvault-rp's RSA step.
    const auto software = vault::SoftwareServiceKey::generate(2048);
    share.key_pem = write("key.pem", std::string(software.private_key_pem().reveal_text()));
    fs::permissions(share.key_pem, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(run_process({"/usr/bin/softhsm2-util", "--import", share.key_pem.string(), "--token",
                           "service", "--label", "imported", "--id", "0a0b", "--pin", kDefaultPin})
                  .status,
              0);
    share.key_uri = "pkcs11:token=service;object=imported";

    TestHolder holder(dir_.path());
    holder.put_everything();
    share.bundle =
        json::parse(holder.share(request_link(share.key_uri, all_types_scope(), "ptb-nonce")));
    share.passport_data = share.bundle["passport_data"];
    share.files_dir = dir_ / "files";
    fs::create_directory(share.files_dir);
    for (const auto& [id, text] : share.bundle["files"].items()) {
      const auto bytes = base64_decode(text.get<std::string>(), "test");
      write_file(share.files_dir / id, std::string(bytes.begin(), bytes.end()));
    }
    key_pem_ = share.key_pem;
    files_dir_ = share.files_dir;
    return share;
  }

  // python-telegram-bot's view of a PassportData (ptb_values.py).
  ProcessResult run_ptb(const json& passport_data) {
    const fs::path path = write("ptb_passport_data.json", passport_data.dump());
    return run_process({"/usr/bin/python3", std::string(IDVAULT_RP_TEST_DIR) + "/ptb_values.py",
                        key_pem_.string(), path.string(), files_dir_.string()});
  }

 private:
  fs::path key_pem_;
  fs::path files_dir_;
};

bool ptb_available() {
  return run_process({"/usr/bin/python3", "-c", "import telegram, cryptography"}).status == 0;
}

// idvault-rp's output line against ptb_values.py's: the same nonce, data, plain values
// and plaintext digests. Returns how many files were compared.
std::size_t expect_same_values(const json& ours, const json& theirs) {
  EXPECT_EQ(ours["nonce"], theirs["nonce"]);
  EXPECT_EQ(ours["elements"].size(), theirs["elements"].size());
  std::size_t files_compared = 0;
  for (const json& element : ours["elements"]) {
    const std::string type = element["type"];
    if (!theirs["elements"].contains(type)) {
      ADD_FAILURE() << "python-telegram-bot has no " << type;
      continue;
    }
    const json& want = theirs["elements"][type];
    if (want.contains("data")) {
      EXPECT_EQ(element["data"], want["data"]) << type;
    }
    for (const char* plain : {"phone_number", "email"}) {
      if (want.contains(plain)) {
        EXPECT_EQ(element[plain], want[plain]) << type;
      }
    }
    for (const char* slot : {"front_side", "reverse_side", "selfie", "files", "translation"}) {
      if (!want.contains(slot)) {
        EXPECT_FALSE(element.contains(slot)) << type << "." << slot;
        continue;
      }
      const json list = element[slot].is_array() ? element[slot] : json::array({element[slot]});
      EXPECT_EQ(list.size(), want[slot].size()) << type << "." << slot;
      for (std::size_t i = 0; i < std::min(list.size(), want[slot].size()); ++i) {
        EXPECT_EQ(list[i]["sha256"], want[slot][i]) << type << "." << slot << "[" << i << "]";
        ++files_compared;
      }
    }
  }
  return files_compared;
}

}  // namespace

TEST_F(RpPtbInteropTest, PythonTelegramBotDecryptsTheSameBundleToTheSameValues) {
  if (!ptb_available())
    IDVAULT_SKIP_MISSING_PEER("/usr/bin/python3 lacks python-telegram-bot (run scripts/setup)");
  const Share share = make_share();
  const fs::path bundle_path = write("bundle.json", share.bundle.dump());

  ProcessResult ptb = run_ptb(share.passport_data);
  ASSERT_EQ(ptb.status, 0) << ptb.err;
  std::vector<std::string> args = decrypt_args(share.key_uri);
  args.push_back(bundle_path.string());
  ProcessResult ours = rp(args);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_EQ(expect_same_values(json::parse(ours.out_lines().at(0)), json::parse(ptb.out)),
            share.bundle["files"].size());
}

// Bot API data from before the server added the element hash: python-telegram-bot 13
// decrypts it, and so must a service migrating from it (--files-dir, as a bot has it).
TEST_F(RpPtbInteropTest, ElementsWithoutHashDecryptAsPythonTelegramBotDecryptsThem) {
  if (!ptb_available())
    IDVAULT_SKIP_MISSING_PEER("/usr/bin/python3 lacks python-telegram-bot (run scripts/setup)");
  Share share = make_share();
  for (json& element : share.passport_data["data"]) element.erase("hash");

  ProcessResult ptb = run_ptb(share.passport_data);
  ASSERT_EQ(ptb.status, 0) << ptb.err;
  std::vector<std::string> args = decrypt_args(share.key_uri);
  args.insert(args.end(), {"--files-dir", share.files_dir.string(),
                           write("old_passport_data.json", share.passport_data.dump()).string()});
  ProcessResult ours = rp(args);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_EQ(expect_same_values(json::parse(ours.out_lines().at(0)), json::parse(ptb.out)),
            share.bundle["files"].size());
}
