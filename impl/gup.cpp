// Long-term pins (FOLL_PIN | FOLL_LONGTERM) and access through them. A read-only pin
// of a private mapping unshares first (gup_must_unshare), so the pin and the page
// table keep naming the same page.

#include "impl/gup.hpp"

#include "impl/folio.hpp"
#include "impl/memory.hpp"
#include "impl/pgtable.hpp"
#include "impl/sched_point.hpp"
#include "impl/vma.hpp"

namespace impl {

using ops::Errno;
using ops::Result;

Result pin_user_page(Kernel& k, MmStruct* mm, const ops::Pin& op) {
  Vma* vma = find_vma(mm, op.vpn);
  uint32_t need = op.write ? VM_WRITE : VM_READ;
  if (!vma || !(vma->flags & need)) return Result::fail(Errno::efault);
  if (k.pins.size() >= k.limits.max_pins) return Result::fail(Errno::enomem);
  Pte pte;
  Folio* folio = nullptr;
  // __get_user_pages: fault the page in, then take a reference on what the page table
  // maps. A migration entry met there, or a folio whose refcount a split or migration
  // froze, is looked at again once that is over (follow_page_mask fails, the fault
  // retries and waits).
  for (;;) {
    Result r = handle_mm_fault(k, mm, op.vpn, op.write ? FaultKind::write : FaultKind::unshare);
    if (r.kind == Result::Kind::segv || r.kind == Result::Kind::sigbus) return Result::fail(Errno::efault);
    if (r.kind != Result::Kind::ok) return r;
    sched_point(k, Access::read, pte_id(mm, op.vpn), "follow_page_mask");
    pte = follow_page(mm, op.vpn).pte;
    if (pte.kind != Pte::Kind::present) continue;  // changed since the fault: fault again
    folio = pfn_folio(k, pte.pfn);
    if (folio_try_get(k, folio)) break;
    // Frozen: wait for the freezer to be done with it.
    if (LockHook* hook = k.locks.hook()) hook->wait([folio] { return folio->refcount != 0 || folio->freed; }, "a frozen folio refcount");
  }
  folio->pincount++;
  if (op.write && !folio->anon()) folio->dirty = true;
  ops::PinId id = k.next_pin++;
  k.pins[id] = PinRecord{folio, pte.pfn, op.write};
  return Result::of(id);
}

Result read_pin(Kernel& k, ops::PinId id) {
  auto it = k.pins.find(id);
  if (it == k.pins.end()) return Result::fail(Errno::einval);
  return Result::of(k.page(it->second.pfn).value);
}

Result write_pin(Kernel& k, ops::PinId id, uint64_t value) {
  auto it = k.pins.find(id);
  if (it == k.pins.end() || !it->second.write) return Result::fail(Errno::einval);
  k.page(it->second.pfn).value = value;
  k.page(it->second.pfn).lazyfree = false;
  Folio* folio = it->second.folio;
  if (!folio->anon()) folio->dirty = true;
  return Result::ok();
}

Result unpin_user_page(Kernel& k, ops::PinId id) {
  auto it = k.pins.find(id);
  if (it == k.pins.end()) return Result::fail(Errno::einval);
  Folio* folio = it->second.folio;
  k.pins.erase(it);
  folio->pincount--;
  folio_put(k, folio);
  return Result::ok();
}

}  // namespace impl
