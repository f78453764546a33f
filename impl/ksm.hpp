#pragma once
// KSM, kernel same-page merging (mm/ksm.c). `madvise mergeable` registers the mm and
// marks the VMA; the `ksm` op runs full scans until one changes nothing. A scan looks
// at every anon page of every mergeable VMA of every registered mm, through the rmap
// item of its (mm, address): a page equal to a KSM page is merged into it (stable
// tree); a page whose checksum did not change since the last scan goes into the
// unstable tree, and when an equal page is already there the two are merged into a new
// KSM page. Merging write-protects the PTEs and points them at the one KSM page, whose
// folio->mapping is the stable node; rmap_walk_ksm then finds every PTE through the
// node's rmap items and their anon_vmas.
//
// What may merge follows the model (model/RULES.md): anon pages that nothing holds but
// their mappings and caches (no pin: the kernel's refcount check in write_protect_page)
// and that are mapped only in VM_MERGEABLE VMAs.
//
// The rest of impl/ calls in at these points:
//   fork, exit            ksm_fork, ksm_exit
//   madvise               ksm_enter (mergeable), ksm_unmerge_range (unmergeable; also
//                         mremap before it moves a range, as the kernel's prep_move_vma)
//   unmap / COW of a PTE  ksm_pte_unmapped, once the PTE no longer maps the KSM page
//   rmap_walk             rmap_walk_ksm for KSM folios
//   migration             folio_migrate_ksm: the stable node follows the page
//   freeing a folio       ksm_folio_freed: its stable node is pruned
//   swap-in               ksm_swapin_needs_copy (ksm_might_need_to_copy)

#include <string>
#include <vector>

#include "impl/kernel.hpp"
#include "impl/rmap.hpp"

namespace impl {

// ---- the `ksm` op (ksm.cpp) ----
ops::Result ksm_run(Kernel& k);  // full scans until one changes nothing
// One full scan of every registered mm (ksm_do_scan over all of them), with a fresh
// unstable tree; whether it changed anything (a checksum, a merge, an rmap item).
bool ksm_full_scan(Kernel& k);

// ---- registration and teardown (ksm_rmap.cpp) ----
void ksm_enter(Kernel& k, MmStruct* mm);                     // __ksm_enter; no-op if registered
void ksm_fork(Kernel& k, MmStruct* parent, MmStruct* child);  // the child is registered too
void ksm_exit(Kernel& k, MmStruct* mm);                      // drops the slot and its items
KsmMmSlot* ksm_slot(Kernel& k, const MmStruct* mm);          // null when not registered

// unmerge_ksm_pages over [start, end) of mm: every KSM page mapped in a VM_MERGEABLE VMA
// there is replaced by an exclusive anon copy (break_ksm, an unshare fault). ENOMEM when
// a copy finds no frame; the pages broken before it stay broken.
ops::Result ksm_unmerge_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end);

// The PTE at (vma->mm, vpn) stopped mapping KSM folio `folio` (unmapped, or replaced by
// a COW copy). Its rmap item goes; forked PTEs that were reached only through it get
// items of their own. The caller still holds its reference on the folio and no PTL.
void ksm_pte_unmapped(Kernel& k, Vma* vma, Vpn vpn, Folio* folio);

// rmap_walk for a KSM folio: each rmap item's anon_vma's interval tree, at the item's
// address; first the item's own mm, then other mms (forks). Each (VMA, address) once.
void rmap_walk_ksm(Kernel& k, Folio* folio, RmapWalkControl& rwc);

// Migration moved `src`'s mappings to `dst`: the stable node now names dst.
void folio_migrate_ksm(Kernel& k, Folio* dst, Folio* src);

// `folio`, a KSM folio, is being freed: its stable node and rmap items go.
void ksm_folio_freed(Kernel& k, Folio* folio);

// do_swap_page, on finding `folio` in the swap cache for `slot`: whether the fault must
// map a copy instead (ksm_might_need_to_copy). A slot a KSM page was swapped out to may
// be named by PTEs of unrelated anon_vmas; the first fault maps the swap-cache folio into
// its own anon_vma, and every later one while that folio is mapped gets a copy. (The
// kernel lets later faults at the same linear index in the same anon_vma family share
// it; the model cannot see anon_vmas, so both sides copy: model/RULES.md.)
bool ksm_swapin_needs_copy(Kernel& k, Folio* folio, uint64_t slot);
// ... and, when it maps the swap-cache folio: whether the folio must first be given the
// faulting VMA's anon_vma (nobody maps it now, and the one that did may be unrelated).
bool ksm_swapin_reanchor(Kernel& k, Folio* folio, uint64_t slot);

// THP integration point: the model splits a large folio before KSM merges a page of it
// (model/ksm_thp.cpp). Returns the small folio that now holds `pfn`. Today impl has no
// large anon folios (THP ops are filtered out), so this returns `folio` unchanged; the
// THP work wires it to split_folio.
Folio* ksm_split_large(Kernel& k, Folio* folio, pfn_t pfn);

// ---- invariants (ksm_invariants.cpp) ----
void check_ksm(Kernel& k, std::vector<std::string>& out);

}  // namespace impl
