// Passport dates (birth_date, expiry_date): DD.MM.YYYY, as Telegram writes them.
#pragma once

#include <compare>
#include <string>
#include <string_view>

namespace idvault::vault {

struct CalendarDate {
  int day = 0;
  int month = 0;
  int year = 0;
  friend auto operator<=>(const CalendarDate&, const CalendarDate&) = default;
};

// True when the day exists in the proleptic Gregorian calendar (years 1..9999).
[[nodiscard]] bool is_existing_date(int day, int month, int year) noexcept;

// Reads a date the way TDLib does: 8..10 characters, three dot-separated parts of
// 1-2, 1-2 and exactly 4 ASCII digits, and the day must exist (29.02 only in leap
// years). Throws FormatError(where, ...) otherwise.
[[nodiscard]] CalendarDate parse_passport_date(std::string_view text, const std::string& where);

// Always zero-padded "DD.MM.YYYY", as TDLib writes it.
[[nodiscard]] std::string to_string(const CalendarDate& date);

}  // namespace idvault::vault
