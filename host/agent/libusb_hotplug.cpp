#include "host/agent/libusb_hotplug.h"

#include <libusb.h>

#include <string>

#include "host/agent/audit_log.h"

namespace idvault::agent {

struct LibusbCallback {
  static int LIBUSB_CALL on_event(libusb_context*, libusb_device*, libusb_hotplug_event event,
                                  void* self) noexcept {
    static_cast<LibusbHotplugSource*>(self)->deliver(
        event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? UsbChange::arrived : UsbChange::left);
    return 0;  // stay registered
  }
};

void LibusbHotplugSource::ContextRelease::operator()(libusb_context* context) const noexcept {
  libusb_exit(context);
}

LibusbHotplugSource::LibusbHotplugSource() {
  libusb_context* context = nullptr;
  if (const int rv = libusb_init(&context); rv != LIBUSB_SUCCESS) {
    throw UsbUnavailable(std::string("libusb_init failed: ") + libusb_error_name(rv));
  }
  context_.reset(context);
  if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
    throw UsbUnavailable("libusb has no hot-plug support on this platform");
  }
}

LibusbHotplugSource::~LibusbHotplugSource() {
  stop();
}

bool LibusbHotplugSource::start(UsbChangeListener listener) {
  std::lock_guard lock(start_mutex_);
  if (registered_ || stopping_.load())
    throw std::logic_error("LibusbHotplugSource::start called twice or after stop");
  listener_ = std::move(listener);
  // Every device, not only CCID readers: a composite token such as a YubiKey has device
  // class 0 and names CCID only on an interface, which the filter cannot see. A device
  // that is not a token costs one extra presence check.
  const int rv = libusb_hotplug_register_callback(
      context_.get(),
      static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
                                        LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
      static_cast<libusb_hotplug_flag>(0), LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
      LIBUSB_HOTPLUG_MATCH_ANY, &LibusbCallback::on_event, this, &callback_handle_);
  if (rv != LIBUSB_SUCCESS) {
    log(LogLevel::warning,
        std::string("USB hot-plug unavailable: libusb_hotplug_register_callback: ") +
            libusb_error_name(rv));
    listener_ = nullptr;
    return false;
  }
  registered_ = true;
  events_ = std::thread([this] { run_events(); });
  return true;
}

void LibusbHotplugSource::stop() noexcept {
  std::lock_guard lock(start_mutex_);
  stopping_ = true;
  if (!registered_) return;
  // Deregistering wakes libusb's event loop; the interrupt covers a thread that is just
  // about to enter it.
  libusb_hotplug_deregister_callback(context_.get(), callback_handle_);
  libusb_interrupt_event_handler(context_.get());
  if (events_.joinable()) events_.join();
  registered_ = false;
  listener_ = nullptr;
}

std::string LibusbHotplugSource::description() const {
  const libusb_version* version = libusb_get_version();
  return "libusb " + std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
         std::to_string(version->micro) + " hot-plug events";
}

void LibusbHotplugSource::deliver(UsbChange change) noexcept {
  if (stopping_.load()) return;
  try {
    listener_(change);
  } catch (...) {
    // The listener promised not to throw; nothing may cross back into libusb's C frames.
  }
}

void LibusbHotplugSource::run_events() noexcept {
  while (!stopping_.load()) {
    // The timeout only bounds how long a missed interrupt could delay stop().
    timeval timeout{0, 250'000};
    (void)libusb_handle_events_timeout_completed(context_.get(), &timeout, nullptr);
  }
}

}  // namespace idvault::agent
