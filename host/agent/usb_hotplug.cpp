#include "host/agent/usb_hotplug.h"

#include <stdexcept>

#include "host/agent/libusb_hotplug.h"

namespace idvault::agent {

bool SilentHotplugSource::start(UsbChangeListener) {
  if (started_) throw std::logic_error("SilentHotplugSource::start called twice");
  started_ = true;
  return false;
}

std::unique_ptr<UsbHotplugSource> make_usb_hotplug_source() {
  try {
    return std::make_unique<LibusbHotplugSource>();
  } catch (const UsbUnavailable& why) {
    return std::make_unique<SilentHotplugSource>(why.what());
  }
}

}  // namespace idvault::agent
