// madvise: flag advice through vma_modify_flags, action advice on the pages. VMA by
// VMA in address order; the first VMA that rejects the advice ends the call with
// EINVAL; a hole is reported as ENOMEM after the rest is done.

#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/folio_split.hpp"
#include "impl/khugepaged.hpp"
#include "impl/lru.hpp"
#include "impl/memory.hpp"
#include "impl/mmap.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/swap.hpp"
#include "impl/vma.hpp"
#include "impl/vmscan.hpp"

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

// Whether every mapping of the folio is a page of [start, end) in this VMA's process.
bool only_mapped_here(Kernel& k, Folio* folio, Vma* vma, Vpn start, Vpn end) {
  for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn)
    for (auto [pid, v] : page_mappers_by_rmap(k, folio, pfn))
      if (pid != vma->mm->pid || v < start || v >= end) return false;
  return true;
}

// Whether [start, end) maps fewer pages of the large folio than it has: pageout splits
// a folio partly unmapped (some pages zapped) even when the range covers the rest.
bool partly_mapped_here(Kernel& k, Folio* folio, Vpn start, Vpn end) {
  uint64_t mapped = 0;
  for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn)
    for (auto [pid, v] : page_mappers_by_rmap(k, folio, pfn)) mapped += v >= start && v < end;
  return mapped < folio->nr_pages();
}

// shrink_folio_list's fallback: an anon large folio for which add_to_swap finds no
// slot is split all the same (if it can be), and its pages stay mapped.
bool split_without_swap(Kernel& k, Folio* folio, pfn_t pfn) {
  if (!folio->large() || !folio->anon() || k.page(pfn).lazyfree || get_swap_slot(k)) return false;
  if (folio->pincount == 0 && !folio->mlocked()) split_folio(k, folio);
  return true;
}

// Whether each page of the folio is mapped exactly once, inside [start, end) of this
// VMA's process: MADV_FREE may then free the whole folio.
bool mapped_once_here(Kernel& k, Folio* folio, Vma* vma, Vpn start, Vpn end) {
  for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn)
    if (page_mapcount(k.page(pfn)) != 1) return false;
  return only_mapped_here(k, folio, vma, start, end);
}

// MADV_FREE: clean exclusive anon pages may be dropped by reclaim instead of swapped.
// A large folio that is not wholly this range's is split first (if it can be), and
// its pages then go one by one.
void madvise_free(Kernel& k, Vma* vma, Vpn start, Vpn end) {
  for (Vpn v = start; v < end; ++v) {
    const PageView view = follow_page(vma->mm, v);
    if (view.pte.kind != Pte::Kind::present) continue;
    Folio* folio = pfn_folio(k, view.pte.pfn);
    if (!folio->anon()) continue;
    bool whole = mapped_once_here(k, folio, vma, start, end);
    if (!whole && folio->large()) {
      if (!split_folio(k, folio)) continue;
      if (follow_page(vma->mm, v).pte.kind != Pte::Kind::present) continue;  // now the zero page
      folio = pfn_folio(k, view.pte.pfn);
      whole = folio_mapcount(k, folio) == 1;
    }
    // A folio still caching a slot other PTEs name cannot give up its swap copy
    // (folio_free_swap fails): it is left as it is.
    if (!whole || folio->ksm() || folio->swap) continue;
    k.page(view.pte.pfn).lazyfree = true;
    if (Pte* pte = pte_offset(vma->mm, v)) pte->dirty = false;
  }
}

// MADV_FREE also gives up swapped-out pages in the range: they would read back as 0.
void free_swap_entries(Kernel& k, Vma* vma, Vpn start, Vpn end) {
  for (Vpn v = start; v < end; ++v) {
    Pte* pte = pte_offset(vma->mm, v);
    if (!pte || pte->kind != Pte::Kind::swap) continue;
    const uint64_t slot = pte->slot;
    *pte = Pte{};
    swap_free(k, slot);
  }
}

// MADV_PAGEOUT and MADV_COLD: the folios only this range maps are reclaimed now or
// moved to the inactive tail. Pageout splits a large folio that others map too (unless
// it is pinned) and goes on with the page if only this range maps it then; reclaim
// splits the rest page by page. Reclaim unmaps a page-cache folio before it finds it
// cannot write it out (a dirty file page: only kswapd writes those back; a dirty shmem
// page with no swap slot): such a folio stays in its cache, unmapped.
void madvise_cold_or_pageout(Kernel& k, Vma* vma, Vpn start, Vpn end, bool pageout) {
  for (Vpn v = start; v < end; ++v) {
    const PageView view = follow_page(vma->mm, v);
    if (view.pte.kind != Pte::Kind::present) continue;
    const pfn_t pfn = view.pte.pfn;
    Folio* folio = pfn_folio(k, pfn);
    const bool whole_here = only_mapped_here(k, folio, vma, start, end);
    if (!whole_here || (pageout && folio->large() && partly_mapped_here(k, folio, start, end))) {
      if (!pageout || !folio->large() || !split_folio(k, folio)) continue;
      folio = pfn_folio(k, pfn);
      if (!folio || follow_page(vma->mm, v).pte.kind != Pte::Kind::present) continue;  // now the zero page
      if (!only_mapped_here(k, folio, vma, start, end)) continue;
    }
    if (!pageout) {
      folio_deactivate(k, folio);
      continue;
    }
    if (split_without_swap(k, folio, pfn)) continue;
    folio_referenced(k, folio);  // the advice overrides the accessed bits
    const bool cannot_write_out = !folio->anon() && folio_dirty(k, folio);
    if (cannot_write_out && !folio->swapbacked()) unmap_folio(k, folio);
    else if (!reclaim_page(k, folio, pfn, false) && cannot_write_out) unmap_folio(k, folio);
  }
}

Result advise_vma(Kernel& k, Vma* vma, Vpn start, Vpn end, Advice advice) {
  if (auto flags = flag_change(vma, advice)) {
    // ksm_madvise: the first VMA that becomes VM_MERGEABLE puts the mm on KSM's list
    // (__ksm_enter, at its tail), so the list is in the order the mms first merged.
    if ((*flags & VM_MERGEABLE) && !(vma->flags & VM_MERGEABLE)) ksm_enter(k, vma->mm);
    vma_modify_flags(k, vma, start, end, *flags);
    return Result::ok();
  }
  if (advice == Advice::dontneed) zap_page_range(k, vma, start, end);
  if (advice == Advice::free) {
    free_swap_entries(k, vma, start, end);
    madvise_free(k, vma, start, end);
  }
  if (advice == Advice::cold || advice == Advice::pageout)
    madvise_cold_or_pageout(k, vma, start, end, advice == Advice::pageout);
  if (advice == Advice::collapse) return madvise_collapse(k, vma, start, end);
  return Result::ok();  // willneed: nothing a user can observe
}

}  // namespace

Result do_madvise(Kernel& k, MmStruct* mm, const ops::Madvise& op) {
  if (op.pages == 0) return Result::ok();
  if (!in_address_space(k, op.vpn, op.pages)) return Result::fail(Errno::enomem);
  const Vpn end = op.vpn + op.pages;
  // MADV_UNMERGEABLE breaks the KSM pages of the whole range before any VMA loses
  // VM_MERGEABLE; without a frame for a copy nothing loses it (as the model does).
  if (op.advice == Advice::unmergeable && ksm_unmerge_range(k, mm, op.vpn, end).kind != Result::Kind::ok)
    return Result::fail(Errno::eagain);
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
    // The first VMA that fails ends the call (madvise_walk_vmas returns at once).
    if (Result r = advise_vma(k, vma, v, stop, op.advice); r.kind != Result::Kind::ok) return r;
    v = stop;
  }
  return hole ? Result::fail(Errno::enomem) : Result::ok();
}

}  // namespace impl
