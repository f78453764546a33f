#include "impl/folio.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "impl/ksm.hpp"
#include "impl/folio_split.hpp"
#include "impl/lru.hpp"
#include "impl/swap.hpp"
#include "impl/vmscan.hpp"

namespace impl {

Folio* folio_init(Kernel& k, pfn_t pfn, unsigned order) {
  Folio* folio = k.folios.alloc();
  folio->pfn = pfn;
  folio->order = order;
  folio->refcount = 1;
  folio->touched = k.ctx().op_seq;
  folio->lock.id = lock_id(LockClass::folio_lock, pfn);
  for (pfn_t p = pfn; p < pfn + folio->nr_pages(); ++p) k.mem_map[p] = Page{folio, -1, false, false, 0};
  return folio;
}

Folio* folio_alloc(Kernel& k, unsigned order) {
  auto pfn = k.frames.alloc(order, k.ctx().cpu);
  return pfn ? folio_init(k, *pfn, order) : nullptr;
}

void folio_get(Folio* folio, int refs) { folio->refcount += refs; }

bool folio_try_get(Kernel& k, Folio* folio) {
  sched_point(k, Access::write, folio_id(folio), "folio_try_get");
  if (folio->refcount == 0) return false;
  folio->refcount++;
  return true;
}

bool folio_ref_freeze(Kernel& k, Folio* folio, int expected) {
  sched_point(k, Access::write, folio_id(folio), "folio_ref_freeze");
  if (folio->refcount != expected) return false;
  folio->refcount = 0;
  return true;
}

void folio_ref_unfreeze(Kernel& k, Folio* folio, int count) {
  sched_point(k, Access::write, folio_id(folio), "folio_ref_unfreeze");
  folio->refcount = count;
}

void folio_put(Kernel& k, Folio* folio, int refs) {
  sched_point(k, Access::write, folio_id(folio), "folio_put");
  if (folio->freed) throw std::logic_error(fmt::format("folio {} put after it was freed", folio->id));
  folio->refcount -= refs;
  if (folio->refcount > 0) return;
  if (folio->refcount < 0) throw std::logic_error(fmt::format("folio {} refcount went negative", folio->id));
  if (folio->ksm()) ksm_folio_freed(k, folio);  // its stable node is pruned with it
  folio_del_lru(k, folio);
  if (folio->partially_mapped) folio_undo_deferred_split(k, folio);
  for (pfn_t p = folio->pfn; p < folio->pfn + folio->nr_pages(); ++p) k.mem_map[p] = Page{};
  sched_point(k, Access::free, folio_id(folio), "free_folio");
  k.frames.free(folio->pfn, folio->order, k.ctx().cpu);
  k.folios.free(folio);
}

Folio* pfn_folio(Kernel& k, pfn_t pfn) { return k.mem_map.at(pfn).folio; }

int folio_mapcount(Kernel& k, const Folio* folio) {
  if (folio->large()) return folio->large_mapcount + 1;
  return page_mapcount(k.mem_map[folio->pfn]);
}

bool folio_in_page_cache(const Folio* folio) {
  return folio->mapping && folio->mapping->i_pages.count(folio->index) &&
         folio->mapping->i_pages.at(folio->index) == folio;
}

int folio_expected_refs(Kernel& k, const Folio* folio) {
  const int nr = static_cast<int>(folio->nr_pages());
  return folio_mapcount(k, folio) + (folio_in_page_cache(folio) ? nr : 0) + (folio->swap ? nr : 0);
}

Folio* vma_alloc_folio(Kernel& k, unsigned order) {
  if (Folio* folio = folio_alloc(k, order)) return folio;
  try_to_free_pages(k, uint64_t{1} << order);
  return folio_alloc(k, order);
}

// The content of a page coming into the page cache: a shmem page from its swap slot
// (which it leaves, as shmem_swapin_folio does), a file page from disk.
uint64_t read_in(Kernel& k, AddressSpace* mapping, uint64_t pgoff) {
  if (auto sw = mapping->swapped.find(pgoff); sw != mapping->swapped.end()) {
    const uint64_t slot = sw->second;
    mapping->swapped.erase(sw);
    const uint64_t value = k.swap.content.at(slot);
    swap_free(k, slot);
    return value;
  }
  auto disk = mapping->disk.find(pgoff);
  return disk == mapping->disk.end() ? 0 : disk->second;
}

Folio* filemap_get_folio(Kernel& k, AddressSpace* mapping, uint64_t pgoff) {
  sched_point(k, Access::read, mapping_id(mapping), "filemap_get_folio");
  if (auto it = mapping->i_pages.find(pgoff); it != mapping->i_pages.end()) {
    it->second->touched = k.ctx().op_seq;
    return it->second;
  }
  Folio* folio = vma_alloc_folio(k, 0);
  if (!folio) return nullptr;
  // A shmem page read back from swap is dirty: its slot is gone, memory holds the only copy.
  folio->dirty = mapping->shmem && mapping->swapped.count(pgoff);
  k.mem_map[folio->pfn].value = read_in(k, mapping, pgoff);
  folio->mapping = mapping;
  folio->index = pgoff;
  sched_point(k, Access::write, mapping_id(mapping), "filemap_add_folio");
  mapping->i_pages[pgoff] = folio;  // the allocation reference becomes the page cache's
  folio_add_lru(k, folio);
  return folio;
}

void filemap_remove_folio(Kernel& k, Folio* folio) {
  AddressSpace* mapping = folio->mapping;
  sched_point(k, Access::write, mapping_id(mapping), "filemap_remove_folio");
  mapping->i_pages.erase(folio->index);
  folio->mapping = nullptr;
  folio_put(k, folio, static_cast<int>(folio->nr_pages()));
}

}  // namespace impl
