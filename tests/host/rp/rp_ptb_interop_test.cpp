// The same share decrypted by idvault-rp on the HSM and by python-telegram-bot 13 with
// the same key in software gives the same values: the service side stays wire-compatible
// with the Bot API's own decoder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/host/rp/service_side_fixture.h"
#include "tests/support/missing_peer.h"
#include "vault/base64.h"
#include "vault/software_keys.h"

using namespace idvault;
using namespace idvault::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RpPtbInteropTest : public ServiceSideTest {};

bool ptb_available() {
  return run_process({"/usr/bin/python3", "-c", "import telegram, cryptography"}).status == 0;
}

}  // namespace

TEST_F(RpPtbInteropTest, PythonTelegramBotDecryptsTheSameBundleToTheSameValues) {
  if (!ptb_available())
    IDVAULT_SKIP_MISSING_PEER("/usr/bin/python3 lacks python-telegram-bot (run scripts/setup)");
  // PTB needs the private key in a file, so this key is made in software and imported
  // into the token: the HSM still does idvault-rp's RSA step.
  const auto software = vault::SoftwareServiceKey::generate(2048);
  const fs::path key_pem = write("key.pem", std::string(software.private_key_pem().reveal_text()));
  fs::permissions(key_pem, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_EQ(run_process({"/usr/bin/softhsm2-util", "--import", key_pem.string(), "--token",
                         "service", "--label", "imported", "--id", "0a0b", "--pin", kDefaultPin})
                .status,
            0);
  const std::string key_uri = "pkcs11:token=service;object=imported";

  TestHolder holder(dir_);
  holder.put_everything();
  const json bundle =
      json::parse(holder.share(request_link(key_uri, all_types_scope(), "ptb-nonce")));
  const fs::path files_dir = dir_ / "files";
  fs::create_directory(files_dir);
  for (const auto& [id, text] : bundle["files"].items()) {
    const auto bytes = vault::base64_decode(text.get<std::string>(), "test");
    write_file(files_dir / id, std::string(bytes.begin(), bytes.end()));
  }
  const fs::path passport_data = write("passport_data.json", bundle["passport_data"].dump());
  const fs::path bundle_path = write("bundle.json", bundle.dump());

  ProcessResult ptb =
      run_process({"/usr/bin/python3", std::string(IDVAULT_RP_TEST_DIR) + "/ptb_values.py",
                   key_pem.string(), passport_data.string(), files_dir.string()});
  ASSERT_EQ(ptb.status, 0) << ptb.err;
  const json theirs = json::parse(ptb.out);

  std::vector<std::string> args = decrypt_args(key_uri);
  args.push_back(bundle_path.string());
  ProcessResult ours_run = rp(args);
  ASSERT_EQ(ours_run.status, 0) << ours_run.err;
  const json ours = json::parse(ours_run.out_lines().at(0));

  EXPECT_EQ(ours["nonce"], theirs["nonce"]);
  ASSERT_EQ(ours["elements"].size(), theirs["elements"].size());
  std::size_t files_compared = 0;
  for (const json& element : ours["elements"]) {
    const std::string type = element["type"];
    ASSERT_TRUE(theirs["elements"].contains(type)) << type;
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
      ASSERT_EQ(list.size(), want[slot].size()) << type << "." << slot;
      for (std::size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(list[i]["sha256"], want[slot][i]) << type << "." << slot << "[" << i << "]";
        ++files_compared;
      }
    }
  }
  EXPECT_EQ(files_compared, bundle["files"].size());
}
