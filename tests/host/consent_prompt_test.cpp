// ConsentPrompt (host/agent/consent_prompt.h) with real programs: yes is exit status 0
// and nothing else; the program sees the summary and the details; one that takes too
// long is killed and counts as no.
#include "host/agent/consent_prompt.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

TEST_F(ConsentPromptTest, TheProgramSeesTheSummaryAndTheDetails) {
  const fs::path seen = dir_ / "seen";
  const fs::path prompt =
      script("prompt", "printf '%s\\n' \"$1\" >'" + seen.string() + "'; cat >>'" + seen.string() +
                           "'; grep -q 424242 '" + seen.string() + "'");
  EXPECT_TRUE(ConsentPrompt(prompt.string(), std::chrono::seconds(30)).ask(request()));
  std::ifstream file(seen);
  const std::string text((std::istreambuf_iterator<char>(file)), {});
  EXPECT_NE(text.find("Share with service 424242: passport"), std::string::npos) << text;
  EXPECT_NE(text.find(R"({"service_id":"424242"})"), std::string::npos) << text;
}

TEST_F(ConsentPromptTest, AProgramThatTakesTooLongIsKilledAndMeansNo) {
  // Would exit 0 after 30 s (exec: the process the prompt kills is the one that sleeps);
  // the time-out is 1 s.
  const fs::path slow = script("slow", "exec sleep 30");
  EXPECT_FALSE(ConsentPrompt(slow.string(), std::chrono::seconds(1)).ask(request()));
}

}  // namespace
