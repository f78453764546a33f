#include "impl/rmap.hpp"

#include <algorithm>

#include "impl/anon_vma.hpp"
#include "impl/ksm.hpp"
#include "impl/rcu.hpp"

#include <fmt/format.h>
#include <stdexcept>

#include "impl/folio.hpp"
#include "impl/folio_split.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"

namespace impl {
namespace {

void mm_mapcount_add(Folio* folio, const MmStruct* mm, int diff) {
  auto& counts = folio->mm_mapcount;
  auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& e) { return e.first == mm; });
  if (it == counts.end()) it = counts.insert(counts.end(), {mm, 0});
  it->second += diff;
  if (it->second == 0) counts.erase(it);
}

// __folio_remove_rmap's last step: an anon large folio with some pages still mapped
// and some not goes on the deferred split queue.
void maybe_deferred_split(Kernel& k, Folio* folio) {
  if (!folio->anon() || folio->partially_mapped || folio->entire_mapcount >= 0) return;
  if (folio->nr_pages_mapped > 0 && folio->nr_pages_mapped < folio->nr_pages()) deferred_split_folio(k, folio);
}

}  // namespace

uint64_t linear_page_index(const Vma* vma, Vpn addr) { return vma->pgoff + (addr - vma->start); }

void folio_add_new_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr) {
  sched_point(k, Access::write, folio_id(folio), "folio_add_new_anon_rmap");
  folio->anon_vma = vma->anon_vma;
  folio->index = linear_page_index(vma, addr);
  Page& head = k.page(folio->pfn);
  head.anon_exclusive = true;
  if (!folio->large()) {
    head.mapcount = 0;
    if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
    return;
  }
  // Large folios are only made to be mapped by a PMD (THP faults and collapse); the
  // head's AnonExclusive speaks for the whole PMD.
  folio->entire_mapcount = 0;
  folio->large_mapcount = 0;
  mm_mapcount_add(folio, vma->mm, 1);
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_add_shared_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr) {
  sched_point(k, Access::write, folio_id(folio), "folio_add_anon_rmap_pte");
  folio->anon_vma = vma->anon_vma->root;
  folio->index = linear_page_index(vma, addr);
  k.page(folio->pfn).mapcount = 0;
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_add_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma) {
  sched_point(k, Access::write, folio_id(folio), "folio_add_rmap_pte");
  Page& page = k.page(pfn);
  if (++page.mapcount == 0 && folio->large()) folio->nr_pages_mapped++;
  if (folio->large()) {
    folio->large_mapcount++;
    mm_mapcount_add(folio, vma->mm, 1);
    return;  // mlock_vma_folio() leaves PTE-mapped large folios evictable
  }
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_remove_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma) {
  sched_point(k, Access::write, folio_id(folio), "folio_remove_rmap_pte");
  Page& page = k.page(pfn);
  page.mapcount--;
  if (!folio->large()) {
    if (k.bugs.remove_rmap_dereferences_null && folio->anon() && page.mapcount >= 0) dereference_null();
    if (k.bugs.remove_rmap_bugs_on_shared_anon && folio->anon() && page.mapcount >= 0)
      throw std::logic_error(fmt::format("VM_BUG_ON_FOLIO: anon folio {} still mapped after unmapping pid {}'s PTE",
                                         folio->id, vma->mm->pid));
    if (page.mapcount < 0) page.anon_exclusive = false;
    if (vma->flags & VM_LOCKED) munlock_folio(k, folio);
    return;
  }
  if (page.mapcount < 0) {
    folio->nr_pages_mapped--;
    if (folio->entire_mapcount < 0) page.anon_exclusive = false;
  }
  folio->large_mapcount--;
  mm_mapcount_add(folio, vma->mm, -1);
  maybe_deferred_split(k, folio);
}

void folio_add_rmap_pmd(Kernel& k, Folio* folio, const Vma* vma) {
  sched_point(k, Access::write, folio_id(folio), "folio_add_rmap_pmd");
  folio->entire_mapcount++;
  folio->large_mapcount++;
  mm_mapcount_add(folio, vma->mm, 1);
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_remove_rmap_pmd(Kernel& k, Folio* folio, const Vma* vma) {
  sched_point(k, Access::write, folio_id(folio), "folio_remove_rmap_pmd");
  folio->entire_mapcount--;
  folio->large_mapcount--;
  mm_mapcount_add(folio, vma->mm, -1);
  if (vma->flags & VM_LOCKED) munlock_folio(k, folio);
  maybe_deferred_split(k, folio);
}

void folio_move_anon_rmap(Kernel& k, Folio* folio, Vma* vma) {
  sched_point(k, Access::write, folio_id(folio), "folio_move_anon_rmap");
  folio->anon_vma = vma->anon_vma;
}

int folio_mm_mapcount(const Folio* folio, const MmStruct* mm) {
  for (const auto& [m, n] : folio->mm_mapcount)
    if (m == mm) return n;
  return 0;
}

bool folio_mapped_by_other_mm(const Folio* folio, const MmStruct* mm) {
  return std::any_of(folio->mm_mapcount.begin(), folio->mm_mapcount.end(),
                     [&](const auto& e) { return e.first != mm; });
}

bool folio_mapped(Kernel& k, const Folio* folio) { return folio_mapcount(k, folio) > 0; }

AnonVma* folio_get_anon_vma(Kernel& k, Folio* folio) {
  // As folio_lock_anon_vma_read below, with a reference instead of the lock.
  rcu_read_lock(k, "folio_get_anon_vma");
  sched_point(k, Access::read, folio_id(folio), "folio_get_anon_vma");
  AnonVma* av = folio->ksm() ? nullptr : folio->anon_vma;
  if (av && (!folio_mapped(k, folio) || !anon_vma_get_unless_zero(k, av))) av = nullptr;
  if (av && !folio_mapped(k, folio)) {
    rcu_read_unlock(k, "folio_get_anon_vma");
    put_anon_vma(k, av);
    return nullptr;
  }
  rcu_read_unlock(k, "folio_get_anon_vma");
  return av;
}

AnonVma* folio_lock_anon_vma_read(Kernel& k, Folio* folio) {
  // folio->mapping is read without a lock: only RCU keeps what it names an anon_vma
  // (SLAB_TYPESAFE_BY_RCU), and not necessarily this folio's any more.
  rcu_read_lock(k, "folio_lock_anon_vma_read");
  sched_point(k, Access::read, folio_id(folio), "folio_lock_anon_vma_read");
  AnonVma* av = folio->anon_vma;
  if (!av || !folio_mapped(k, folio)) {
    rcu_read_unlock(k, "folio_lock_anon_vma_read");
    return nullptr;
  }
  sched_point(k, Access::read, anon_vma_id(av), "folio_lock_anon_vma_read");
  Lock& root_lock = av->root->rwsem;
  if (k.locks.try_acquire(root_lock, LockMode::read)) {
    // The re-check: a folio unmapped since it was read may have let its anon_vma be
    // freed (and reused); one still mapped keeps it, since unlinking the last VMA of
    // the tree needs the lock now held.
    if (!k.bugs.anon_vma_read_lock_skips_recheck && !folio_mapped(k, folio)) {
      k.locks.release(root_lock);
      av = nullptr;
    }
    rcu_read_unlock(k, "folio_lock_anon_vma_read");
    return av;
  }
  // The lock is contended: pin the anon_vma with a reference (unless it is being freed
  // already), leave RCU, and sleep on the lock.
  if (!anon_vma_get_unless_zero(k, av)) {
    rcu_read_unlock(k, "folio_lock_anon_vma_read");
    return nullptr;
  }
  if (!folio_mapped(k, folio)) {
    rcu_read_unlock(k, "folio_lock_anon_vma_read");
    put_anon_vma(k, av);
    return nullptr;
  }
  rcu_read_unlock(k, "folio_lock_anon_vma_read");
  k.locks.acquire(root_lock, LockMode::read);
  // Ours was the last reference: the anon_vma went while we slept.
  if (av->refcount == 1) {
    k.locks.release(root_lock);
    put_anon_vma(k, av);
    return nullptr;
  }
  put_anon_vma(k, av);
  return av;
}

namespace {

void rmap_walk_anon(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  // A walker holding a reference on the anon_vma (migration) locks it; any other finds
  // it through folio_lock_anon_vma_read, which checks the folio is still mapped.
  AnonVma* anon_vma = rwc.anon_vma;
  if (anon_vma) k.locks.acquire(anon_vma->root->rwsem, LockMode::read);
  else if (!(anon_vma = folio_lock_anon_vma_read(k, folio))) return;
  // Released on the way out, also when an aborted execution unwinds through the walk.
  struct Unlock {
    LockTracker& locks;
    Lock& lock;
    ~Unlock() { locks.release(lock); }
  } unlock{k.locks, anon_vma->root->rwsem};
  if (!use_after_free(k, anon_vma, "anon_vma", "rmap_walk_anon")) {
    const uint64_t first = folio->index, last = folio->index + folio->nr_pages() - 1;
    std::vector<AnonVmaChain*> hits;
    sched_point(k, Access::read, anon_vma_id(anon_vma), "rmap_walk_anon");
    anon_vma->rb_root.for_each_overlap(first, last, [&](AnonVmaChain& avc) { hits.push_back(&avc); });
    for (AnonVmaChain* avc : hits) {
      if (use_after_free(k, avc->vma, "vma", "rmap_walk_anon")) break;
      if (!rwc.rmap_one(folio, avc->vma, avc->vma->vpn_of(first))) break;
    }
  }
}

void rmap_walk_file(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  AddressSpace* mapping = folio->mapping;
  LockGuard g(k.locks, mapping->i_mmap_rwsem, LockMode::read);
  sched_point(k, Access::read, mapping_id(mapping), "rmap_walk_file");
  const uint64_t first = folio->index, last = folio->index + folio->nr_pages() - 1;
  std::vector<Vma*> hits;
  mapping->i_mmap.for_each_overlap(first, last, [&](Vma& vma) { hits.push_back(&vma); });
  for (Vma* vma : hits)
    if (!rwc.rmap_one(folio, vma, vma->vpn_of(first))) return;
}

}  // namespace

void rmap_walk(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  if (folio->ksm()) rmap_walk_ksm(k, folio, rwc);
  else if (folio->anon_vma) rmap_walk_anon(k, folio, rwc);
  else if (folio->mapping) rmap_walk_file(k, folio, rwc);
}

std::vector<ops::PageKey> page_mappers_by_rmap(Kernel& k, Folio* folio, pfn_t pfn) {
  std::vector<ops::PageKey> out;
  page_mappers_by_rmap(k, folio, pfn, out);
  return out;
}

void page_mappers_by_rmap(Kernel& k, Folio* folio, pfn_t pfn, std::vector<ops::PageKey>& out) {
  const Vpn offset = pfn - folio->pfn;
  RmapWalkControl rwc;
  rwc.rmap_one = [&out, offset, pfn](Folio*, Vma* vma, Vpn addr) {
    Vpn v = addr + offset;  // may lie outside the VMA: the walk covers the whole folio
    if (v < vma->start || v >= vma->end) return true;
    const PageView view = follow_page(vma->mm, v);
    if (view.pte.kind == Pte::Kind::present && view.pte.pfn == pfn) out.emplace_back(vma->mm->pid, v);
    return true;
  };
  rmap_walk(k, folio, rwc);
}

}  // namespace impl
