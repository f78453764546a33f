#include "impl/migrate.hpp"

#include <vector>

#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

// Every PTE that maps `folio` becomes a migration entry naming its page.
void try_to_migrate(Kernel& k, Folio* folio) {
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn v, Pte& pte) {
    LockGuard ptl(k.locks, pte_lockptr(vma->mm, v), LockMode::write);
    pte.kind = Pte::Kind::migration;
    folio_remove_rmap_pte(k, folio, pte.pfn, vma);
    folio_put(k, folio);
  });
}

// Migration entries for `src`'s pages become PTEs of `dst`'s (the same rmap finds both).
void remove_migration_ptes(Kernel& k, Folio* src, Folio* dst, const std::vector<bool>& exclusive) {
  RmapWalkControl rwc;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
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
  if (src->mapping && src->mapping->i_pages.count(src->index) && src->mapping->i_pages.at(src->index) == src) {
    src->mapping->i_pages[src->index] = dst;
    folio_get(dst, nr);
    folio_put(k, src, nr);
  }
}

void migrate_folio(Kernel& k, Folio* src, Folio* dst) {
  std::vector<bool> exclusive;
  for (unsigned i = 0; i < src->nr_pages(); ++i) {
    exclusive.push_back(k.page(src->pfn + i).anon_exclusive);
    k.page(dst->pfn + i).value = k.page(src->pfn + i).value;
  }
  dst->anon_vma = src->anon_vma;
  dst->mapping = src->mapping;
  dst->index = src->index;
  dst->dirty = src->dirty;
  dst->lazyfree = src->lazyfree;
  dst->referenced = src->referenced;
  try_to_migrate(k, src);
  move_cache_entries(k, src, dst);
  folio_migrate_ksm(k, dst, src);  // a KSM page stays one: its stable node names dst now
  const LruList list = src->lru;
  folio_add_lru(k, dst);
  if (list != LruList::none && !dst->mlocked()) lru_move(k, dst, list);
  remove_migration_ptes(k, src, dst, exclusive);
}

}  // namespace

Result do_migrate(Kernel& k, MmStruct* mm, Vpn vpn) {
  Vma* vma = find_vma(mm, vpn);
  if (!vma) return Result::fail(Errno::efault);
  Pte* pte = pte_offset(mm, vpn);
  if (pte && pte->kind == Pte::Kind::zero) return Result::fail(Errno::efault);  // as move_pages(2)
  if (!pte || pte->kind != Pte::Kind::present) return Result::fail(Errno::enoent);
  Folio* src = pfn_folio(k, pte->pfn);
  if (src->pincount > 0) return Result::fail(Errno::ebusy);
  Folio* dst = folio_alloc(k, src->order);
  if (!dst) return Result::fail(Errno::enomem);
  LockGuard lock(k.locks, src->lock, LockMode::write);
  folio_get(src);  // isolated for the move
  migrate_folio(k, src, dst);
  folio_put(k, dst);  // the allocation reference: the mappings and caches hold it now
  folio_put(k, src);  // the last reference: the old frame is freed
  return Result::ok();
}

}  // namespace impl
