// The raw head checks on their own: what passes, with the framing it reports, and what is
// refused with which status.
#include "host/http/raw_head.h"

#include <gtest/gtest.h>

#include <string>

using namespace idvault::http;
using namespace std::string_literals;

namespace {

std::optional<HeadRefusal> check(const std::string& head) {
  HeadFraming framing;
  return check_raw_head(head, framing);
}

TEST(RawHead, PlainHeadsPassWithTheirFraming) {
  HeadFraming framing;
  EXPECT_FALSE(check_raw_head("GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Tab:\tv\t", framing));
  EXPECT_FALSE(framing.content_length);
  EXPECT_FALSE(framing.transfer_encoding);
  EXPECT_FALSE(check_raw_head("POST / HTTP/1.0\r\ncontent-LENGTH:  42 ", framing));
  EXPECT_EQ(framing.content_length, 42u);
  EXPECT_FALSE(check_raw_head("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615", framing));
  EXPECT_EQ(framing.content_length, 18446744073709551615u);
  EXPECT_FALSE(check_raw_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked", framing));
  EXPECT_TRUE(framing.transfer_encoding);
  EXPECT_FALSE(check_raw_head("GET / HTTP/1.1\r\nX-Utf8: J\xC3\xB6rg", framing))
      << "bytes above 0x7F are field content";
}

TEST(RawHead, WhatParsersCouldFrameDifferentlyIsA400) {
  const char* const cases[] = {
      "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked",
      "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
      "POST / HTTP/1.1\r\nContent-Length: -1",
      "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999",
      "POST / HTTP/1.1\r\nContent-Length: 1 1",
      "POST / HTTP/1.1\r\nContent-Length: abc",
      "POST / HTTP/1.1\r\nContent-Length:",
      "POST / HTTP/1.1\r\nTransfer-Encoding:   ",
      "GET / HTTP/1.1\r\nX: a\r\n b",
      "GET / HTTP/1.1\r\n X: a",
      "GET / HTTP/1.1\r\nX: a\rb",
      "GET / HTTP/1.1\r\nX: a\nb",
      "GET / HTTP/1.1\r\nX: a\x1b",
      "GET / HTTP/1.1\r\nX : a",
      "GET / HTTP/1.1\r\n: a",
      "GET / HTTP/1.1\r\n\r\nX: after an empty line",
      "GET / HTTP/1.1\r\nX(: a",
      "GET /\tx HTTP/1.1",
      "GET * HTTP/1.1",
      "GET / HTTP/1.1 extra",
      "G@T / HTTP/1.1",
      "GET",
  };
  for (const char* head : cases) {
    const auto refusal = check(head);
    ASSERT_TRUE(refusal) << head;
    EXPECT_EQ(refusal->status, 400) << head;
  }
  const auto nul = check("GET / HTTP/1.1\r\nX: a\0b"s);
  ASSERT_TRUE(nul);
  EXPECT_EQ(nul->status, 400);
}

TEST(RawHead, AnotherVersionIsA505) {
  for (const char* head : {"GET / HTTP/2.0", "GET / HTTP/1.2", "GET / http/1.1"}) {
    const auto refusal = check(head);
    ASSERT_TRUE(refusal) << head;
    EXPECT_EQ(refusal->status, 505) << head;
  }
}

}  // namespace
