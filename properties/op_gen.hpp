#pragma once
// RapidCheck generators for ops, shared by every property test. Every op generated
// for a Limits is within_limits for it, and each operand often sits on an edge of its
// range (0, the largest allowed value), where off-by-one bugs live.
//
//   RC_GTEST_PROP(Suite, Name, (const std::vector<ops::Op>& ops)) { ... }  // default Limits
//   auto ops = *ops::gen::ops(limits);                                        // other Limits
//
// Also teaches RapidCheck and GoogleTest to print an Op as its trace text.

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <ostream>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"
#include "ops/op_chooser.hpp"
#include "ops/trace.hpp"

namespace ops {

inline void showValue(const Op& op, std::ostream& os) { os << print_op(op); }
inline void PrintTo(const Op& op, std::ostream* os) { *os << print_op(op); }

}  // namespace ops

namespace ops::gen {

// Compiled once, in op_gen.cpp: every test that draws ops shares one instantiation of
// these generators (they were most of the test build's time).

rc::Gen<Prot> prot();
// One op of any kind, within `l`.
rc::Gen<Op> op(const Limits& l);
// A sequence of ops within `l`, at most max_ops long.
rc::Gen<std::vector<Op>> ops(const Limits& l);
// Limits that pass validate_limits, small enough to keep runs fast.
rc::Gen<Limits> limits();

// Through the one biased op chooser (ops/op_chooser.hpp), RapidCheck's draws standing
// in for fuzz bytes (each shrinks toward 0: the first kind, the first live pid, range
// or pin): the next op after what `chooser` has noted.
rc::Gen<Op> chosen_op(const OpChooser& chooser);
// `before`, then `count` ops chosen one after another by a chooser of `mix` that has
// noted everything before them.
rc::Gen<std::vector<Op>> chosen_ops(const Limits& l, const OpMix& mix, rc::Gen<size_t> count,
                                    std::vector<Op> before = {});

}  // namespace ops::gen

namespace rc {

template <>
struct Arbitrary<ops::Op> {
  static Gen<ops::Op> arbitrary() { return ops::gen::op(ops::Limits{}); }
};

}  // namespace rc
