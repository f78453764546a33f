#pragma once
// Named scheduling points: where a thread of control touches what another CPU can see
// between locks, one line at the access:
//
//   sched_point(k, Access::write, pte_id(mm, vpn), "move_ptes");
//   pte = ...;
//
// Without a lock hook (every sequential run: the campaigns' hot path) a point is one
// test of a pointer. With one (interleave/), it is a place where the scheduler may
// switch threads, and an event on a *stable* object id: the same thing has the same id
// in every execution from one prefix (a tag and a slab id, a pid and a page number, a
// pfn), which an address is not. Lock ids are lock_id() (impl/locks.hpp).

#include <cstdint>
#include <string_view>

#include "impl/kernel.hpp"

namespace impl {

// The kind of thing an object id names, in its top byte.
enum class ObjectTag : uint8_t {
  folio = 1,     // by pfn: its counts, flags, mapping and index
  pte,           // by pid and page number
  pmd,           // by pid and the PMD's first page number
  vma,           // by slab id: start, end, pgoff, anon_vma, chain
  anon_vma,      // by slab id: its refcount and tree of chains
  avc,           // by slab id
  mapping,       // an address_space by slab id: i_mmap and the page cache
  swap_cache,    // by slot
  lru,           // the LRU lists (one lruvec)
  ksm,           // KSM's trees
  rcu,           // RCU read-side sections
};

constexpr uint64_t object_id(ObjectTag tag, uint64_t v) {
  return uint64_t(tag) << 56 | (v & ((uint64_t{1} << 56) - 1));
}
inline uint64_t pte_id(const MmStruct* mm, Vpn vpn) { return object_id(ObjectTag::pte, uint64_t(mm->pid) << 40 | vpn); }
inline uint64_t pmd_id(const MmStruct* mm, Vpn vpn) {
  return object_id(ObjectTag::pmd, uint64_t(mm->pid) << 40 | (vpn - vpn % mm->pmd_pages));
}
inline uint64_t folio_id(const Folio* folio) { return object_id(ObjectTag::folio, folio->pfn); }
inline uint64_t vma_id(const Vma* vma) { return object_id(ObjectTag::vma, vma->id); }
inline uint64_t anon_vma_id(const AnonVma* av) { return object_id(ObjectTag::anon_vma, av->id); }
inline uint64_t avc_id(const AnonVmaChain* avc) { return object_id(ObjectTag::avc, avc->id); }
inline uint64_t mapping_id(const AddressSpace* as) { return object_id(ObjectTag::mapping, as->id); }
inline uint64_t swap_cache_id(uint64_t slot) { return object_id(ObjectTag::swap_cache, slot); }
inline constexpr uint64_t lru_id = object_id(ObjectTag::lru, 0);
inline constexpr uint64_t ksm_tree_id = object_id(ObjectTag::ksm, 0);
inline constexpr uint64_t rcu_id = object_id(ObjectTag::rcu, 0);

inline void sched_point(Kernel& k, Access kind, uint64_t object, std::string_view function) {
  if (LockHook* hook = k.locks.hook()) [[unlikely]]
    hook->point(kind, object, function);
}

}  // namespace impl
