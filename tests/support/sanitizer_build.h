// Whether this test binary was built with AddressSanitizer, for the few checks whose
// subject the sanitizer's runtime replaces: ASan turns mlock() into a no-op that reports
// success, so VmLck cannot move in that tree.
#pragma once

namespace idvault::testing {

// gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace idvault::testing
