#include "impl/folio_split.hpp"

#include <algorithm>
#include <vector>

#include "impl/folio.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/migrate.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/sched_point.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

// A small folio's mappings from VM_LOCKED VMAs: what its mlock_count must be.
unsigned locked_mappings(Kernel& k, Folio* folio) {
  unsigned n = 0;
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn, Pte&) { n += (vma->flags & VM_LOCKED) != 0; });
  return n;
}

// The tail page at `pfn` becomes a folio of its own, like the head it was split from.
Folio* split_off(Kernel& k, const Folio* head, pfn_t pfn) {
  Folio* tail = k.folios.alloc();
  sched_point(k, Access::write, object_id(ObjectTag::folio, pfn), "__split_folio_to_order");
  tail->lock.id = lock_id(LockClass::folio_lock, pfn);
  tail->pfn = pfn;
  tail->order = 0;
  tail->anon_vma = head->anon_vma;
  tail->mapping = head->mapping;
  tail->index = head->index + (pfn - head->pfn);
  tail->dirty = head->dirty;
  tail->referenced = head->referenced;
  tail->touched = head->touched;
  k.page(pfn).folio = tail;
  return tail;
}

// Whether any mapping of the folio is from a VM_LOCKED VMA.
bool mapped_locked(Kernel& k, Folio* folio) {
  bool locked = false;
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn, Pte&) { locked |= (vma->flags & VM_LOCKED) != 0; });
  folio_for_each_pmd(k, folio, [&](Vma* vma, Vpn, Pmd&) { locked |= (vma->flags & VM_LOCKED) != 0; });
  return locked;
}

// Linux 6.12+ (remap_page with RMP_USE_SHARED_ZEROPAGE): a page of a split anon folio
// that holds only zeros is mapped to the shared zero page instead, unless the folio was
// mlocked or the mapping is in a locked VMA; the page goes when its last mapping does.
void map_unused_to_zeropage(Kernel& k, const std::vector<Folio*>& parts) {
  for (Folio* part : parts) {
    if (k.page(part->pfn).value != 0) continue;
    std::vector<std::pair<Vma*, Vpn>> mappings;
    folio_for_each_pte(k, part, [&](Vma* vma, Vpn v, Pte&) {
      if (!(vma->flags & VM_LOCKED)) mappings.emplace_back(vma, v);
    });
    for (auto [vma, v] : mappings) {
      LockGuard ptl(k.locks, pte_lockptr(vma->mm, v), LockMode::write);
      const Pte* pte = pte_offset(vma->mm, v);
      if (pte->kind != Pte::Kind::present || pte->pfn != part->pfn) continue;  // changed meanwhile
      sched_point(k, Access::write, pte_id(vma->mm, v), "try_to_map_unused_to_zeropage");
      *pte_offset(vma->mm, v) = Pte{Pte::Kind::zero};
      folio_remove_rmap_pte(k, part, part->pfn, vma);
      part->refcount--;
    }
  }
}

}  // namespace

void deferred_split_folio(Kernel& k, Folio* folio) {
  if (folio->partially_mapped) return;
  folio->partially_mapped = true;
  k.deferred_split_queue.push_back(folio);
}

void folio_undo_deferred_split(Kernel& k, Folio* folio) {
  if (!folio->partially_mapped) return;
  folio->partially_mapped = false;
  std::erase(k.deferred_split_queue, folio);
}

bool split_folio(Kernel& k, Folio* folio, int held) {
  if (!folio->large()) {
    if (held) folio_put(k, folio, held);
    return true;
  }
  // can_split_folio: nothing but the mappings, the caches and the caller holds it.
  if (folio->pincount > 0 || folio->refcount != folio_expected_refs(k, folio) + held) {
    if (held) folio_put(k, folio, held);
    return false;
  }
  LockGuard folio_lock(k.locks, folio->lock, LockMode::write);
  const bool zero_pages_to_zeropage = folio->anon() && !folio->ksm() && !mapped_locked(k, folio);
  std::vector<std::pair<Vma*, Vpn>> pmds;  // split once the walk let go of the PMD locks
  folio_for_each_pmd(k, folio, [&](Vma* vma, Vpn base, Pmd&) { pmds.emplace_back(vma, base); });
  for (auto [vma, base] : pmds) split_huge_pmd(k, vma, base);
  // The refcount is frozen from here until each part's is set: GUP (folio_try_get) backs
  // off meanwhile, where a reference it took would be lost when the parts' refcounts
  // are set from their mappings. A reference taken before it makes the split fail.
  const bool frozen = !k.bugs.split_skips_refcount_freeze;
  if (frozen && !folio_ref_freeze(k, folio, folio_expected_refs(k, folio) + held)) {
    if (held) folio_put(k, folio, held);
    return false;
  }
  folio_undo_deferred_split(k, folio);
  const LruList list = folio->lru;
  std::vector<Folio*> parts{folio};
  for (pfn_t pfn = folio->pfn + 1; pfn < folio->pfn + folio->nr_pages(); ++pfn)
    parts.push_back(split_off(k, folio, pfn));
  folio->order = 0;
  folio->entire_mapcount = folio->large_mapcount = -1;
  folio->nr_pages_mapped = 0;
  folio->mm_mapcount.clear();
  // Each part now holds one reference per PTE that maps its page; the head keeps the
  // LRU place, the tails go on the same list (lru_add_split_folio).
  for (Folio* part : parts) {
    const int refs = k.page(part->pfn).mapcount + 1;
    if (part == folio) folio_ref_unfreeze(k, folio, refs + held);
    else part->refcount = refs;
    part->mlock_count = locked_mappings(k, part);
    if (part != folio) lru_move(k, part, list);
    if (part->mlocked()) lru_move(k, part, LruList::unevictable);
  }
  if (zero_pages_to_zeropage) map_unused_to_zeropage(k, parts);
  // The caller's references go now (split_huge_pages_pid's folio_put), so that a head
  // nothing maps is freed with the other unmapped parts.
  if (held) {
    sched_point(k, Access::write, folio_id(folio), "folio_put");
    folio->refcount -= held;
  }
  for (Folio* part : parts)
    if (part->refcount == 0) {
      part->refcount = 1;
      folio_put(k, part);  // nobody maps this page any more
    }
  return true;
}

ops::Result do_split(Kernel& k, MmStruct* mm, Vpn vpn) {
  using ops::Errno;
  if (!find_vma(mm, vpn)) return ops::Result::fail(Errno::efault);
  const PageView view = follow_page(mm, vpn);
  if (view.pte.kind != Pte::Kind::present) return ops::Result::fail(Errno::enoent);
  Folio* folio = pfn_folio(k, view.pte.pfn);
  if (!folio->large()) return ops::Result::fail(Errno::einval);
  // split_huge_pages_pid holds a reference on the folio it splits: without it a
  // concurrent unmap could free the folio under the split.
  if (!folio_try_get(k, folio)) return ops::Result::fail(Errno::ebusy);
  if (!split_folio(k, folio, 1)) return ops::Result::fail(Errno::ebusy);
  return ops::Result::ok();
}

}  // namespace impl
