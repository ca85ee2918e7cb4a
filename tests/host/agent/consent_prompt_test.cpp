// ConsentPrompt (host/agent/consent_prompt.h) with real programs: yes is exit status 0
// and nothing else; the program sees the summary and the details on its input, and
// nothing of them in its arguments; one that takes too long is killed and counts as no.
#include "host/agent/consent_prompt.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/temp_dir.h"

using idvault::agent::ConsentPrompt;
using idvault::agent::ConsentRequest;
namespace fs = std::filesystem;

namespace {

class ConsentPromptTest : public ::testing::Test {
 protected:
  fs::path script(const std::string& name, const std::string& body) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0700);
    return path;
  }
  static ConsentRequest request() {
    return {"Share with service 424242: passport", {{"service_id", "424242"}}};
  }

  idvault::testing::TempDir dir_{"idvault-consent"};
};

TEST_F(ConsentPromptTest, OnlyExitStatusZeroIsYes) {
  EXPECT_TRUE(ConsentPrompt("/bin/true", std::chrono::seconds(30)).ask(request()));
  EXPECT_FALSE(ConsentPrompt("/bin/false", std::chrono::seconds(30)).ask(request()));
  EXPECT_FALSE(ConsentPrompt((dir_ / "missing").string(), std::chrono::seconds(30)).ask(request()));
  EXPECT_FALSE(ConsentPrompt(script("crash", "kill -SEGV $$").string(), std::chrono::seconds(30))
                   .ask(request()));
  EXPECT_FALSE(ConsentPrompt("", std::chrono::seconds(30)).ask(request()));
}

TEST_F(ConsentPromptTest, TheProgramSeesTheSummaryAndTheDetailsOnItsInput) {
  const fs::path seen = dir_ / "seen";
  const fs::path prompt =
      script("prompt", "cat >'" + seen.string() + "'; grep -q 424242 '" + seen.string() + "'");
  EXPECT_TRUE(ConsentPrompt(prompt.string(), std::chrono::seconds(30)).ask(request()));
  std::ifstream file(seen);
  const std::string text((std::istreambuf_iterator<char>(file)), {});
  const auto input = nlohmann::json::parse(text);
  EXPECT_EQ(input["summary"], "Share with service 424242: passport") << text;
  EXPECT_EQ(input["service_id"], "424242") << text;
}

// Other users read every process's argv in /proc/PID/cmdline: who asks for what stays on
// the prompt's standard input (issue 13.15).
TEST_F(ConsentPromptTest, TheArgumentsSayNothingAboutTheRequest) {
  const fs::path seen = dir_ / "cmdline";
  const fs::path prompt =
      script("prompt", "cat /proc/$$/cmdline >'" + seen.string() + "'; cat >/dev/null");
  EXPECT_TRUE(ConsentPrompt(prompt.string(), std::chrono::seconds(30)).ask(request()));
  std::ifstream file(seen, std::ios::binary);
  const std::string cmdline((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(cmdline.find("424242"), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find("passport"), std::string::npos) << cmdline;
  // /bin/sh runs the script: "/bin/sh\0<script>\0<argument>\0"
  EXPECT_NE(cmdline.find(std::string(idvault::agent::kConsentArgument) + '\0'), std::string::npos)
      << cmdline;
}

TEST_F(ConsentPromptTest, AProgramThatTakesTooLongIsKilledAndMeansNo) {
  // Would exit 0 after 30 s (exec: the process the prompt kills is the one that sleeps);
  // the time-out is 1 s.
  const fs::path slow = script("slow", "exec sleep 30");
  EXPECT_FALSE(ConsentPrompt(slow.string(), std::chrono::seconds(1)).ask(request()));
}

}  // namespace
