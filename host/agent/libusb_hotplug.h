// UsbHotplugSource on libusb-1.0's hot-plug API: one callback for every device arriving
// or leaving, and a thread that runs libusb's event loop until stop().
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "host/agent/usb_hotplug.h"

struct libusb_context;

namespace idvault::agent {

// libusb could not start, or it cannot report hot-plug on this platform.
class UsbUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LibusbHotplugSource final : public UsbHotplugSource {
 public:
  // Initialises a private libusb context; throws UsbUnavailable if libusb fails or has
  // no hot-plug capability.
  LibusbHotplugSource();
  ~LibusbHotplugSource() override;                           // stops, then releases the context
  LibusbHotplugSource(const LibusbHotplugSource&) = delete;  // libusb's thread holds `this`
  LibusbHotplugSource& operator=(const LibusbHotplugSource&) = delete;
  LibusbHotplugSource(LibusbHotplugSource&&) = delete;
  LibusbHotplugSource& operator=(LibusbHotplugSource&&) = delete;

  [[nodiscard]] bool start(UsbChangeListener listener) override;
  void stop() noexcept override;
  [[nodiscard]] std::string description() const override;

 private:
  struct ContextRelease {
    void operator()(libusb_context* context) const noexcept;
  };
  friend struct LibusbCallback;  // libusb's C callback, defined beside start()
  void deliver(UsbChange change) noexcept;
  void run_events() noexcept;

  std::unique_ptr<libusb_context, ContextRelease> context_;
  std::mutex start_mutex_;
  UsbChangeListener listener_;
  int callback_handle_ = 0;
  bool registered_ = false;
  std::atomic<bool> stopping_{false};
  std::thread events_;
};

}  // namespace idvault::agent
