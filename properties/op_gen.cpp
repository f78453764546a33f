// The op generators of properties/op_gen.hpp. Every op generated for a Limits is
// within_limits for it, and each operand often sits on an edge of its range (0, the
// largest allowed value), where off-by-one bugs live.

#include "properties/op_gen.hpp"

#include <cstdint>
#include <limits>

namespace ops::gen {
namespace {

// A number in [lo, hi], often exactly lo or hi.
template <class T = uint64_t>
rc::Gen<T> number(uint64_t lo, uint64_t hi) {
  auto any = hi == std::numeric_limits<uint64_t>::max()
                 ? rc::gen::map(rc::gen::arbitrary<uint64_t>(), [lo](uint64_t v) { return lo + v; })
                 : rc::gen::inRange<uint64_t>(lo, hi + 1);
  return rc::gen::cast<T>(rc::gen::weightedOneOf<uint64_t>(
      {{1, rc::gen::just(lo)}, {1, rc::gen::just(hi)}, {6, std::move(any)}}));
}

// Values: small ones often (equal values make KSM merges), any 64-bit value sometimes.
rc::Gen<uint64_t> value() {
  return rc::gen::weightedOneOf<uint64_t>(
      {{3, rc::gen::inRange<uint64_t>(0, 16)},
       {1, rc::gen::arbitrary<uint64_t>()},
       {1, rc::gen::just(std::numeric_limits<uint64_t>::max())}});
}

}  // namespace

rc::Gen<Prot> prot() { return rc::gen::cast<Prot>(rc::gen::inRange<unsigned>(0, 8)); }

namespace {

rc::Gen<Advice> advice() {
  return rc::gen::cast<Advice>(rc::gen::inRange<unsigned>(0, advice_count));
}

// Operands within `l`.
rc::Gen<Pid> pid(const Limits& l) { return number<Pid>(1, l.max_processes); }
rc::Gen<Vpn> vpn(const Limits& l) { return number<Vpn>(0, l.address_space - 1); }
rc::Gen<uint64_t> pages(const Limits& l) { return number(0, l.address_space); }
rc::Gen<unsigned> file(const Limits& l) { return number<unsigned>(0, l.files - 1); }
rc::Gen<PinId> pin_id() { return number<PinId>(1, 65535); }

Mmap any_mmap(const Limits& l) {
  Mmap m;
  m.pid = *pid(l);
  m.vpn = *vpn(l);
  m.pages = *pages(l);
  if (*rc::gen::arbitrary<bool>()) {
    m.backing = Backing::file;
    m.file = *file(l);
    m.pgoff = *number(0, l.max_file_pages);
  }
  m.shared = *rc::gen::arbitrary<bool>();
  m.prot = *prot();
  m.populate = *rc::gen::arbitrary<bool>();
  m.locked = *rc::gen::arbitrary<bool>();
  return m;
}

Mremap any_mremap(const Limits& l) {
  Mremap m;
  m.pid = *pid(l);
  m.vpn = *vpn(l);
  m.old_pages = *pages(l);
  m.new_pages = *pages(l);
  if (*rc::gen::arbitrary<bool>()) m.to = *vpn(l);
  m.dontunmap = *rc::gen::arbitrary<bool>();
  return m;
}

}  // namespace

rc::Gen<Op> op(const Limits& l) {
  // Each kind is built inside gen::exec, so `*gen` draws its operands.
  auto kind = [](auto build) {
    return rc::gen::map(rc::gen::exec(std::move(build)), [](auto o) { return Op(o); });
  };
  // One line per kind, like the grammar in op.hpp.
  // clang-format off
  return rc::gen::oneOf(
      kind([=] { return Fork{*pid(l)}; }),
      kind([=] { return Exit{*pid(l)}; }),
      kind([=] { return any_mmap(l); }),
      kind([=] { return Munmap{*pid(l), *vpn(l), *pages(l)}; }),
      kind([=] { return Mprotect{*pid(l), *vpn(l), *pages(l), *prot()}; }),
      kind([=] { return any_mremap(l); }),
      kind([=] { return Mlock{*pid(l), *vpn(l), *pages(l)}; }),
      kind([=] { return Munlock{*pid(l), *vpn(l), *pages(l)}; }),
      kind([=] { return Madvise{*pid(l), *vpn(l), *pages(l), *advice()}; }),
      kind([=] { return Read{*pid(l), *vpn(l)}; }),
      kind([=] { return Write{*pid(l), *vpn(l), *value()}; }),
      kind([=] { return Pin{*pid(l), *vpn(l), *rc::gen::arbitrary<bool>()}; }),
      kind([=] { return ReadPin{*pin_id()}; }),
      kind([=] { return WritePin{*pin_id(), *value()}; }),
      kind([=] { return Unpin{*pin_id()}; }),
      kind([=] { return Fwrite{*file(l), *number(0, l.max_file_pages), *value()}; }),
      kind([=] { return Ftruncate{*file(l), *number(0, l.max_file_pages + 1)}; }),
      kind([=] { return Reclaim{*number(0, l.frames)}; }),
      kind([=] { return Migrate{*pid(l), *vpn(l)}; }),
      kind([=] { return Ksm{}; }),
      kind([=] { return Split{*pid(l), *vpn(l)}; }));
  // clang-format on
}

rc::Gen<std::vector<Op>> ops(const Limits& l) {
  return rc::gen::map(rc::gen::container<std::vector<Op>>(op(l)),
                      [max = size_t{l.max_ops}](std::vector<Op> v) {
                        if (v.size() > max) v.resize(max);
                        return v;
                      });
}

namespace {

// Every byte value at any size: RapidCheck scales inRange down with the size, which
// would leave the kinds at the end of the table (ksm, split) out of small cases.
class RapidCheckChoices : public ChoiceSource {
 public:
  uint8_t byte() override { return uint8_t(*rc::gen::resize(rc::kNominalSize, rc::gen::inRange<unsigned>(0, 256))); }
};

}  // namespace

rc::Gen<Op> chosen_op(const OpChooser& chooser) {
  return rc::gen::exec([chooser] {
    RapidCheckChoices choices;
    return chooser.choose(choices);
  });
}

rc::Gen<std::vector<Op>> chosen_ops(const Limits& l, const OpMix& mix, rc::Gen<size_t> count,
                                    std::vector<Op> before) {
  return rc::gen::exec([l, &mix, count, before] {
    OpChooser chooser(l, mix);
    std::vector<Op> ops = before;
    for (const Op& op : before) chooser.note(op);
    RapidCheckChoices choices;
    for (size_t n = *count; n > 0; --n) {
      ops.push_back(chooser.choose(choices));
      chooser.note(ops.back());
    }
    return ops;
  });
}

rc::Gen<Limits> limits() {
  return rc::gen::exec([] {
    Limits l;
    l.hpage_order = *rc::gen::inRange(1u, 7u);
    l.max_processes = *rc::gen::inRange(1u, 65u);
    l.max_vmas = *rc::gen::inRange(1u, 65u);
    l.address_space = l.hpage_pages() * *rc::gen::inRange<uint64_t>(1, 257);
    l.max_pages = *rc::gen::inRange<uint64_t>(1, l.address_space + 1);
    l.frames = *rc::gen::inRange(1u, 1025u);
    l.swap_slots = *rc::gen::inRange(0u, 1025u);
    l.files = *rc::gen::inRange(1u, 65u);
    l.max_file_pages = *rc::gen::inRange<uint64_t>(1, 257);
    l.initial_file_pages = *rc::gen::inRange<uint64_t>(0, l.max_file_pages + 1);
    l.max_pins = *rc::gen::inRange(0u, 65u);
    l.thp_always = *rc::gen::arbitrary<bool>();
    l.exec_only = *rc::gen::arbitrary<bool>();
    l.max_ops = *rc::gen::inRange(0u, 300u);
    return l;
  });
}

}  // namespace ops::gen

