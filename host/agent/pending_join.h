// A join this agent asked for and the account has not approved yet (cloud join): the
// token stays logged in, so the join can finish without asking for the PIN again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "host/agent/cloud_link.h"
#include "pkcs11/login.h"
#include "pkcs11/token.h"

namespace idvault::agent {

struct PendingJoin {
  std::shared_ptr<p11::Token> token;
  p11::Login login;
  AccountUrl url;
  std::string device_id;
  std::string request_id;
  std::string code;  // the digits both devices show
  std::int64_t expires = 0;
};

}  // namespace idvault::agent
