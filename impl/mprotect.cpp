// mprotect, mlock and munlock: flag changes over a range, VMA by VMA, merging and
// splitting through vma_modify_flags. A hole ends the call with ENOMEM; the VMAs
// before it keep their change, as in the kernel.

#include "impl/folio.hpp"
#include "impl/lru.hpp"
#include "impl/memory.hpp"
#include "impl/mmap.hpp"
#include "impl/pgtable.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

template <class NewFlags>
Result modify_until_hole(Kernel& k, MmStruct* mm, Vpn start, Vpn end, NewFlags new_flags) {
  for (Vpn v = start; v < end;) {
    Vma* vma = find_vma(mm, v);
    if (!vma) return Result::fail(Errno::enomem);
    Vpn stop = std::min(vma->end, end);
    vma_modify_flags(k, vma, v, stop, new_flags(*vma));
    v = stop;
  }
  return Result::ok();
}

}  // namespace

Result do_mprotect(Kernel& k, MmStruct* mm, const ops::Mprotect& op) {
  if (op.pages == 0) return Result::ok();
  if (!in_address_space(k, op.vpn, op.pages)) return Result::fail(Errno::enomem);
  uint32_t prot = 0;
  if (op.prot & ops::prot_read) prot |= VM_READ;
  if (op.prot & ops::prot_write) prot |= VM_WRITE;
  if (op.prot & ops::prot_exec) prot |= VM_EXEC;
  // A locked private VMA made writable breaks COW at once (mprotect_fixup populates it).
  std::vector<Vpn> to_break;
  for (Vpn v = op.vpn; v < op.vpn + op.pages;) {
    Vma* vma = find_vma(mm, v);
    if (!vma) break;
    Vpn stop = std::min(vma->end, op.vpn + op.pages);
    if ((vma->flags & (VM_LOCKED | VM_SHARED | VM_WRITE)) == VM_LOCKED && (prot & VM_WRITE))
      for (Vpn p = v; p < stop; ++p) to_break.push_back(p);
    v = stop;
  }
  Result r = modify_until_hole(k, mm, op.vpn, op.vpn + op.pages, [&](const Vma& vma) {
    uint32_t flags = vma.flags;
    // A private mapping made writable is charged unless it already was (mprotect_fixup);
    // made read-only again, it keeps VM_ACCOUNT unless it is anon memory without an
    // anon_vma yet (nothing faulted, nothing committed).
    if ((prot & VM_WRITE) && !(flags & (VM_ACCOUNT | VM_WRITE | VM_SHARED))) flags |= VM_ACCOUNT;
    else if (!(prot & VM_WRITE) && !vma.file && !vma.anon_vma) flags &= ~VM_ACCOUNT;
    return (flags & ~VM_ACCESS_FLAGS) | prot;
  });
  for (Vpn v : to_break) handle_mm_fault(k, mm, v, FaultKind::write);
  return r;
}

namespace {

bool locked_at(MmStruct* mm, Vpn v) {
  const Vma* vma = find_vma(mm, v);
  return vma && (vma->flags & VM_LOCKED);
}

}  // namespace

void mlock_pte_range(Kernel& k, MmStruct* mm, Vpn start, const std::vector<bool>& was_locked) {
  for (Vpn v = start; v < start + was_locked.size(); ++v) {
    const bool now = locked_at(mm, v);
    const PageView view = follow_page(mm, v);
    if (now == was_locked[v - start] || view.pte.kind != Pte::Kind::present) continue;
    Folio* folio = pfn_folio(k, view.pte.pfn);
    if (view.pmd ? v != pmd_base(mm, v) : folio->large()) continue;
    if (now) mlock_folio(k, folio);
    else munlock_folio(k, folio);
  }
}

Result do_mlock(Kernel& k, MmStruct* mm, Vpn vpn, uint64_t pages, bool lock) {
  if (pages == 0) return Result::ok();
  if (!in_address_space(k, vpn, pages)) return Result::fail(Errno::enomem);
  std::vector<bool> was_locked;
  for (Vpn v = vpn; v < vpn + pages; ++v) was_locked.push_back(locked_at(mm, v));
  Result r = modify_until_hole(k, mm, vpn, vpn + pages, [&](const Vma& vma) {
    return lock ? vma.flags | VM_LOCKED : vma.flags & ~VM_LOCKED;
  });
  mlock_pte_range(k, mm, vpn, was_locked);
  if (!lock || r.kind != Result::Kind::ok) return r;
  Result p = populate_range(k, mm, vpn, vpn + pages, true);
  if (p.kind == Result::Kind::segv || p.kind == Result::Kind::sigbus) return Result::fail(Errno::enomem);
  if (p.kind == Result::Kind::error && p.err == Errno::enomem) return Result::fail(Errno::eagain);
  return p;
}

}  // namespace impl
