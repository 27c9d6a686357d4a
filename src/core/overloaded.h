// std::visit helper: std::visit(Overloaded{[](A){...}, [](B){...}}, v).
// A missing alternative is a compile error, which is the point.
#pragma once

namespace phalanx {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace phalanx
