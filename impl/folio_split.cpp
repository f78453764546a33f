#include "impl/folio_split.hpp"

#include <algorithm>
#include <vector>

#include "impl/folio.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/migrate.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
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

bool split_folio(Kernel& k, Folio* folio) {
  if (!folio->large()) return true;
  if (!folio_movable(k, folio)) return false;
  LockGuard folio_lock(k.locks, folio->lock, LockMode::write);
  const bool zero_pages_to_zeropage = folio->anon() && !folio->ksm() && !mapped_locked(k, folio);
  folio_for_each_pmd(k, folio, [&](Vma* vma, Vpn base, Pmd&) { split_huge_pmd(k, vma, base); });
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
    part->refcount = k.page(part->pfn).mapcount + 1;
    part->mlock_count = locked_mappings(k, part);
    if (part != folio) lru_move(k, part, list);
    if (part->mlocked()) lru_move(k, part, LruList::unevictable);
  }
  if (zero_pages_to_zeropage) map_unused_to_zeropage(k, parts);
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
  if (!split_folio(k, folio)) return ops::Result::fail(Errno::ebusy);
  return ops::Result::ok();
}

}  // namespace impl
