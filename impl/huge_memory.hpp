#pragma once
// Transparent huge pages at the PMD level (the kernel's mm/huge_memory.c): the THP
// fault, the huge zero page, COW of a PMD-mapped folio, and the PMD operations the rest
// of mm needs: zap, copy at fork, move at mremap, and split into PTEs. A huge PMD maps
// the whole aligned range of one VMA; every operation that would leave it straddling a
// VMA boundary, or covering only part of what it acts on, splits it first. Splitting
// the PMD keeps the folio large (impl/folio_split splits folios).

#include "impl/kernel.hpp"
#include "impl/memory.hpp"

namespace impl {

// thp_vma_allowable_order() and transhuge_vma_suitable(): a private anon VMA that
// allows THP (VM_HUGEPAGE or thp=always, not VM_NOHUGEPAGE) and holds the whole
// aligned huge range around vpn.
bool thp_vma_suitable(const Kernel& k, const Vma* vma, Vpn vpn);

// A large folio of hpage order for a THP fault, collapse or migration. There is no
// reclaim for it (the model's rule: a huge page comes from free memory or not at all);
// when enough frames are free but scattered, compaction moves pages out of one aligned
// block. When even that fails, the fallback is recorded as a fact for (pid, vpn).
Folio* vma_alloc_huge_folio(Kernel& k, const MmStruct* mm, Vpn vpn);

enum class PmdFault : uint8_t { done, fallback };

// do_huge_pmd_anonymous_page: a fault on an empty PMD in a THP VMA. A read (or unshare)
// maps the huge zero page; a write maps a new PMD-mapped large folio of zeros, or
// falls back to the PTE path when no huge page can be had.
PmdFault do_huge_pmd_anonymous_page(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind);

// do_huge_pmd_wp_page: a write or unshare fault on a huge PMD. The huge zero page is
// replaced by a new large folio (do_huge_zero_wp_pmd), or split. A folio is reused in
// place when its head is AnonExclusive or the PMD is its only reference; otherwise the
// PMD is split and the PTE path copies the one page (fallback).
PmdFault do_huge_pmd_wp_page(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind);

// __split_huge_pmd: the huge PMD over vpn becomes a PTE table mapping the same pages
// (zero-page PTEs for the huge zero page). Each page gets the head's AnonExclusive and
// one PTE mapping; the PMD mapping goes. Nothing happens when the PMD is not huge.
void split_huge_pmd(Kernel& k, Vma* vma, Vpn vpn);
// vma_adjust_trans_huge: a VMA boundary is about to be at `addr`; a huge PMD that
// would straddle it is split.
void split_huge_pmd_address(Kernel& k, Vma* vma, Vpn addr);

// zap_huge_pmd: removes the huge PMD at `base`, dropping its mapping and reference.
void zap_huge_pmd(Kernel& k, Vma* vma, Vpn base);

// copy_huge_pmd: fork's copy of a huge PMD, COW-shared by both. False when the folio
// may be pinned and its head is AnonExclusive: the parent's PMD is split instead, and
// the caller copies the PTEs (copying those pages for the child).
bool copy_huge_pmd(Kernel& k, Vma* dst, Vma* src, Vpn base);

// move_huge_pmd: mremap moves a whole huge PMD from `from` to `to` (both aligned); false
// (nothing moved) when the destination PMD is not empty.
bool move_huge_pmd(Kernel& k, MmStruct* mm, Vpn from, Vpn to);

}  // namespace impl
