#pragma once
// Reverse mapping: adding and removing a page's mappings, and rmap_walk, which finds
// every (VMA, address) that may map a folio — through its anon_vma's interval tree for
// anon folios, through the file's i_mmap tree for file and shmem folios, through the
// stable node's rmap items for KSM folios (impl/ksm.hpp). Callers pass
// a control block; one walk serves observation, unmapping and the invariant checks.
//
// Mapcounts as current kernels keep them: a small folio's page counts its PTEs in
// _mapcount; a large folio also counts PMD mappings of the whole folio in
// entire_mapcount, every mapping in large_mapcount (a PMD once), the pages some PTE
// maps in nr_pages_mapped, and its mappings per MM. Each mapping holds one folio
// reference: a PMD one for the whole folio, a PTE one for its page.

#include <functional>

#include "impl/kernel.hpp"
#include "impl/pgtable.hpp"
#include "impl/sched_point.hpp"

namespace impl {

// First mapping of a freshly allocated anon folio: folio->anon_vma and index are set
// from the VMA, `addr` being where its first page goes, and it is AnonExclusive. A
// small folio is mapped by the PTE there; a large one by the PMD over it all.
void folio_add_new_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr);
// First mapping of a folio read back from swap that others may map too: it joins the
// root anon_vma, which every VMA of the fork family is chained to.
void folio_add_shared_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr);
// One more PTE mapping of a page already in the rmap (file pages, fork of anon pages).
// Adding and removing a mapping in a VM_LOCKED VMA also mlocks / munlocks the folio;
// a large folio only by its PMD mappings, as the kernel's mlock_vma_folio() does.
void folio_add_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma);
void folio_remove_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma);
// One more / one fewer PMD mapping of a whole large folio (fork, zap, split of the PMD).
void folio_add_rmap_pmd(Kernel& k, Folio* folio, const Vma* vma);
void folio_remove_rmap_pmd(Kernel& k, Folio* folio, const Vma* vma);
// An exclusive anon folio reused by a write fault moves to the writer's own anon_vma.
void folio_move_anon_rmap(Kernel& k, Folio* folio, Vma* vma);

// folio_mapped: some page of the folio is mapped by a PTE or a PMD.
bool folio_mapped(Kernel& k, const Folio* folio);
// The anon_vma of a mapped anon folio, with a reference that keeps it alive (not its
// VMAs) until put_anon_vma; null for an unmapped or KSM folio. Migration holds it from
// unmapping the folio to mapping it back, when no mapping pins the anon_vma any more.
AnonVma* folio_get_anon_vma(Kernel& k, Folio* folio);
// The anon_vma of a mapped anon folio, its root's rwsem read-locked; null if the folio
// is not mapped (any more). For walkers that hold neither the folio's anon_vma by a
// reference nor the walked mm's mmap_lock.
AnonVma* folio_lock_anon_vma_read(Kernel& k, Folio* folio);

// How many mappings of the folio the MM has (PMD ones counted once).
int folio_mm_mapcount(const Folio* folio, const MmStruct* mm);
// Whether an MM other than `mm` maps some page of the folio.
bool folio_mapped_by_other_mm(const Folio* folio, const MmStruct* mm);

uint64_t linear_page_index(const Vma* vma, Vpn addr);

struct RmapWalkControl {
  // Called for every VMA the walk reaches, with the address at which the folio's
  // first page would be mapped there. Return false to stop the walk.
  std::function<bool(Folio* folio, Vma* vma, Vpn addr)> rmap_one;
  // An anon_vma the caller holds a reference on (folio_get_anon_vma): the walk locks
  // that one instead of finding the folio's through folio_lock_anon_vma_read, which
  // finds none for a folio that only migration entries name.
  AnonVma* anon_vma = nullptr;
};

void rmap_walk(Kernel& k, Folio* folio, RmapWalkControl& rwc);

// Calls fn(vma, vpn, pte) for every present PTE that maps one of the folio's pages, as
// found by rmap_walk (the walk of try_to_unmap, folio_referenced and try_to_migrate),
// with the PTE's page table lock held: as page_vma_mapped_walk, it looks again under
// the lock, since a fault, zap or move may have changed the PTE since it was first read.
// `anon_vma`: one the caller holds a reference on (RmapWalkControl::anon_vma).
template <class Fn>
void folio_for_each_pte(Kernel& k, Folio* folio, Fn fn, AnonVma* anon_vma = nullptr);
// Calls fn(vma, base, pmd) for every huge PMD that maps the (large) folio, with the PMD
// lock held (and the PMD looked at again under it).
template <class Fn>
void folio_for_each_pmd(Kernel& k, Folio* folio, Fn fn, AnonVma* anon_vma = nullptr);

// The (pid, vpn) pairs that map page `pfn` (by PTE or by PMD), found by rmap_walk.
std::vector<ops::PageKey> page_mappers_by_rmap(Kernel& k, Folio* folio, pfn_t pfn);
// The same, appended to `out`.
void page_mappers_by_rmap(Kernel& k, Folio* folio, pfn_t pfn, std::vector<ops::PageKey>& out);

template <class Fn>
void folio_for_each_pte(Kernel& k, Folio* folio, Fn fn, AnonVma* anon_vma) {
  RmapWalkControl rwc;
  rwc.anon_vma = anon_vma;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
    for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn) {
      const Vpn v = addr + (pfn - folio->pfn);  // may lie outside the VMA
      if (v < vma->start || v >= vma->end) continue;
      sched_point(k, Access::read, pte_id(vma->mm, v), "page_vma_mapped_walk");
      Pte* pte = pte_offset(vma->mm, v);
      if (!pte || pte->kind != Pte::Kind::present || pte->pfn != pfn) continue;
      // The table stays: freeing it needs the VMA out of the rmap tree, whose lock the
      // walk holds.
      LockGuard ptl(k.locks, pte_table(vma->mm, v)->ptl, LockMode::write);
      if (pte->kind == Pte::Kind::present && pte->pfn == pfn) fn(vma, v, *pte);
    }
    return true;
  };
  rmap_walk(k, folio, rwc);
}

template <class Fn>
void folio_for_each_pmd(Kernel& k, Folio* folio, Fn fn, AnonVma* anon_vma) {
  if (!folio->large()) return;
  RmapWalkControl rwc;
  rwc.anon_vma = anon_vma;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
    // A PMD mapping needs the folio's first page at an aligned address inside the VMA.
    if (addr < vma->start || addr + folio->nr_pages() > vma->end || addr % vma->mm->pmd_pages) return true;
    sched_point(k, Access::read, pmd_id(vma->mm, addr), "page_vma_mapped_walk");
    Pmd* pmd = pmd_offset(vma->mm, addr);
    if (!pmd || pmd->kind != Pmd::Kind::huge || pmd->pfn != folio->pfn) return true;
    LockGuard ptl(k.locks, pmd->ptl, LockMode::write);
    if (pmd->kind == Pmd::Kind::huge && pmd->pfn == folio->pfn) fn(vma, addr, *pmd);
    return true;
  };
  rmap_walk(k, folio, rwc);
}

}  // namespace impl
