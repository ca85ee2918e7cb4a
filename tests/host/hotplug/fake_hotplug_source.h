// A UsbHotplugSource a test fires by hand, standing in for libusb on machines without USB.
#pragma once

#include <mutex>
#include <stdexcept>

#include "host/agent/usb_hotplug.h"

namespace idvault::testing {

class FakeHotplugSource final : public agent::UsbHotplugSource {
 public:
  [[nodiscard]] bool start(agent::UsbChangeListener listener) override {
    std::lock_guard lock(mutex_);
    if (listener_) throw std::logic_error("FakeHotplugSource::start called twice");
    listener_ = std::move(listener);
    return true;
  }
  void stop() noexcept override {
    std::lock_guard lock(mutex_);
    listener_ = nullptr;
  }
  [[nodiscard]] std::string description() const override { return "fake hot-plug events"; }

  // What libusb's thread would do when a device comes or goes.
  void fire(agent::UsbChange change) {
    std::lock_guard lock(mutex_);
    if (listener_) listener_(change);
  }

 private:
  std::mutex mutex_;
  agent::UsbChangeListener listener_;
};

}  // namespace idvault::testing
