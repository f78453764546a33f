// Fuzz bytes -> ops: the biased op chooser (ops/op_chooser.hpp) reading its choices
// from the bytes. Total and linear: running out of bytes just ends the sequence.

#include "ops/decode.hpp"

#include "ops/limits_text.hpp"
#include "ops/op_chooser.hpp"

namespace ops {

namespace {

// Reads bytes front to back. Past the end it yields zeros and remembers that it did,
// so the op being chosen can be dropped rather than made up.
class Reader : public ChoiceSource {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool empty() const { return pos_ >= in_.size(); }
  bool ran_out() const { return ran_out_; }

  uint8_t byte() override {
    if (pos_ < in_.size()) return in_[pos_++];
    ran_out_ = true;
    return 0;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ran_out_ = false;
};

}  // namespace

std::vector<Op> decode(std::span<const uint8_t> in, const Limits& limits) {
  validate_limits(limits);
  Reader reader(in);
  OpChooser chooser(limits);
  std::vector<Op> ops;
  while (ops.size() < limits.max_ops && !reader.empty()) {
    Op op = chooser.choose(reader);
    if (reader.ran_out()) break;  // a cut-off op is dropped, not completed with zeros
    chooser.note(op);
    ops.push_back(std::move(op));
  }
  return ops;
}

}  // namespace ops
