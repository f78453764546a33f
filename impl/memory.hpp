#pragma once
// Page faults and unmapping (the kernel's mm/memory.c): anonymous and file faults,
// copy-on-write with the reuse rule of current kernels, and zapping page tables.

#include "impl/kernel.hpp"
#include "ops/types.hpp"

namespace impl {

enum class FaultKind : uint8_t { read, write, unshare };

// A fault that meets a migration entry at vpn waits until it is gone (under a lock
// hook; sequentially one there is a bug, a std::logic_error).
void migration_entry_wait(Kernel& k, MmStruct* mm, Vpn vpn);
bool migration_entry_at(MmStruct* mm, Vpn vpn);

// Resolves a fault at vpn; ok when the PTE now maps what the access needs.
ops::Result handle_mm_fault(Kernel& k, MmStruct* mm, Vpn vpn, FaultKind kind);

// An unshare fault on the present PTE at vpn, without a user fault's access checks
// (FAULT_FLAG_REMOTE | FAULT_FLAG_UNSHARE): how break_ksm gets an exclusive copy.
ops::Result handle_unshare_fault(Kernel& k, Vma* vma, Vpn vpn);

// Faults in [start, end) the way MAP_POPULATE and mlock do.
ops::Result populate_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end, bool stop_on_error);

// Removes every PTE in [start, end) (inside `vma`), dropping rmap and references.
void zap_page_range(Kernel& k, Vma* vma, Vpn start, Vpn end);

// The value a present or zero PTE shows.
uint64_t pte_value(Kernel& k, const Pte& pte);

}  // namespace impl
