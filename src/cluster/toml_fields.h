// Reading typed fields out of a toml++ table with errors that name the
// field (shared by the manifest and the replica configuration).
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <limits>
#include <string>

#include "core/error.h"

namespace phalanx::cluster::toml_fields {

// Parses TOML text; kInvalidArgument with the line and reason.
[[nodiscard]] Result<toml::table> parse(std::string_view text, std::string_view what);

[[nodiscard]] Result<std::string> string(const toml::table& t, std::string_view key,
                                         std::string_view where);
// An integer in [min, max].
[[nodiscard]] Result<std::int64_t> integer(const toml::table& t, std::string_view key,
                                           std::string_view where, std::int64_t min,
                                           std::int64_t max);
// Absent: `fallback`.
[[nodiscard]] Result<std::int64_t> integer_or(const toml::table& t, std::string_view key,
                                              std::string_view where, std::int64_t min,
                                              std::int64_t max, std::int64_t fallback);
[[nodiscard]] Result<std::string> string_or(const toml::table& t, std::string_view key,
                                            std::string_view where, std::string fallback);
[[nodiscard]] Result<bool> boolean_or(const toml::table& t, std::string_view key,
                                      std::string_view where, bool fallback);

// A finite number (integer or float); absent: `fallback`.
[[nodiscard]] Result<double> number_or(const toml::table& t, std::string_view key,
                                       std::string_view where, double fallback);

[[nodiscard]] std::string to_text(const toml::table& t);

}  // namespace phalanx::cluster::toml_fields
