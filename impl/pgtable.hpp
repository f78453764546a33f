#pragma once
// Two-level page tables: one PMD entry per huge-page-sized range, which is none, a PTE
// table allocated on first use, or a huge mapping of the whole range (impl/huge_memory).

#include "impl/kernel.hpp"

namespace impl {

Pmd* pmd_offset(MmStruct* mm, Vpn vpn);                // null past the address space
inline bool pmd_trans_huge(const Pmd* pmd) {           // a huge mapping: folio or zero page
  return pmd && (pmd->kind == Pmd::Kind::huge || pmd->kind == Pmd::Kind::zero);
}
inline Vpn pmd_base(const MmStruct* mm, Vpn vpn) { return vpn - vpn % mm->pmd_pages; }
Lock& pmd_lockptr(MmStruct* mm, Vpn vpn);
// The stable ids of the PMD lock and of the PTE table's lock over vpn (Lock::id).
uint64_t pmd_lock_id(const MmStruct* mm, Vpn vpn);
// A PTE table for the range over vpn, all none, its lock named.
std::unique_ptr<PteTable> pte_table_alloc(const MmStruct* mm, Vpn vpn);
// A huge PMD, or a migration entry in its place: what moves, zaps and copies whole.
inline bool pmd_is_leaf(const Pmd* pmd) { return pmd_trans_huge(pmd) || (pmd && pmd->kind == Pmd::Kind::migration); }

PteTable* pte_table(MmStruct* mm, Vpn vpn);            // null unless the PMD is a PTE table
Pte* pte_offset(MmStruct* mm, Vpn vpn);                // null unless the PMD is a PTE table
// Allocates the PTE table if the PMD is none. Throws std::logic_error for a huge PMD:
// callers split it first.
Pte& pte_alloc(MmStruct* mm, Vpn vpn);
Lock& pte_lockptr(MmStruct* mm, Vpn vpn);              // the PTL covering vpn (allocates)

// What maps a page, read through either level: a PTE's copy, or for a page under a
// huge PMD a PTE-shaped view of it (the page's pfn inside the folio) with `pmd` set.
struct PageView {
  Pte pte;           // kind none when nothing maps the page
  bool pmd = false;  // mapped by a huge PMD (folio or huge zero page)
};
PageView follow_page(MmStruct* mm, Vpn vpn);

// free_pgtables: the PTE tables of the huge-page ranges overlapping [start, end) that no
// VMA of the mm covers any more are freed (they are empty by then).
void free_pgtables(MmStruct* mm, Vpn start, Vpn end);

}  // namespace impl
