#include "host/rpc/line_framer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

using idvault::rpc::LineFramer;

TEST(LineFramer, SplitsFramesAcrossReads) {
  LineFramer framer(100);
  ASSERT_TRUE(framer.feed("{\"a\":1}\n{\"b\""));
  EXPECT_EQ(framer.next_frame(), "{\"a\":1}");
  EXPECT_FALSE(framer.next_frame().has_value());
  ASSERT_TRUE(framer.feed(":2}\r\n"));
  EXPECT_EQ(framer.next_frame(), "{\"b\":2}");
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(LineFramer, RefusesAnEndlessLineAtTheLimitNotAtTheEnd) {
  LineFramer framer(16);
  EXPECT_TRUE(framer.feed(std::string(16, 'x')));
  EXPECT_FALSE(framer.feed("y"));
  EXPECT_TRUE(framer.oversized());
  EXPECT_FALSE(framer.next_frame().has_value());
  EXPECT_FALSE(framer.feed("\n"));  // stays refused
}

TEST(LineFramer, ManyShortFramesInOneReadAreNotMistakenForOneLongOne) {
  LineFramer framer(8);
  std::string many;
  for (int i = 0; i < 100; ++i) many += "1234567\n";
  ASSERT_TRUE(framer.feed(many));
  int count = 0;
  while (auto frame = framer.next_frame()) {
    EXPECT_EQ(*frame, "1234567");
    ++count;
  }
  EXPECT_EQ(count, 100);
}

TEST(LineFramer, CompleteOversizedFrameIsRefused) {
  LineFramer framer(4);
  EXPECT_FALSE(framer.feed("12345\n"));
}

TEST(LineFramer, HandsOutALargeFrameWholeAndKeepsFraming) {
  LineFramer framer(1u << 20);
  const std::string large(300000, 'b');
  ASSERT_TRUE(framer.feed(large.substr(0, 1000)));
  EXPECT_FALSE(framer.next_frame().has_value());
  ASSERT_TRUE(framer.feed(large.substr(1000) + "\n"));
  EXPECT_EQ(framer.next_frame(), large);  // the buffer itself, moved out
  EXPECT_EQ(framer.buffered(), 0u);
  ASSERT_TRUE(framer.feed("next\n"));
  EXPECT_EQ(framer.next_frame(), "next");
}

TEST(LineFramer, ReadsStraightIntoItsBuffer) {
  LineFramer framer(64);
  const std::string stream = "{\"a\":1}\n{\"b\":2}\r\n{\"c\"";
  for (char c : stream) {  // one byte per "recv", the worst case
    std::span<char> space = framer.receive_space(16);
    ASSERT_EQ(space.size(), 16u);
    space[0] = c;
    ASSERT_TRUE(framer.commit(1));
  }
  EXPECT_EQ(framer.next_frame(), "{\"a\":1}");
  EXPECT_EQ(framer.next_frame(), "{\"b\":2}");
  EXPECT_FALSE(framer.next_frame().has_value());
  EXPECT_EQ(framer.buffered(), 4u);
  std::span<char> space = framer.receive_space(70);
  std::fill(space.begin(), space.end(), 'z');
  EXPECT_FALSE(framer.commit(70));  // the partial frame went over 64
  EXPECT_TRUE(framer.oversized());
}

namespace {
std::string text_of(const idvault::SecretBytes& bytes) {
  return std::string(bytes.reveal_text());
}
}  // namespace

TEST(LineFramerAttachments, BytesAlreadyReadWithTheLineGoToTheAttachments) {
  LineFramer framer(1024);
  ASSERT_TRUE(framer.feed("head\nABCDEFG\nnext\n"));
  auto line = framer.next_frame();
  ASSERT_EQ(line, "head");
  const std::size_t sizes[] = {3, 5};  // "ABC", "DEFG\n": a newline inside is just a byte
  ASSERT_TRUE(framer.expect_attachments(sizes, line->size() + 1));
  EXPECT_FALSE(framer.next_frame().has_value());  // not until they are taken
  auto attachments = framer.take_attachments();
  ASSERT_TRUE(attachments.has_value());
  ASSERT_EQ(attachments->size(), 2u);
  EXPECT_EQ(text_of((*attachments)[0]), "ABC");
  EXPECT_EQ(text_of((*attachments)[1]), "DEFG\n");
  EXPECT_EQ(framer.next_frame(), "next");
  EXPECT_FALSE(framer.awaiting_attachments());
}

TEST(LineFramerAttachments, LaterBytesAreReadStraightIntoTheAttachment) {
  LineFramer framer(1024);
  ASSERT_TRUE(framer.feed("head\n"));
  ASSERT_EQ(framer.next_frame(), "head");
  const std::size_t sizes[] = {6};
  ASSERT_TRUE(framer.expect_attachments(sizes, 5));
  std::span<char> space = framer.receive_space(100);
  EXPECT_EQ(space.size(), 6u);  // never past the announced end
  std::memcpy(space.data(), "xy", 2);
  ASSERT_TRUE(framer.commit(2));
  EXPECT_FALSE(framer.take_attachments().has_value());
  ASSERT_TRUE(framer.feed("z\n\n\n!after\n"));
  auto attachments = framer.take_attachments();
  ASSERT_TRUE(attachments.has_value());
  EXPECT_EQ(text_of(attachments->at(0)), "xyz\n\n\n");
  EXPECT_EQ(framer.next_frame(), "!after");
}

TEST(LineFramerAttachments, EmptyAndNoAttachmentsCompleteAtOnce) {
  LineFramer framer(64);
  ASSERT_TRUE(framer.feed("a\nb\n"));
  ASSERT_EQ(framer.next_frame(), "a");
  const std::size_t sizes[] = {0, 0};
  ASSERT_TRUE(framer.expect_attachments(sizes, 2));
  auto attachments = framer.take_attachments();
  ASSERT_TRUE(attachments.has_value());
  EXPECT_EQ(attachments->size(), 2u);
  EXPECT_TRUE(attachments->at(0).empty());
  EXPECT_EQ(framer.next_frame(), "b");
}

TEST(LineFramerAttachments, TheLineAndItsAttachmentsShareTheLimit) {
  LineFramer framer(100);
  ASSERT_TRUE(framer.feed(std::string(39, 'l') + "\n"));
  auto line = framer.next_frame();
  ASSERT_TRUE(line.has_value());
  const std::size_t fits[] = {30, 30};  // 40 + 60 = 100
  LineFramer same(100);
  ASSERT_TRUE(same.feed(*line + "\n"));
  ASSERT_TRUE(same.next_frame().has_value());
  EXPECT_TRUE(same.expect_attachments(fits, 40));
  const std::size_t over[] = {30, 31};
  EXPECT_FALSE(framer.expect_attachments(over, 40));
  EXPECT_TRUE(framer.oversized());
  EXPECT_FALSE(framer.feed("x\n"));
  const std::size_t huge[] = {SIZE_MAX, SIZE_MAX};  // must not wrap around
  LineFramer other(100);
  EXPECT_FALSE(other.expect_attachments(huge, 1));
}
