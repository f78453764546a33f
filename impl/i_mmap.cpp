#include "impl/i_mmap.hpp"

#include "impl/sched_point.hpp"

namespace impl {

void vma_interval_tree_insert(Kernel& k, Vma* vma, AddressSpace* mapping) {
  k.locks.assert_held(mapping->i_mmap_rwsem, LockMode::write, "vma_interval_tree_insert");
  sched_point(k, Access::write, mapping_id(mapping), "vma_interval_tree_insert");
  mapping->i_mmap.insert(*vma);
}

void vma_interval_tree_remove(Kernel& k, Vma* vma, AddressSpace* mapping) {
  k.locks.assert_held(mapping->i_mmap_rwsem, LockMode::write, "vma_interval_tree_remove");
  sched_point(k, Access::write, mapping_id(mapping), "vma_interval_tree_remove");
  mapping->i_mmap.remove(*vma);
}

}  // namespace impl
