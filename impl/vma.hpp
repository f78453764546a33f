#pragma once
// VMA bookkeeping (the kernel's mm/vma.c): lookup, link, remove, split, and merging by
// the rules of Linux 6.18: equal flags and file, contiguous page offsets, and
// compatible anon_vmas (equal, or one side has none and the side that has one is not a
// fork child; that side's anon_vma is then duplicated into the merged VMA).

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
// VMA. `anon_src` is the VMA whose anon_vma the range brings along (mremap: the VMA it
// is copied from, or the VMA that grows in place); `copied_from` is the VMA mremap
// copies the range from, whose being a fork child refuses a merge that would hand its
// anon_vma over. Returns the VMA that now covers the range, or null.
Vma* vma_merge_new_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end, uint64_t pgoff,
                         uint32_t flags, AddressSpace* file, Vma* anon_src = nullptr,
                         Vma* copied_from = nullptr);

// mprotect, mlock, madvise: gives [start, end) (inside `vma`) the flags `flags`,
// merging with a neighbour where the rules allow and splitting otherwise. Returns the
// VMA that now covers exactly the range.
Vma* vma_modify_flags(Kernel& k, Vma* vma, Vpn start, Vpn end, uint32_t flags);

}  // namespace impl
