// Every type that holds a secret wipes it before its memory goes back to the heap: on
// destruction, when its buffer is replaced by a move or outgrown, and on clear(). The
// replaced operator delete (freed_memory_watch.h) looks at each block as it is freed, so
// these tests fail the moment a wipe is removed.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/secret_bytes.h"
#include "firmware-sim/wiped_bytes.h"
#include "host/cli/secret_request.h"
#include "host/pin/pin_source.h"
#include "host/rpc/agent_socket.h"
#include "host/rpc/line_framer.h"
#include "host/rpc/method_table.h"
#include "host/rpc/rpc_server.h"
#include "tests/host/zeroization/freed_memory_watch.h"
#include "tests/support/sanitizer_build.h"
#include "tests/support/temp_dir.h"
#include "vault/keys/software_keys.h"

using idvault::SecretBytes;
using idvault::testing::start_scanning_freed_blocks;
using idvault::testing::stop_scanning_freed_blocks;
using idvault::testing::TempDir;
using idvault::testing::watch_block;
using idvault::testing::watched_block;
namespace fs = std::filesystem;

namespace {

// Longer than std::string's in-object buffer (15 bytes), so any std::string copy of it
// lives on the heap where the scan can see it.
constexpr std::string_view kMarker = "ZEROIZE-MARKER-5b1f2e9c";
constexpr std::string_view kPin = "73915846";

bool memory_is_zero(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i)
    if (data[i] != 0) return false;
  return true;
}

long locked_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmLck:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// ---- SecretBytes (pkcs11/secret_bytes.h) ---------------------------------------------

TEST(SecretBytesWipe, BufferIsZeroWhenDestroyed) {
  auto secret = std::make_unique<SecretBytes>(SecretBytes::from_string(kPin));
  watch_block(secret->reveal().data(), secret->size());
  secret.reset();
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
}

TEST(SecretBytesWipe, BufferReplacedByMoveAssignmentIsZero) {
  SecretBytes target = SecretBytes::from_string(kPin);
  SecretBytes source = SecretBytes::from_string(kMarker);
  watch_block(target.reveal().data(), target.size());
  target = std::move(source);
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
  EXPECT_EQ(target.reveal_text(), kMarker);
}

TEST(SecretBytesWipe, MoveConstructionKeepsOneBufferAndWipesItAtTheEnd) {
  auto first = std::make_unique<SecretBytes>(SecretBytes::from_string(kMarker));
  const std::uint8_t* block = first->reveal().data();
  watch_block(block, first->size());
  auto second = std::make_unique<SecretBytes>(std::move(*first));
  first.reset();
  EXPECT_FALSE(watched_block().freed) << "a move must hand the buffer over, not copy it";
  EXPECT_EQ(second->reveal().data(), block);
  second.reset();
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
}

TEST(SecretBytesWipe, BufferOutgrownByResizeIsZero) {
  SecretBytes secret = SecretBytes::from_string(kPin);
  watch_block(secret.reveal().data(), secret.size());
  secret.resize(4096);
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
  EXPECT_EQ(secret.reveal_text().substr(0, kPin.size()), kPin);
}

TEST(SecretBytesWipe, ClearWipesAtOnceAndTheBufferStaysZero) {
  auto secret = std::make_unique<SecretBytes>(SecretBytes::from_string(kMarker));
  const std::uint8_t* block = secret->reveal().data();
  watch_block(block, kMarker.size());
  secret->clear();
  EXPECT_TRUE(secret->empty());
  EXPECT_TRUE(memory_is_zero(block, kMarker.size())) << "clear() left the bytes in place";
  secret.reset();
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
}

// SecretBytes(n) and resize() promise zeros even though its allocator leaves bytes made
// without a value alone (so for_overwrite can skip the pass): memory a non-secret freed
// unwiped (this binary's operator delete does not wipe) must not show through.
TEST(SecretBytesWipe, SizedConstructionAndGrowthAreZeroOnReusedMemory) {
  constexpr std::size_t kSize = 4000;
  for (int round = 0; round < 8; ++round) {
    { std::vector<std::uint8_t> garbage(kSize, 0xA5); }  // freed as it is
    const SecretBytes sized(kSize);
    EXPECT_TRUE(memory_is_zero(sized.reveal().data(), kSize)) << "round " << round;
    { std::vector<std::uint8_t> garbage(2 * kSize, 0x5A); }
    SecretBytes grown = SecretBytes::from_string("ab");
    grown.resize(2 * kSize);
    EXPECT_EQ(grown.reveal_text().substr(0, 2), "ab");
    EXPECT_TRUE(memory_is_zero(grown.reveal().data() + 2, 2 * kSize - 2)) << "round " << round;
  }
  const SecretBytes filled_later = SecretBytes::for_overwrite(kSize);
  EXPECT_EQ(filled_later.size(), kSize);
}

TEST(SecretBytesWipe, CloneIsWipedToo) {
  const SecretBytes original = SecretBytes::from_string(kMarker);
  start_scanning_freed_blocks(kMarker);
  { const SecretBytes copy = original.clone(); }
  EXPECT_EQ(stop_scanning_freed_blocks(), 0u);
}

// ---- SoftwareMasterKey (vault/software_keys.h): the asymmetric mode's vault key -------

TEST(SoftwareMasterKeyWipe, KeyIsLockedInMemoryThenWipedAndUnlocked) {
  const long locked_before = locked_kib();
  SecretBytes key_bytes(32);
  for (std::size_t i = 0; i < key_bytes.size(); ++i)
    key_bytes.reveal_mutable()[i] = static_cast<std::uint8_t>(i + 1);
  watch_block(key_bytes.reveal().data(), key_bytes.size());
  auto key = std::make_unique<idvault::vault::SoftwareMasterKey>(
      idvault::vault::SoftwareMasterKey::from_bytes(std::move(key_bytes)));
  EXPECT_FALSE(watched_block().freed) << "the key must keep the buffer it was given, not a copy";
  ASSERT_TRUE(key->locked_in_memory()) << "mlock refused (RLIMIT_MEMLOCK?)";
  // AddressSanitizer makes mlock() a no-op that reports success: VmLck cannot move there,
  // and the wipe below is what this tree can still show.
  const bool vmlck_observable = !idvault::testing::kUnderAddressSanitizer;
  if (vmlck_observable) {
    EXPECT_GT(locked_kib(), locked_before) << "VmLck did not grow while the key lives";
  }
  const SecretBytes value = SecretBytes::from_string(kMarker);
  const SecretBytes unwrapped = key->unwrap(key->wrap(value));
  EXPECT_TRUE(unwrapped.equals(value.reveal()));
  key.reset();
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
  if (vmlck_observable) {
    EXPECT_EQ(locked_kib(), locked_before) << "the key's page stayed locked after it died";
  }
}

TEST(SoftwareMasterKeyWipe, UnwrapLeavesNoPlaintextCopy) {
  auto key = std::make_unique<idvault::vault::SoftwareMasterKey>(
      idvault::vault::SoftwareMasterKey::generate());
  const SecretBytes value = SecretBytes::from_string(kMarker);
  const idvault::vault::Bytes wrapped = key->wrap(value);
  start_scanning_freed_blocks(kMarker);
  { const SecretBytes unwrapped = key->unwrap(wrapped); }
  key.reset();
  EXPECT_EQ(stop_scanning_freed_blocks(), 0u) << "unwrapping left the plaintext in freed memory";
}

// ---- PIN buffers (host/pin/pin_source.h) -----------------------------------------------

TEST(PinBufferWipe, PinFromAFileLeavesNoCopyBehind) {
  const TempDir dir("idvault-zeroize");
  const fs::path file = dir.path() / "pin";
  {
    std::ofstream out(file);
    out << kPin << "\nsecond line\n";
  }
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  start_scanning_freed_blocks(kPin);
  {
    SecretBytes pin = idvault::pin::read_pin(file.string(), "PIN");
    EXPECT_EQ(pin.reveal_text(), kPin);
    watch_block(pin.reveal().data(), pin.size());
  }
  EXPECT_EQ(stop_scanning_freed_blocks(), 0u) << "a freed block still held the PIN";
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
}

TEST(PinBufferWipe, PinFromAPinentryProgramLeavesNoCopyBehind) {
  const TempDir dir("idvault-zeroize");
  const fs::path program = dir.path() / "pinentry";
  {
    std::ofstream out(program);
    out << "#!/bin/sh\nprintf '%s\\n' " << kPin << "\n";
  }
  fs::permissions(program, fs::perms::owner_all);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread runs in this test
  ASSERT_EQ(::setenv(idvault::pin::kPinentryVariable, program.c_str(), 1), 0);
  start_scanning_freed_blocks(kPin);
  {
    SecretBytes pin = idvault::pin::read_pin(std::nullopt, "PIN");
    EXPECT_EQ(pin.reveal_text(), kPin);
  }
  EXPECT_EQ(stop_scanning_freed_blocks(), 0u) << "a freed block still held the PIN";
  ::unsetenv(idvault::pin::kPinentryVariable);  // NOLINT(concurrency-mt-unsafe)
}

TEST(PinBufferWipe, TheClisRequestLineLeavesNoCopyOfThePinOrScan) {
  // The CLI writes the PIN (escaped) and scans (base64) straight into one wiping line;
  // growing that line many times over must not leave the PIN behind in a freed block.
  const SecretBytes pin = SecretBytes::from_string(kMarker);
  SecretBytes scan(std::size_t{64} * 1024);
  start_scanning_freed_blocks(kMarker);
  {
    idvault::cli::SecretRequest request("unlock", 7);
    request.add_text("pin", pin);
    request.add_plain("allow_final_try", false);
    request.add_base64("front_side", scan);
    const SecretBytes& line = request.finish();
    EXPECT_NE(line.reveal_text().find(kMarker), std::string_view::npos);
  }
  EXPECT_EQ(stop_scanning_freed_blocks(), 0u) << "the request line left the PIN in freed memory";
}

// ---- the card simulator's WipedBytes (firmware-sim/wiped_bytes.h) -------------------

TEST(CardSimWipedBytes, BufferIsZeroWhenDestroyed) {
  auto pin =
      std::make_unique<idvault::cardsim::WipedBytes>(idvault::cardsim::WipedBytes::from_text(kPin));
  watch_block(pin->reveal().data(), pin->size());
  pin.reset();
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
}

TEST(CardSimWipedBytes, BufferReplacedByMoveAssignmentIsZero) {
  auto target = idvault::cardsim::WipedBytes::from_text(kPin);
  watch_block(target.reveal().data(), target.size());
  target = idvault::cardsim::WipedBytes::from_text(kMarker);
  ASSERT_TRUE(watched_block().freed);
  EXPECT_TRUE(watched_block().all_zero_when_freed);
  EXPECT_EQ(target.reveal_text(), kMarker);
}

// ---- the agent's transport: framer and params (host/rpc) -----------------------------

// A request line holding the marker, built in a stack buffer so the test itself leaves no
// heap copy for the scan to find.
struct RequestLine {
  std::array<char, 256> text{};
  std::size_t size = 0;
  RequestLine() {
    const int written = std::snprintf(
        text.data(), text.size(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"take\",\"params\":{\"pin\":\"%.*s\"}}\n",
        static_cast<int>(kMarker.size()), kMarker.data());
    size = static_cast<std::size_t>(written);
  }
  ~RequestLine() { ::explicit_bzero(text.data(), text.size()); }
  RequestLine(const RequestLine&) = delete;  // one copy of the secret, wiped once
  RequestLine& operator=(const RequestLine&) = delete;
  RequestLine(RequestLine&&) = delete;
  RequestLine& operator=(RequestLine&&) = delete;
  [[nodiscard]] std::string_view view() const { return {text.data(), size}; }
};

TEST(LineFramerWipe, OutgrownBuffersAndHandedOutFramesLeaveNoCopy) {
  const RequestLine line;
  start_scanning_freed_blocks(kMarker);
  {
    idvault::rpc::LineFramer framer(1 << 20);
    // Byte by byte, then many frames at once: the framer grows and compacts its buffer.
    for (char c : line.view()) ASSERT_TRUE(framer.feed(std::string_view(&c, 1)));
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(framer.feed(line.view()));
    while (auto frame = framer.next_frame()) {
      EXPECT_NE(frame->find(kMarker), std::string::npos);
      ::explicit_bzero(frame->data(), frame->size());  // the caller's copy is the caller's to wipe
    }
    // And a frame still incomplete when the framer dies.
    ASSERT_TRUE(framer.feed(line.view().substr(0, line.size - 1)));
  }
  EXPECT_EQ(stop_scanning_freed_blocks(), 0u)
      << "the framer freed a buffer that still held the frame";
}

// The params a handler gets are wiped after the call whatever the handler did with them.
// (Only that block is watched: nlohmann::json's lexer keeps its own copies of each string
// it reads in buffers of its own, which go back to the heap unwiped — see
// docs/SECURITY.md.)
TEST(RpcServerWipe, ParamsAreWipedAfterTheCallWhateverTheHandlerDid) {
  const TempDir dir("idvault-zeroize");
  const fs::path socket_path = dir.path() / "agent" / "agent.sock";
  idvault::rpc::MethodTable methods;
  // A handler that reads the secret but does not wipe it: the server must. The string is
  // longer than std::string's in-object buffer, so it has a heap block to watch.
  methods.add("take", [](nlohmann::json& params, const idvault::rpc::CallContext&) {
    const std::string& pin = params.at("pin").get_ref<const std::string&>();
    watch_block(pin.data(), pin.size());
    return nlohmann::json(pin.size());
  });
  idvault::rpc::RpcServerOptions options;
  options.allowed_uid = ::geteuid();
  auto server = std::make_unique<idvault::rpc::RpcServer>(idvault::rpc::listen_on_path(socket_path),
                                                          methods, options);
  std::thread serving([&] { server->run(); });

  const RequestLine line;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::send(fd, line.text.data(), line.size, MSG_NOSIGNAL), static_cast<ssize_t>(line.size));
  std::array<char, 512> answer{};
  std::size_t got = 0;
  while (got < answer.size() - 1) {
    const ssize_t n = ::recv(fd, answer.data() + got, answer.size() - 1 - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (std::memchr(answer.data(), '\n', got) != nullptr) break;
  }
  ::close(fd);
  server->stop();
  serving.join();
  server.reset();
  const std::string_view reply(answer.data(), got);
  EXPECT_NE(reply.find("\"result\":" + std::to_string(kMarker.size())), std::string_view::npos)
      << reply;
  ASSERT_TRUE(watched_block().freed) << "the params were never freed";
  EXPECT_TRUE(watched_block().all_zero_when_freed) << "the server freed the params' PIN unwiped";
}

}  // namespace
