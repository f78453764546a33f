// Reads and writes through a mapping, and long-term pins (FOLL_PIN|FOLL_LONGTERM),
// which a device then uses without going through any page table.

#include "model/state.hpp"

namespace model {
namespace {

using ops::Errno;
using ops::Result;

void store(State& s, FrameId id, uint64_t value) {
  Frame& f = s.frames.at(id);
  f.value = value;
  f.lazyfree = false;
  if (f.kind == ops::FrameKind::file || f.kind == ops::FrameKind::shmem) f.dirty = true;
}

}  // namespace

Result do_read(State& s, const ops::Read& op) {
  Result r = fault(s, op.pid, op.vpn, Access::read);
  if (r.kind != Result::Kind::ok) return r;
  const Pte& pte = *s.page(op.pid, op.vpn)->pte;
  return Result::of(pte.kind == Pte::Kind::zero ? 0 : s.frames.at(pte.frame).value);
}

Result do_write(State& s, const ops::Write& op) {
  Result r = fault(s, op.pid, op.vpn, Access::write);
  if (r.kind != Result::Kind::ok) return r;
  store(s, s.page(op.pid, op.vpn)->pte->frame, op.value);
  return r;
}

Result do_pin(State& s, const ops::Pin& op) {
  if (!s.proc(op.pid)) return Result::fail(Errno::esrch);
  Page* page = s.page(op.pid, op.vpn);
  ops::Prot need = op.write ? ops::prot_write : ops::prot_read;
  if (!page || !(page->attrs.prot & need)) return Result::fail(Errno::efault);
  if (s.pins.size() >= s.limits.max_pins) return Result::fail(Errno::enomem);
  // A read-only long-term pin of a private mapping unshares first, so that the pin and
  // the page table keep seeing the same page (the kernel's gup_must_unshare()).
  Result r = fault(s, op.pid, op.vpn, op.write ? Access::write : Access::unshare);
  if (r.kind == Result::Kind::segv || r.kind == Result::Kind::sigbus) return Result::fail(Errno::efault);
  if (r.kind != Result::Kind::ok) return r;
  FrameId frame = page->pte->frame;
  if (op.write && s.frames.at(frame).kind != ops::FrameKind::anon) s.frames.at(frame).dirty = true;
  ops::PinId id = s.next_pin++;
  s.pins[id] = PinRecord{frame, op.write};
  return Result::of(id);
}

Result do_readpin(State& s, const ops::ReadPin& op) {
  auto it = s.pins.find(op.id);
  if (it == s.pins.end()) return Result::fail(Errno::einval);
  return Result::of(s.frames.at(it->second.frame).value);
}

Result do_writepin(State& s, const ops::WritePin& op) {
  auto it = s.pins.find(op.id);
  if (it == s.pins.end() || !it->second.write) return Result::fail(Errno::einval);
  store(s, it->second.frame, op.value);
  return Result::ok();
}

Result do_unpin(State& s, const ops::Unpin& op) {
  if (!s.pins.erase(op.id)) return Result::fail(Errno::einval);
  return Result::ok();
}

}  // namespace model
