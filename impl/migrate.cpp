#include "impl/migrate.hpp"

#include <optional>
#include <vector>

#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/folio_split.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/vma.hpp"
#include "impl/anon_vma.hpp"
#include "impl/sched_point.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

// Every PTE and PMD that maps `folio` becomes a migration entry naming its page.
void try_to_migrate(Kernel& k, Folio* folio, AnonVma* anon_vma) {
  folio_for_each_pmd(k, folio, [&](Vma* vma, Vpn base, Pmd& pmd) {  // under the PMD lock
    sched_point(k, Access::write, pmd_id(vma->mm, base), "set_pmd_migration_entry");
    pmd.kind = Pmd::Kind::migration;
    folio_remove_rmap_pmd(k, folio, vma);
    folio_put(k, folio);
  }, anon_vma);
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn v, Pte& pte) {  // under the PTL
    sched_point(k, Access::write, pte_id(vma->mm, v), "try_to_migrate_one");
    pte.kind = Pte::Kind::migration;
    folio_remove_rmap_pte(k, folio, pte.pfn, vma);
    folio_put(k, folio);
  }, anon_vma);
}

// Migration entries for `src`'s pages become mappings of `dst`'s (the same rmap finds
// both: they share anon_vma or mapping and index). `dst` may be `src` itself, when the
// move is given up. `anon_vma`: the reference migration holds for an anon folio.
void remove_migration_ptes(Kernel& k, Folio* src, Folio* dst, const std::vector<bool>& exclusive, AnonVma* anon_vma) {
  RmapWalkControl rwc;
  rwc.anon_vma = anon_vma;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
    Pmd* pmd = addr >= vma->start && addr % vma->mm->pmd_pages == 0 ? pmd_offset(vma->mm, addr) : nullptr;
    if (pmd) sched_point(k, Access::read, pmd_id(vma->mm, addr), "remove_migration_pmd");
    std::optional<LockGuard> pmd_ptl;
    if (pmd && pmd->kind == Pmd::Kind::migration) pmd_ptl.emplace(k.locks, pmd->ptl, LockMode::write);
    if (pmd && pmd->kind == Pmd::Kind::migration && pmd->pfn == src->pfn) {  // remove_migration_pmd
      sched_point(k, Access::write, pmd_id(vma->mm, addr), "remove_migration_pmd");
      pmd->kind = Pmd::Kind::huge;
      pmd->pfn = dst->pfn;
      folio_get(dst);
      folio_add_rmap_pmd(k, dst, vma);
      k.page(dst->pfn).anon_exclusive = exclusive[0];
      return true;
    }
    for (unsigned i = 0; i < dst->nr_pages(); ++i) {
      const Vpn v = addr + i;
      if (v < vma->start || v >= vma->end) continue;
      sched_point(k, Access::read, pte_id(vma->mm, v), "remove_migration_pte");
      Pte* pte = pte_offset(vma->mm, v);
      if (!pte || pte->kind != Pte::Kind::migration || pte->pfn != src->pfn + i) continue;
      LockGuard ptl(k.locks, pte_table(vma->mm, v)->ptl, LockMode::write);
      if (pte->kind != Pte::Kind::migration || pte->pfn != src->pfn + i) continue;  // looked at again
      sched_point(k, Access::write, pte_id(vma->mm, v), "remove_migration_pte");
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

// The caches' references and entries move from src to dst; src's refcount is frozen
// (folio_ref_freeze), so only dst's changes here.
void move_cache_entries(Kernel& k, Folio* src, Folio* dst) {
  const int nr = static_cast<int>(src->nr_pages());
  if (src->swap) {
    dst->swap = src->swap;
    sched_point(k, Access::write, swap_cache_id(*src->swap), "folio_migrate_mapping");
    k.swap.cache[*src->swap] = dst;
    src->swap.reset();
    folio_get(dst, nr);
  }
  if (folio_in_page_cache(src)) {
    sched_point(k, Access::write, mapping_id(src->mapping), "folio_migrate_mapping");
    src->mapping->i_pages[src->index] = dst;
    folio_get(dst, nr);
  }
}

// The references `src` has once unmapped: its caches', and the isolation reference.
int refs_after_unmap(const Folio* src) {
  const int nr = static_cast<int>(src->nr_pages());
  return (folio_in_page_cache(src) ? nr : 0) + (src->swap ? nr : 0) + 1;
}

// migrate_pages for one isolated folio (the caller holds a reference on `src`): unmap,
// move, map back. False when the move is given up (a mapping the unmap did not reach,
// or a reference taken meanwhile): `src` is mapped back where it was.
bool migrate_isolated(Kernel& k, Folio* src, Folio* dst) {
  LockGuard lock(k.locks, src->lock, LockMode::write);
  std::vector<bool> exclusive;
  for (unsigned i = 0; i < src->nr_pages(); ++i) exclusive.push_back(k.page(src->pfn + i).anon_exclusive);
  // From the unmap to the remap no mapping keeps the anon_vma alive (munmap, exit may
  // unlink every VMA of it meanwhile), and the walks that map the folio back need it:
  // migration holds a reference of its own (migrate_folio_unmap).
  AnonVma* anon_vma = nullptr;
  if (src->anon_vma && !src->ksm())
    anon_vma = k.bugs.migration_drops_anon_vma_reference ? src->anon_vma : folio_get_anon_vma(k, src);
  const bool was_mapped = folio_mapped(k, src);
  if (was_mapped) try_to_migrate(k, src, anon_vma);
  // Still mapped (a walk missed a PTE), or someone took a reference: the refcount
  // cannot be frozen at what the caches and the isolation hold. Give up.
  if (folio_mapped(k, src) || !folio_ref_freeze(k, src, refs_after_unmap(src))) {
    if (was_mapped) remove_migration_ptes(k, src, src, exclusive, anon_vma);
    if (anon_vma && !k.bugs.migration_drops_anon_vma_reference) put_anon_vma(k, anon_vma);
    return false;
  }
  for (unsigned i = 0; i < src->nr_pages(); ++i) {
    const Page& from = k.page(src->pfn + i);
    Page& to = k.page(dst->pfn + i);
    to.value = from.value;
    to.lazyfree = from.lazyfree;
  }
  sched_point(k, Access::write, folio_id(dst), "folio_migrate_flags");
  dst->anon_vma = src->anon_vma;
  dst->mapping = src->mapping;
  dst->index = src->index;
  dst->dirty = src->dirty;
  dst->referenced = src->referenced;
  dst->touched = src->touched;
  move_cache_entries(k, src, dst);
  folio_ref_unfreeze(k, src, 1);  // the isolation reference
  folio_migrate_ksm(k, dst, src);  // a KSM page stays one: its stable node names dst now
  const LruList list = src->lru;
  folio_add_lru(k, dst);
  if (list != LruList::none && !dst->mlocked()) lru_move(k, dst, list);
  if (was_mapped) remove_migration_ptes(k, src, dst, exclusive, anon_vma);
  if (src->partially_mapped) deferred_split_folio(k, dst);  // dst is mapped just as src was
  if (anon_vma && !k.bugs.migration_drops_anon_vma_reference) put_anon_vma(k, anon_vma);
  return true;
}

// The end of migrate_pages for one folio: the allocation reference of `dst` (the
// mappings and caches hold it now, or nothing does after a failure), and the isolation
// reference of `src`: its last after a move, so the old frames are freed.
bool finish_migration(Kernel& k, Folio* src, Folio* dst, bool moved) {
  folio_put(k, dst);
  folio_put(k, src);
  return moved;
}

}  // namespace

bool folio_movable(Kernel& k, const Folio* folio) {
  return folio->pincount == 0 && folio->refcount == folio_expected_refs(k, folio);
}

bool migrate_folio_to(Kernel& k, Folio* src, Folio* dst) {
  folio_get(src);  // isolated for the move
  return finish_migration(k, src, dst, migrate_isolated(k, src, dst));
}

Result do_migrate(Kernel& k, MmStruct* mm, Vpn vpn) {
  // move_pages(2) finds and isolates the folio under the mmap_lock for reading, and
  // migrates it after dropping that: migration holds no lock of any mm that maps it.
  Folio* src = nullptr;
  Folio* dst = nullptr;
  {
    LockGuard mmap_lock(k.locks, mm->mmap_lock, LockMode::read);
    Vma* vma = find_vma(mm, vpn);
    if (!vma) return Result::fail(Errno::efault);
    sched_point(k, Access::read, pte_id(mm, vpn), "add_page_for_migration");
    const PageView view = follow_page(mm, vpn);
    if (view.pte.kind == Pte::Kind::zero) return Result::fail(Errno::efault);  // as move_pages(2)
    if (view.pte.kind != Pte::Kind::present) return Result::fail(Errno::enoent);
    src = pfn_folio(k, view.pte.pfn);
    if (src->pincount > 0) return Result::fail(Errno::ebusy);
    // migrate_pages has isolated the source from the LRU: direct reclaim for the target
    // (a small one; a huge one is compacted for, never reclaimed for) passes it over.
    src->touched = k.ctx().op_seq;
    dst = src->large() ? vma_alloc_huge_folio(k, mm, vpn) : vma_alloc_folio(k, 0);
    if (!dst) return Result::fail(Errno::enomem);
    folio_get(src);  // isolated: it stays a folio once the mmap_lock is dropped
  }
  if (!finish_migration(k, src, dst, migrate_isolated(k, src, dst))) return Result::fail(Errno::ebusy);
  return Result::ok();
}

}  // namespace impl
