#pragma once
// The naive reference model. It keeps only what a user could see: processes with a
// plain VMA list and a plain page-table map, frames with a value, files, shmem
// objects, swap slots and pins. Every rmap or mapcount question is answered by
// scanning all processes and VMAs; nothing is counted incrementally.

#include <map>
#include <memory>
#include <utility>
#include <vector>
#include <optional>
#include <string>

#include "ops/fact.hpp"
#include "ops/limits.hpp"
#include "ops/observation.hpp"
#include "ops/observation_writer.hpp"
#include "ops/op.hpp"

namespace model {

struct State;

class System {
 public:
  struct Options {
    // Choose the frames `reclaim N` takes with the model's own simple policy. A
    // differential run turns this off and hands the implementation's choices in as
    // facts through reclaim().
    bool own_reclaim_policy = true;
  };

  explicit System(const ops::Limits& limits);
  System(const ops::Limits& limits, Options options);
  System(const System& other);
  System& operator=(const System& other);
  ~System();

  ops::Result apply(const ops::Op& op);

  // Applies the op with the implementation's facts: `reclaimed` are the frames the
  // implementation reclaimed during the op, in order: the model takes the next one
  // wherever a fault or file write finds no free frame (where the implementation's
  // direct reclaim ran), and the rest at the end (`reclaim N`). reclaim_error() then
  // says whether one of them was illegal. `huge_fallbacks` are where the implementation
  // found no huge page though enough frames were free; the model takes each where it
  // tries one for the same page, and checks it was possible (see
  // State::huge_page_available). Nothing else of the implementation's reaches the
  // model: it decides every VMA boundary itself.
  ops::Result apply(const ops::Op& op, const std::vector<ops::FrameRef>& reclaimed,
                    const std::vector<ops::HugeFallbackFact>& huge_fallbacks);
  // Why one of the op's facts (reclaim or huge fallback) was illegal, or was never used.
  const std::optional<std::string>& reclaim_error() const;

  // The model's own consistency: each VMA one run of pages with one number, uniform
  // attributes and contiguous offsets. What breaks that, or nothing.
  std::optional<std::string> check_vmas() const;

  ops::Observation observe() const;
  // The same into `out`, reusing its buffers: the checker's way, after every op.
  void observe(ops::Observation& out) const;

  // Checks that reclaiming `frame` now is legal (not pinned, not mlocked, every
  // mapping can be removed, a swap slot is free for anon memory) and applies it.
  // Returns why it is illegal, changing nothing, or nothing on success.
  std::optional<std::string> reclaim(const ops::FrameRef& frame);

  // Whether the last op ran out of frames (a fault, fork's copies, a migration target,
  // a file write found none free after the implementation's reclaim facts).
  bool ran_out_of_frames() const;
  // A frame direct reclaim in the last op could legally have taken: not one the op used,
  // nor the one it holds at `held` (the page it faults on or migrates); nothing if none.
  std::optional<ops::FrameRef> direct_reclaim_candidate(std::optional<ops::PageKey> held) const;
  // A frame kswapd-style reclaim (`reclaim N`) could legally take now; nothing if none.
  std::optional<ops::FrameRef> reclaim_candidate() const;

  const ops::Limits& limits() const;

 private:
  std::unique_ptr<State> state_;
  mutable ops::ObservationScratch observe_scratch_;  // no state: buffers observe() reuses
};

}  // namespace model
