#include "host/rpc/line_framer.h"

#include <gtest/gtest.h>

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
