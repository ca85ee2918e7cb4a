// Switches of the fault-injecting module (fault_module.cpp), for tests that load it.
#pragma once

#include <dlfcn.h>

#include <stdexcept>

#include "pkcs11/cryptoki.h"

namespace idvault::p11::test {

class FaultControl {
 public:
  // The module must already be loaded (Module::load(IDVAULT_FAULT_MODULE)).
  FaultControl() : handle_(dlopen(IDVAULT_FAULT_MODULE, RTLD_NOW | RTLD_NOLOAD)) {
    if (handle_ == nullptr) throw std::runtime_error("fault module not loaded");
    set_flags_ =
        reinterpret_cast<void (*)(CK_FLAGS)>(dlsym(handle_, "idvault_fault_set_token_flags"));
    set_login_ =
        reinterpret_cast<void (*)(int, CK_RV)>(dlsym(handle_, "idvault_fault_set_login_result"));
    set_removed_ = reinterpret_cast<void (*)(int)>(dlsym(handle_, "idvault_fault_set_removed"));
    if (set_flags_ == nullptr || set_login_ == nullptr || set_removed_ == nullptr) {
      throw std::runtime_error("fault module lacks its switches");
    }
  }
  FaultControl(const FaultControl&) = delete;
  FaultControl& operator=(const FaultControl&) = delete;
  ~FaultControl() {
    set_flags_(0);
    set_login_(0, CKR_OK);
    set_removed_(0);
    dlclose(handle_);
  }

  void token_flags(CK_FLAGS flags) { set_flags_(flags); }
  void force_login_result(CK_RV rv) { set_login_(1, rv); }
  void real_login() { set_login_(0, CKR_OK); }
  void remove_token(bool removed = true) { set_removed_(removed ? 1 : 0); }

 private:
  void* handle_;
  void (*set_flags_)(CK_FLAGS) = nullptr;
  void (*set_login_)(int, CK_RV) = nullptr;
  void (*set_removed_)(int) = nullptr;
};

}  // namespace idvault::p11::test
