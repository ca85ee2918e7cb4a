// idvault-rp keygen -> request -> a holder's share -> decrypt, as real processes on a
// throwaway SoftHSM2 token, and every way an input can be wrong.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "tests/host/rp/service_side_fixture.h"
#include "tests/support/deep_json.h"
#include "vault/model/auth_link.h"

using namespace idvault;
using namespace idvault::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RpDecryptTest : public ServiceSideTest {
 protected:
  void SetUp() override {
    ServiceSideTest::SetUp();
    key_ = make_service_key();
    holder_ = std::make_unique<TestHolder>(dir_.path());
    holder_->put_everything();
  }

  // A fresh share of everything for nonce.
  std::string bundle_for(const std::string& nonce) {
    return holder_->share(request_link(key_, all_types_scope(), nonce));
  }

  std::string key_;
  std::unique_ptr<TestHolder> holder_;
};

void expect_files_match(const json& slot, const std::vector<std::string>& expected,
                        const std::string& where) {
  const json list = slot.is_array() ? slot : json::array({slot});
  ASSERT_EQ(list.size(), expected.size()) << where;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(list[i].value("sha256", ""), sha256_hex_of(expected[i])) << where << "[" << i << "]";
    EXPECT_EQ(list[i].value("size", 0u), expected[i].size()) << where << "[" << i << "]";
  }
}

}  // namespace

TEST_F(RpDecryptTest, KeygenPrintsAnRsaPublicKeyAndRefusesADuplicateLabel) {
  const std::string pem = read_file(dir_ / "rp.pem");
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  ProcessResult again = rp({"keygen", "--module", module_, "--token", "pkcs11:token=service",
                            "--label", "rp", "--pin-file", pin_file_.string()});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("already has a private key labelled 'rp'"), std::string::npos)
      << again.err;
  ProcessResult bad_bits = rp({"keygen", "--module", module_, "--token", "pkcs11:token=service",
                               "--label", "x", "--bits", "1024", "--pin-file", pin_file_.string()});
  EXPECT_EQ(bad_bits.status, 2);
  EXPECT_NE(bad_bits.err.find("--bits"), std::string::npos);
}

TEST_F(RpDecryptTest, RequestLinkCarriesTheTokensPublicKeyScopeAndNonce) {
  const std::string link = request_link(key_, "passport,email", "nonce-1");
  const vault::AuthorizationRequest request = vault::parse_authorization_link(link);
  EXPECT_EQ(request.public_key_pem, read_file(dir_ / "rp.pem"));
  EXPECT_EQ(request.nonce, "nonce-1");
  EXPECT_EQ(request.service_id, "test-service");
  EXPECT_TRUE(request.scope.contains(vault::ElementType::passport));
  EXPECT_TRUE(request.scope.contains(vault::ElementType::email));
  // The same from a PEM file, and Telegram's form.
  ProcessResult tg = rp({"request", "--public-key", (dir_ / "rp.pem").string(), "--scope",
                         "personal_details", "--nonce", "n2", "--service-id", "12345", "--format",
                         "tg", "--callback", "https://service.example/cb"});
  ASSERT_EQ(tg.status, 0) << tg.err;
  EXPECT_EQ(tg.out.rfind("tg://resolve?domain=telegrampassport", 0), 0u);
  EXPECT_EQ(vault::parse_authorization_link(tg.out_lines().at(0)).callback_url,
            "https://service.example/cb");
  // Bad scope: one clear line, status 1.
  ProcessResult bad = rp({"request", "--public-key", (dir_ / "rp.pem").string(), "--scope",
                          "passport,nonsense", "--nonce", "n"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err_lines().size(), 1u);
}

TEST_F(RpDecryptTest, EveryElementTypeWithItsFilesDecryptsOnTheHsm) {
  const fs::path bundle = write("bundle.json", bundle_for("nonce-all"));
  const fs::path out_dir = dir_ / "plain";
  std::vector<std::string> args = decrypt_args(key_);
  args.insert(args.end(), {"--nonce", "nonce-all", "--out-dir", out_dir.string(), bundle.string()});
  ProcessResult result = rp(args);
  ASSERT_EQ(result.status, 0) << result.err;
  ASSERT_EQ(result.out_lines().size(), 1u);
  const json report = json::parse(result.out_lines()[0]);
  EXPECT_EQ(report["nonce"], "nonce-all");
  EXPECT_EQ(report["receipt"]["valid"], true);
  EXPECT_EQ(report["receipt"]["holder_key"],
            vault::key_fingerprint(holder_->identity().public_key_spki_der()));
  ASSERT_EQ(report["elements"].size(), 13u);
  for (const json& element : report["elements"]) {
    const std::string type = element["type"];
    const json& want = holder_->put_data[type];
    if (want.contains("data")) {
      for (const auto& [field, value] : want["data"].items()) {
        EXPECT_EQ(element["data"][field], value) << type << "." << field;
      }
    }
    if (type == "phone_number") {
      EXPECT_EQ(element["phone_number"], want["value"]);
    }
    if (type == "email") {
      EXPECT_EQ(element["email"], want["value"]);
    }
    for (const auto& [slot, files] : holder_->put_files[type]) {
      ASSERT_TRUE(element.contains(slot)) << type << "." << slot;
      expect_files_match(element[slot], files, type + "." + slot);
      // --out-dir: the plaintext itself, private to the service's user.
      const json list = element[slot].is_array() ? element[slot] : json::array({element[slot]});
      for (std::size_t i = 0; i < files.size(); ++i) {
        const fs::path path = list[i]["path"].get<std::string>();
        EXPECT_EQ(read_file(path), files[i]) << path;
        EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
                  fs::perms::owner_read | fs::perms::owner_write);
      }
    }
  }
  EXPECT_TRUE(report["attestations"].empty());
}

TEST_F(RpDecryptTest, BarePassportDataTakesItsFilesFromFilesDir) {
  const json bundle = json::parse(bundle_for("nonce-bare"));
  const fs::path files_dir = dir_ / "files";
  fs::create_directory(files_dir);
  bool first = true;
  std::string dropped;
  for (const auto& [id, text] : bundle["files"].items()) {
    if (first) {  // one file the bot "could not download": reported missing, not fatal
      first = false;
      dropped = id;
      continue;
    }
    const auto bytes = base64_decode(text.get<std::string>(), "test");
    write_file(files_dir / id, std::string(bytes.begin(), bytes.end()));
  }
  const fs::path passport_data = write("passport_data.json", bundle["passport_data"].dump());
  std::vector<std::string> args = decrypt_args(key_);
  args.insert(args.end(), {"--files-dir", files_dir.string(), passport_data.string()});
  ProcessResult result = rp(args);
  ASSERT_EQ(result.status, 0) << result.err;
  const json report = json::parse(result.out_lines().at(0));
  EXPECT_TRUE(report["receipt"].is_null());
  std::size_t missing = 0;
  std::size_t present = 0;
  for (const json& element : report["elements"]) {
    for (const char* slot : {"front_side", "reverse_side", "selfie", "files", "translation"}) {
      if (!element.contains(slot)) continue;
      const json list = element[slot].is_array() ? element[slot] : json::array({element[slot]});
      for (const json& file : list) {
        if (file.value("missing", false)) {
          ++missing;
          EXPECT_EQ(file["file_id"], dropped);
        } else {
          ++present;
          EXPECT_EQ(file["sha256"].get<std::string>().size(), 64u);
        }
      }
    }
  }
  EXPECT_EQ(missing, 1u);
  EXPECT_EQ(present, bundle["files"].size() - 1);
}

TEST_F(RpDecryptTest, EachBadInputGetsOneLineAndTheOthersAreStillDecrypted) {
  const std::string good_text = bundle_for("n-good");
  const fs::path good = write("good.json", good_text);
  const json original = json::parse(bundle_for("n-bad"));

  const auto variant = [&](const std::string& name, const std::function<void(json&)>& change) {
    json copy = original;
    change(copy);
    return write(name, copy.dump()).string();
  };
  // Flip one base64 character in the middle of a string, keeping it valid base64.
  const auto flip = [](std::string text) {
    char& c = text[text.size() / 2];
    c = c == 'A' ? 'B' : 'A';
    return text;
  };
  std::vector<std::string> bad = {
      variant("data.json",
              [&](json& b) {
                for (auto& e : b["passport_data"]["data"]) {
                  if (e["type"] == "passport") e["data"] = flip(e["data"]);
                }
              }),
      variant("file.json",
              [&](json& b) {
                auto it = b["files"].begin();
                it.value() = flip(it.value().get<std::string>());
              }),
      variant("credentials.json",
              [&](json& b) {
                b["passport_data"]["credentials"]["data"] =
                    flip(b["passport_data"]["credentials"]["data"]);
              }),
      variant("secret.json",
              [&](json& b) {
                b["passport_data"]["credentials"]["secret"] =
                    flip(b["passport_data"]["credentials"]["secret"]);
              }),
      variant("receipt.json",
              [&](json& b) {
                b["receipt"]["signed"]["time"] = b["receipt"]["signed"]["time"].get<long>() + 1;
              }),
      variant("receipt-elements.json",
              [&](json& b) {
                b["passport_data"]["data"].erase(b["passport_data"]["data"].size() - 1);
              }),
      write("junk.json", "{\"passport_data\": [1,2").string(),
      write("not-json.json", "hello").string(),
  };
  // A share for another service's key.
  const std::string other_key = make_service_key("other");
  bad.push_back(
      write("other-key.json", holder_->share(request_link(other_key, "passport", "n-good")))
          .string());

  std::vector<std::string> args = decrypt_args(key_);
  args.insert(args.end(), {"--nonce", "n-good", "--jobs", "2"});
  args.push_back(bad[0]);
  args.push_back(good.string());
  args.insert(args.end(), bad.begin() + 1, bad.end());
  ProcessResult result = rp(args);
  EXPECT_EQ(result.status, 1);
  ASSERT_EQ(result.out_lines().size(), 1u) << result.err;
  EXPECT_EQ(json::parse(result.out_lines()[0])["nonce"], "n-good");
  // One line per bad input, naming it; the wrong nonce (n-bad) is one of the causes.
  const auto lines = result.err_lines();
  ASSERT_EQ(lines.size(), bad.size()) << result.err;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_NE(lines[i].find(bad[i]), std::string::npos) << lines[i];
  }
  EXPECT_NE(result.err.find("other-key.json: credentials: decryption failed"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("junk.json: bundle"), std::string::npos) << result.err;

  // The wrong nonce alone: the receipt and hashes are fine, the nonce is not ours.
  std::vector<std::string> nonce_args = decrypt_args(key_);
  nonce_args.insert(nonce_args.end(),
                    {"--nonce", "n-good", write("n-bad.json", original.dump()).string()});
  ProcessResult wrong_nonce = rp(nonce_args);
  EXPECT_EQ(wrong_nonce.status, 1);
  EXPECT_NE(wrong_nonce.err.find("n-bad.json: credentials.nonce: does not match"),
            std::string::npos)
      << wrong_nonce.err;
}

// Issue 13.3: arrays 200,000 deep in receipt.signed overflowed the stack in a recursive
// copy (SIGSEGV). Every member the reader parses refuses such nesting in one line, and the
// good bundle beside them is still decrypted.
TEST_F(RpDecryptTest, DeeplyNestedMembersAreRefusedAndTheProcessLives) {
  const json original = json::parse(bundle_for("n-deep"));
  std::vector<std::string> deep;
  for (const char* where : {"/receipt/signed", "/passport_data/data/0/data", "/attestations",
                            "/passport_data/credentials"}) {
    const std::string name = "deep-" + std::to_string(deep.size()) + ".json";
    deep.push_back(write(name, with_deep_nesting(original, json::json_pointer(where))).string());
  }
  std::vector<std::string> args = decrypt_args(key_);
  args.insert(args.end(), deep.begin(), deep.end());
  args.push_back(write("good.json", original.dump()).string());
  ProcessResult result = rp(args);
  EXPECT_EQ(result.status, 1) << result.err;
  ASSERT_EQ(result.out_lines().size(), 1u) << result.err;
  EXPECT_EQ(json::parse(result.out_lines()[0])["nonce"], "n-deep");
  const auto lines = result.err_lines();
  ASSERT_EQ(lines.size(), deep.size()) << result.err;
  for (std::size_t i = 0; i < deep.size(); ++i) {
    EXPECT_NE(lines[i].find(deep[i]), std::string::npos) << lines[i];
    EXPECT_NE(lines[i].find("nested deeper than 64 levels"), std::string::npos) << lines[i];
  }
}

// Issue 13.20: a file_id or member name the sender picked reached stderr cut but not
// escaped, so a terminal ran its escape sequences. Now they come out as \xNN.
TEST_F(RpDecryptTest, NamesTheSenderPickedAreEscapedInErrors) {
  const std::string hostile = "\x1b[2J\x1b[31mpwned\r\n";
  json bundle = json::parse(bundle_for("n-names"));
  json files_key = bundle;
  files_key["files"][hostile] = 5;  // not a base64 string: an error naming the member
  json bare = bundle["passport_data"];
  for (auto& element : bare["data"]) {
    if (element.contains("files")) element["files"][0]["file_id"] = "../" + hostile;
  }
  const fs::path files_dir = dir_ / "files";
  fs::create_directory(files_dir);
  std::vector<std::string> args = decrypt_args(key_);
  args.insert(
      args.end(),
      {"--files-dir", files_dir.string(), write("files-key.json", files_key.dump()).string(),
       write("bare.json", bare.dump()).string(),
       // an unknown member whose value is cut short
       write("top-key.json", R"({"\u001b[2J\u001b[31mpwned\r\n":{"a":1)").string()});
  ProcessResult result = rp(args);
  EXPECT_EQ(result.status, 1);
  ASSERT_EQ(result.err_lines().size(), 3u) << result.err;
  EXPECT_EQ(result.err.find('\x1b'), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\r'), std::string::npos) << result.err;
  EXPECT_NE(
      result.err.find(R"(bundle.files."\x1b[2J\x1b[31mpwned\x0d\x0a": must be a base64 string)"),
      std::string::npos)
      << result.err;
  EXPECT_NE(
      result.err.find(R"(file_id "../\x1b[2J\x1b[31mpwned\x0d\x0a" is not a plain file name)"),
      std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(R"(bundle."\x1b[2J\x1b[31mpwned\x0d\x0a")"), std::string::npos)
      << result.err;
}

TEST_F(RpDecryptTest, JobsKeepInputOrder) {
  std::vector<std::string> args = decrypt_args(key_);
  args.insert(args.end(), {"--jobs", "3"});
  for (int i = 0; i < 6; ++i)
    args.push_back(
        write("b" + std::to_string(i) + ".json", bundle_for("n" + std::to_string(i))).string());
  ProcessResult result = rp(args);
  ASSERT_EQ(result.status, 0) << result.err;
  const auto lines = result.out_lines();
  ASSERT_EQ(lines.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(json::parse(lines[i])["nonce"], "n" + std::to_string(i));
}

TEST_F(RpDecryptTest, PinComesFromAFileOrATerminalNeverFromArgv) {
  const fs::path bundle = write("b.json", bundle_for("n"));
  // No --pin-file and no terminal (the test runs it in its own session).
  ProcessResult no_pin = rp({"decrypt", "--module", module_, "--key", key_, bundle.string()});
  EXPECT_EQ(no_pin.status, 1);
  EXPECT_NE(
      no_pin.err.find("no terminal to ask for the PIN: use --pin-file F or set IDVAULT_PINENTRY"),
      std::string::npos)
      << no_pin.err;
  ProcessResult argv_pin =
      rp({"decrypt", "--module", module_, "--key", key_, "--pin", "1234", bundle.string()});
  EXPECT_EQ(argv_pin.status, 2);
  // A wrong PIN is the token's answer, in one line.
  const fs::path wrong = write("wrong-pin", "9999\n");
  fs::permissions(wrong, fs::perms::owner_read);
  ProcessResult wrong_pin = rp({"decrypt", "--module", module_, "--key", key_, "--pin-file",
                                wrong.string(), bundle.string()});
  EXPECT_EQ(wrong_pin.status, 1);
  EXPECT_NE(wrong_pin.err.find("CKR_PIN_INCORRECT"), std::string::npos) << wrong_pin.err;
}

TEST_F(RpDecryptTest, OutDirNamesFilesItselfAndNeverOverwrites) {
  // The sender renames its files (file_id is covered by no receipt) to names of files the
  // service keeps in the out folder, or to a way out of it.
  json bundle = json::parse(holder_->share(
      request_link(key_, R"({"data":[{"type":"passport","selfie":true}],"v":1})", "nonce-names")));
  json& passport = bundle["passport_data"]["data"][0];
  ASSERT_EQ(passport["type"], "passport");
  const auto rename = [&](json& file, const std::string& to) {
    const std::string from = file["file_id"];
    bundle["files"][to] = bundle["files"][from];
    bundle["files"].erase(from);
    file["file_id"] = to;
  };
  rename(passport["front_side"], "trusted-verifier.pem");
  rename(passport["selfie"], "../escaped.pem");
  const fs::path out_dir = dir_ / "plain";
  fs::create_directories(out_dir);
  write_file(out_dir / "trusted-verifier.pem", "the service's own key\n");
  const fs::path input = write("renamed.json", bundle.dump());
  std::vector<std::string> args = decrypt_args(key_);
  args.insert(args.end(), {"--out-dir", out_dir.string(), input.string()});

  ProcessResult result = rp(args);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(read_file(out_dir / "trusted-verifier.pem"), "the service's own key\n");
  EXPECT_FALSE(fs::exists(dir_ / "escaped.pem"));
  const json report = json::parse(result.out_lines().at(0));
  const json& element = report["elements"][0];
  for (const char* slot : {"front_side", "selfie"}) {
    const fs::path path = element[slot]["path"].get<std::string>();
    EXPECT_EQ(path.parent_path(), out_dir) << path;
    const std::string name = path.filename().string();
    EXPECT_EQ(name.substr(16), std::string("-passport-") + slot + ".jpg") << name;
    EXPECT_EQ(read_file(path), holder_->put_files["passport"][slot][0]);
  }

  // The same share again: its files exist, so it is refused with a clear error and the
  // files already there stay as they were.
  const fs::path front = element["front_side"]["path"].get<std::string>();
  write_file(front, "kept");
  ProcessResult again = rp(args);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("refusing to overwrite"), std::string::npos) << again.err;
  EXPECT_EQ(read_file(front), "kept");
}
