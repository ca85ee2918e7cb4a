// SecretBytes: the one type for PINs, key material and plaintext secrets.
//
// Promises: the bytes are wiped (explicit_bzero, which the compiler may not drop) when
// the object dies or its buffer moves, it cannot be copied by accident (clone() is
// explicit), and it has no stream operator or formatter, so it cannot end up in a log.
// The only way to the bytes is reveal(), which is easy to grep for in review.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace idvault {

namespace detail {
void wipe(void* data, std::size_t size) noexcept;

// Wipes every buffer it releases, so growth of the vector leaves no copy behind.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>& /*unused*/) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  // Default-initialises an element made without a value (for bytes: leaves it as it
  // is), so SecretBytes::for_overwrite can skip zeroing megabytes it is about to fill;
  // SecretBytes passes 0 wherever its bytes must start zeroed.
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    wipe(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>& /*unused*/) const noexcept {
    return true;
  }
};
}  // namespace detail

class SecretBytes {
 public:
  SecretBytes() = default;
  // Zeroed. (Filling and copying go through memset/memcpy: the allocator's element-wise
  // construct made copying a decrypted 2 MiB scan a byte loop.)
  explicit SecretBytes(std::size_t size) : SecretBytes(for_overwrite(size)) {
    if (size != 0) std::memset(bytes_.data(), 0, size);
  }
  // Not zeroed: for a buffer the caller fills whole at once (a document read from the
  // socket), where zeroing first would be a wasted pass over megabytes.
  [[nodiscard]] static SecretBytes for_overwrite(std::size_t size) {
    SecretBytes bytes;
    bytes.bytes_.resize(size);
    return bytes;
  }
  explicit SecretBytes(std::span<const std::uint8_t> bytes)
      : SecretBytes(for_overwrite(bytes.size())) {
    if (!bytes.empty()) std::memcpy(bytes_.data(), bytes.data(), bytes.size());
  }
  static SecretBytes from_string(std::string_view text) {
    return SecretBytes(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

  // Copies are deliberate: a secret that silently multiplies is a secret that leaks.
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&&) noexcept = default;
  ~SecretBytes() = default;  // the allocator wipes on release

  [[nodiscard]] SecretBytes clone() const { return SecretBytes(reveal()); }

  [[nodiscard]] std::span<const std::uint8_t> reveal() const {
    return {bytes_.data(), bytes_.size()};
  }
  [[nodiscard]] std::span<std::uint8_t> reveal_mutable() { return {bytes_.data(), bytes_.size()}; }
  [[nodiscard]] std::string_view reveal_text() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] bool empty() const { return bytes_.empty(); }
  void resize(std::size_t size) {  // growth is zeroed
    const std::size_t old_size = bytes_.size();
    bytes_.resize(size);
    if (size > old_size) std::memset(bytes_.data() + old_size, 0, size - old_size);
  }
  void clear() {
    detail::wipe(bytes_.data(), bytes_.size());
    bytes_.clear();
  }

  // Constant time, so comparing secrets leaks no prefix length.
  [[nodiscard]] bool equals(std::span<const std::uint8_t> other) const noexcept;

 private:
  std::vector<std::uint8_t, detail::WipingAllocator<std::uint8_t>> bytes_;
};

}  // namespace idvault
