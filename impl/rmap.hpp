#pragma once
// Reverse mapping: adding and removing a page's mappings, and rmap_walk, which finds
// every (VMA, address) that may map a folio — through its anon_vma's interval tree for
// anon folios, through the file's i_mmap tree for file and shmem folios, through the
// stable node's rmap items for KSM folios (impl/ksm.hpp). Callers pass
// a control block; one walk serves observation, unmapping and the invariant checks.

#include <functional>

#include "impl/kernel.hpp"
#include "impl/pgtable.hpp"

namespace impl {

// First mapping of a freshly allocated anon folio: folio->anon_vma and index are set
// from the VMA, and the page is AnonExclusive.
void folio_add_new_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr);
// First mapping of a folio read back from swap that others may map too: it joins the
// root anon_vma, which every VMA of the fork family is chained to.
void folio_add_shared_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr);
// One more PTE mapping of a page already in the rmap (file pages, fork of anon pages).
// Adding and removing a mapping in a VM_LOCKED VMA also mlocks / munlocks the folio.
void folio_add_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma);
void folio_remove_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma);
// An exclusive anon folio reused by a write fault moves to the writer's own anon_vma.
void folio_move_anon_rmap(Folio* folio, Vma* vma);

uint64_t linear_page_index(const Vma* vma, Vpn addr);

struct RmapWalkControl {
  // Called for every VMA the walk reaches, with the address at which the folio's
  // first page would be mapped there. Return false to stop the walk.
  std::function<bool(Folio* folio, Vma* vma, Vpn addr)> rmap_one;
};

void rmap_walk(Kernel& k, Folio* folio, RmapWalkControl& rwc);

// Calls fn(vma, vpn, pte) for every present PTE that maps one of the folio's pages, as
// found by rmap_walk (the walk of try_to_unmap, folio_referenced and try_to_migrate).
template <class Fn>
void folio_for_each_pte(Kernel& k, Folio* folio, Fn fn);

// The (pid, vpn) pairs whose PTE maps page `pfn`, found by rmap_walk.
std::vector<ops::PageKey> page_mappers_by_rmap(Kernel& k, Folio* folio, pfn_t pfn);

template <class Fn>
void folio_for_each_pte(Kernel& k, Folio* folio, Fn fn) {
  RmapWalkControl rwc;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
    for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn) {
      const Vpn v = addr + (pfn - folio->pfn);  // may lie outside the VMA
      if (v < vma->start || v >= vma->end) continue;
      Pte* pte = pte_offset(vma->mm, v);
      if (pte && pte->kind == Pte::Kind::present && pte->pfn == pfn) fn(vma, v, *pte);
    }
    return true;
  };
  rmap_walk(k, folio, rwc);
}

}  // namespace impl
