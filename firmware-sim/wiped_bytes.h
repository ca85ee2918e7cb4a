// WipedBytes: the simulator's buffer for PINs, PUKs and private-key PEM.
//
// firmware-sim depends on nothing else of ours (it stands in for hardware), so it cannot
// use pkcs11/SecretBytes; this is the same promise in miniature: the bytes are wiped
// (OPENSSL_cleanse) whenever a buffer is released, copies are explicit, and there is no
// way to print it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace idvault::cardsim {

namespace detail {
void cleanse(void* data, std::size_t size) noexcept;

template <typename T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() noexcept = default;
  template <typename U>
  CleansingAllocator(const CleansingAllocator<U>& /*unused*/) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    cleanse(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <typename U>
  bool operator==(const CleansingAllocator<U>& /*unused*/) const noexcept {
    return true;
  }
};
}  // namespace detail

class WipedBytes {
 public:
  WipedBytes() = default;
  explicit WipedBytes(std::span<const std::uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  static WipedBytes from_text(std::string_view text) {
    return WipedBytes(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

  // A secret that copies itself silently leaks; clone() says so at the call site.
  WipedBytes(const WipedBytes&) = delete;
  WipedBytes& operator=(const WipedBytes&) = delete;
  WipedBytes(WipedBytes&&) noexcept = default;
  WipedBytes& operator=(WipedBytes&&) noexcept = default;
  ~WipedBytes() = default;

  [[nodiscard]] WipedBytes clone() const { return WipedBytes(reveal()); }
  [[nodiscard]] std::span<const std::uint8_t> reveal() const {
    return {bytes_.data(), bytes_.size()};
  }
  [[nodiscard]] std::string_view reveal_text() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] bool empty() const { return bytes_.empty(); }

  // Constant time for equal lengths, so a PIN check leaks no matching prefix.
  [[nodiscard]] bool equals(std::span<const std::uint8_t> other) const noexcept;

 private:
  std::vector<std::uint8_t, detail::CleansingAllocator<std::uint8_t>> bytes_;
};

}  // namespace idvault::cardsim
