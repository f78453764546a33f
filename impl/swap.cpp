#include "impl/swap.hpp"

#include "impl/sched_point.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "impl/folio.hpp"
#include "impl/kernel.hpp"
#include "impl/pgtable.hpp"

namespace impl {

void swap_init(SwapInfo& si, unsigned slots) {
  si.swap_map.assign(slots, 0);
  si.content.assign(slots, 0);
  si.from_ksm.assign(slots, false);
}

std::optional<uint64_t> get_swap_slot(Kernel& k) {
  SwapInfo& si = k.swap;
  for (uint64_t s = 0; s < si.swap_map.size(); ++s) {
    if (si.swap_map[s] != 0 || si.cache.count(s)) continue;
    return s;
  }
  return std::nullopt;
}

void swap_duplicate(Kernel& k, uint64_t slot) {
  if (k.swap.swap_map.at(slot)++ == 0) k.swap.inuse++;
}

void swap_free(Kernel& k, uint64_t slot) {
  unsigned& count = k.swap.swap_map.at(slot);
  if (count == 0) throw std::logic_error(fmt::format("swap slot {} freed twice", slot));
  if (--count > 0) return;
  k.swap.inuse--;
  k.swap.from_ksm[slot] = false;
  // free_swap_and_cache: the swap cache lets go of the folio only if nobody else has it
  // locked (__try_to_reclaim_swap's folio_trylock): reclaim writing it out holds it
  // locked, and deletes it from the swap cache itself. Under the lock it looks again:
  // the folio may have left the swap cache since it was found there.
  if (Folio* folio = swap_cache_get_folio(k, slot)) {
    if (k.locks.holds(folio->lock)) {
      delete_from_swap_cache(k, folio);
    } else if (k.locks.try_acquire(folio->lock, LockMode::write)) {
      if (folio->swap == slot) delete_from_swap_cache(k, folio);
      k.locks.release(folio->lock);
    }
  }
}

void add_to_swap_cache(Kernel& k, Folio* folio, uint64_t slot) {
  sched_point(k, Access::write, swap_cache_id(slot), "add_to_swap_cache");
  folio->swap = slot;
  if (folio->ksm()) k.swap.from_ksm[slot] = true;
  k.swap.cache[slot] = folio;
  folio_get(folio, static_cast<int>(folio->nr_pages()));
}

void delete_from_swap_cache(Kernel& k, Folio* folio) {
  sched_point(k, Access::write, swap_cache_id(*folio->swap), "delete_from_swap_cache");
  k.swap.cache.erase(*folio->swap);
  folio->swap.reset();
  folio_put(k, folio, static_cast<int>(folio->nr_pages()));
}

Folio* swap_cache_get_folio(Kernel& k, uint64_t slot) {
  sched_point(k, Access::read, swap_cache_id(slot), "swap_cache_get_folio");
  auto it = k.swap.cache.find(slot);
  return it == k.swap.cache.end() ? nullptr : it->second;
}

void check_swap(Kernel& k, std::vector<std::string>& out) {
  std::vector<unsigned> refs(k.swap.swap_map.size(), 0);
  auto count = [&](uint64_t slot, const std::string& who) {
    if (slot >= refs.size()) out.push_back(fmt::format("{} names swap slot {} past the device", who, slot));
    else refs[slot]++;
  };
  for (const auto& [pid, mm] : k.tasks)
    for (const auto& [start, vma] : mm->mm_mt)
      for (Vpn v = vma->start; v < vma->end; ++v)
        if (const Pte* pte = pte_offset(mm, v); pte && pte->kind == Pte::Kind::swap)
          count(pte->slot, fmt::format("pte ({},{:#x})", pid, v));
  k.spaces.for_each_live([&](AddressSpace& as) {
    for (const auto& [pgoff, slot] : as.swapped) count(slot, fmt::format("shmem {} page {}", as.object, pgoff));
  });
  uint64_t inuse = 0;
  for (uint64_t s = 0; s < refs.size(); ++s) {
    inuse += k.swap.swap_map[s] != 0;
    if (refs[s] != k.swap.swap_map[s])
      out.push_back(fmt::format("swap slot {}: count {} but {} references", s, k.swap.swap_map[s], refs[s]));
  }
  if (inuse != k.swap.inuse) out.push_back(fmt::format("swap: {} slots in use, counted {}", inuse, k.swap.inuse));
  for (const auto& [slot, folio] : k.swap.cache) {
    if (folio->freed) out.push_back(fmt::format("swap cache slot {}: freed folio {}", slot, folio->id));
    else if (folio->swap != slot) out.push_back(fmt::format("swap cache slot {}: folio {} caches another", slot, folio->id));
    else if (k.swap.swap_map[slot] == 0) out.push_back(fmt::format("swap cache slot {}: slot is free", slot));
  }
}

}  // namespace impl
