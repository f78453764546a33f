// madvise: flag advice through vma_modify_flags, action advice on the pages. VMA by
// VMA in address order; the first VMA that rejects the advice ends the call with
// EINVAL; a hole is reported as ENOMEM after the rest is done.

#include "impl/folio.hpp"
#include "impl/memory.hpp"
#include "impl/mmap.hpp"
#include "impl/pgtable.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Advice;
using ops::Errno;
using ops::Result;

bool private_anon(const Vma* vma) { return !vma->file && !(vma->flags & VM_SHARED); }

bool accepts(const Vma* vma, Advice advice) {
  switch (advice) {
    case Advice::wipeonfork: return private_anon(vma);
    case Advice::dontneed: case Advice::cold: case Advice::pageout: return !(vma->flags & VM_LOCKED);
    case Advice::free: return !(vma->flags & VM_LOCKED) && private_anon(vma);
    case Advice::collapse: return private_anon(vma) && !(vma->flags & VM_NOHUGEPAGE);
    default: return true;
  }
}

std::optional<uint32_t> flag_change(const Vma* vma, Advice advice) {
  const uint32_t f = vma->flags;
  switch (advice) {
    case Advice::dontfork: return f | VM_DONTCOPY;
    case Advice::dofork: return f & ~VM_DONTCOPY;
    case Advice::wipeonfork: return f | VM_WIPEONFORK;
    case Advice::keeponfork: return f & ~VM_WIPEONFORK;
    case Advice::mergeable: return (f & VM_SHARED) ? f : f | VM_MERGEABLE;  // KSM ignores shared VMAs
    case Advice::unmergeable: return f & ~VM_MERGEABLE;
    case Advice::hugepage: return (f | VM_HUGEPAGE) & ~VM_NOHUGEPAGE;
    case Advice::nohugepage: return (f | VM_NOHUGEPAGE) & ~VM_HUGEPAGE;
    default: return std::nullopt;
  }
}

// MADV_FREE: clean exclusive anon pages may be dropped by reclaim instead of swapped.
void madvise_free(Kernel& k, Vma* vma, Vpn start, Vpn end) {
  for (Vpn v = start; v < end; ++v) {
    Pte* pte = pte_offset(vma->mm, v);
    if (!pte || pte->kind != Pte::Kind::present) continue;
    Folio* folio = pfn_folio(k, pte->pfn);
    if (!folio->anon() || folio_mapcount(k, folio) != 1) continue;
    LockGuard ptl(k.locks, pte_lockptr(vma->mm, v), LockMode::write);
    folio->lazyfree = true;
    pte->dirty = false;
  }
}

Result advise_vma(Kernel& k, Vma* vma, Vpn start, Vpn end, Advice advice) {
  if (auto flags = flag_change(vma, advice)) {
    vma_modify_flags(k, vma, start, end, *flags);
    return Result::ok();
  }
  if (advice == Advice::dontneed) zap_page_range(k, vma, start, end);
  if (advice == Advice::free) madvise_free(k, vma, start, end);
  return Result::ok();  // cold, willneed: nothing a user can observe
}

}  // namespace

Result do_madvise(Kernel& k, MmStruct* mm, const ops::Madvise& op) {
  if (op.pages == 0) return Result::ok();
  if (!in_address_space(k, op.vpn, op.pages)) return Result::fail(Errno::enomem);
  const Vpn end = op.vpn + op.pages;
  bool hole = false;
  for (Vpn v = op.vpn; v < end;) {
    Vma* vma = find_vma(mm, v);
    if (!vma) {
      auto next = mm->mm_mt.lower_bound(v);
      hole = true;
      if (next == mm->mm_mt.end() || next->first >= end) break;
      v = next->first;
      continue;
    }
    if (!accepts(vma, op.advice)) return Result::fail(Errno::einval);
    Vpn stop = std::min(vma->end, end);
    if (Result r = advise_vma(k, vma, v, stop, op.advice); r.kind != Result::Kind::ok) return r;
    v = stop;
  }
  return hole ? Result::fail(Errno::enomem) : Result::ok();
}

}  // namespace impl
