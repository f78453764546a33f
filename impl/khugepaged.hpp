#pragma once
// MADV_COLLAPSE (mm/khugepaged.c's madvise_collapse, synchronous): each aligned huge
// range of the advice range is copied into a new PMD-mapped large folio.

#include "impl/kernel.hpp"

namespace impl {

// Collapses every aligned huge range inside [start, end) of the VMA (private anon, not
// VM_NOHUGEPAGE: checked by the caller). A range already PMD-mapped is done; one with
// a pinned page answers EAGAIN, one with nothing mapped EINVAL, and no huge page ENOMEM.
// The other ranges are still tried; the result is the last failure.
ops::Result madvise_collapse(Kernel& k, Vma* vma, Vpn start, Vpn end);

}  // namespace impl
