// USB hot-plug events as a hint to the token watcher: a device came or went, so look at
// the token now rather than at the next poll. Polling stays the mechanism of record: a
// source may report devices that are not tokens, or nothing at all (no USB, a container,
// a token that is not on USB), and the agent is correct either way, only slower to notice.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace idvault::agent {

enum class UsbChange { arrived, left };

// Called on the source's own thread; must be quick and must not throw.
using UsbChangeListener = std::function<void(UsbChange)>;

class UsbHotplugSource {
 public:
  UsbHotplugSource() = default;
  UsbHotplugSource(const UsbHotplugSource&) = delete;  // owns a thread and its callback
  UsbHotplugSource& operator=(const UsbHotplugSource&) = delete;
  UsbHotplugSource(UsbHotplugSource&&) = delete;  // its thread holds `this`
  UsbHotplugSource& operator=(UsbHotplugSource&&) = delete;
  virtual ~UsbHotplugSource() = default;

  // Starts reporting changes to listener until stop(). Returns false if this source will
  // never report anything (the listener is then dropped). Throws std::logic_error if
  // called twice.
  [[nodiscard]] virtual bool start(UsbChangeListener listener) = 0;
  // Once it returns, the listener is not running and will not be called again.
  // Idempotent; fine without start().
  virtual void stop() noexcept = 0;
  // For the log: which mechanism, or why there is none.
  [[nodiscard]] virtual std::string description() const = 0;
};

// A source that never reports anything; `why` says why there is no better one.
class SilentHotplugSource final : public UsbHotplugSource {
 public:
  explicit SilentHotplugSource(std::string why) : why_(std::move(why)) {}
  [[nodiscard]] bool start(UsbChangeListener listener) override;
  void stop() noexcept override {}
  [[nodiscard]] std::string description() const override {
    return "no USB hot-plug events: " + why_;
  }

 private:
  std::string why_;
  bool started_ = false;
};

// libusb's hot-plug events where libusb initialises and supports them, else a silent
// source saying why. Never throws for a machine without USB.
[[nodiscard]] std::unique_ptr<UsbHotplugSource> make_usb_hotplug_source();

}  // namespace idvault::agent
