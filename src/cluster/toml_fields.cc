#include "cluster/toml_fields.h"

#include <cmath>

#include <sstream>

namespace phalanx::cluster::toml_fields {
namespace {

Unexpected<Error> bad(std::string_view where, std::string_view key, std::string_view what) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("{}: '{}' {}", where, key, what));
}

}  // namespace

Result<toml::table> parse(std::string_view text, std::string_view what) {
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not valid TOML (line {}): {}", what, e.source().begin.line,
                            e.description()));
  }
}

Result<std::string> string(const toml::table& t, std::string_view key, std::string_view where) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return bad(where, key, "is missing");
  std::optional<std::string> v = node->value<std::string>();
  if (!v) return bad(where, key, "must be a string");
  return *v;
}

Result<std::int64_t> integer(const toml::table& t, std::string_view key, std::string_view where,
                             std::int64_t min, std::int64_t max) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return bad(where, key, "is missing");
  if (!node->is_integer()) return bad(where, key, "must be an integer");
  const std::int64_t v = *node->value<std::int64_t>();
  if (v < min || v > max) {
    return bad(where, key, fmt::format("is {}; it must be in [{}, {}]", v, min, max));
  }
  return v;
}

Result<std::int64_t> integer_or(const toml::table& t, std::string_view key, std::string_view where,
                                std::int64_t min, std::int64_t max, std::int64_t fallback) {
  if (!t.contains(key)) return fallback;
  return integer(t, key, where, min, max);
}

Result<std::string> string_or(const toml::table& t, std::string_view key, std::string_view where,
                              std::string fallback) {
  if (!t.contains(key)) return fallback;
  return string(t, key, where);
}

Result<bool> boolean_or(const toml::table& t, std::string_view key, std::string_view where,
                        bool fallback) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return fallback;
  std::optional<bool> v = node->value<bool>();
  if (!node->is_boolean() || !v) return bad(where, key, "must be true or false");
  return *v;
}

Result<double> number_or(const toml::table& t, std::string_view key, std::string_view where,
                         double fallback) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return fallback;
  std::optional<double> v = node->value<double>();
  if (!(node->is_floating_point() || node->is_integer()) || !v || !std::isfinite(*v)) {
    return bad(where, key, "must be a number");
  }
  return *v;
}

std::string to_text(const toml::table& t) {
  std::ostringstream out;
  out << t << '\n';
  return out.str();
}

}  // namespace phalanx::cluster::toml_fields
