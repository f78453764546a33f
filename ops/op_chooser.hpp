#pragma once
// The one biased op chooser. Given a source of choices (fuzz bytes, or RapidCheck's
// draws), it picks the next op of a sequence: the kind by the mix's weights, and each
// operand mostly from what the ops so far have probably created (live pids, recently
// mapped ranges, pins handed out), so that most ops do something. The fuzz decoder,
// the RapidCheck state machine and the KSM property draw their ops through it.
//
//   ops::OpChooser chooser(limits, ops::ksm_mix());
//   ops::Op op = chooser.choose(source);
//   chooser.note(op);  // once the op is part of the sequence
//
// Every op chosen is within_limits. The choice of each byte is spelt out in FORMAT.md.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace ops {

// Where the chooser's choices come from, one byte at a time.
class ChoiceSource {
 public:
  virtual ~ChoiceSource() = default;
  virtual uint8_t byte() = 0;
  // LEB128, at most 10 bytes; bits past the 64th are dropped.
  uint64_t varint();
};

// Which ops a sequence is made of.
struct OpMix {
  std::array<uint8_t, 256> kind_of_byte;  // the kind each kind byte selects
  std::vector<Advice> extra_advice;       // past the plain advice bytes, each advice once and these
  uint64_t values;                        // a biased value byte stores one of [0, values)
  uint64_t max_pages;                     // biased page counts are at most this
  std::vector<uint8_t> mmap_flags;        // what a flags byte picks, if not itself (FORMAT.md)
};

// The mix of the campaign and the fuzzers (the byte format's: FORMAT.md).
const OpMix& campaign_mix();
// KSM-heavy: mergeable advice, writes of four values and `ksm` often, with everything
// that meets KSM pages (fork, COW, unmap, swap, migration, mremap, pins) mixed in.
const OpMix& ksm_mix();

class OpChooser {
 public:
  explicit OpChooser(const Limits& limits, const OpMix& mix = campaign_mix());
  OpChooser(const OpChooser& other);
  OpChooser& operator=(const OpChooser& other);
  ~OpChooser();

  Op choose(ChoiceSource& in) const;
  // What `op` probably created, assuming it worked: later choices lean on it.
  void note(const Op& op);

  class Shadow;  // what the ops so far probably created (op_chooser.cpp)

 private:
  Limits limits_;
  const OpMix* mix_;
  std::unique_ptr<Shadow> shadow_;
};

}  // namespace ops
