// fork (dup_mmap and copy_page_range) and exit. Page tables are copied only for VMAs
// with an anon_vma; anon pages become COW-shared by write-protecting both PTEs, except
// that an exclusive page of a possibly pinned folio is copied for the child at once,
// so that the pin keeps seeing what the parent does.

#include "impl/fork.hpp"

#include "impl/anon_vma.hpp"
#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/memory.hpp"
#include "impl/mmap.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/sched_point.hpp"
#include "impl/swap.hpp"
#include "impl/vma.hpp"
#include "impl/vmscan.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

bool must_copy_now(Kernel& k, const Pte& pte) {
  if (pte.kind != Pte::Kind::present) return false;
  Folio* folio = pfn_folio(k, pte.pfn);
  return folio->anon() && k.page(pte.pfn).anon_exclusive && folio->pincount > 0;
}

// A huge PMD's AnonExclusive is its head page's: all its pages are copied, or none.
bool must_copy_now(Kernel& k, const PageView& view) {
  if (!view.pmd || view.pte.kind != Pte::Kind::present) return must_copy_now(k, view.pte);
  Folio* folio = pfn_folio(k, view.pte.pfn);
  return k.page(folio->pfn).anon_exclusive && folio->pincount > 0;
}

uint64_t pages_to_copy_now(Kernel& k, MmStruct* mm) {
  uint64_t n = 0;
  for (const auto& [start, vma] : mm->mm_mt) {
    if ((vma->flags & (VM_DONTCOPY | VM_WIPEONFORK)) || !vma->anon_vma) continue;
    for (Vpn v = vma->start; v < vma->end; ++v) n += must_copy_now(k, follow_page(mm, v));
  }
  return n;
}

void copy_one_pte(Kernel& k, Vma* dst, Vma* src, Vpn v) {
  sched_point(k, Access::read, pte_id(src->mm, v), "copy_pte_range");
  Pte& spte = *pte_offset(src->mm, v);
  Pte& dpte = pte_alloc(dst->mm, v);
  sched_point(k, Access::write, pte_id(dst->mm, v), "copy_pte_range");
  if (spte.kind != Pte::Kind::present) {
    if (spte.kind == Pte::Kind::swap) swap_duplicate(k, spte.slot);  // the child names the slot too
    dpte = spte;
    return;
  }
  Folio* folio = pfn_folio(k, spte.pfn);
  Page& page = k.page(spte.pfn);
  if (must_copy_now(k, spte)) {
    Folio* copy = folio_alloc(k, 0);  // cannot fail: counted beforehand
    k.page(copy->pfn).value = page.value;
    folio_add_new_anon_rmap(k, copy, dst, v);
    folio_add_lru(k, copy);
    dpte = Pte{Pte::Kind::present, copy->pfn, 0, (dst->flags & VM_WRITE) != 0, true, true};
    return;
  }
  if (folio->anon()) page.anon_exclusive = false;
  folio_get(folio);
  folio_add_rmap_pte(k, folio, spte.pfn, dst);
  spte.write = false;  // copy-on-write from now on, for both
  dpte = spte;
}

void copy_page_range(Kernel& k, Vma* dst, Vma* src) {
  if (!src->anon_vma) return;  // nothing private to copy: the child faults pages in afresh
  for (Vpn v = src->start; v < src->end; ++v) {
    if (v % src->mm->pmd_pages == 0 && pmd_is_leaf(pmd_offset(src->mm, v))) {
      if (copy_huge_pmd(k, dst, src, v)) {
        v += src->mm->pmd_pages - 1;
        continue;
      }
      split_huge_pmd(k, src, v);  // pinned and exclusive: its pages are copied below
    }
    Pte* spte = pte_offset(src->mm, v);
    if (!spte || spte->kind == Pte::Kind::none) continue;
    LockGuard sptl(k.locks, pte_lockptr(src->mm, v), LockMode::write);
    LockGuard dptl(k.locks, pte_lockptr(dst->mm, v), LockMode::write);
    copy_one_pte(k, dst, src, v);
  }
}

std::optional<Pid> lowest_unused_pid(const Kernel& k) {
  for (Pid pid = 1; pid <= k.limits.max_processes; ++pid)
    if (!k.tasks.count(pid)) return pid;
  return std::nullopt;
}

}  // namespace

MmStruct* mm_alloc(Kernel& k, Pid pid) {
  MmStruct* mm = k.mms.alloc();
  mm->pid = pid;
  mm->pmd_pages = k.hpage();
  mm->pgd.resize(k.limits.address_space / k.hpage());
  mm->mmap_lock.id = lock_id(LockClass::mmap_lock, pid);
  for (size_t i = 0; i < mm->pgd.size(); ++i) mm->pgd[i].ptl.id = pmd_lock_id(mm, i * mm->pmd_pages);
  k.tasks[pid] = mm;
  return mm;
}

Result do_fork(Kernel& k, MmStruct* parent) {
  auto pid = lowest_unused_pid(k);
  if (!pid) return Result::fail(Errno::eagain);
  // The copies are allocated with direct reclaim, as copy_present_page's are: counted
  // beforehand so that fork fails before it builds anything.
  const uint64_t copies = pages_to_copy_now(k, parent);
  if (copies > k.frames.free_frames()) try_to_free_pages(k, copies - k.frames.free_frames());
  if (copies > k.frames.free_frames()) return Result::fail(Errno::enomem);
  MmStruct* child = mm_alloc(k, *pid);
  LockGuard child_lock(k.locks, child->mmap_lock, LockMode::write);
  ksm_fork(k, parent, child);
  for (const auto& [start, vma] : parent->mm_mt) {
    if (vma->flags & VM_DONTCOPY) continue;
    Vma* tmp = vma_create(k, child, vma->start, vma->end, vma->pgoff, vma->flags & ~VM_LOCKED, vma->file);
    // anon_vma_fork (and vma_link) before copy_page_range: rmap walkers hold no lock of
    // either mm, so the child's VMA must be in the anon_vma's (and the file's) tree
    // before any of its PTEs maps a page there; and after the parent's VMA in walk order,
    // so that a walk that already passed the parent finds what was copied from it
    // (migration's remove_migration_ptes meeting a migration entry fork copied).
    const bool copy = !(vma->flags & VM_WIPEONFORK);
    const bool early_copy = copy && k.bugs.fork_copies_page_tables_before_anon_vma_fork;
    if (early_copy) copy_page_range(k, tmp, vma);
    if (copy) anon_vma_fork(k, tmp, vma);
    vma_link(k, tmp);
    if (copy && !early_copy) copy_page_range(k, tmp, vma);
  }
  return Result::of(*pid);
}

void exit_mmap(Kernel& k, MmStruct* mm) {
  std::vector<Vma*> all;
  for (const auto& [start, vma] : mm->mm_mt) all.push_back(vma);
  for (Vma* vma : all) {
    zap_page_range(k, vma, vma->start, vma->end);
    vma_remove(k, vma);
  }
  ksm_exit(k, mm);
  k.tasks.erase(mm->pid);
  k.mms.free(mm);
}

}  // namespace impl
