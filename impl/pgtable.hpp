#pragma once
// Two-level page tables: one PMD entry per huge-page-sized range, each pointing to a
// PTE table allocated on first use.

#include "impl/kernel.hpp"

namespace impl {

PteTable* pte_table(MmStruct* mm, Vpn vpn);            // null when the PMD is none
Pte* pte_offset(MmStruct* mm, Vpn vpn);                // null when the PMD is none
Pte& pte_alloc(MmStruct* mm, Vpn vpn);                 // allocates the PTE table if needed
Lock& pte_lockptr(MmStruct* mm, Vpn vpn);              // the PTL covering vpn (allocates)

}  // namespace impl
