#include "impl/memory.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "impl/anon_vma.hpp"
#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/sched_point.hpp"
#include "impl/swap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

bool beyond_eof(const Vma* vma, Vpn vpn) { return vma->file && vma->pgoff_of(vpn) >= vma->file->size; }

bool cow_mapping(const Vma* vma) { return !(vma->flags & VM_SHARED); }

// Maps `folio`'s page `pfn` at vpn as a new mapping of an existing rmap user.
void map_page(Kernel& k, Vma* vma, Vpn vpn, Folio* folio, pfn_t pfn, bool write) {
  LockGuard ptl(k.locks, pte_lockptr(vma->mm, vpn), LockMode::write);
  folio_get(folio);
  folio_add_rmap_pte(k, folio, pfn, vma);
  sched_point(k, Access::write, pte_id(vma->mm, vpn), "set_pte_at");
  pte_alloc(vma->mm, vpn) = Pte{Pte::Kind::present, pfn, 0, write, write, true};
}

void map_anon_folio(Kernel& k, Vma* vma, Vpn vpn, Folio* folio, bool write);

// Replaces whatever the PTE maps with a new exclusive anon folio holding `value`.
Result map_new_anon(Kernel& k, Vma* vma, Vpn vpn, uint64_t value, bool write) {
  anon_vma_prepare(k, vma);
  Folio* folio = vma_alloc_folio(k, 0);
  if (!folio) return Result::fail(Errno::enomem);
  k.page(folio->pfn).value = value;
  map_anon_folio(k, vma, vpn, folio, write);
  return Result::ok();
}

// Maps a new anon folio at vpn in place of whatever the PTE maps; the allocation
// reference becomes the PTE's.
void map_anon_folio(Kernel& k, Vma* vma, Vpn vpn, Folio* folio, bool write) {
  MmStruct* mm = vma->mm;
  Folio* old_ksm = nullptr;  // a KSM page's rmap item goes once the PTL is dropped
  {
    LockGuard ptl(k.locks, pte_lockptr(mm, vpn), LockMode::write);
    Pte& pte = pte_alloc(mm, vpn);
    if (pte.kind == Pte::Kind::present) {
      Folio* old = pfn_folio(k, pte.pfn);
      folio_remove_rmap_pte(k, old, pte.pfn, vma);
      if (old->ksm()) old_ksm = old;
      else folio_put(k, old);
    }
    folio_add_new_anon_rmap(k, folio, vma, vpn);
    folio_add_lru(k, folio);
    sched_point(k, Access::write, pte_id(mm, vpn), "set_pte_at");
    pte = Pte{Pte::Kind::present, folio->pfn, 0, write, write, true};
  }
  if (old_ksm) {
    ksm_pte_unmapped(k, vma, vpn, old_ksm);
    folio_put(k, old_ksm);
  }
}

// do_cow_fault: a write to an unmapped page of a private file mapping. The copy is
// allocated before the page-cache page is read, and given back if that fails.
Result do_cow_fault(Kernel& k, Vma* vma, Vpn vpn) {
  anon_vma_prepare(k, vma);
  Folio* copy = vma_alloc_folio(k, 0);
  if (!copy) return Result::fail(Errno::enomem);
  Folio* folio = filemap_get_folio(k, vma->file, vma->pgoff_of(vpn));
  if (!folio) {
    folio_put(k, copy);
    return Result::fail(Errno::enomem);
  }
  k.page(copy->pfn).value = k.page(folio->pfn).value;
  map_anon_folio(k, vma, vpn, copy, true);
  return Result::ok();
}

// do_swap_page: the slot's folio from the swap cache, or read into it. The folio is
// exclusive to this PTE when no other PTE names the slot and nobody maps it yet.
Result do_swap_page(Kernel& k, Vma* vma, Vpn vpn) {
  const uint64_t slot = pte_offset(vma->mm, vpn)->slot;
  Folio* folio = k.bugs.swapin_skips_swap_cache ? nullptr : swap_cache_get_folio(k, slot);
  if (folio && ksm_swapin_needs_copy(k, folio, slot)) {  // ksm_might_need_to_copy
    folio->touched = k.ctx().op_seq;
    Result r = map_new_anon(k, vma, vpn, k.page(folio->pfn).value, false);
    if (r.kind == Result::Kind::ok) swap_free(k, slot);
    return r;
  }
  const bool fresh = !folio, first_map = fresh || ksm_swapin_reanchor(k, folio, slot);
  if (fresh) {
    folio = vma_alloc_folio(k, 0);
    if (!folio) return Result::fail(Errno::enomem);
    k.page(folio->pfn).value = k.swap.content.at(slot);
    if (!k.bugs.swapin_skips_swap_cache) add_to_swap_cache(k, folio, slot);
  } else {
    folio_get(folio);  // the PTE's reference; the swap cache keeps its own
  }
  folio->touched = k.ctx().op_seq;
  const bool exclusive = k.swap.swap_map.at(slot) == 1 && folio_mapcount(k, folio) == 0;
  LockGuard ptl(k.locks, pte_lockptr(vma->mm, vpn), LockMode::write);
  if (first_map && exclusive) folio_add_new_anon_rmap(k, folio, vma, vpn);
  else if (first_map) folio_add_shared_anon_rmap(k, folio, vma, vpn);
  else folio_add_rmap_pte(k, folio, folio->pfn, vma);
  if (fresh) folio_add_lru(k, folio);  // the allocation reference is the PTE's
  k.page(folio->pfn).anon_exclusive = exclusive;
  sched_point(k, Access::write, pte_id(vma->mm, vpn), "do_swap_page");
  *pte_offset(vma->mm, vpn) = Pte{Pte::Kind::present, folio->pfn, 0, false, false, true};
  swap_free(k, slot);  // the PTE no longer names the slot; the last name frees it
  return Result::ok();
}

// A read fault maps the zero page; so does an unshare fault (a read-only pin), whose
// unsharing then goes through do_wp_page and leaves the zero page if it cannot.
Result do_anonymous_page(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind) {
  if (kind != FaultKind::write) {
    LockGuard ptl(k.locks, pte_lockptr(vma->mm, vpn), LockMode::write);
    sched_point(k, Access::write, pte_id(vma->mm, vpn), "do_anonymous_page");
    pte_alloc(vma->mm, vpn) = Pte{Pte::Kind::zero};
    return Result::ok();
  }
  return map_new_anon(k, vma, vpn, 0, kind == FaultKind::write);
}

Result do_file_fault(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind) {
  if (kind == FaultKind::write && cow_mapping(vma)) return do_cow_fault(k, vma, vpn);
  Folio* folio = filemap_get_folio(k, vma->file, vma->pgoff_of(vpn));
  if (!folio) return Result::fail(Errno::enomem);
  bool write = kind == FaultKind::write;
  if (write) folio->dirty = true;
  folio->touched = k.ctx().op_seq;
  map_page(k, vma, vpn, folio, folio->pfn, write);
  return Result::ok();
}

// Whether a write may reuse the anon page in place. A KSM page never: others may map
// it at any time. A small folio: nothing but this PTE holds it. A large one
// (__wp_can_reuse_large_anon_folio): only this MM maps it, every reference is a
// mapping, and more than one page is mapped: a folio down to its last mapped page is
// given up instead, so that the large folio can be freed.
bool wp_can_reuse_anon_folio(Kernel& k, const Folio* folio, const Vma* vma) {
  if (folio->ksm()) return false;
  if (!folio->large()) return folio->refcount == 1;
  if (folio_mapcount(k, folio) <= 1) return false;
  if (folio_mapped_by_other_mm(folio, vma->mm)) return false;
  return folio_mapcount(k, folio) == folio->refcount;
}

// do_wp_page: a write or unshare fault on a present or zero PTE of a private mapping.
Result do_wp_page(Kernel& k, Vma* vma, Vpn vpn, FaultKind kind) {
  Pte& pte = *pte_offset(vma->mm, vpn);
  bool write = kind == FaultKind::write;
  if (pte.kind == Pte::Kind::zero) return map_new_anon(k, vma, vpn, 0, write);
  Folio* folio = pfn_folio(k, pte.pfn);
  folio->touched = k.ctx().op_seq;
  Page& page = k.page(pte.pfn);
  if (!folio->anon()) return map_new_anon(k, vma, vpn, page.value, write);
  if (page.anon_exclusive) {
    pte.write |= write;
    return Result::ok();
  }
  {
    LockGuard folio_lock(k.locks, folio->lock, LockMode::write);
    if (wp_can_reuse_anon_folio(k, folio, vma)) {
      // A small folio moves to the writer's anon_vma; a large one may be mapped by other
      // VMAs of this MM (a split PMD across a VMA boundary), which that one need not reach.
      if (!folio->large()) folio_move_anon_rmap(k, folio, vma);
      page.anon_exclusive = true;
      pte.write |= write;
      return Result::ok();
    }
  }
  return map_new_anon(k, vma, vpn, page.value, write);
}

// vma_is_accessible(), and the pkey check that makes PROT_EXEC alone execute-only
// (limits.exec_only): a read of such a VMA faults nothing in.
bool vma_readable(const Kernel& k, const Vma* vma) {
  const uint32_t access = vma->flags & VM_ACCESS_FLAGS;
  return access != 0 && !(k.limits.exec_only && access == VM_EXEC);
}

}  // namespace

uint64_t pte_value(Kernel& k, const Pte& pte) {
  return pte.kind == Pte::Kind::present ? k.page(pte.pfn).value : 0;
}

bool migration_entry_at(MmStruct* mm, Vpn vpn) {
  const Pmd* pmd = pmd_offset(mm, vpn);
  if (pmd && pmd->kind == Pmd::Kind::migration) return true;
  const Pte* pte = pte_offset(mm, vpn);
  return pte && pte->kind == Pte::Kind::migration;
}

void migration_entry_wait(Kernel& k, MmStruct* mm, Vpn vpn) {
  sched_point(k, Access::read, pte_id(mm, vpn), "migration_entry_wait");
  if (!migration_entry_at(mm, vpn)) [[likely]] return;
  LockHook* hook = k.locks.hook();
  // Sequentially a migration entry never outlives the op that made it.
  if (!hook) throw std::logic_error(fmt::format("pid {}: migration entry left at {:#x}", mm->pid, vpn));
  hook->wait([mm, vpn] { return !migration_entry_at(mm, vpn); },
             fmt::format("the migration entry at ({},{:#x})", mm->pid, vpn));
}

Result handle_mm_fault(Kernel& k, MmStruct* mm, Vpn vpn, FaultKind kind) {
  Vma* vma = find_vma(mm, vpn);
  if (!vma || !vma_readable(k, vma)) return Result::segv();
  // A page under migration: wait for it to be mapped again (the kernel waits on the
  // folio lock the migration holds, then faults afresh).
  migration_entry_wait(k, mm, vpn);
  if (kind == FaultKind::write && !(vma->flags & VM_WRITE)) return Result::segv();
  // The PMD level first (__handle_mm_fault): a THP fault on an empty PMD, then the huge
  // PMD itself. Either may fall back to the PTE level (no huge page to be had, or COW
  // of one page after splitting the PMD).
  Pmd* pmd = pmd_offset(mm, vpn);
  if (pmd->kind == Pmd::Kind::none && thp_vma_suitable(k, vma, vpn) &&
      do_huge_pmd_anonymous_page(k, vma, vpn, kind) == PmdFault::done && kind != FaultKind::unshare)
    return Result::ok();
  if (pmd_trans_huge(pmd)) {
    if (kind == FaultKind::read) {
      pmd->young = true;
      return Result::ok();
    }
    if (do_huge_pmd_wp_page(k, vma, vpn, kind) == PmdFault::done) return Result::ok();
  }
  Pte* pte = pte_offset(mm, vpn);
  if (pte && pte->kind == Pte::Kind::swap) {
    if (Result r = do_swap_page(k, vma, vpn); r.kind != Result::Kind::ok) return r;
  }
  if (!pte || pte->kind == Pte::Kind::none) {
    if (beyond_eof(vma, vpn)) {
      // do_cow_fault prepares the anon_vma before it finds the page past EOF.
      if (kind == FaultKind::write && cow_mapping(vma)) anon_vma_prepare(k, vma);
      return Result::sigbus();
    }
    Result r = vma->file ? do_file_fault(k, vma, vpn, kind) : do_anonymous_page(k, vma, vpn, kind);
    if (r.kind != Result::Kind::ok || kind == FaultKind::read || !cow_mapping(vma)) return r;
    pte = pte_offset(mm, vpn);
    if (pte->kind == Pte::Kind::present && k.page(pte->pfn).anon_exclusive) return r;
  }
  if (kind == FaultKind::read) return Result::ok();
  if (!cow_mapping(vma)) {  // a shared mapping writes the page-cache page in place
    if (kind == FaultKind::write) {
      pte->write = pte->dirty = true;
      pfn_folio(k, pte->pfn)->dirty = true;
    }
    return Result::ok();
  }
  return do_wp_page(k, vma, vpn, kind);
}

Result handle_unshare_fault(Kernel& k, Vma* vma, Vpn vpn) { return do_wp_page(k, vma, vpn, FaultKind::unshare); }

Result populate_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end, bool stop_on_error) {
  Vpn v = start;
  while (v < end) {
    Vma* vma = find_vma(mm, v);
    if (!vma) {
      ++v;
      continue;
    }
    Vpn stop = std::min(vma->end, end);
    // GUP cannot fault a PROT_NONE VMA in (no FOLL_FORCE there), nor execute-only
    // memory (the pkey denies the read): mlock(2) fails on it.
    if (!vma_readable(k, vma) && stop_on_error) return Result::segv();
    if (vma_readable(k, vma)) {
      // Writable private mappings get write faults, to break COW now.
      FaultKind kind = (vma->flags & VM_WRITE) && cow_mapping(vma) ? FaultKind::write : FaultKind::read;
      for (Vpn p = v; p < stop; ++p) {
        Result r = handle_mm_fault(k, mm, p, kind);
        if (r.kind == Result::Kind::ok) continue;
        if (stop_on_error) return r;
        break;
      }
    }
    v = stop;
  }
  return Result::ok();
}

void zap_page_range(Kernel& k, Vma* vma, Vpn start, Vpn end) {
  MmStruct* mm = vma->mm;
  for (Vpn v = start; v < end; ++v) {
    // zap_pmd_range: a huge PMD goes whole when the range covers it, else it is split.
    if (Pmd* pmd = pmd_offset(mm, v); pmd_is_leaf(pmd)) {
      const Vpn base = pmd_base(mm, v);
      if (v == base && end - base >= mm->pmd_pages) {
        zap_huge_pmd(k, vma, base);
        v = base + mm->pmd_pages - 1;
        continue;
      }
      split_huge_pmd(k, vma, base);
    }
    PteTable* table = pte_table(mm, v);
    if (!table) continue;
    Folio* ksm_folio = nullptr;  // a KSM page's rmap item goes once the PTL is dropped
    {
      LockGuard ptl(k.locks, table->ptl, LockMode::write);
      Pte& pte = table->ptes[v % mm->pmd_pages];
      sched_point(k, Access::write, pte_id(mm, v), "zap_pte_range");
      const Pte old = pte;
      pte = Pte{};
      if (old.kind == Pte::Kind::present) {
        Folio* folio = pfn_folio(k, old.pfn);
        if (old.dirty && !folio->anon()) folio->dirty = true;
        folio_remove_rmap_pte(k, folio, old.pfn, vma);
        if (folio->ksm()) ksm_folio = folio;
        else folio_put(k, folio);
      } else if (old.kind == Pte::Kind::swap) {
        swap_free(k, old.slot);  // free_swap_and_cache
      }
    }
    if (ksm_folio) {
      ksm_pte_unmapped(k, vma, v, ksm_folio);
      folio_put(k, ksm_folio);
    }
  }
}

}  // namespace impl
