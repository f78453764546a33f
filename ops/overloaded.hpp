#pragma once
// overloaded{lambda...}: one visitor for std::visit over an Op, a lambda per op kind.

namespace ops {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace ops
