// The replaced global allocation functions behind freed_memory_watch.h. They allocate
// with malloc like libstdc++'s own, and run the checks in the delete path without
// allocating (a fixed marker buffer, a spin lock), since they run inside operator delete.
#include "tests/host/zeroization/freed_memory_watch.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace idvault::testing {
namespace {

class SpinLock {
 public:
  void lock() noexcept {
    while (flag_.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() noexcept { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

struct WatchState {
  SpinLock lock;
  const void* block = nullptr;
  std::size_t block_size = 0;
  WatchedBlock result;
  bool scanning = false;
  char marker[64] = {};
  std::size_t marker_size = 0;
  std::size_t marked_frees = 0;
};

WatchState& state() {
  static WatchState watch;  // trivially destructible members: safe during exit
  return watch;
}

bool all_zero(const void* data, std::size_t size) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  return std::all_of(bytes, bytes + size, [](unsigned char b) { return b == 0; });
}

// requested: the size the caller asked for, 0 when the delete was unsized.
void before_free(void* block, std::size_t requested) noexcept {
  if (block == nullptr) return;
  WatchState& watch = state();
  watch.lock.lock();
  if (block == watch.block) {
    watch.result.freed = true;
    watch.result.all_zero_when_freed = all_zero(block, watch.block_size);
    watch.block = nullptr;
  }
  if (watch.scanning) {
    const std::size_t size = requested != 0 ? requested : ::malloc_usable_size(block);
    if (::memmem(block, size, watch.marker, watch.marker_size) != nullptr) ++watch.marked_frees;
  }
  watch.lock.unlock();
}

void* allocate(std::size_t size) {
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
  const auto align = std::max(static_cast<std::size_t>(alignment), sizeof(void*));
  void* block = nullptr;
  if (::posix_memalign(&block, align, size == 0 ? 1 : size) != 0) throw std::bad_alloc();
  return block;
}

}  // namespace

void watch_block(const void* data, std::size_t size) {
  WatchState& watch = state();
  watch.lock.lock();
  watch.block = data;
  watch.block_size = size;
  watch.result = {};
  watch.lock.unlock();
}

WatchedBlock watched_block() {
  WatchState& watch = state();
  watch.lock.lock();
  const WatchedBlock result = watch.result;
  watch.lock.unlock();
  return result;
}

void start_scanning_freed_blocks(std::string_view marker) {
  WatchState& watch = state();
  watch.lock.lock();
  watch.marker_size = std::min(marker.size(), sizeof(watch.marker));
  std::memcpy(watch.marker, marker.data(), watch.marker_size);
  watch.marked_frees = 0;
  watch.scanning = watch.marker_size > 0;
  watch.lock.unlock();
}

std::size_t stop_scanning_freed_blocks() {
  WatchState& watch = state();
  watch.lock.lock();
  watch.scanning = false;
  const std::size_t found = watch.marked_frees;
  watch.lock.unlock();
  return found;
}

}  // namespace idvault::testing

using idvault::testing::allocate;
using idvault::testing::allocate_aligned;
using idvault::testing::before_free;

void* operator new(std::size_t size) {
  return allocate(size);
}
void* operator new[](std::size_t size) {
  return allocate(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  return allocate_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return allocate_aligned(size, alignment);
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(size, alignment);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t& tag) noexcept {
  return operator new(size, alignment, tag);
}

void operator delete(void* block) noexcept {
  before_free(block, 0);
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  std::free(block);
}
void operator delete[](void* block) noexcept {
  operator delete(block);
}
void operator delete(void* block, std::size_t size) noexcept {
  before_free(block, size);
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  std::free(block);
}
void operator delete[](void* block, std::size_t size) noexcept {
  operator delete(block, size);
}
void operator delete(void* block, const std::nothrow_t&) noexcept {
  operator delete(block);
}
void operator delete[](void* block, const std::nothrow_t&) noexcept {
  operator delete(block);
}
void operator delete(void* block, std::align_val_t) noexcept {
  operator delete(block);
}
void operator delete[](void* block, std::align_val_t) noexcept {
  operator delete(block);
}
void operator delete(void* block, std::size_t size, std::align_val_t) noexcept {
  operator delete(block, size);
}
void operator delete[](void* block, std::size_t size, std::align_val_t) noexcept {
  operator delete(block, size);
}
void operator delete(void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  operator delete(block);
}
void operator delete[](void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  operator delete(block);
}
