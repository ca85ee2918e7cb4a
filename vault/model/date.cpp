#include "vault/model/date.h"

#include <cstdio>

#include "common/quoted_text.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

bool is_leap_year(int year) noexcept {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

// Digits only: std::from_chars and friends would accept a sign or spaces.
bool read_digits(std::string_view part, std::size_t min_len, std::size_t max_len, int& value) {
  if (part.size() < min_len || part.size() > max_len) return false;
  value = 0;
  for (const char c : part) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

}  // namespace

bool is_existing_date(int day, int month, int year) noexcept {
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  const int days = month == 2 && is_leap_year(year) ? 29 : kDaysInMonth[month - 1];
  return day <= days;
}

CalendarDate parse_passport_date(std::string_view text, const std::string& where) {
  const auto bad_shape = [&] {
    return FormatError(where, quote_untrusted(text) + " is not a date in DD.MM.YYYY form");
  };
  if (text.size() < 8 || text.size() > 10) throw bad_shape();
  const auto first_dot = text.find('.');
  if (first_dot == std::string_view::npos) throw bad_shape();
  const auto second_dot = text.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) throw bad_shape();
  CalendarDate date;
  if (!read_digits(text.substr(0, first_dot), 1, 2, date.day) ||
      !read_digits(text.substr(first_dot + 1, second_dot - first_dot - 1), 1, 2, date.month) ||
      !read_digits(text.substr(second_dot + 1), 4, 4, date.year)) {
    throw bad_shape();
  }
  if (!is_existing_date(date.day, date.month, date.year)) {
    throw FormatError(where, to_string(date) + " is not a date that exists");
  }
  return date;
}

std::string to_string(const CalendarDate& date) {
  char text[16];
  std::snprintf(text, sizeof text, "%02d.%02d.%04d", date.day % 100, date.month % 100,
                date.year % 10000);
  return text;
}

}  // namespace idvault::vault
