// The libusb hot-plug source on this machine's USB, which may be none at all (no
// /dev/bus/usb, no CONFIG_USB): it must say there are no events or run with no devices,
// and start and stop cleanly either way — never crash or hang the agent.
#include "host/agent/libusb_hotplug.h"

#include <gtest/gtest.h>

#include <atomic>

using namespace idvault;

TEST(LibusbHotplug, TheFactoryGivesASourceThatStartsAndStops) {
  auto source = agent::make_usb_hotplug_source();
  ASSERT_NE(source, nullptr);
  EXPECT_FALSE(source->description().empty());
  std::atomic<int> events{0};
  const bool live = source->start([&](agent::UsbChange) { ++events; });
  RecordProperty("hotplug", live ? source->description() : "none: " + source->description());
  source->stop();
  source->stop();
  EXPECT_THROW((void)source->start([](agent::UsbChange) {}), std::logic_error);
}

TEST(LibusbHotplug, TheLibusbSourceEitherRunsOrSaysWhyNot) {
  try {
    agent::LibusbHotplugSource source;
    EXPECT_NE(source.description().find("libusb"), std::string::npos);
    // libusb initialised and claims hot-plug (it watches netlink even with no USB bus):
    // then registering must work and its event thread must stop on request.
    EXPECT_TRUE(source.start([](agent::UsbChange) {}));
    source.stop();
  } catch (const agent::UsbUnavailable& why) {
    EXPECT_NE(std::string(why.what()), "");
    auto fallback = agent::make_usb_hotplug_source();
    EXPECT_NE(fallback->description().find("no USB hot-plug"), std::string::npos);
    EXPECT_FALSE(fallback->start([](agent::UsbChange) {}));
  }
}

TEST(LibusbHotplug, ManyStartsAndStopsNeitherHangNorCrash) {
  for (int i = 0; i < 25; ++i) {
    auto source = agent::make_usb_hotplug_source();
    if (i % 3 == 0) continue;  // destroyed without start
    (void)source->start([](agent::UsbChange) {});
    if (i % 3 == 1) source->stop();  // else the destructor stops it
  }
  SUCCEED();
}

TEST(LibusbHotplug, TheSilentSourceNeverStartsAndSaysWhy) {
  agent::SilentHotplugSource source("libusb_init failed: LIBUSB_ERROR_OTHER");
  EXPECT_NE(source.description().find("LIBUSB_ERROR_OTHER"), std::string::npos);
  EXPECT_FALSE(source.start([](agent::UsbChange) { FAIL() << "a silent source fired"; }));
  EXPECT_THROW((void)source.start([](agent::UsbChange) {}), std::logic_error);
  source.stop();
}
