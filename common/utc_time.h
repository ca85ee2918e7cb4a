// Times as idvault shows them to people: records and errors in UTC, the lock time in the
// machine's local time (the agent and its clients run as one user on one machine).
#pragma once

#include <cstdint>
#include <string>

namespace idvault {

// "2026-12-07 14:02:33 UTC"
[[nodiscard]] std::string utc_date_time(std::int64_t unix_seconds);
// "2026-12-07 14:02 UTC"
[[nodiscard]] std::string utc_date_minutes(std::int64_t unix_seconds);

// The UTC calendar day of a time, e.g. for "has this document expired today".
struct CalendarDate {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
};
[[nodiscard]] CalendarDate utc_calendar_date(std::int64_t unix_seconds);

// Local "14:02" when at falls on the same local day as now, else "2026-12-07 14:02".
[[nodiscard]] std::string local_clock_time(std::int64_t at_unix_seconds,
                                           std::int64_t now_unix_seconds);

}  // namespace idvault
