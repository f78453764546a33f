// KSM under random sequences that are about KSM: a small world where mergeable VMAs,
// a few equal values and `ksm` come up all the time, with everything that can meet a
// KSM page mixed in (fork, exit, COW, unmap, unmergeable, mremap, pins, mlock,
// reclaim and swap-in under memory pressure, migration). The implementation must
// agree with the model and keep its invariants; and the generator must really merge.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "impl/kernel.hpp"
#include "op_gen.hpp"
#include "ops/trace.hpp"

namespace {

using namespace ops;

Limits ksm_world() {
  Limits l;
  l.address_space = 0x20;
  l.max_pages = 0x20;
  l.max_vmas = 0x20;
  l.max_processes = 4;
  l.frames = 24;
  l.swap_slots = 12;
  l.files = 1;
  l.initial_file_pages = 8;
  l.max_file_pages = 8;
  l.max_pins = 3;
  return l;
}

// Every sequence starts from two unrelated processes (the fork comes before any
// mapping) with mergeable mappings over most of the address space.
const std::vector<Op>& prologue() {
  static const std::vector<Op> ops = parse_trace(
      "fork 1\n"
      "mmap 1 0x0 16 anon private rw\nmadvise 1 0x0 16 mergeable\n"
      "mmap 2 0x8 16 anon private rw\nmadvise 2 0x8 16 mergeable\n").ops();
  return ops;
}

// The prologue, then up to 120 ops of the KSM-heavy mix, chosen knowing the prologue's
// processes and ranges.
rc::Gen<std::vector<Op>> ksm_ops(const Limits& l) {
  return gen::chosen_ops(l, ksm_mix(), rc::gen::inRange<size_t>(0, 121), prologue());
}

}  // namespace

RC_GTEST_PROP(KsmProperty, KsmHeavySequences_ImplAgreesWithModel, ()) {
  const Limits limits = ksm_world();
  const auto ops = *ksm_ops(limits);
  auto result = check::run_sequence(limits, ops);
  if (result.finding) RC_FAIL("\n" + check::finding_trace(*result.finding, limits));
}

// The generator is only worth running if it merges: most sequences of sixty ops should
// have KSM merge some page at some point.
TEST(KsmProperty, KsmHeavySequencesMergePagesInMostSequences) {
  const Limits limits = ksm_world();
  const int sequences = 50;
  int merged = 0;
  rc::Random random(20261201);
  for (int i = 0; i < sequences; ++i) {
    const auto ops = gen::chosen_ops(limits, ksm_mix(), rc::gen::just<size_t>(60), prologue())(random.split(), 60).value();
    check::Runner runner(limits);
    for (const Op& op : ops)
      if (!runner.supports(op) || runner.step(op)) break;
    merged += runner.kernel().ksm.pages_merged > 0;
  }
  EXPECT_GE(merged * 2, sequences) << merged << " of " << sequences << " sequences merged anything";
}
