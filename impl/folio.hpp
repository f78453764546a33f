#pragma once
// Folio allocation, references and mapcounts. A folio holds one reference per PTE
// that maps it, one per page for the page cache, and one per pin; it is freed when the
// last goes.

#include "impl/kernel.hpp"

namespace impl {

Folio* folio_alloc(Kernel& k, unsigned order);  // refcount 1 (the caller's); null when out of frames
// The fault path's allocation: when no frame is free, direct reclaim first, then once more.
Folio* vma_alloc_folio(Kernel& k, unsigned order);
void folio_get(Folio* folio, int refs = 1);
void folio_put(Kernel& k, Folio* folio, int refs = 1);
Folio* pfn_folio(Kernel& k, pfn_t pfn);         // null for a free frame
int folio_mapcount(Kernel& k, const Folio* folio);
inline int page_mapcount(const Page& page) { return page.mapcount + 1; }

// The page cache of a file or shmem object: finds, or reads in / allocates, the folio
// at pgoff. Returns null when out of frames.
Folio* filemap_get_folio(Kernel& k, AddressSpace* mapping, uint64_t pgoff);
void filemap_remove_folio(Kernel& k, Folio* folio);

}  // namespace impl
