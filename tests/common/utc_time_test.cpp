// The time formats people read (common/utc_time.h).
#include "common/utc_time.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace idvault {
namespace {

constexpr std::int64_t kDec7At140233 = 1796652153;  // 2026-12-07 14:02:33 UTC

TEST(UtcTime, FormatsRecordsInUtc) {
  EXPECT_EQ(utc_date_time(kDec7At140233), "2026-12-07 14:02:33 UTC");
  EXPECT_EQ(utc_date_minutes(kDec7At140233), "2026-12-07 14:02 UTC");
  EXPECT_EQ(utc_date_time(0), "1970-01-01 00:00:00 UTC");
}

TEST(UtcTime, GivesTheUtcCalendarDay) {
  const CalendarDate date = utc_calendar_date(kDec7At140233);
  EXPECT_EQ(date.year, 2026);
  EXPECT_EQ(date.month, 12);
  EXPECT_EQ(date.day, 7);
  const CalendarDate new_year = utc_calendar_date(kDec7At140233 + 25 * 86400 - 14 * 3600);
  EXPECT_EQ(new_year.year, 2027);
  EXPECT_EQ(new_year.month, 1);
  EXPECT_EQ(new_year.day, 1);
}

class LocalClockTime : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* tz = std::getenv("TZ")) saved_ = tz;
    ::setenv("TZ", "UTC0", 1);
    ::tzset();
  }
  void TearDown() override {
    if (saved_) {
      ::setenv("TZ", saved_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(LocalClockTime, ShowsTheDateOnlyWhenNotToday) {
  EXPECT_EQ(local_clock_time(kDec7At140233, kDec7At140233 + 3600), "14:02");
  EXPECT_EQ(local_clock_time(kDec7At140233, kDec7At140233 + 86400), "2026-12-07 14:02");
  EXPECT_EQ(local_clock_time(kDec7At140233, kDec7At140233 - 365 * 86400), "2026-12-07 14:02");
}

TEST_F(LocalClockTime, FollowsTheMachinesTimeZone) {
  ::setenv("TZ", "UTC-2", 1);  // POSIX sign: two hours east of UTC
  ::tzset();
  EXPECT_EQ(local_clock_time(kDec7At140233, kDec7At140233), "16:02");
}

}  // namespace
}  // namespace idvault
