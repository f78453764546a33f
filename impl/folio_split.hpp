#pragma once
// Splitting large folios (split_folio / split_huge_page) and the deferred split queue.

#include "impl/kernel.hpp"

namespace impl {

// Splits a large anon folio into small ones: every PMD mapping of it is split into PTEs
// first (unmap_folio), then each page becomes a folio of its own, holding its PTE
// mappings' references, mlocked by its mappings in VM_LOCKED VMAs, on the LRU list of
// the head. Pages nothing maps are freed. False (EBUSY), changing nothing, when the
// folio is pinned or held beyond its mappings (can_split_folio). `held`: references the
// caller took on the folio and hands over; they are dropped whatever the outcome.
bool split_folio(Kernel& k, Folio* folio, int held = 0);

// The `split P VPN` op: EFAULT without a VMA, ENOENT without a present page, EINVAL for
// a small folio, EBUSY for one that cannot be split (pinned).
ops::Result do_split(Kernel& k, MmStruct* mm, Vpn vpn);

// The deferred split queue (deferred_split_folio and its undo, when the folio is split
// or freed).
void deferred_split_folio(Kernel& k, Folio* folio);
void folio_undo_deferred_split(Kernel& k, Folio* folio);

}  // namespace impl
