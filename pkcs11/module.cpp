#include "pkcs11/module.h"

#include <dlfcn.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "pkcs11/padded_text.h"
#include "pkcs11/token.h"

namespace idvault::p11 {

namespace {

std::atomic<CallObserver> g_observer{nullptr};

// The registry that makes "one C_Initialize per module per process" true. Entries are
// weak: the module finalizes when its last user lets go, and a later load starts afresh.
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<Module>> modules;
};

Registry& registry() {
  // Built before the first Module, so destroyed after any static that holds one.
  static Registry instance;
  return instance;
}

// Owns a dlopen handle until a Module takes it.
struct LibraryHandle {
  void* handle = nullptr;
  explicit LibraryHandle(void* h) : handle(h) {}
  LibraryHandle(const LibraryHandle&) = delete;
  LibraryHandle& operator=(const LibraryHandle&) = delete;
  LibraryHandle(LibraryHandle&&) = delete;
  LibraryHandle& operator=(LibraryHandle&&) = delete;
  ~LibraryHandle() {
    if (handle != nullptr) dlclose(handle);
  }
  void* release() noexcept { return std::exchange(handle, nullptr); }
};

}  // namespace

void set_call_observer(CallObserver observer) noexcept {
  g_observer.store(observer, std::memory_order_release);
}

void Module::notify(const char* name, CK_RV rv) noexcept {
  if (auto* observer = g_observer.load(std::memory_order_acquire)) observer(name, rv);
}

std::shared_ptr<Module> Module::load(const std::filesystem::path& path) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(path, ec);
  if (ec) throw ModuleLoadError(path.string(), ec.message());
  if (!std::filesystem::is_regular_file(real, ec))
    throw ModuleLoadError(path.string(), "not a regular file");

  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  if (auto it = reg.modules.find(real.string()); it != reg.modules.end()) {
    if (auto existing = it->second.lock()) return existing;
  }

  // RTLD_LOCAL: two modules exporting the same C_* symbols must not see each other's.
  LibraryHandle library(dlopen(real.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library.handle == nullptr) {
    const char* why = dlerror();  // NOLINT(concurrency-mt-unsafe): glibc keeps it per thread
    throw ModuleLoadError(path.string(), why != nullptr ? why : "dlopen failed");
  }
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(library.handle, "C_GetFunctionList"));
  if (get_function_list == nullptr) {
    throw ModuleLoadError(path.string(), "not a PKCS#11 module (it has no C_GetFunctionList)");
  }
  CK_FUNCTION_LIST* functions = nullptr;
  const CK_RV list_rv = get_function_list(&functions);
  notify("C_GetFunctionList", list_rv);
  if (list_rv != CKR_OK || functions == nullptr) {
    throw ModuleLoadError(path.string(), "C_GetFunctionList failed: " + rv_name(list_rv), list_rv);
  }

  // CKF_OS_LOCKING_OK: without it SoftHSM turns its own locks off, and we call it from
  // several threads. pReserved stays NULL: SoftHSM rejects anything else.
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  args.pReserved = nullptr;
  const CK_RV init_rv = functions->C_Initialize(&args);
  notify("C_Initialize", init_rv);
  // Already initialised by someone else in this process (e.g. p11-kit's proxy loaded the
  // same library): usable, but not ours to finalize.
  if (init_rv != CKR_OK && init_rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    throw ModuleLoadError(path.string(), "C_Initialize failed: " + rv_name(init_rv), init_rv);
  }

  auto module =
      std::make_shared<Module>(Private{}, real, library.release(), functions, init_rv == CKR_OK);
  reg.modules[real.string()] = module;
  return module;
}

Module::Module(Private, std::filesystem::path path, void* library, CK_FUNCTION_LIST* functions,
               bool owns_init)
    : path_(std::move(path)), library_(library), functions_(functions), owns_init_(owns_init) {
  CK_INFO info{};
  if (call(IDVAULT_P11_FN(C_GetInfo), &info) == CKR_OK) {
    description_ = padded_text(info.manufacturerID) + " " + padded_text(info.libraryDescription) +
                   " " + std::to_string(info.libraryVersion.major) + "." +
                   std::to_string(info.libraryVersion.minor);
  }
}

Module::~Module() {
  if (owns_init_) notify("C_Finalize", functions_->C_Finalize(nullptr));
  // The registry entry is already expired; remove it unless a newer load replaced it.
  {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    if (auto it = reg.modules.find(path_.string());
        it != reg.modules.end() && it->second.expired()) {
      reg.modules.erase(it);
    }
  }
  dlclose(library_);
}

CK_INFO Module::info() const {
  CK_INFO info{};
  check(IDVAULT_P11_FN(C_GetInfo), "", &info);
  return info;
}

void Module::reinitialize() {
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  args.pReserved = nullptr;
  const CK_RV rv = call(IDVAULT_P11_FN(C_Initialize), &args);
  // Another caller got there first: just as good.
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
    throw ModuleLoadError(path_.string(), "C_Initialize failed: " + rv_name(rv), rv);
  // Sessions, logins and object handles did not survive the old initialisation.
  std::vector<std::shared_ptr<Token>> tokens;
  {
    std::lock_guard lock(tokens_mutex_);
    for (auto& [slot, entry] : tokens_) {
      if (auto token = entry.lock()) tokens.push_back(std::move(token));
    }
  }
  for (const auto& token : tokens) token->mark_gone();
}

std::vector<CK_SLOT_ID> Module::slots_with_token() const {
  // The list can grow between the two calls (hot-plug); retry on CKR_BUFFER_TOO_SMALL.
  for (;;) {
    CK_ULONG count = 0;
    check(IDVAULT_P11_FN(C_GetSlotList), "", CK_TRUE, nullptr, &count);
    std::vector<CK_SLOT_ID> slots(count);
    const CK_RV rv = call(IDVAULT_P11_FN(C_GetSlotList), CK_TRUE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;
    if (rv != CKR_OK) throw Pkcs11Error(rv, "C_GetSlotList", "");
    slots.resize(count);
    return slots;
  }
}

std::shared_ptr<Token> Module::token_at(CK_SLOT_ID slot) {
  std::lock_guard lock(tokens_mutex_);
  auto& entry = tokens_[slot];
  // A Token marked gone stays gone (its sessions and handles are dead) even when the same
  // token is back in the slot: the caller gets a new one.
  if (auto existing = entry.lock(); existing && !existing->gone() && existing->present_in_slot())
    return existing;
  auto token = std::make_shared<Token>(shared_from_this(), slot);
  entry = token;
  return token;
}

}  // namespace idvault::p11
