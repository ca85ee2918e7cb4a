// A PKCS#11 module for tests: forwards to SoftHSM2 and injects what SoftHSM cannot do
// by itself: token PIN flags (count low, final try, locked), a chosen C_Login result,
// token removal (CKR_DEVICE_REMOVED everywhere, no token in the slot), and scripted
// faults and delays on session-bound calls.
//
// Two ways in. Tests that load the module themselves reach the idvault_fault_* switches
// by dlopen(RTLD_NOLOAD) + dlsym (fault_control.h). Tests that drive it inside another
// process (the agent) write a control file named by $IDVAULT_FAULT_CONTROL, which the
// module re-reads whenever it changes (replace it by rename so a reader never sees half
// a file). One rule a line, '#' starts a comment:
//
//   fail  FUNCTION CKR_NAME COUNT [SKIP]   after SKIP matching calls (default 0) go through,
//                                          the next COUNT return CKR_NAME (-1: all of them)
//   delay FUNCTION MILLISECONDS COUNT [SKIP]   the same, but they sleep and then go through
//   removed 0|1                     the token is (not) pulled out
//   count FUNCTION                  changes nothing; appends "FUNCTION count" to the log
//                                   for every call, so a test counts what the token did
//   removed-token LABEL 0|1         only the token labelled LABEL is (not) pulled out: its
//                                   slot shows no token, its sessions fail
//                                   CKR_DEVICE_REMOVED (logged as "FUNCTION removed LABEL")
//
// FUNCTION is a Cryptoki name (C_Sign) or * for any session-bound call (slot and token
// queries, which a presence poll makes, never match *). Counts restart when the file
// changes. Each injection is appended as one line to $IDVAULT_FAULT_LOG if set, so a test
// can tell that its fault was really hit.
#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

CK_FUNCTION_LIST g_list;
CK_FUNCTION_LIST* g_target = nullptr;
std::atomic<CK_FLAGS> g_extra_flags{0};
std::atomic<CK_RV> g_login_rv{CKR_OK};
std::atomic<bool> g_forced_login{false};
std::atomic<bool> g_removed{false};       // set through idvault_fault_set_removed
std::atomic<bool> g_file_removed{false};  // set through the control file

bool removed() {
  return g_removed.load() || g_file_removed.load();
}

// ---- scripted faults from the control file ---------------------------------------------

struct Rule {
  bool delay = false;
  bool count_only = false;  // a 'count' line: logs each call, never applies
  std::string function;     // or "*"
  CK_RV rv = CKR_OK;
  long milliseconds = 0;
  long count = 0;  // calls left; negative: unlimited
  long skip = 0;   // matching calls to let through first
};

struct Script {
  std::mutex mutex;
  struct stat seen {};
  bool loaded = false;
  std::vector<Rule> rules;
  std::set<std::string> pulled_labels;  // removed-token LABEL 1
};

Script& script() {
  static Script instance;
  return instance;
}

const struct {
  const char* name;
  CK_RV rv;
} kRvNames[] = {
    {"CKR_OK", CKR_OK},
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_SESSION_COUNT", CKR_SESSION_COUNT},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
};

bool parse_rv(const std::string& text, CK_RV& rv) {
  for (const auto& entry : kRvNames) {
    if (text == entry.name) {
      rv = entry.rv;
      return true;
    }
  }
  char* end = nullptr;
  rv = std::strtoul(text.c_str(), &end, 0);  // a number, e.g. 0x32
  return end != text.c_str() && *end == '\0';
}

// Script::mutex held.
void load_rules(Script& state, const char* path) {
  state.rules.clear();
  std::ifstream file(path);
  std::string line;
  bool pulled = false;
  std::set<std::string> pulled_labels;
  while (std::getline(file, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string verb;
    if (!(words >> verb)) continue;
    if (verb == "removed") {
      int on = 0;
      words >> on;
      pulled = on != 0;
      continue;
    }
    if (verb == "removed-token") {
      std::string label;
      int on = 0;
      if ((words >> label >> on) && on != 0) pulled_labels.insert(label);
      continue;
    }
    Rule rule;
    if (verb == "count") {
      if (!(words >> rule.function)) continue;
      rule.count_only = true;
      rule.count = -1;
      state.rules.push_back(rule);
      continue;
    }
    std::string what;
    if (!(words >> rule.function >> what >> rule.count)) continue;
    if (!(words >> rule.skip)) rule.skip = 0;
    if (verb == "fail") {
      if (!parse_rv(what, rule.rv)) continue;
    } else if (verb == "delay") {
      rule.delay = true;
      rule.milliseconds = std::strtol(what.c_str(), nullptr, 10);
    } else {
      continue;
    }
    state.rules.push_back(rule);
  }
  g_file_removed = pulled;
  state.pulled_labels = std::move(pulled_labels);
}

void note(const char* function, const Rule& rule) {
  const char* path = std::getenv("IDVAULT_FAULT_LOG");
  if (path == nullptr) return;
  char line[160];
  int n = rule.count_only ? std::snprintf(line, sizeof line, "%s count\n", function)
          : rule.delay
              ? std::snprintf(line, sizeof line, "%s delay %ld\n", function, rule.milliseconds)
              : std::snprintf(line, sizeof line, "%s 0x%lX\n", function,
                              static_cast<unsigned long>(rule.rv));
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  [[maybe_unused]] auto written = ::write(fd, line, static_cast<std::size_t>(n));
  ::close(fd);
}

// Re-reads the control file if it changed (so its flags are current); returns the rule to
// apply to this call, if any.
bool next_rule(const char* function, Rule& out) {
  const char* path = std::getenv("IDVAULT_FAULT_CONTROL");
  if (path == nullptr) return false;
  Script& state = script();
  std::lock_guard lock(state.mutex);
  struct stat now {};
  if (::stat(path, &now) != 0) {
    state.rules.clear();
    state.pulled_labels.clear();
    state.loaded = false;
    g_file_removed = false;
    return false;
  }
  if (!state.loaded || now.st_ino != state.seen.st_ino || now.st_size != state.seen.st_size ||
      now.st_mtim.tv_sec != state.seen.st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != state.seen.st_mtim.tv_nsec) {
    load_rules(state, path);
    state.seen = now;
    state.loaded = true;
  }
  if (function == nullptr) return false;  // a flags-only refresh
  for (Rule& rule : state.rules) {
    if (rule.count == 0) continue;
    if (rule.function != "*" && rule.function != function) continue;
    if (rule.count_only) {
      note(function, rule);
      continue;
    }
    if (rule.skip > 0) {
      --rule.skip;
      continue;
    }
    if (rule.count > 0) --rule.count;
    out = rule;
    return true;
  }
  return false;
}

// Runs before the hooked call: sleeps for a delay rule, or returns a fault's code.
CK_RV scripted(const char* function) {
  Rule rule;
  if (!next_rule(function, rule)) return CKR_OK;
  note(function, rule);
  if (rule.delay) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rule.milliseconds));
    return CKR_OK;
  }
  return rule.rv;
}

// ---- one token pulled out (removed-token LABEL 1) --------------------------------------

// The label of the token in slot, if that token is pulled out ("" otherwise).
std::string pulled_label(CK_SLOT_ID slot) {
  Rule unused;
  (void)next_rule(nullptr, unused);  // a call already past its hook sees a pull made since
  {
    Script& state = script();
    std::lock_guard lock(state.mutex);
    if (state.pulled_labels.empty()) return {};
  }
  CK_TOKEN_INFO info{};
  if (g_target->C_GetTokenInfo(slot, &info) != CKR_OK) return {};
  std::string label(reinterpret_cast<const char*>(info.label), sizeof info.label);
  label.erase(label.find_last_not_of(' ') + 1);
  Script& state = script();
  std::lock_guard lock(state.mutex);
  return state.pulled_labels.count(label) != 0 ? label : std::string();
}

bool slot_pulled(CK_SLOT_ID slot) {
  return !pulled_label(slot).empty();
}

// Whether session is on a pulled-out token; logs the refusal of function when it is.
bool session_pulled(const char* function, CK_SESSION_HANDLE session) {
  {
    Script& state = script();
    std::lock_guard lock(state.mutex);
    if (state.pulled_labels.empty()) return false;
  }
  CK_SESSION_INFO info{};
  if (g_target->C_GetSessionInfo(session, &info) != CKR_OK) return false;
  const std::string label = pulled_label(info.slotID);
  if (label.empty()) return false;
  // The environment is set before the module loads and never changed after.
  if (const char* path = std::getenv("IDVAULT_FAULT_LOG")) {  // NOLINT(concurrency-mt-unsafe)
    const std::string line = std::string(function) + " removed " + label + "\n";
    int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      [[maybe_unused]] auto written = ::write(fd, line.data(), line.size());
      ::close(fd);
    }
  }
  return true;
}

// Wraps one member of the function list: scripted faults first, then whatever was there.
template <auto Member, typename Fn>
struct Hook;
template <auto Member, typename... Args>
struct Hook<Member, CK_RV (*)(Args...)> {
  static inline CK_RV (*inner)(Args...) = nullptr;
  static inline const char* name = nullptr;
  static CK_RV call(Args... args) {
    if (CK_RV rv = scripted(name); rv != CKR_OK) return rv;
    return inner(args...);
  }
  static void install(const char* function) {
    name = function;
    inner = g_list.*Member;
    g_list.*Member = &call;
  }
};
#define IDVAULT_FAULT_HOOK(fn) \
  Hook<&CK_FUNCTION_LIST::fn, decltype(CK_FUNCTION_LIST::fn)>::install(#fn)

// ---- removal and PIN flags -------------------------------------------------------------

CK_RV get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  Rule unused;
  (void)next_rule(nullptr, unused);  // picks up a 'removed' line
  if (removed() && present) {
    *count = 0;
    return CKR_OK;
  }
  if (present) {
    CK_ULONG all_count = 0;
    CK_RV rv = g_target->C_GetSlotList(present, nullptr, &all_count);
    if (rv != CKR_OK) return rv;
    std::vector<CK_SLOT_ID> slots(all_count);
    rv = g_target->C_GetSlotList(present, slots.data(), &all_count);
    if (rv != CKR_OK) return rv;
    slots.resize(all_count);
    std::vector<CK_SLOT_ID> shown;
    for (CK_SLOT_ID slot : slots) {
      if (!slot_pulled(slot)) shown.push_back(slot);
    }
    if (list != nullptr && *count < shown.size()) {
      *count = shown.size();
      return CKR_BUFFER_TOO_SMALL;
    }
    if (list != nullptr) std::copy(shown.begin(), shown.end(), list);
    *count = shown.size();
    return CKR_OK;
  }
  return g_target->C_GetSlotList(present, list, count);
}

CK_RV get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  Rule unused;
  (void)next_rule(nullptr, unused);
  const CK_RV rv = g_target->C_GetSlotInfo(slot, info);
  if (rv == CKR_OK && (removed() || slot_pulled(slot))) info->flags &= ~CKF_TOKEN_PRESENT;
  return rv;
}

CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  Rule unused;
  (void)next_rule(nullptr, unused);
  if (removed() || slot_pulled(slot)) return CKR_TOKEN_NOT_PRESENT;
  const CK_RV rv = g_target->C_GetTokenInfo(slot, info);
  if (rv == CKR_OK) info->flags |= g_extra_flags.load();
  return rv;
}

CK_RV login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  if (removed() || session_pulled("C_Login", session)) return CKR_DEVICE_REMOVED;
  if (g_forced_login.load()) return g_login_rv.load();
  return g_target->C_Login(session, user, pin, len);
}

CK_RV open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                   CK_SESSION_HANDLE_PTR out) {
  if (removed() || slot_pulled(slot)) return CKR_DEVICE_REMOVED;
  return g_target->C_OpenSession(slot, flags, app, notify, out);
}

CK_RV get_session_info(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info) {
  if (removed() || session_pulled("C_GetSessionInfo", session)) return CKR_DEVICE_REMOVED;
  return g_target->C_GetSessionInfo(session, info);
}

CK_RV decrypt_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
  if (removed() || session_pulled("C_DecryptInit", session)) return CKR_DEVICE_REMOVED;
  return g_target->C_DecryptInit(session, mechanism, key);
}

CK_RV decrypt(CK_SESSION_HANDLE session, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
              CK_ULONG_PTR out_len) {
  if (removed() || session_pulled("C_Decrypt", session)) return CKR_DEVICE_REMOVED;
  return g_target->C_Decrypt(session, in, in_len, out, out_len);
}

CK_RV sign_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
  if (removed() || session_pulled("C_SignInit", session)) return CKR_DEVICE_REMOVED;
  return g_target->C_SignInit(session, mechanism, key);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (g_target == nullptr) {
    const char* path = std::getenv("IDVAULT_FAULT_TARGET");
    void* library =
        dlopen(path != nullptr ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) return CKR_GENERAL_ERROR;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
    if (get == nullptr || get(&g_target) != CKR_OK) return CKR_GENERAL_ERROR;
    g_list = *g_target;
    g_list.C_GetSlotList = get_slot_list;
    g_list.C_GetSlotInfo = get_slot_info;
    g_list.C_GetTokenInfo = get_token_info;
    g_list.C_Login = login;
    g_list.C_OpenSession = open_session;
    g_list.C_GetSessionInfo = get_session_info;
    g_list.C_DecryptInit = decrypt_init;
    g_list.C_Decrypt = decrypt;
    g_list.C_SignInit = sign_init;
    // Every call a vault operation makes on a session (not the slot and token queries a
    // presence poll makes) can be scripted to fail or stall.
    IDVAULT_FAULT_HOOK(C_OpenSession);
    IDVAULT_FAULT_HOOK(C_CloseSession);
    IDVAULT_FAULT_HOOK(C_GetSessionInfo);
    IDVAULT_FAULT_HOOK(C_Login);
    IDVAULT_FAULT_HOOK(C_Logout);
    IDVAULT_FAULT_HOOK(C_CreateObject);
    IDVAULT_FAULT_HOOK(C_DestroyObject);
    IDVAULT_FAULT_HOOK(C_GetAttributeValue);
    IDVAULT_FAULT_HOOK(C_FindObjectsInit);
    IDVAULT_FAULT_HOOK(C_FindObjects);
    IDVAULT_FAULT_HOOK(C_FindObjectsFinal);
    IDVAULT_FAULT_HOOK(C_EncryptInit);
    IDVAULT_FAULT_HOOK(C_Encrypt);
    IDVAULT_FAULT_HOOK(C_DecryptInit);
    IDVAULT_FAULT_HOOK(C_Decrypt);
    IDVAULT_FAULT_HOOK(C_SignInit);
    IDVAULT_FAULT_HOOK(C_Sign);
    IDVAULT_FAULT_HOOK(C_GenerateKey);
    IDVAULT_FAULT_HOOK(C_GenerateKeyPair);
    IDVAULT_FAULT_HOOK(C_WrapKey);
    IDVAULT_FAULT_HOOK(C_UnwrapKey);
    IDVAULT_FAULT_HOOK(C_GenerateRandom);
  }
  *out = &g_list;
  return CKR_OK;
}

__attribute__((visibility("default"))) void idvault_fault_set_token_flags(CK_FLAGS flags) {
  g_extra_flags = flags;
}

// forced: C_Login returns rv without reaching SoftHSM; not forced: the real C_Login.
__attribute__((visibility("default"))) void idvault_fault_set_login_result(int forced, CK_RV rv) {
  g_login_rv = rv;
  g_forced_login = forced != 0;
}

__attribute__((visibility("default"))) void idvault_fault_set_removed(int removed) {
  g_removed = removed != 0;
}
}
