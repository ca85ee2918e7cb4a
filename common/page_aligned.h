// Bytes whose buffer starts on a 4096-byte boundary, so a file opened with O_DIRECT can
// be written straight from it (CiphertextFiles::Pack) instead of through a copy into
// the page cache.
//
// For ciphertext only: the memory is returned to the C heap without being wiped (and
// bypasses any wiping operator delete, which would spend a pass over megabytes of bytes
// that are safe to leave).
#pragma once

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace idvault {

inline constexpr std::size_t kPageAlignment = 4096;

template <typename T>
struct PageAlignedAllocator {
  using value_type = T;
  PageAlignedAllocator() noexcept = default;
  template <typename U>
  PageAlignedAllocator(const PageAlignedAllocator<U>& /*unused*/) noexcept {}
  T* allocate(std::size_t n) {
    void* block = nullptr;
    if (::posix_memalign(&block, kPageAlignment, n * sizeof(T)) != 0) throw std::bad_alloc();
    return static_cast<T*>(block);
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept {
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
    ::free(p);
  }
  template <typename U>
  bool operator==(const PageAlignedAllocator<U>& /*unused*/) const noexcept {
    return true;
  }
};

using PageAlignedBytes = std::vector<std::uint8_t, PageAlignedAllocator<std::uint8_t>>;

}  // namespace idvault
