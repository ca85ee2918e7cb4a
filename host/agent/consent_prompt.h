// Consent the agent obtains itself, from a program the holder configured (like
// ssh-askpass or pinentry): a client's word is never enough to share documents.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace idvault::agent {

// The consent program's only argument, the same for every request.
inline constexpr const char* kConsentArgument = "idvault: a service asks for documents";

struct ConsentRequest {
  std::string summary;     // one human-readable line: who asks for what
  nlohmann::json details;  // the same, structured: service_id, elements and parts, missing
};

class ConsentPrompt {
 public:
  // program: run with kConsentArgument as its only argument and the details as one line
  // of JSON on its standard input, the summary among them ("summary"); exit status 0
  // means yes. Empty: every request is refused. Nothing about the request goes in argv,
  // which every user can read in /proc/PID/cmdline.
  ConsentPrompt(std::string program, std::chrono::seconds timeout)
      : program_(std::move(program)), timeout_(timeout) {}

  // True only if the program ran and said yes within the time-out. A program that cannot
  // be started, crashes, or takes too long is a no.
  [[nodiscard]] bool ask(const ConsentRequest& request) const;
  [[nodiscard]] bool configured() const noexcept { return !program_.empty(); }

 private:
  std::string program_;
  std::chrono::seconds timeout_;
};

}  // namespace idvault::agent
