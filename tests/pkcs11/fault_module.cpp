// A PKCS#11 module for tests: forwards to SoftHSM2 and injects what SoftHSM cannot do
// by itself: token PIN flags (count low, final try, locked), a chosen C_Login result,
// and token removal (CKR_DEVICE_REMOVED everywhere, no token in the slot). Tests reach
// the switches by dlopen(RTLD_NOLOAD) + dlsym of the idvault_fault_* functions.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cstdlib>

namespace {

CK_FUNCTION_LIST g_list;
CK_FUNCTION_LIST* g_target = nullptr;
std::atomic<CK_FLAGS> g_extra_flags{0};
std::atomic<CK_RV> g_login_rv{CKR_OK};
std::atomic<bool> g_forced_login{false};
std::atomic<bool> g_removed{false};

bool removed() {
  return g_removed.load();
}

CK_RV get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  if (removed() && present) {
    *count = 0;
    return CKR_OK;
  }
  return g_target->C_GetSlotList(present, list, count);
}

CK_RV get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  const CK_RV rv = g_target->C_GetSlotInfo(slot, info);
  if (rv == CKR_OK && removed()) info->flags &= ~CKF_TOKEN_PRESENT;
  return rv;
}

CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  if (removed()) return CKR_TOKEN_NOT_PRESENT;
  const CK_RV rv = g_target->C_GetTokenInfo(slot, info);
  if (rv == CKR_OK) info->flags |= g_extra_flags.load();
  return rv;
}

CK_RV login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  if (removed()) return CKR_DEVICE_REMOVED;
  if (g_forced_login.load()) return g_login_rv.load();
  return g_target->C_Login(session, user, pin, len);
}

CK_RV open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                   CK_SESSION_HANDLE_PTR out) {
  if (removed()) return CKR_DEVICE_REMOVED;
  return g_target->C_OpenSession(slot, flags, app, notify, out);
}

CK_RV get_session_info(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info) {
  if (removed()) return CKR_DEVICE_REMOVED;
  return g_target->C_GetSessionInfo(session, info);
}

CK_RV decrypt_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
  if (removed()) return CKR_DEVICE_REMOVED;
  return g_target->C_DecryptInit(session, mechanism, key);
}

CK_RV decrypt(CK_SESSION_HANDLE session, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
              CK_ULONG_PTR out_len) {
  if (removed()) return CKR_DEVICE_REMOVED;
  return g_target->C_Decrypt(session, in, in_len, out, out_len);
}

CK_RV sign_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
  if (removed()) return CKR_DEVICE_REMOVED;
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
