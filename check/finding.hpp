#pragma once
// A Finding: what went wrong, after which op, and the ops that lead there. It is printed
// for people in the shape of STYLE.md, and saved as a trace that replays it:
//
//   divergence after op 5 (write 2 0x101 9)
//     class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}
//     impl invariant: folio 0x1a mapcount 1 but 2 PTEs map it
//   replay: rmapcheck replay corpus/regressions/fork-partial-munmap.trace
//
// and, by finding_trace():
//
//   # divergence after op 5 (write 2 0x101 9)
//   #   class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}
//   #   impl invariant: folio 0x1a mapcount 1 but 2 PTEs map it
//   # limits: frames=64
//   # seed: 42
//   mmap 1 0x100 4 anon private rw
//   write 1 0x101 7
//   fork 1
//   munmap 1 0x100 1
//   write 2 0x101 9  # <- divergence here
//
// "op N" counts ops from 1: it is the N-th op line of the trace (comment lines do not
// count), as `rmapcheck replay` numbers them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace check {

struct Finding {
  size_t op_index = 0;               // 0-based: trace[op_index] is the op after which it failed
  ops::Op op;                        // == trace[op_index]
  std::string kind;                  // one of finding_kinds()
  std::vector<std::string> details;  // one difference or broken invariant each
  std::vector<ops::Op> trace;        // the ops that were run, from the start
  std::optional<uint64_t> seed;      // the generator's seed, when one made the ops
  bool operator==(const Finding&) const = default;
};

// What a finding's kind says:
//   "result"       the two sides answered the op differently;
//   "reclaim"      a fact the implementation handed the model (a frame reclaim took) is
//                  not legal, or an ENOMEM came while a frame could have been reclaimed;
//   "observation"  the sides see different pages, classes or VMA layouts;
//   "rmap"         the whole-state checks: rmap_walk disagrees with the page tables, or
//                  an invariant of the implementation (its structures, its locks) broke;
//   "crash"        the implementation crashed in the op: it threw (its BUG() is a
//                  std::logic_error) or died of a signal or a sanitizer's report;
//   "model-crash"  the model crashed in the op, the same ways: a harness bug;
//   "kernel"       (the oracle) the real kernel and the model differ.
const std::vector<std::string_view>& finding_kinds();

// Whether the finding is a crash of either side.
bool is_crash(const Finding& finding);

// "divergence after op 5 (write 2 0x101 9)"; a crash reads "crash in op 5 (...)" or
// "model crash in op 5 (...)": the op did not end.
std::string finding_headline(const Finding& finding);

// The headline, each detail indented by two spaces, "seed: N" when the seed is known, and
// "replay: rmapcheck replay PATH" unless replay_path is empty. Every line ends in '\n'.
std::string finding_text(const Finding& finding, std::string_view replay_path);

// A trace that replays the finding: "# HEADLINE", each detail as "#   DETAIL", the
// `# limits:` line when `limits` differ from the defaults, "# seed: N" when known, then
// trace[0..op_index] with the failing op marked "# <- divergence here" (or "# <- crash
// here", "# <- model crash here"). Throws std::invalid_argument if op_index is not within `trace` or
// trace[op_index] != op: such a finding was put together wrongly.
std::string finding_trace(const Finding& finding, const ops::Limits& limits);

}  // namespace check
