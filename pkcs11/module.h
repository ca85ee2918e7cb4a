// Module: one loaded, initialised PKCS#11 library, shared by everyone in the process.
//
// A module may be initialised once per process (a second C_Initialize returns
// CKR_CRYPTOKI_ALREADY_INITIALIZED, and C_Finalize from one user would pull the rug from
// another), so modules come only from Module::load(), which keys a process-wide registry
// by realpath(): a symlink and its target give the same Module. The last shared_ptr to go
// calls C_Finalize and dlclose.
//
// Every Cryptoki call in this layer goes through call(): the one choke point that knows
// the function's name, reports (name, CK_RV) to the call observer and never sees or logs
// arguments.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/cryptoki.h"
#include "pkcs11/error.h"

namespace idvault::p11 {

class Token;

// Called after every Cryptoki call with the function name and its result; for logging,
// tracing and tests. Must not throw. Process-wide; nullptr turns it off.
using CallObserver = void (*)(std::string_view function, CK_RV rv) noexcept;
void set_call_observer(CallObserver observer) noexcept;

// Names a CK_FUNCTION_LIST member together with its spelling, for Module::call.
#define IDVAULT_P11_FN(name) &CK_FUNCTION_LIST::name, #name

class Module : public std::enable_shared_from_this<Module> {
 public:
  // Loads (or returns the already loaded) module at path. Throws ModuleLoadError naming
  // the path when it does not exist, cannot be dlopen'ed, has no C_GetFunctionList, or
  // C_Initialize fails.
  static std::shared_ptr<Module> load(const std::filesystem::path& path);

  // Shared and registered by realpath: a copy would finalize the library twice.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;
  ~Module();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // "<manufacturer> <library description> <major>.<minor>", e.g. "SoftHSM Implementation of
  // PKCS11 2.6".
  [[nodiscard]] const std::string& description() const noexcept { return description_; }
  [[nodiscard]] CK_INFO info() const;

  // The choke point. Returns the CK_RV; callers that want an exception use check().
  template <typename Fn, typename... Args>
  CK_RV call(Fn CK_FUNCTION_LIST::*fn, const char* name, Args... args) const {
    const CK_RV rv = (functions_->*fn)(args...);
    notify(name, rv);
    return rv;
  }

  // call(), throwing Pkcs11Error(rv, name, token_label) on failure. For calls that are
  // not bound to a token (C_GetSlotList, C_GetInfo); token calls go through Token::check.
  template <typename Fn, typename... Args>
  void check(Fn CK_FUNCTION_LIST::*fn, const char* name, const std::string& token_label,
             Args... args) const {
    const CK_RV rv = call(fn, name, args...);
    if (rv != CKR_OK) throw Pkcs11Error(rv, name, token_label);
  }

  // After CKR_CRYPTOKI_NOT_INITIALIZED (the library lost its state: a network HSM's client
  // restarted, a fork): C_Initialize again (CKR_CRYPTOKI_ALREADY_INITIALIZED counts as
  // done) and mark every Token of this module gone, so callers find their token anew and
  // log in again. Throws ModuleLoadError when C_Initialize fails.
  void reinitialize();

  // Slots that have a token present (C_GetSlotList(CK_TRUE)).
  [[nodiscard]] std::vector<CK_SLOT_ID> slots_with_token() const;

  // The Token object for a slot; the same object for as long as anyone holds it, so its
  // session pool and its memory of rejected PINs are shared.
  std::shared_ptr<Token> token_at(CK_SLOT_ID slot);

 private:
  struct Private {};

 public:
  Module(Private, std::filesystem::path path, void* library, CK_FUNCTION_LIST* functions,
         bool owns_init);

 private:
  static void notify(const char* name, CK_RV rv) noexcept;

  std::filesystem::path path_;
  std::string description_;
  void* library_;
  CK_FUNCTION_LIST* functions_;
  bool owns_init_;

  std::mutex tokens_mutex_;
  std::map<CK_SLOT_ID, std::weak_ptr<Token>> tokens_;
};

}  // namespace idvault::p11
