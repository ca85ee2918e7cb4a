// Test support for firmware-sim: a throwaway personalised card in its own temp dir, and
// small helpers to speak APDUs to the applet as hex.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string_view>

#include "firmware-sim/card_personalisation.h"
#include "firmware-sim/card_state.h"
#include "firmware-sim/piv_applet.h"

namespace idvault::cardsim::testing {

class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// SW1 SW2 of a response as one number.
[[nodiscard]] std::uint16_t sw_of(const Bytes& response);
// The data part of a response.
[[nodiscard]] Bytes data_of(const Bytes& response);

// A card freshly personalised into its own state file, with an applet on it whose
// persister writes that file. RSA-1024 by default: fast to generate, same code paths.
class TestCard {
 public:
  explicit TestCard(unsigned rsa_bits = 1024);

  [[nodiscard]] Bytes send(std::string_view hex) { return applet_->process(from_hex(hex)); }
  [[nodiscard]] Bytes send(const Bytes& apdu) { return applet_->process(apdu); }
  void select();
  void verify_pin(std::string_view pin = "123456");
  // GET DATA for `tag` with Le=00, following 61xx with GET RESPONSE; returns data + final SW.
  [[nodiscard]] Bytes get_data(std::uint32_t tag);
  [[nodiscard]] Bytes certificate(PivKeyRef ref);
  // A new applet over the state as reloaded from the file: what survives a process restart.
  void reload();

  [[nodiscard]] PivApplet& applet() { return *applet_; }
  [[nodiscard]] CardState& state() { return state_; }
  [[nodiscard]] const std::filesystem::path& state_file() const { return state_file_; }
  // Makes every later persist fail, as a full disk would.
  void break_persistence() {
    persistence_broken_ = std::make_shared<bool>(true);
    rebuild_applet();
  }

 private:
  void rebuild_applet();

  TempDir dir_;
  std::filesystem::path state_file_;
  CardState state_;
  std::shared_ptr<bool> persistence_broken_ = std::make_shared<bool>(false);
  std::unique_ptr<PivApplet> applet_;
};

// "313233343536FFFF" for "123456".
[[nodiscard]] std::string padded_pin_hex(std::string_view pin);

}  // namespace idvault::cardsim::testing
