#include "impl/migrate.hpp"

#include <vector>

#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/folio_split.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

// Every PTE and PMD that maps `folio` becomes a migration entry naming its page.
void try_to_migrate(Kernel& k, Folio* folio) {
  folio_for_each_pmd(k, folio, [&](Vma* vma, Vpn base, Pmd& pmd) {
    LockGuard ptl(k.locks, pmd_lockptr(vma->mm, base), LockMode::write);
    pmd.kind = Pmd::Kind::migration;
    folio_remove_rmap_pmd(k, folio, vma);
    folio_put(k, folio);
  });
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn v, Pte& pte) {
    LockGuard ptl(k.locks, pte_lockptr(vma->mm, v), LockMode::write);
    pte.kind = Pte::Kind::migration;
    folio_remove_rmap_pte(k, folio, pte.pfn, vma);
    folio_put(k, folio);
  });
}

// Migration entries for `src`'s pages become mappings of `dst`'s (the same rmap finds
// both: they share anon_vma or mapping and index).
void remove_migration_ptes(Kernel& k, Folio* src, Folio* dst, const std::vector<bool>& exclusive) {
  RmapWalkControl rwc;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
    Pmd* pmd = addr >= vma->start && addr % vma->mm->pmd_pages == 0 ? pmd_offset(vma->mm, addr) : nullptr;
    if (pmd && pmd->kind == Pmd::Kind::migration && pmd->pfn == src->pfn) {  // remove_migration_pmd
      LockGuard ptl(k.locks, pmd_lockptr(vma->mm, addr), LockMode::write);
      pmd->kind = Pmd::Kind::huge;
      pmd->pfn = dst->pfn;
      folio_get(dst);
      folio_add_rmap_pmd(k, dst, vma);
      k.page(dst->pfn).anon_exclusive = exclusive[0];
      return true;
    }
    for (unsigned i = 0; i < dst->nr_pages(); ++i) {
      const Vpn v = addr + i;
      Pte* pte = v >= vma->start && v < vma->end ? pte_offset(vma->mm, v) : nullptr;
      if (!pte || pte->kind != Pte::Kind::migration || pte->pfn != src->pfn + i) continue;
      LockGuard ptl(k.locks, pte_lockptr(vma->mm, v), LockMode::write);
      pte->kind = Pte::Kind::present;
      pte->pfn = dst->pfn + i;
      folio_get(dst);
      folio_add_rmap_pte(k, dst, dst->pfn + i, vma);
      k.page(dst->pfn + i).anon_exclusive = exclusive[i];
    }
    return true;
  };
  rmap_walk(k, dst, rwc);
}

// The caches' references and entries move from src to dst.
void move_cache_entries(Kernel& k, Folio* src, Folio* dst) {
  const int nr = static_cast<int>(src->nr_pages());
  if (src->swap) {
    dst->swap = src->swap;
    k.swap.cache[*src->swap] = dst;
    src->swap.reset();
    folio_get(dst, nr);
    folio_put(k, src, nr);
  }
  if (folio_in_page_cache(src)) {
    src->mapping->i_pages[src->index] = dst;
    folio_get(dst, nr);
    folio_put(k, src, nr);
  }
}

void migrate_folio(Kernel& k, Folio* src, Folio* dst) {
  std::vector<bool> exclusive;
  for (unsigned i = 0; i < src->nr_pages(); ++i) {
    const Page& from = k.page(src->pfn + i);
    Page& to = k.page(dst->pfn + i);
    exclusive.push_back(from.anon_exclusive);
    to.value = from.value;
    to.lazyfree = from.lazyfree;
  }
  dst->anon_vma = src->anon_vma;
  dst->mapping = src->mapping;
  dst->index = src->index;
  dst->dirty = src->dirty;
  dst->referenced = src->referenced;
  dst->touched = src->touched;
  try_to_migrate(k, src);
  move_cache_entries(k, src, dst);
  folio_migrate_ksm(k, dst, src);  // a KSM page stays one: its stable node names dst now
  const LruList list = src->lru;
  folio_add_lru(k, dst);
  if (list != LruList::none && !dst->mlocked()) lru_move(k, dst, list);
  remove_migration_ptes(k, src, dst, exclusive);
  if (src->partially_mapped) deferred_split_folio(k, dst);  // dst is mapped just as src was
}

}  // namespace

bool folio_movable(Kernel& k, const Folio* folio) {
  return folio->pincount == 0 && folio->refcount == folio_expected_refs(k, folio);
}

void migrate_folio_to(Kernel& k, Folio* src, Folio* dst) {
  LockGuard lock(k.locks, src->lock, LockMode::write);
  folio_get(src);  // isolated for the move
  migrate_folio(k, src, dst);
  folio_put(k, dst);  // the allocation reference: the mappings and caches hold it now
  folio_put(k, src);  // the last reference: the old frames are freed
}

Result do_migrate(Kernel& k, MmStruct* mm, Vpn vpn) {
  Vma* vma = find_vma(mm, vpn);
  if (!vma) return Result::fail(Errno::efault);
  const PageView view = follow_page(mm, vpn);
  if (view.pte.kind == Pte::Kind::zero) return Result::fail(Errno::efault);  // as move_pages(2)
  if (view.pte.kind != Pte::Kind::present) return Result::fail(Errno::enoent);
  Folio* src = pfn_folio(k, view.pte.pfn);
  if (src->pincount > 0) return Result::fail(Errno::ebusy);
  // migrate_pages has isolated the source from the LRU: direct reclaim for the target
  // (a small one; a huge one is compacted for, never reclaimed for) passes it over.
  src->touched = k.op_seq;
  Folio* dst = src->large() ? vma_alloc_huge_folio(k, mm, vpn) : vma_alloc_folio(k, 0);
  if (!dst) return Result::fail(Errno::enomem);
  migrate_folio_to(k, src, dst);
  return Result::ok();
}

}  // namespace impl
