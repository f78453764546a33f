#pragma once
// Page migration (mm/migrate.c): move_pages(2) of one folio, and the core compaction
// uses. The folio's PTEs and PMDs become migration entries (try_to_migrate), its
// content and state move to a new folio, and the entries are turned back into
// mappings of the new one (remove_migration_ptes). A large folio moves whole.

#include "impl/kernel.hpp"

namespace impl {

// EFAULT without a VMA, ENOENT without a present page (the zero page included), EBUSY
// for a pinned folio, ENOMEM without free frames for the new folio (for a large folio,
// without a huge page: see vma_alloc_huge_folio).
ops::Result do_migrate(Kernel& k, MmStruct* mm, Vpn vpn);

// Whether nothing but its mappings and caches holds the folio, so that it can move.
bool folio_movable(Kernel& k, const Folio* folio);

// Moves `src` (movable) to `dst`, a fresh folio of the same order holding only the
// allocation reference, and frees `src`. Afterwards the mappings and caches hold `dst`.
// False (and `dst` freed, `src` mapped as before) when a concurrent op took a
// reference on `src` or mapped it where the unmap did not look.
bool migrate_folio_to(Kernel& k, Folio* src, Folio* dst);

}  // namespace impl
