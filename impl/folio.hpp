#pragma once
// Folio allocation, references and mapcounts. A folio holds one reference per PTE
// that maps it, one per page for the page cache, and one per pin; it is freed when the
// last goes.

#include "impl/kernel.hpp"
#include "impl/sched_point.hpp"

namespace impl {

Folio* folio_alloc(Kernel& k, unsigned order);  // refcount 1 (the caller's); null when out of frames
// The folio of a naturally aligned block the page allocator handed out; refcount 1.
Folio* folio_init(Kernel& k, pfn_t pfn, unsigned order);
// The fault path's allocation: when no frame is free, direct reclaim first, then once more.
Folio* vma_alloc_folio(Kernel& k, unsigned order);
void folio_get(Folio* folio, int refs = 1);
void folio_put(Kernel& k, Folio* folio, int refs = 1);
// folio_try_get: a reference, unless the refcount is frozen (0: a split or a migration
// is under way, and whoever wants the folio backs off and looks again).
bool folio_try_get(Kernel& k, Folio* folio);
// folio_ref_freeze: the refcount drops to 0 if it is `expected` (nobody but the caller
// and the expected holders has the folio), so that folio_try_get fails until
// folio_ref_unfreeze sets it to `count`. False, and nothing changed, otherwise.
bool folio_ref_freeze(Kernel& k, Folio* folio, int expected);
void folio_ref_unfreeze(Kernel& k, Folio* folio, int count);
Folio* pfn_folio(Kernel& k, pfn_t pfn);         // null for a free frame
// Mappings of the folio: a small folio's PTEs; a large folio's large_mapcount, where
// a PMD counts once (folio_mapcount() of current kernels).
int folio_mapcount(Kernel& k, const Folio* folio);
inline int folio_entire_mapcount(const Folio* folio) { return folio->entire_mapcount + 1; }
// Mappings of one page: its PTEs plus the PMDs that map its whole folio.
inline int page_mapcount(const Page& page) {
  const int entire = page.folio && page.folio->large() ? folio_entire_mapcount(page.folio) : 0;
  return page.mapcount + 1 + entire;
}

// Whether the folio is in its mapping's page cache.
bool folio_in_page_cache(const Folio* folio);
// The references a folio nobody else holds has: its mappings, and one per page for the
// page cache and the swap cache (folio_expected_ref_count). Pins and transient holds
// come on top, which is what reclaim, migration and splitting check for.
int folio_expected_refs(Kernel& k, const Folio* folio);

// The page cache of a file or shmem object: finds, or reads in / allocates, the folio
// at pgoff. Returns null when out of frames.
Folio* filemap_get_folio(Kernel& k, AddressSpace* mapping, uint64_t pgoff);
void filemap_remove_folio(Kernel& k, Folio* folio);

}  // namespace impl
