// Expected<T, E>: a value or an error, the subset of C++23 std::expected
// that Phalanx uses.
//
// Why not std::expected: libstdc++ 12 hides <expected> from clang 14 (it
// needs __cpp_concepts >= 202002), and the fuzz targets are built with clang.
// One small implementation for every compiler beats two that differ.
//
//   Expected<int, Error> parse(std::string_view s);
//   Expected<int, Error> r = parse("12");
//   if (!r) return Unexpected(std::move(r).error());
//   int v = *r;
//
// Reading the value of an error result (or the error of a value result) is
// a programmer error and stops the process. Unlike std::expected, the value
// of an rvalue result is returned by value, so it cannot dangle.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace phalanx {

template <class E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}

  [[nodiscard]] E& error() & { return error_; }
  [[nodiscard]] const E& error() const& { return error_; }
  [[nodiscard]] E&& error() && { return std::move(error_); }

 private:
  E error_;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

namespace internal {
template <class T>
inline constexpr bool kIsUnexpected = false;
template <class E>
inline constexpr bool kIsUnexpected<Unexpected<E>> = true;
}  // namespace internal

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  using value_type = T;
  using error_type = E;

  template <class U = T>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, Expected> &&
           !internal::kIsUnexpected<std::remove_cvref_t<U>>)
      Expected(U&& value)  // NOLINT: implicit, like std::expected
      : storage_(std::in_place_index<0>, std::forward<U>(value)) {}

  template <class G>
  requires std::is_constructible_v<E, G&&> Expected(
      Unexpected<G> error)  // NOLINT: implicit, like std::expected
      : storage_(std::in_place_index<1>, std::move(error).error()) {}

  [[nodiscard]] bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  [[nodiscard]] T& operator*() & { return value_ref(); }
  [[nodiscard]] const T& operator*() const& { return value_ref(); }
  // By value, moved out: `for (auto& x : *make_result())` and
  // `auto&& v = *make_result();` must not dangle.
  [[nodiscard]] T operator*() && { return std::move(value_ref()); }
  [[nodiscard]] T* operator->() { return &value_ref(); }
  [[nodiscard]] const T* operator->() const { return &value_ref(); }

  [[nodiscard]] E& error() & { return error_ref(); }
  [[nodiscard]] const E& error() const& { return error_ref(); }
  [[nodiscard]] E error() && { return std::move(error_ref()); }

 private:
  T& value_ref() {
    PHALANX_ASSERT(has_value());
    return *std::get_if<0>(&storage_);
  }
  const T& value_ref() const {
    PHALANX_ASSERT(has_value());
    return *std::get_if<0>(&storage_);
  }
  E& error_ref() {
    PHALANX_ASSERT(!has_value());
    return *std::get_if<1>(&storage_);
  }
  const E& error_ref() const {
    PHALANX_ASSERT(!has_value());
    return *std::get_if<1>(&storage_);
  }

  std::variant<T, E> storage_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Expected() = default;

  template <class G>
  requires std::is_constructible_v<E, G&&> Expected(
      Unexpected<G> error)  // NOLINT: implicit, like std::expected
      : error_(std::move(error).error()) {}

  [[nodiscard]] bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }

  [[nodiscard]] E& error() & { return checked_error(); }
  [[nodiscard]] const E& error() const& {
    PHALANX_ASSERT(error_.has_value());
    return *error_;
  }
  [[nodiscard]] E error() && { return std::move(checked_error()); }

 private:
  E& checked_error() {
    PHALANX_ASSERT(error_.has_value());
    return *error_;
  }

  std::optional<E> error_;
};

}  // namespace phalanx
