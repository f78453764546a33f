#include "impl/huge_memory.hpp"

#include "impl/anon_vma.hpp"
#include "impl/compaction.hpp"
#include "impl/folio.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/sched_point.hpp"

namespace impl {

bool thp_vma_suitable(const Kernel& k, const Vma* vma, Vpn vpn) {
  if (vma->file || (vma->flags & (VM_SHARED | VM_NOHUGEPAGE))) return false;
  if (!(vma->flags & VM_HUGEPAGE) && !k.limits.thp_always) return false;
  const Vpn base = vpn - vpn % vma->mm->pmd_pages;
  return vma->start <= base && base + vma->mm->pmd_pages <= vma->end;
}

Folio* vma_alloc_huge_folio(Kernel& k, const MmStruct* mm, Vpn vpn) {
  const unsigned order = k.limits.hpage_order;
  if (Folio* folio = folio_alloc(k, order)) return folio;
  if (k.frames.free_frames() < k.hpage()) return nullptr;  // simply not enough memory
  if (compact_for_order(k, order))
    if (Folio* folio = folio_alloc(k, order)) return folio;
  k.ctx().huge_fallbacks.push_back(ops::HugeFallbackFact{mm->pid, vpn});
  return nullptr;
}

namespace {

// Maps a new large folio of zeros by the PMD at base, in place of whatever PMD (none or
// the huge zero page) is there; the allocation reference becomes the PMD's.
void map_anon_pmd(Kernel& k, Vma* vma, Vpn base, Folio* folio, bool write) {
  for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn) k.page(pfn).value = 0;
  LockGuard ptl(k.locks, pmd_lockptr(vma->mm, base), LockMode::write);
  Pmd& pmd = *pmd_offset(vma->mm, base);
  folio_add_new_anon_rmap(k, folio, vma, base);
  folio_add_lru(k, folio);
  sched_point(k, Access::write, pmd_id(vma->mm, base), "set_pmd_at");
  pmd.kind = Pmd::Kind::huge;
  pmd.pfn = folio->pfn;
  pmd.write = pmd.dirty = write;
  pmd.young = true;
}

// set_pmd_at: `dst` becomes the huge entry `src` is; its lock stays its own.
void set_pmd_at(Pmd& dst, const Pmd& src) {
  dst.kind = src.kind;
  dst.pfn = src.pfn;
  dst.write = src.write;
  dst.dirty = src.dirty;
  dst.young = src.young;
}

}  // namespace

PmdFault do_huge_pmd_anonymous_page(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind) {
  const Vpn base = pmd_base(vma->mm, vpn);
  anon_vma_prepare(k, vma);  // before anything else, as every anon fault path does
  if (kind != FaultKind::write) {  // the huge zero page
    LockGuard ptl(k.locks, pmd_lockptr(vma->mm, base), LockMode::write);
    Pmd& pmd = *pmd_offset(vma->mm, base);
    sched_point(k, Access::write, pmd_id(vma->mm, base), "set_huge_zero_folio");
    pmd.kind = Pmd::Kind::zero;
    pmd.write = pmd.dirty = false;
    pmd.young = true;
    return PmdFault::done;
  }
  Folio* folio = vma_alloc_huge_folio(k, vma->mm, base);
  if (!folio) return PmdFault::fallback;
  map_anon_pmd(k, vma, base, folio, true);
  return PmdFault::done;
}

PmdFault do_huge_pmd_wp_page(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind) {
  const Vpn base = pmd_base(vma->mm, vpn);
  Pmd& pmd = *pmd_offset(vma->mm, base);
  const bool write = kind == FaultKind::write;
  if (pmd.kind == Pmd::Kind::zero) {  // do_huge_zero_wp_pmd (Linux 6.13+)
    if (Folio* folio = vma_alloc_huge_folio(k, vma->mm, base)) {
      map_anon_pmd(k, vma, base, folio, write);
      return PmdFault::done;
    }
    split_huge_pmd(k, vma, base);
    return PmdFault::fallback;
  }
  Folio* folio = pfn_folio(k, pmd.pfn);
  folio->touched = k.ctx().op_seq;
  Page& head = k.page(folio->pfn);
  if (head.anon_exclusive) {
    pmd.write |= write;
    return PmdFault::done;
  }
  {
    LockGuard folio_lock(k.locks, folio->lock, LockMode::write);
    if (folio->refcount == 1) {  // this PMD is all that holds it: reuse the whole folio
      folio_move_anon_rmap(k, folio, vma);
      head.anon_exclusive = true;
      pmd.write |= write;
      return PmdFault::done;
    }
  }
  split_huge_pmd(k, vma, base);  // COW goes page by page: do_wp_page copies this one
  return PmdFault::fallback;
}

void split_huge_pmd(Kernel& k, Vma* vma, Vpn vpn) {
  MmStruct* mm = vma->mm;
  const Vpn base = pmd_base(mm, vpn);
  Pmd& pmd = *pmd_offset(mm, base);
  if (!pmd_is_leaf(&pmd)) return;
  LockGuard ptl(k.locks, pmd.ptl, LockMode::write);
  // Under the lock again: another thread of control may have split it meanwhile.
  sched_point(k, Access::write, pmd_id(mm, base), "__split_huge_pmd");
  if (!pmd_is_leaf(&pmd)) return;
  auto table = pte_table_alloc(mm, base);
  if (pmd.kind == Pmd::Kind::migration) {  // a migration entry per page, no mapping to count
    for (uint64_t i = 0; i < mm->pmd_pages; ++i) table->ptes[i] = Pte{Pte::Kind::migration, pmd.pfn + i};
  } else if (pmd.kind == Pmd::Kind::zero) {
    for (Pte& pte : table->ptes) pte = Pte{Pte::Kind::zero, 0, 0, false, false, pmd.young};
  } else {
    Folio* folio = pfn_folio(k, pmd.pfn);
    const bool exclusive = k.page(folio->pfn).anon_exclusive;
    for (uint64_t i = 0; i < mm->pmd_pages; ++i) {
      const pfn_t pfn = folio->pfn + i;
      table->ptes[i] = Pte{Pte::Kind::present, pfn, 0, pmd.write, pmd.dirty, pmd.young};
      k.page(pfn).anon_exclusive = exclusive;
      folio_add_rmap_pte(k, folio, pfn, vma);
    }
    folio_get(folio, static_cast<int>(mm->pmd_pages) - 1);  // the PMD's reference is the first PTE's
    folio_remove_rmap_pmd(k, folio, vma);
  }
  pmd.kind = Pmd::Kind::table;
  pmd.table = std::move(table);
}

void split_huge_pmd_address(Kernel& k, Vma* vma, Vpn addr) {
  if (addr % vma->mm->pmd_pages == 0 || addr <= vma->start || addr >= vma->end) return;
  split_huge_pmd(k, vma, addr);
}

void zap_huge_pmd(Kernel& k, Vma* vma, Vpn base) {
  Pmd& pmd = *pmd_offset(vma->mm, base);
  LockGuard ptl(k.locks, pmd.ptl, LockMode::write);
  sched_point(k, Access::write, pmd_id(vma->mm, base), "zap_huge_pmd");
  if (pmd.kind == Pmd::Kind::huge) {
    Folio* folio = pfn_folio(k, pmd.pfn);
    Page& head = k.page(folio->pfn);
    folio_remove_rmap_pmd(k, folio, vma);
    // Bug zoo: the mapping goes, but the folio still counts it in entire_mapcount.
    if (k.bugs.pmd_unmap_forgets_entire_mapcount) folio->entire_mapcount++;
    if (folio->entire_mapcount < 0 && head.mapcount < 0) head.anon_exclusive = false;
    folio_put(k, folio);
  }
  pmd.kind = Pmd::Kind::none;
}

bool copy_huge_pmd(Kernel& k, Vma* dst, Vma* src, Vpn base) {
  Pmd& spmd = *pmd_offset(src->mm, base);
  Pmd& dpmd = *pmd_offset(dst->mm, base);
  LockGuard sptl(k.locks, spmd.ptl, LockMode::write);
  sched_point(k, Access::write, pmd_id(src->mm, base), "copy_huge_pmd");
  if (spmd.kind == Pmd::Kind::huge) {
    Folio* folio = pfn_folio(k, spmd.pfn);
    Page& head = k.page(folio->pfn);
    // folio_try_dup_anon_rmap_pmd: a possibly pinned exclusive folio is not shared; the
    // PTE path copies its pages for the child.
    if (head.anon_exclusive && folio->pincount > 0) return false;
    head.anon_exclusive = false;
    folio_get(folio);
    folio_add_rmap_pmd(k, folio, dst);
    spmd.write = false;  // copy-on-write from now on, for both
  }
  LockGuard dptl(k.locks, dpmd.ptl, LockMode::write);
  sched_point(k, Access::write, pmd_id(dst->mm, base), "copy_huge_pmd");
  set_pmd_at(dpmd, spmd);
  return true;
}

bool move_huge_pmd(Kernel& k, MmStruct* mm, Vpn from, Vpn to) {
  Pmd& old_pmd = *pmd_offset(mm, from);
  Pmd& new_pmd = *pmd_offset(mm, to);
  if (new_pmd.kind != Pmd::Kind::none) return false;
  LockGuard old_ptl(k.locks, old_pmd.ptl, LockMode::write);
  LockGuard new_ptl(k.locks, new_pmd.ptl, LockMode::write);
  sched_point(k, Access::write, pmd_id(mm, to), "move_huge_pmd");
  set_pmd_at(new_pmd, old_pmd);
  sched_point(k, Access::write, pmd_id(mm, from), "move_huge_pmd");
  old_pmd.kind = Pmd::Kind::none;
  return true;
}

}  // namespace impl
