#pragma once
// The address-space syscalls: mmap, munmap, mprotect, mlock/munlock, madvise, mremap.

#include <vector>

#include "impl/kernel.hpp"

namespace impl {

ops::Result do_mmap(Kernel& k, MmStruct* mm, const ops::Mmap& op);
ops::Result do_munmap(Kernel& k, MmStruct* mm, const ops::Munmap& op);
ops::Result do_mprotect(Kernel& k, MmStruct* mm, const ops::Mprotect& op);
ops::Result do_mlock(Kernel& k, MmStruct* mm, Vpn vpn, uint64_t pages, bool lock);

// mlock_vma_pages_range: after VM_LOCKED changed over [start, start + was_locked.size()),
// the pages already mapped there are mlocked or munlocked now (pages faulted in later
// are counted by the rmap). As in the rmap, a large folio counts its PMD mappings (once
// each), not its PTE ones.
void mlock_pte_range(Kernel& k, MmStruct* mm, Vpn start, const std::vector<bool>& was_locked);
ops::Result do_madvise(Kernel& k, MmStruct* mm, const ops::Madvise& op);
ops::Result do_mremap(Kernel& k, MmStruct* mm, const ops::Mremap& op);

// Unmaps [start, end): splits the VMAs at the edges, zaps and removes what is inside.
void unmap_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end);
uint64_t mapped_pages(const MmStruct* mm);
uint64_t mapped_pages_in(MmStruct* mm, Vpn start, Vpn end);
bool in_address_space(const Kernel& k, Vpn vpn, uint64_t pages);

}  // namespace impl
