#include "host/http/connection_admission.h"

namespace idvault::http {

ConnectionAdmission::ConnectionAdmission(std::size_t max_total, std::size_t max_per_client)
    : max_total_(max_total), max_per_client_(max_per_client) {}

ConnectionAdmission::Verdict ConnectionAdmission::admit(std::uint32_t client) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return Verdict::server_full;
  std::size_t& open = per_client_[client];
  if (open >= max_per_client_) return Verdict::client_full;
  ++open;
  ++total_;
  return Verdict::admitted;
}

void ConnectionAdmission::release(std::uint32_t client) noexcept {
  std::lock_guard lock(mutex_);
  if (auto it = per_client_.find(client); it != per_client_.end() && --it->second == 0)
    per_client_.erase(it);
  if (--total_ == 0) idle_.notify_all();
}

void ConnectionAdmission::wait_until_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return total_ == 0; });
}

}  // namespace idvault::http
