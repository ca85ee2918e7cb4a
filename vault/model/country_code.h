// ISO 3166-1 alpha-2 country codes (country_code, residence_country_code).
//
// Two levels on purpose. Reading what a peer sent, we check only the shape TDLib checks
// (two uppercase ASCII letters), so data real clients produced is never refused. Before
// we store or send data of our own, the code must also be assigned, which catches typos
// such as "UK" (the assigned code is "GB").
#pragma once

#include <string_view>

namespace idvault::vault {

// Exactly two characters, each 'A'..'Z'.
[[nodiscard]] bool has_country_code_shape(std::string_view code) noexcept;

// One of the 249 codes ISO 3166-1 assigns (iso-codes 4.15), plus "XK" (Kosovo): not
// assigned by ISO, but Telegram's apps offer it and the EU and many issuers use it.
[[nodiscard]] bool is_assigned_country_code(std::string_view code) noexcept;

}  // namespace idvault::vault
