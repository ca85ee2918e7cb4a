// Fixtures for tests/pkcs11: a fresh SoftHSM token, the module, the resolved Token, and
// optionally a login; plus a counter of Cryptoki calls seen at the layer's choke point.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pkcs11/login.h"
#include "pkcs11/module.h"
#include "pkcs11/token.h"
#include "pkcs11/token_resolver.h"
#include "pkcs11/uri.h"
#include "tests/support/softhsm_token.h"

namespace idvault::p11::test {

// Counts Cryptoki calls by function name, through set_call_observer.
class CallCounter {
 public:
  CallCounter() {
    reset();
    set_call_observer(&CallCounter::observe);
  }
  ~CallCounter() { set_call_observer(nullptr); }
  CallCounter(const CallCounter&) = delete;
  CallCounter& operator=(const CallCounter&) = delete;

  static int count(const std::string& function) {
    std::lock_guard lock(mutex());
    auto it = counts().find(function);
    return it == counts().end() ? 0 : it->second;
  }
  static void reset() {
    std::lock_guard lock(mutex());
    counts().clear();
  }

 private:
  static void observe(std::string_view function, CK_RV) noexcept {
    try {
      std::lock_guard lock(mutex());
      ++counts()[std::string(function)];
    } catch (...) {
    }
  }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::map<std::string, int>& counts() {
    static std::map<std::string, int> c;
    return c;
  }
};

class TokenTest : public ::testing::Test {
 protected:
  idvault::testing::SoftHsmToken softhsm{"test"};
  std::shared_ptr<Module> module = Module::load(softhsm.module_path());
  std::shared_ptr<Token> token = resolve_token(module, Uri::parse(softhsm.uri()));
};

class LoggedInTest : public TokenTest {
 protected:
  Login login = Login::open(token, softhsm.pin());
};

}  // namespace idvault::p11::test
