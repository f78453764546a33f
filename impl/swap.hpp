#pragma once
// The swap device and the swap cache (mm/swapfile.c, mm/swap_state.c). A slot counts
// the references to it: swap PTEs and shmem objects that name it. A folio in the swap
// cache caches one slot's content. Slots are freed when their count drops to 0, and the
// cached folio then leaves the swap cache at once (the eager variant of the kernel's
// policy, which frees slots lazily until swap runs short; see model/RULES.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "impl/mm_types.hpp"

namespace impl {

class Kernel;

struct SwapInfo {
  std::vector<unsigned> swap_map;  // per slot: references; 0 = free
  std::vector<uint64_t> content;   // per slot: the value written to it
  std::vector<bool> from_ksm;      // per slot: a KSM page was swapped out to it (impl/ksm.hpp)
  std::map<uint64_t, Folio*> cache;  // the swap cache, by slot
  uint64_t inuse = 0;
};

void swap_init(SwapInfo& si, unsigned slots);

// A free slot with count 0, reserved for a folio going out (add_to_swap), or nothing.
std::optional<uint64_t> get_swap_slot(Kernel& k);
// One more / one fewer reference. The last put frees the slot and drops its folio from
// the swap cache.
void swap_duplicate(Kernel& k, uint64_t slot);
void swap_free(Kernel& k, uint64_t slot);

void add_to_swap_cache(Kernel& k, Folio* folio, uint64_t slot);
void delete_from_swap_cache(Kernel& k, Folio* folio);
Folio* swap_cache_get_folio(Kernel& k, uint64_t slot);

// Swap invariants: counts match the swap PTEs and shmem entries that name each slot;
// cached folios are live, cache their slot, and hold its reference.
void check_swap(Kernel& k, std::vector<std::string>& out);

}  // namespace impl
