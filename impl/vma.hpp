#pragma once
// VMA bookkeeping (the kernel's mm/vma.c): lookup, link, remove, split, and merging by
// the kernel's rules: equal flags and file, contiguous page offsets, and compatible
// anon_vmas (equal, or one side has none and the other was not forked).

#include "impl/kernel.hpp"

namespace impl {

Vma* find_vma(MmStruct* mm, Vpn vpn);   // the VMA containing vpn, or null
Vma* vma_prev(MmStruct* mm, Vma* vma);
Vma* vma_next(MmStruct* mm, Vma* vma);

Vma* vma_create(Kernel& k, MmStruct* mm, Vpn start, Vpn end, uint64_t pgoff, uint32_t flags,
                AddressSpace* file);
void vma_link(Kernel& k, Vma* vma);
// Unlinks the VMA from its mm, file and anon_vmas and frees it. Its page tables must
// have been zapped already.
void vma_remove(Kernel& k, Vma* vma);

// Splits at `addr`; returns the new VMA (below addr when new_below).
Vma* split_vma(Kernel& k, Vma* vma, Vpn addr, bool new_below);

// Changes a VMA's range, keeping the interval trees keyed right.
void vma_set_range(Kernel& k, Vma* vma, Vpn start, Vpn end, uint64_t pgoff);

// mmap and mremap: tries to extend a neighbour over [start, end) instead of creating a
// VMA. `anon_src` is the VMA whose pages will move in (mremap), whose anon_vma the
// range brings along. Returns the VMA that now covers the range, or null.
Vma* vma_merge_new_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end, uint64_t pgoff,
                         uint32_t flags, AddressSpace* file, Vma* anon_src = nullptr);

// mprotect, mlock, madvise: gives [start, end) (inside `vma`) the flags `flags`,
// merging with a neighbour where the rules allow and splitting otherwise. Returns the
// VMA that now covers exactly the range.
Vma* vma_modify_flags(Kernel& k, Vma* vma, Vpn start, Vpn end, uint32_t flags);

}  // namespace impl
