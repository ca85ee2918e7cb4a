// Dates, UTF-8 counting, country codes and untrusted-text quoting: the small rules every
// Passport field check is made of.
#include <gtest/gtest.h>

#include <string>

#include "common/quoted_text.h"
#include "common/utf8.h"
#include "vault/model/country_code.h"
#include "vault/model/date.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

CalendarDate parse(std::string_view text) {
  return parse_passport_date(text, "test.date");
}

std::string error_of(std::string_view text) {
  try {
    static_cast<void>(parse(text));
  } catch (const FormatError& error) {
    EXPECT_EQ(error.where(), "test.date");
    return error.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

TEST(PassportDate, ReadsZeroPaddedDate) {
  EXPECT_EQ(parse("05.11.1987"), (CalendarDate{5, 11, 1987}));
}

TEST(PassportDate, ReadsOneDigitDayAndMonthAsTdlibDoes) {
  EXPECT_EQ(parse("5.1.1987"), (CalendarDate{5, 1, 1987}));
  EXPECT_EQ(parse("5.11.1987"), (CalendarDate{5, 11, 1987}));
  EXPECT_EQ(parse("15.1.1987"), (CalendarDate{15, 1, 1987}));
}

TEST(PassportDate, WritesZeroPadded) {
  EXPECT_EQ(to_string(parse("5.1.0987")), "05.01.0987");
  EXPECT_EQ(to_string(CalendarDate{31, 12, 9999}), "31.12.9999");
}

TEST(PassportDate, LeapDayExistsOnlyInLeapYears) {
  EXPECT_EQ(parse("29.02.2000"), (CalendarDate{29, 2, 2000}));  // divisible by 400
  EXPECT_EQ(parse("29.02.2024"), (CalendarDate{29, 2, 2024}));
  EXPECT_NE(error_of("29.02.1900").find("29.02.1900 is not a date that exists"),
            std::string::npos);  // divisible by 100, not by 400
  EXPECT_NE(error_of("29.02.2023").find("not a date that exists"), std::string::npos);
  EXPECT_NE(error_of("30.02.2024").find("not a date that exists"), std::string::npos);
}

TEST(PassportDate, DayMustExistInItsMonth) {
  EXPECT_NE(error_of("31.04.2020").find("31.04.2020 is not a date that exists"), std::string::npos);
  EXPECT_NE(error_of("31.02.2000").find("31.02.2000 is not a date that exists"), std::string::npos);
  EXPECT_EQ(parse("30.04.2020"), (CalendarDate{30, 4, 2020}));
  EXPECT_EQ(parse("31.12.2020"), (CalendarDate{31, 12, 2020}));
}

TEST(PassportDate, RangesAreChecked) {
  for (const char* text : {"00.01.2000", "01.00.2000", "01.13.2000", "32.01.2000", "01.01.0000"}) {
    EXPECT_NE(error_of(text).find("not a date that exists"), std::string::npos) << text;
  }
  EXPECT_EQ(parse("01.01.0001"), (CalendarDate{1, 1, 1}));
}

TEST(PassportDate, ShapeIsDayDotMonthDotFourDigitYear) {
  for (const char* text : {"", "1.1.200", "2000-01-31", "01/01/2000", "01.01.20000", "1.1.20",
                           "001.01.2000", "01.001.2000", "+1.01.2000", " 1.01.2000", "01.01.2000.",
                           "a1.01.2000", "01.01.200a", "01..012000", "01.01.2000 "}) {
    EXPECT_NE(error_of(text).find("is not a date in DD.MM.YYYY form"), std::string::npos) << text;
  }
}

TEST(PassportDate, BadShapeMessageQuotesTheInputBounded) {
  const std::string message = error_of("01-01-2000");
  EXPECT_NE(message.find("\"01-01-2000\""), std::string::npos) << message;
}

TEST(Utf8, CountsCodePointsNotBytes) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("Жанна"), 5u);                     // 2-byte
  EXPECT_EQ(utf8_length("\xe6\x9d\xb1\xe4\xba\xac"), 2u);  // 東京, 3-byte
  EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80"), 1u);          // U+1F600, 4-byte
}

TEST(Utf8, RejectsMalformedText) {
  EXPECT_FALSE(utf8_length("\xc3"));              // truncated
  EXPECT_FALSE(utf8_length("\xff"));              // never valid
  EXPECT_FALSE(utf8_length("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(utf8_length("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(utf8_length("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(utf8_length("ok\x80"));            // stray continuation byte
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));
}

TEST(CountryCode, ShapeIsTwoUppercaseAsciiLetters) {
  EXPECT_TRUE(has_country_code_shape("US"));
  EXPECT_TRUE(has_country_code_shape("QQ"));  // shape only: unassigned but well-formed
  for (const char* bad : {"us", "Us", "U", "USA", "", "U1", "U ", "\xc3\x9cS"}) {
    EXPECT_FALSE(has_country_code_shape(bad)) << bad;
  }
}

TEST(CountryCode, AssignedCodesComeFromIso3166) {
  for (const char* code : {"AD", "DE", "GB", "RU", "US", "ZW", "XK"}) {
    EXPECT_TRUE(is_assigned_country_code(code)) << code;
  }
  for (const char* code : {"UK", "QQ", "ZZ", "AA", "EU", "us"}) {
    EXPECT_FALSE(is_assigned_country_code(code)) << code;
  }
}

TEST(QuotedText, EscapesControlAndNonAsciiBytesAndBoundsLength) {
  EXPECT_EQ(quote_untrusted("ab"), "\"ab\"");
  EXPECT_EQ(quote_untrusted("a\nb\"\\"), "\"a\\x0ab\\x22\\x5c\"");
  EXPECT_EQ(quote_untrusted("\xc3\xa9"), "\"\\xc3\\xa9\"");
  const std::string long_text(100, 'x');
  EXPECT_EQ(quote_untrusted(long_text), "\"" + std::string(40, 'x') + "\"...");
}

}  // namespace
}  // namespace idvault::vault
