#pragma once
// A file's i_mmap: the interval tree of the VMAs that map it, which file rmap walks.
// It changes only under i_mmap_rwsem held for writing (mm/interval_tree.c's
// vma_interval_tree_insert and _remove are called so); these say so to lockdep.

#include "impl/kernel.hpp"

namespace impl {

void vma_interval_tree_insert(Kernel& k, Vma* vma, AddressSpace* mapping);
void vma_interval_tree_remove(Kernel& k, Vma* vma, AddressSpace* mapping);

}  // namespace impl
