#pragma once
// Page reclaim (mm/vmscan.c) and the rmap side of it (mm/rmap.c's folio_referenced
// and try_to_unmap). kswapd-style `reclaim N` ages the LRU lists and reclaims from the
// inactive tails; direct reclaim, run when an allocation in a fault finds no frame,
// takes whatever it legally can. Which frames go is the implementation's choice: each
// is recorded as a fact (Kernel::reclaim_facts) for the model to check and follow.

#include <cstdint>

#include "impl/kernel.hpp"

namespace impl {

// Ages and shrinks the LRU lists until `nr` frames are reclaimed or nothing more can
// be; returns how many were.
uint64_t shrink_node(Kernel& k, uint64_t nr);

// Direct reclaim for an allocation of `nr` frames: every evictable folio is a
// candidate, references ignored, except those the current op already holds.
uint64_t try_to_free_pages(Kernel& k, uint64_t nr);

// Reclaims one folio if that is legal now: not mlocked, not pinned, no references
// beyond its mappings and caches, a swap slot free for swap-backed memory. Anon memory
// goes to swap (lazily freed memory is dropped), file memory is written back, shmem goes
// to swap behind its object. `record` adds the fact; MADV_PAGEOUT, whose choice the
// model makes itself, does not.
// A large folio is split first, and one page of it, mapped and not locked, is taken.
bool reclaim_folio(Kernel& k, Folio* folio, bool record);
// Reclaims the page `pfn` of the folio, splitting a large folio first when that page
// may go (MADV_PAGEOUT, which chooses the pages itself).
bool reclaim_page(Kernel& k, Folio* folio, pfn_t pfn, bool record);

// Whether the folio or a PTE mapping it is dirty (try_to_unmap moves the PTE bits over).
bool folio_dirty(Kernel& k, Folio* folio);

// Unmaps a page-cache folio that stays in its cache (dirty, and not written out now), if
// it may be isolated at all: what reclaim leaves of a folio it cannot write back.
bool unmap_folio(Kernel& k, Folio* folio);

// Counts the young PTEs that map the folio, clearing them (the accessed bits).
unsigned folio_referenced(Kernel& k, Folio* folio);

}  // namespace impl
