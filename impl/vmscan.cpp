#include "impl/vmscan.hpp"

#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "impl/folio.hpp"
#include "impl/folio_split.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/sched_point.hpp"
#include "impl/swap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

// try_to_unmap: every PTE of the folio becomes a swap entry for `slot`, or none.
void try_to_unmap(Kernel& k, Folio* folio, std::optional<uint64_t> slot) {
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn v, Pte& pte) {  // under the PTL
    sched_point(k, Access::write, pte_id(vma->mm, v), "try_to_unmap_one");
    const Pte old = pte;
    if (slot) {
      swap_duplicate(k, *slot);
      pte = Pte{Pte::Kind::swap, 0, *slot};
    } else {
      pte = Pte{};
    }
    if (old.dirty) folio->dirty = true;
    folio_remove_rmap_pte(k, folio, old.pfn, vma);
    folio_put(k, folio);
  });
}

// A swap PTE that names `slot`, found by scanning (only to name the frame in a fact).
std::optional<ops::PageKey> swap_pte_naming(Kernel& k, uint64_t slot) {
  for (const auto& [pid, mm] : k.tasks)
    for (const auto& [start, vma] : mm->mm_mt)
      for (Vpn v = vma->start; v < vma->end; ++v)
        if (const Pte* pte = pte_offset(mm, v); pte && pte->kind == Pte::Kind::swap && pte->slot == slot)
          return ops::PageKey{pid, v};
  return std::nullopt;
}

// How the model can find this frame: by a page mapping it, by a swap PTE naming the
// slot it caches, or by its place in a page cache.
ops::FrameRef frame_ref(Kernel& k, Folio* folio) {
  using Kind = ops::FrameRef::Kind;
  if (folio_mapcount(k, folio) > 0) {
    auto mappers = page_mappers_by_rmap(k, folio, folio->pfn);
    if (!mappers.empty()) return ops::FrameRef{Kind::mapped, mappers[0].first, mappers[0].second, 0, 0};
  }
  if (folio->swap)
    if (auto key = swap_pte_naming(k, *folio->swap)) return ops::FrameRef{Kind::swapcache, key->first, key->second, 0, 0};
  const Kind kind = folio->mapping && folio->mapping->shmem ? Kind::shmemcache : Kind::filecache;
  return ops::FrameRef{kind, 0, 0, folio->mapping ? folio->mapping->object : 0, folio->index};
}

// No one holds the folio but its mappings, its caches and reclaim's `held` references
// (folio_ref_freeze would succeed).
bool only_expected_refs(Kernel& k, const Folio* folio, int held) {
  return folio->refcount == folio_expected_refs(k, folio) + held;
}

// Not mlocked, not pinned, nothing holding it but its mappings and caches (and reclaim).
bool may_isolate(Kernel& k, const Folio* folio, int held) {
  if (folio->mlocked() && !k.bugs.reclaim_ignores_mlock) return false;
  return folio->pincount == 0 && only_expected_refs(k, folio, held);
}

bool may_reclaim(Kernel& k, Folio* folio, int held) {
  if (!may_isolate(k, folio, held)) return false;
  if (!folio->anon() && folio->swapbacked() && !folio_dirty(k, folio)) return true;  // clean shmem: dropped
  const bool lazyfree = k.page(folio->pfn).lazyfree;
  return !folio->swapbacked() || (folio->anon() && (lazyfree || folio->swap)) || get_swap_slot(k);
}

// Whether a VM_LOCKED VMA maps the page (it must then stay, whatever its folio does).
bool page_mapped_locked(Kernel& k, Folio* folio, pfn_t pfn) {
  for (auto [pid, v] : page_mappers_by_rmap(k, folio, pfn)) {
    const Vma* vma = find_vma(k.tasks.at(pid), v);
    if (vma && (vma->flags & VM_LOCKED)) return true;
  }
  return false;
}

// The page of a large folio that LRU reclaim takes: the first one mapped (so a fact can
// name it), unless a page of the folio is mapped in a VM_LOCKED VMA: try_to_unmap of
// the folio would give up there (a PTE-mapped folio only partly locked may still sit on
// an evictable list).
std::optional<pfn_t> reclaimable_page(Kernel& k, Folio* folio) {
  std::optional<pfn_t> first_mapped;
  for (pfn_t pfn = folio->pfn; pfn < folio->pfn + folio->nr_pages(); ++pfn) {
    if (page_mapcount(k.page(pfn)) == 0) continue;
    if (!k.bugs.reclaim_ignores_mlock && page_mapped_locked(k, folio, pfn)) return std::nullopt;
    if (!first_mapped) first_mapped = pfn;
  }
  return first_mapped;
}

void swap_out_anon(Kernel& k, Folio* folio) {
  if (k.page(folio->pfn).lazyfree) {  // MADV_FREE memory nobody wrote since (a write clears it): dropped
    try_to_unmap(k, folio, std::nullopt);
    if (folio->swap) delete_from_swap_cache(k, folio);
    return;
  }
  if (!folio->swap) add_to_swap_cache(k, folio, *get_swap_slot(k));
  const uint64_t slot = *folio->swap;
  try_to_unmap(k, folio, slot);
  k.swap.content[slot] = k.page(folio->pfn).value;  // pageout
  delete_from_swap_cache(k, folio);
}

// A shmem page nobody wrote holds zeros: it is dropped, and the next fault makes a new one.
void swap_out_shmem(Kernel& k, Folio* folio) {
  try_to_unmap(k, folio, std::nullopt);
  if (!folio->dirty) {
    filemap_remove_folio(k, folio);
    return;
  }
  const uint64_t slot = *get_swap_slot(k);
  k.swap.content[slot] = k.page(folio->pfn).value;
  swap_duplicate(k, slot);
  folio->mapping->swapped[folio->index] = slot;
  filemap_remove_folio(k, folio);
}

void write_back_file(Kernel& k, Folio* folio) {
  try_to_unmap(k, folio, std::nullopt);
  if (folio->dirty) folio->mapping->disk[folio->index] = k.page(folio->pfn).value;
  folio->dirty = false;
  filemap_remove_folio(k, folio);
}

// One pass over the inactive list of a kind. Referenced folios are activated (anon) or
// given a second look (file, PG_referenced); the rest are reclaimed.
uint64_t shrink_inactive_list(Kernel& k, LruList list, uint64_t nr, bool ignore_references) {
  uint64_t done = 0;
  for (Folio* folio : lru_folios_oldest_first(k, list)) {
    if (done >= nr) break;
    if (folio->freed || folio->lru != list) continue;
    if (!ignore_references) {
      // Isolated (isolate_lru_folios): held while its rmap is walked, so that a
      // concurrent unmap cannot free it under the walk. Reclaim holds no mmap_lock.
      if (!folio_try_get(k, folio)) continue;
      const bool referenced = folio_referenced(k, folio) > 0;
      folio_put(k, folio);
      if (folio->freed) continue;
      if (referenced) {
        if (folio->referenced || folio->swapbacked()) folio_activate(k, folio);
        else folio->referenced = true;
        continue;
      }
    }
    if (reclaim_folio(k, folio, true)) ++done;
    else folio_activate(k, folio);
  }
  return done;
}

// Every active folio of a kind moves to its inactive list (shrink_active_list).
void shrink_active_list(Kernel& k, LruList list) {
  for (Folio* folio : lru_folios_oldest_first(k, list))
    if (!folio->freed && folio->lru == list) folio_deactivate(k, folio);
}

uint64_t shrink_lists(Kernel& k, uint64_t nr, bool ignore_references) {
  uint64_t done = 0;
  for (LruList l : {LruList::inactive_anon, LruList::inactive_file}) done += shrink_inactive_list(k, l, nr - done, ignore_references);
  if (k.bugs.reclaim_ignores_mlock && done < nr)
    done += shrink_inactive_list(k, LruList::unevictable, nr - done, ignore_references);
  return done;
}

}  // namespace

bool folio_dirty(Kernel& k, Folio* folio) {
  bool dirty = folio->dirty;
  folio_for_each_pte(k, folio, [&](Vma*, Vpn, Pte& pte) { dirty |= pte.dirty; });
  return dirty;
}

bool unmap_folio(Kernel& k, Folio* folio) {
  if (!may_isolate(k, folio, 0)) return false;
  LockGuard folio_lock(k.locks, folio->lock, LockMode::write);
  try_to_unmap(k, folio, std::nullopt);
  return true;
}

unsigned folio_referenced(Kernel& k, Folio* folio) {
  unsigned young = 0;
  folio_for_each_pmd(k, folio, [&](Vma*, Vpn, Pmd& pmd) {
    young += pmd.young;
    pmd.young = false;
  });
  folio_for_each_pte(k, folio, [&](Vma*, Vpn, Pte& pte) {
    young += pte.young;
    pte.young = false;
  });
  return young;
}

namespace {

// reclaim_page of a large folio reclaim holds a reference on, which it drops.
bool reclaim_held_page(Kernel& k, Folio* folio, pfn_t pfn, bool record) {
  auto give_up = [&] {
    folio_put(k, folio);
    return false;
  };
  if (folio->pincount > 0 || !only_expected_refs(k, folio, 1)) return give_up();
  if (!k.bugs.reclaim_ignores_mlock && page_mapped_locked(k, folio, pfn)) return give_up();
  if (!k.page(pfn).lazyfree && !get_swap_slot(k)) return give_up();
  const auto mappers = page_mappers_by_rmap(k, folio, pfn);
  const bool zero_filled = k.page(pfn).value == 0;
  if (!split_folio(k, folio, 1)) return false;  // takes the reference over
  // The page was mapped, so the split must leave it a folio of its own (VM_BUG_ON: a
  // split that missed a mapping of the folio freed it) unless it held only zeros: then
  // the split mapped it to the zero page, and it is gone.
  Folio* part = pfn_folio(k, pfn);
  if (part && page_mapcount(k.page(pfn)) > 0) return reclaim_folio(k, part, record);
  if (!zero_filled || mappers.empty())
    throw std::logic_error(fmt::format("reclaim: splitting folio {} freed its mapped page {}", folio->id, pfn));
  using Kind = ops::FrameRef::Kind;
  if (record) k.ctx().reclaim_facts.push_back(ops::ReclaimFact{ops::FrameRef{Kind::mapped, mappers[0].first, mappers[0].second, 0, 0}});
  return true;
}

}  // namespace

bool reclaim_page(Kernel& k, Folio* folio, pfn_t pfn, bool record) {
  if (!folio->large()) return reclaim_folio(k, folio, record);
  if (!folio_try_get(k, folio)) return false;
  return reclaim_held_page(k, folio, pfn, record);
}

bool reclaim_folio(Kernel& k, Folio* folio, bool record) {
  // Isolated first: a reference held from the checks (which walk the rmap) to the end,
  // as isolate_lru_folios takes one; a folio a split or migration froze is passed over.
  if (!folio_try_get(k, folio)) return false;
  if (folio->large()) {
    const auto pfn = reclaimable_page(k, folio);
    if (!pfn) {
      folio_put(k, folio);
      return false;
    }
    return reclaim_held_page(k, folio, *pfn, record);
  }
  if (!may_reclaim(k, folio, 1)) {
    folio_put(k, folio);
    return false;
  }
  if (record) k.ctx().reclaim_facts.push_back(ops::ReclaimFact{frame_ref(k, folio)});
  LockGuard folio_lock(k.locks, folio->lock, LockMode::write);
  if (folio->anon()) swap_out_anon(k, folio);
  else if (folio->swapbacked()) swap_out_shmem(k, folio);
  else write_back_file(k, folio);
  folio_put(k, folio);
  return true;
}

uint64_t shrink_node(Kernel& k, uint64_t nr) {
  if (k.bugs.reclaim_gives_up) return 0;
  uint64_t done = 0;
  for (int pass = 0; pass < 3 && done < nr; ++pass) {
    done += shrink_lists(k, nr - done, false);
    if (done >= nr) break;
    shrink_active_list(k, LruList::active_anon);
    shrink_active_list(k, LruList::active_file);
  }
  return done;
}

namespace {

// One pass of direct reclaim over the LRU lists, oldest first, for up to `nr` frames;
// what the current op has used is left alone.
uint64_t direct_reclaim_pass(Kernel& k, uint64_t nr) {
  uint64_t done = 0;
  for (LruList l : {LruList::inactive_anon, LruList::inactive_file, LruList::active_anon, LruList::active_file}) {
    for (Folio* folio : lru_folios_oldest_first(k, l)) {
      if (done >= nr) return done;
      if (folio->freed || folio->lru != l || folio->touched == k.ctx().op_seq) continue;
      done += reclaim_folio(k, folio, true);
    }
  }
  return done;
}

}  // namespace

uint64_t try_to_free_pages(Kernel& k, uint64_t nr) {
  if (k.bugs.reclaim_gives_up) return 0;
  // Pass after pass until enough is free or a pass frees nothing: reclaiming a page of a
  // large folio splits it, and its other pages are new folios that this pass's list does
  // not hold (shrink_folio_list keeps them on the list it works through).
  uint64_t done = 0;
  while (done < nr) {
    const uint64_t pass = direct_reclaim_pass(k, nr - done);
    if (pass == 0) break;
    done += pass;
  }
  return done;
}

}  // namespace impl
