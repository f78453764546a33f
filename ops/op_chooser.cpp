// The biased op chooser (ops/op_chooser.hpp). Linear: every byte is read at most once
// and every operand ends up in its span. The bias lives in a small shadow of what the
// ops so far have probably created.

#include "ops/op_chooser.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "ops/byte_format.hpp"
#include "ops/op_layout.hpp"

namespace ops {

using bytes::Role;

uint64_t ChoiceSource::varint() {
  uint64_t v = 0;
  for (unsigned i = 0; i < 10; ++i) {
    const uint8_t b = byte();
    v |= uint64_t(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) break;
  }
  return v;
}

const OpMix& campaign_mix() {
  // hugepage four times, collapse twice, mergeable six times: huge pages need the advice
  // before the faults that make them, and KSM needs mergeable VMAs with pages in them.
  static const OpMix mix{
      bytes::kinds_by_byte,
      {Advice::hugepage, Advice::hugepage, Advice::hugepage, Advice::hugepage, Advice::collapse, Advice::collapse,
       Advice::mergeable, Advice::mergeable, Advice::mergeable, Advice::mergeable, Advice::mergeable,
       Advice::mergeable},
      16,
      std::numeric_limits<uint64_t>::max(),
      {}};
  return mix;
}

const OpMix& ksm_mix() {
  static const OpMix mix{
      bytes::kinds_by_weight({
          12,  // fork
          4,   // exit
          16,  // mmap
          6,   // munmap
          4,   // mprotect
          6,   // mremap
          4,   // mlock
          4,   // munlock
          40,  // madvise: mostly mergeable
          14,  // read
          68,  // write: four values, so pages meet their equals
          4,   // pin
          2,   // readpin
          2,   // writepin
          4,   // unpin
          4,   // fwrite
          2,   // ftruncate
          10,  // reclaim
          10,  // migrate
          32,  // ksm
          8,   // split
      }),
      std::vector<Advice>(20, Advice::mergeable),
      4,
      8,  // short ranges: an op meets a few KSM pages and leaves the rest to merge
      // mostly private anon (what KSM merges), some populated, some private file
      {0, 0, 0, 0, 0, bytes::mmap_populate, bytes::mmap_populate, bytes::mmap_file}};
  return mix;
}

namespace {

// A range [start, start + pages) some mmap or mremap asked for, clipped to the
// address space. Whether it is still mapped, and in which process, is not tracked.
struct Range {
  Vpn start = 0;
  uint64_t pages = 0;
};

}  // namespace

// What probably exists after the ops chosen so far, assuming each of them worked.
class OpChooser::Shadow {
 public:
  explicit Shadow(const Limits& limits) : limits_(limits) {}

  Pid pick_pid(uint8_t b) const {
    if (live_.empty()) return Pid(1 + b % limits_.max_processes);
    return live_[b % live_.size()];
  }

  // Killing the last process would leave every later op nothing to act on, so the
  // biased form names a pid that is not running instead (only a literal can).
  Pid pick_exit_pid(uint8_t b) const {
    if (live_.size() != 1) return pick_pid(b);
    return lowest_free_pid().value_or(live_[0]);
  }

  const Range* pick_range(uint8_t b) const {
    return ranges_count_ == 0 ? nullptr : &ranges_[b % ranges_count_];
  }

  PinId pick_pin(uint8_t b) const { return pins_ == 0 ? 1 : PinId(1 + b % pins_); }

  void note(const Op& op) {
    if (auto* f = std::get_if<Fork>(&op)) note_fork(f->pid);
    if (auto* e = std::get_if<Exit>(&op)) std::erase(live_, e->pid);
    if (auto* m = std::get_if<Mmap>(&op)) note_range(m->vpn, m->pages);
    if (auto* r = std::get_if<Mremap>(&op)) note_range(r->to.value_or(r->vpn), r->new_pages);
    if (std::holds_alternative<Pin>(op) && pins_ < bytes::pin_span().hi) ++pins_;
  }

 private:
  std::optional<Pid> lowest_free_pid() const {
    for (Pid p = 1; p <= limits_.max_processes; ++p) {
      if (!std::ranges::binary_search(live_, p)) return p;
    }
    return std::nullopt;
  }

  // Fork of a live pid gives the child the lowest unused pid, as the machine does.
  void note_fork(Pid parent) {
    if (!std::ranges::binary_search(live_, parent)) return;
    if (auto child = lowest_free_pid()) {
      live_.insert(std::ranges::upper_bound(live_, *child), *child);
    }
  }

  void note_range(Vpn start, uint64_t pages) {
    pages = std::min(pages, limits_.address_space - start);
    if (pages == 0) return;
    ranges_[ranges_next_] = {start, pages};
    ranges_next_ = (ranges_next_ + 1) % ranges_.size();
    ranges_count_ = std::min(ranges_count_ + 1, ranges_.size());
  }

  Limits limits_;
  std::vector<Pid> live_ = {1};  // sorted
  std::array<Range, 8> ranges_{};
  size_t ranges_next_ = 0, ranges_count_ = 0;
  uint64_t pins_ = 0;  // pins handed out; ids are 1..pins_
};

namespace {

// The io for walk_op that chooses operands: a byte below bytes::literal picks a biased
// value through the shadow, a byte at or above it is followed by a literal.
class Operands {
 public:
  Operands(ChoiceSource& in, const OpChooser::Shadow& shadow, const Limits& limits, const OpMix& mix)
      : in_(in), shadow_(shadow), limits_(limits), mix_(mix) {}

  template <class T>
  void number(T& field, Role role, std::string_view) {
    uint8_t b = in_.byte();
    uint64_t v =
        b >= bytes::literal ? bytes::from_literal(in_.varint(), span(role)) : biased(role, b);
    field = T(v);
  }

  void mmap_flags(Mmap& m) {
    uint8_t b = in_.byte();
    if (!mix_.mmap_flags.empty()) b = mix_.mmap_flags[b % mix_.mmap_flags.size()];
    m.backing = (b & bytes::mmap_file) ? Backing::file : Backing::anon;
    m.shared = (b & bytes::mmap_shared) != 0;
    m.populate = (b & bytes::mmap_populate) == bytes::mmap_populate;
    m.locked = (b & bytes::mmap_locked) == bytes::mmap_locked;
  }

  void mremap_flags(Mremap& m) {
    uint8_t b = in_.byte();
    if ((b & bytes::mremap_to) == bytes::mremap_to) m.to = 0;  // the walk reads it next
    m.dontunmap = (b & bytes::mremap_dontunmap) == bytes::mremap_dontunmap;
  }

  void pin_mode(bool& write) { write = (in_.byte() & 1) != 0; }

  void prot(Prot& p) {
    uint8_t b = in_.byte();
    p = b < bytes::prot_literal_below ? Prot(b & 7) : prot_read | prot_write;
  }

  // Below advice_count the byte is the advice itself (what the encoder writes); above,
  // every advice once and then the mix's extra ones, which so come up more often.
  void advice(Advice& a) {
    const uint8_t b = in_.byte();
    const size_t past = b < advice_count ? 0 : b - advice_count;
    const size_t weighted = advice_count + mix_.extra_advice.size();
    if (b < advice_count || past % weighted < advice_count) a = Advice(b < advice_count ? b : past % weighted);
    else a = mix_.extra_advice[past % weighted - advice_count];
  }

 private:
  bytes::Span span(Role role) const { return bytes::span_of(role, limits_); }
  uint64_t hpage() const { return limits_.hpage_pages(); }

  uint64_t biased(Role role, uint8_t b) {
    const Limits& l = limits_;
    switch (role) {
      case Role::pid:
        return shadow_.pick_pid(b);
      case Role::exit_pid:
        return shadow_.pick_exit_pid(b);
      case Role::vpn_mapped:
        return mapped_vpn(b);
      case Role::vpn_fresh:
        return b < 0x40 && shadow_.pick_range(b) ? mapped_vpn(b) : fresh_vpn(b);
      case Role::pages:
        return std::min({page_count(b), l.address_space, mix_.max_pages});
      case Role::value:
        return b % mix_.values;  // few distinct values, so KSM finds equal pages
      case Role::file:
        return b % l.files;
      case Role::pgoff:
        return std::min(b % (l.initial_file_pages + 1), l.max_file_pages);
      case Role::truncate_pages:
        return b % (l.max_file_pages + 2);
      case Role::pin_id:
        return shadow_.pick_pin(b);
      case Role::frames:
        return std::min<uint64_t>(1 + b % 16, l.frames);
    }
    return 0;
  }

  // Spread over the address space, H-aligned so that huge mappings are possible.
  uint64_t fresh_vpn(uint8_t b) const { return (b * 2 * hpage()) % limits_.address_space; }

  // A page of a recent range: mostly an H-aligned one if the range holds one (that is
  // where huge pages live), otherwise any page of it. One more byte picks which.
  uint64_t mapped_vpn(uint8_t b) {
    const Range* r = shadow_.pick_range(b);
    if (!r) return fresh_vpn(b);
    uint8_t o = in_.byte();
    uint64_t h = hpage(), end = r->start + r->pages;
    uint64_t first_aligned = (r->start + h - 1) / h * h;
    uint64_t aligned = first_aligned < end ? (end - 1 - first_aligned) / h + 1 : 0;
    if (o < 0x80 && aligned > 0) return first_aligned + (o % aligned) * h;
    return r->start + o % r->pages;
  }

  uint64_t page_count(uint8_t b) const {
    if (b < 0x60) return 1 + b % 4;
    if (b < 0xa0) return hpage() * (1 + b % 2);
    if (b < 0xc0) {
      const Range* r = shadow_.pick_range(b);
      return r ? r->pages : 1 + b % 16;
    }
    return b - 0xc0;  // 0..47, zero included: it is an edge case syscalls must handle
  }

  ChoiceSource& in_;
  const OpChooser::Shadow& shadow_;
  const Limits& limits_;
  const OpMix& mix_;
};

}  // namespace

namespace {

// A default op of the kind with variant index `kind`.
template <size_t... I>
Op default_op(unsigned kind, std::index_sequence<I...>) {
  Op op;
  ((kind == I ? (op.emplace<I>(), 0) : 0), ...);
  return op;
}

}  // namespace

OpChooser::OpChooser(const Limits& limits, const OpMix& mix)
    : limits_(limits), mix_(&mix), shadow_(std::make_unique<Shadow>(limits)) {}
OpChooser::OpChooser(const OpChooser& other)
    : limits_(other.limits_), mix_(other.mix_), shadow_(std::make_unique<Shadow>(*other.shadow_)) {}
OpChooser& OpChooser::operator=(const OpChooser& other) {
  limits_ = other.limits_;
  mix_ = other.mix_;
  shadow_ = std::make_unique<Shadow>(*other.shadow_);
  return *this;
}
OpChooser::~OpChooser() = default;

Op OpChooser::choose(ChoiceSource& in) const {
  Op op = default_op(mix_->kind_of_byte[in.byte()], std::make_index_sequence<op_kind_count>());
  Operands operands(in, *shadow_, limits_, *mix_);
  bytes::walk_op(operands, op);
  return op;
}

void OpChooser::note(const Op& op) { shadow_->note(op); }

}  // namespace ops
