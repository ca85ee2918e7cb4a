#include "host/rpc/line_framer.h"

#include <gtest/gtest.h>

#include <algorithm>
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
