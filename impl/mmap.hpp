#pragma once
// The address-space syscalls: mmap, munmap, mprotect, mlock/munlock, madvise, mremap.

#include "impl/kernel.hpp"

namespace impl {

ops::Result do_mmap(Kernel& k, MmStruct* mm, const ops::Mmap& op);
ops::Result do_munmap(Kernel& k, MmStruct* mm, const ops::Munmap& op);
ops::Result do_mprotect(Kernel& k, MmStruct* mm, const ops::Mprotect& op);
ops::Result do_mlock(Kernel& k, MmStruct* mm, Vpn vpn, uint64_t pages, bool lock);
ops::Result do_madvise(Kernel& k, MmStruct* mm, const ops::Madvise& op);
ops::Result do_mremap(Kernel& k, MmStruct* mm, const ops::Mremap& op);

// Unmaps [start, end): splits the VMAs at the edges, zaps and removes what is inside.
void unmap_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end);
uint64_t mapped_pages(const MmStruct* mm);
uint64_t mapped_pages_in(MmStruct* mm, Vpn start, Vpn end);
bool in_address_space(const Kernel& k, Vpn vpn, uint64_t pages);

}  // namespace impl
