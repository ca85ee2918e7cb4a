// The simulator against a fake vpcd: a TCP listener in the test that speaks vpcd's
// framing, so insertion, removal, faults and control bytes are checked without pcscd.
#include "firmware-sim/card_simulator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "firmware-sim/errors.h"
#include "firmware-sim/log.h"
#include "firmware-sim/piv_objects.h"
#include "tests/firmware-sim/cardsim_test_card.h"

namespace idvault::cardsim::testing {
namespace {

constexpr int kWaitMs = 5000;  // generous bound for a loaded machine; never a timing assertion

class PipeEvents final : public CardEventSource {
 public:
  PipeEvents() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw CardsimError("pipe2 failed");
    read_ = UniqueFd(fds[0]);
    write_ = UniqueFd(fds[1]);
  }
  [[nodiscard]] int fd() const override { return read_.get(); }
  [[nodiscard]] std::optional<CardEvent> take() override {
    char c = 0;
    if (::read(read_.get(), &c, 1) != 1) return std::nullopt;
    return c == 't' ? CardEvent::toggle_presence : CardEvent::stop;
  }
  void send(char c) { ASSERT_EQ(::write(write_.get(), &c, 1), 1); }

 private:
  UniqueFd read_;
  UniqueFd write_;
};

class FakeVpcd {
 public:
  FakeVpcd() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_.get(), 4) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw CardsimError("fake vpcd: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

  // Waits for the card to connect (be inserted).
  [[nodiscard]] std::optional<VpcdLink> accept_card() {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, kWaitMs) != 1) return std::nullopt;
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    return VpcdLink(std::move(fd));
  }

 private:
  UniqueFd listener_;
  std::uint16_t port_ = 0;
};

// nullopt if the card closed the link (or said nothing within the bound).
std::optional<Bytes> receive(VpcdLink& link) {
  pollfd p{link.fd(), POLLIN, 0};
  if (::poll(&p, 1, kWaitMs) != 1) return std::nullopt;
  return link.receive_frame();
}

std::optional<Bytes> transmit(VpcdLink& link, std::string_view hex) {
  link.send_frame(from_hex(hex));
  return receive(link);
}

class CardsimSimulator : public ::testing::Test {
 protected:
  void SetUp() override { set_log_level(LogLevel::error); }
  void TearDown() override { stop(); }

  void start(FaultPlan faults = {}, bool reconnect = false) {
    SimulatorOptions options;
    options.vpcd = {"127.0.0.1", vpcd_.port()};
    options.faults = faults;
    options.reconnect = reconnect;
    options.reinsert_after = std::chrono::milliseconds(50);
    options.connect_timeout = std::chrono::milliseconds(kWaitMs);
    simulator_ = std::make_unique<CardSimulator>(card_.applet(), options, events_);
    thread_ = std::thread([this] {
      try {
        simulator_->run();
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
  }
  void stop() {
    if (!thread_.joinable()) return;
    events_.send('s');
    thread_.join();
  }

  TestCard card_;
  FakeVpcd vpcd_;
  PipeEvents events_;
  std::unique_ptr<CardSimulator> simulator_;
  std::thread thread_;
  std::string error_;
};

TEST_F(CardsimSimulator, AnswersAtrRequestsAndApdus) {
  start();
  auto link = vpcd_.accept_card();
  ASSERT_TRUE(link);
  const auto atr = transmit(*link, "04");
  ASSERT_TRUE(atr);
  EXPECT_EQ(to_hex(*atr), to_hex(card_atr()));
  link->send_frame(from_hex("01"));  // power on: no reply
  const auto select = transmit(*link, "00a4040009a00000030800001000");
  ASSERT_TRUE(select);
  EXPECT_EQ(sw_of(*select), 0x9000);
  const auto short_apdu = transmit(*link, "00cb");
  ASSERT_TRUE(short_apdu);
  EXPECT_EQ(to_hex(*short_apdu), "6700") << "a malformed APDU still gets a non-empty reply";
  stop();
  EXPECT_EQ(error_, "");
}

TEST_F(CardsimSimulator, PowerCycleClearsVolatileState) {
  start();
  auto link = vpcd_.accept_card();
  ASSERT_TRUE(link);
  ASSERT_EQ(sw_of(*transmit(*link, "00a4040009a00000030800001000")), 0x9000);
  ASSERT_EQ(sw_of(*transmit(*link, "0020008008" + padded_pin_hex("123456"))), 0x9000);
  link->send_frame(from_hex("00"));
  link->send_frame(from_hex("01"));
  EXPECT_EQ(sw_of(*transmit(*link, "00200080")), 0x6D00);
  ASSERT_EQ(sw_of(*transmit(*link, "00a4040009a00000030800001000")), 0x9000);
  EXPECT_EQ(sw_of(*transmit(*link, "00200080")), 0x63C3);
}

TEST_F(CardsimSimulator, RemoveAfterPullsTheCardAndReconnectReinsertsIt) {
  start(parse_faults({"remove-after=2"}), /*reconnect=*/true);
  auto link = vpcd_.accept_card();
  ASSERT_TRUE(link);
  ASSERT_TRUE(transmit(*link, "04"));  // control bytes are not APDUs
  ASSERT_TRUE(transmit(*link, "00a4040009a00000030800001000"));
  ASSERT_TRUE(transmit(*link, "00200080"));
  EXPECT_FALSE(receive(*link).has_value()) << "the link closes after the 2nd APDU";
  auto again = vpcd_.accept_card();
  ASSERT_TRUE(again) << "reinserted";
  EXPECT_EQ(sw_of(*transmit(*again, "00a4040009a00000030800001000")), 0x9000)
      << "remove-after is one-shot";
}

TEST_F(CardsimSimulator, ErrorAfterAnswers6F00) {
  start(parse_faults({"error-after=1"}));
  auto link = vpcd_.accept_card();
  ASSERT_TRUE(link);
  EXPECT_EQ(sw_of(*transmit(*link, "00a4040009a00000030800001000")), 0x9000);
  EXPECT_EQ(to_hex(*transmit(*link, "00a4040009a00000030800001000")), "6f00");
  EXPECT_EQ(to_hex(*transmit(*link, "00200080")), "6f00");
}

TEST_F(CardsimSimulator, SlowCardStillAnswers) {
  start(parse_faults({"delay-ms=30"}));
  auto link = vpcd_.accept_card();
  ASSERT_TRUE(link);
  EXPECT_EQ(sw_of(*transmit(*link, "00a4040009a00000030800001000")), 0x9000);
}

TEST_F(CardsimSimulator, ToggleEventPullsAndReinserts) {
  start();
  auto link = vpcd_.accept_card();
  ASSERT_TRUE(link);
  events_.send('t');
  EXPECT_FALSE(receive(*link).has_value()) << "pulled";
  events_.send('t');
  auto again = vpcd_.accept_card();
  ASSERT_TRUE(again) << "reinserted";
  EXPECT_TRUE(transmit(*again, "04").has_value());
}

TEST_F(CardsimSimulator, VpcdGoingAwayEndsTheRunWithoutReconnect) {
  start();
  {
    auto link = vpcd_.accept_card();
    ASSERT_TRUE(link);
  }  // vpcd closes its end
  thread_.join();
  EXPECT_NE(error_.find("vpcd closed the connection"), std::string::npos) << error_;
}

TEST(CardsimSimulatorConnect, GivesUpWhenNobodyListens) {
  set_log_level(LogLevel::error);
  TestCard card;
  PipeEvents events;
  std::uint16_t port = 0;
  { port = FakeVpcd().port(); }  // a port that was free a moment ago and now has no listener
  SimulatorOptions options;
  options.vpcd = {"127.0.0.1", port};
  options.connect_timeout = std::chrono::milliseconds(200);
  CardSimulator simulator(card.applet(), options, events);
  try {
    simulator.run();
    ADD_FAILURE() << "run() returned";
  } catch (const CardsimError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to vpcd"), std::string::npos) << e.what();
  }
}

TEST(CardsimVpcdLink, RefusesEmptyAndOversizedFrames) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  VpcdLink a{UniqueFd(fds[0])};
  VpcdLink b{UniqueFd(fds[1])};
  EXPECT_THROW(a.send_frame({}), CardsimError);
  EXPECT_THROW(a.send_frame(Bytes(0x10000, 0)), CardsimError);
  a.send_frame(from_hex("9000"));
  const auto frame = b.receive_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(to_hex(*frame), "9000");
}

TEST(CardsimVpcdLink, ParsesEndpoints) {
  EXPECT_EQ(parse_vpcd_endpoint("127.0.0.1:35964").port, 35964);
  EXPECT_EQ(parse_vpcd_endpoint("localhost:1").host, "localhost");
  for (const char* bad : {"127.0.0.1", ":35963", "host:", "host:0", "host:65536", "host:12x"}) {
    EXPECT_THROW((void)parse_vpcd_endpoint(bad), CardsimError) << bad;
  }
}

}  // namespace
}  // namespace idvault::cardsim::testing
