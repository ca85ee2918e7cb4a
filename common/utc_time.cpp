#include "common/utc_time.h"

#include <ctime>

namespace idvault {
namespace {

std::tm utc_fields(std::int64_t unix_seconds) {
  const auto time = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  return utc;
}

std::tm local_fields(std::int64_t unix_seconds) {
  const auto time = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  ::localtime_r(&time, &local);
  return local;
}

std::string format(const char* pattern, const std::tm& fields) {
  char text[32];
  const std::size_t size = std::strftime(text, sizeof(text), pattern, &fields);
  return std::string(text, size);
}

}  // namespace

std::string utc_date_time(std::int64_t unix_seconds) {
  return format("%Y-%m-%d %H:%M:%S UTC", utc_fields(unix_seconds));
}

std::string utc_date_minutes(std::int64_t unix_seconds) {
  return format("%Y-%m-%d %H:%M UTC", utc_fields(unix_seconds));
}

CalendarDate utc_calendar_date(std::int64_t unix_seconds) {
  const std::tm utc = utc_fields(unix_seconds);
  return {utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday};
}

std::string local_clock_time(std::int64_t at_unix_seconds, std::int64_t now_unix_seconds) {
  const std::tm then = local_fields(at_unix_seconds);
  const std::tm now = local_fields(now_unix_seconds);
  const bool today = then.tm_year == now.tm_year && then.tm_yday == now.tm_yday;
  return format(today ? "%H:%M" : "%Y-%m-%d %H:%M", then);
}

}  // namespace idvault
