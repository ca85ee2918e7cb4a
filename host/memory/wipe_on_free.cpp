// Every block the program's C++ code frees is wiped first. Linked into the binaries that
// handle PINs and documents (idvault-agent, idvault), not into libraries or tests.
//
// Why: SecretBytes wipes what idvault owns, but libraries keep copies of their own —
// nlohmann::json's lexer holds each string it reads (a PIN, a name) in buffers that grow
// by reallocation, its serializer builds each answer in a growing string, and every
// parsed tree is freed as ordinary strings. Those copies went back to the heap intact
// and stayed readable in the process (after lock, too) until the memory was reused.
// Wiping in operator delete catches all of them at the one place they pass through.
// Blocks from malloc in C libraries (OpenSSL, SQLite, the PKCS#11 module) do not pass
// here; OpenSSL cleanses its own key material and SQLite only ever sees ciphertext.
#include <malloc.h>
#include <string.h>

#include <cstdlib>
#include <new>

namespace {

void wipe_and_free(void* block) noexcept {
  if (block == nullptr) return;
  // The usable size, not the requested one: it covers the whole block, and the unsized
  // delete (which most of the standard library still calls) knows nothing else.
  ::explicit_bzero(block, ::malloc_usable_size(block));
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  std::free(block);
}

void* allocate(std::size_t size) {
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
  std::size_t align = static_cast<std::size_t>(alignment);
  if (align < sizeof(void*)) align = sizeof(void*);
  void* block = nullptr;
  if (::posix_memalign(&block, align, size == 0 ? 1 : size) != 0) throw std::bad_alloc();
  return block;
}

}  // namespace

void* operator new(std::size_t size) {
  return allocate(size);
}
void* operator new[](std::size_t size) {
  return allocate(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  void* block = std::malloc(size == 0 ? 1 : size);
  return block;
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
  wipe_and_free(block);
}
void operator delete[](void* block) noexcept {
  wipe_and_free(block);
}
void operator delete(void* block, std::size_t) noexcept {
  wipe_and_free(block);
}
void operator delete[](void* block, std::size_t) noexcept {
  wipe_and_free(block);
}
void operator delete(void* block, const std::nothrow_t&) noexcept {
  wipe_and_free(block);
}
void operator delete[](void* block, const std::nothrow_t&) noexcept {
  wipe_and_free(block);
}
void operator delete(void* block, std::align_val_t) noexcept {
  wipe_and_free(block);
}
void operator delete[](void* block, std::align_val_t) noexcept {
  wipe_and_free(block);
}
void operator delete(void* block, std::size_t, std::align_val_t) noexcept {
  wipe_and_free(block);
}
void operator delete[](void* block, std::size_t, std::align_val_t) noexcept {
  wipe_and_free(block);
}
void operator delete(void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  wipe_and_free(block);
}
void operator delete[](void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  wipe_and_free(block);
}
