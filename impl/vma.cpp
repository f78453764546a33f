#include "impl/vma.hpp"

#include "impl/swap.hpp"

#include "impl/anon_vma.hpp"
#include "impl/folio.hpp"
#include "impl/huge_memory.hpp"
#include "impl/i_mmap.hpp"
#include "impl/sched_point.hpp"

namespace impl {
namespace {

// vma_is_fork_child: the VMA's anon_vma came from fork, so it is linked to its
// parents' anon_vmas too (more than one anon_vma_chain).
bool fork_child(const Vma* vma) { return vma && vma->anon_vma && vma->anon_vma_chain.size() != 1; }

// What a range would be if it were a VMA: the facts merging compares. `src` is the VMA
// the range is part of (a flags edit), `copied_from` the VMA mremap copies it from.
struct Proposal {
  Vpn start, end;
  uint64_t pgoff;
  uint32_t flags;
  AddressSpace* file;
  AnonVma* anon_vma;
  const Vma* src = nullptr;
  const Vma* copied_from = nullptr;
};

// is_mergeable_anon_vma (Linux 6.16+): the anon_vmas must be the same, or the side
// without one takes over the other's, which must not be a fork child's: merging those
// would widen what its root anon_vma lock covers.
bool mergeable_anon_vma(const Bugs& bugs, const Proposal& p, const Vma* target) {
  if (bugs.merge_incompatible_anon_vmas) return true;
  if (!target->anon_vma && p.anon_vma) return !fork_child(p.src) && !fork_child(p.copied_from);
  if (target->anon_vma && !p.anon_vma) return !fork_child(target);
  return target->anon_vma == p.anon_vma;
}

bool can_merge_after(const Bugs& bugs, const Proposal& p, const Vma* prev) {
  return prev && prev->end == p.start && prev->flags == p.flags && prev->file == p.file &&
         mergeable_anon_vma(bugs, p, prev) && prev->pgoff + prev->pages() == p.pgoff;
}

bool can_merge_before(const Bugs& bugs, const Proposal& p, const Vma* next) {
  return next && next->start == p.end && next->flags == p.flags && next->file == p.file &&
         mergeable_anon_vma(bugs, p, next) && next->pgoff == p.pgoff + (p.end - p.start);
}

// Merging with both neighbours also needs their anon_vmas to agree with each other.
bool anon_vmas_compatible(const Bugs& bugs, const Vma* a, const Vma* b) {
  return bugs.merge_incompatible_anon_vmas || !a->anon_vma || !b->anon_vma || a->anon_vma == b->anon_vma;
}

// Gives `dst` the anon_vma of `src` when `dst` absorbs pages of `src`.
void dup_anon_vma(Kernel& k, Vma* dst, Vma* src) {
  if (src->anon_vma && !dst->anon_vma) {
    sched_point(k, Access::write, vma_id(dst), "dup_anon_vma");
    dst->anon_vma = src->anon_vma;
    anon_vma_clone(k, dst, src);
  }
}

}  // namespace

Vma* find_vma(MmStruct* mm, Vpn vpn) {
  auto it = mm->mm_mt.upper_bound(vpn);
  if (it == mm->mm_mt.begin()) return nullptr;
  Vma* vma = std::prev(it)->second;
  return vpn < vma->end ? vma : nullptr;
}

Vma* vma_prev(MmStruct* mm, Vma* vma) {
  auto it = mm->mm_mt.find(vma->start);
  return it == mm->mm_mt.begin() ? nullptr : std::prev(it)->second;
}

Vma* vma_next(MmStruct* mm, Vma* vma) {
  auto it = std::next(mm->mm_mt.find(vma->start));
  return it == mm->mm_mt.end() ? nullptr : it->second;
}

Vma* vma_create(Kernel& k, MmStruct* mm, Vpn start, Vpn end, uint64_t pgoff, uint32_t flags,
                AddressSpace* file) {
  Vma* vma = k.vmas.alloc();
  vma->mm = mm;
  vma->start = start;
  vma->end = end;
  vma->pgoff = pgoff;
  vma->flags = flags;
  vma->file = file;
  return vma;
}

void vma_link(Kernel& k, Vma* vma) {
  vma->mm->mm_mt[vma->start] = vma;
  if (vma->file) {
    LockGuard g(k.locks, vma->file->i_mmap_rwsem, LockMode::write);
    vma_interval_tree_insert(k, vma, vma->file);
  }
}

void vma_remove(Kernel& k, Vma* vma) {
  vma->mm->mm_mt.erase(vma->start);
  AddressSpace* file = vma->file;
  if (file) {
    LockGuard g(k.locks, file->i_mmap_rwsem, LockMode::write);
    vma_interval_tree_remove(k, vma, file);
  }
  unlink_anon_vmas(k, vma);
  sched_point(k, Access::free, vma_id(vma), "vm_area_free");
  k.vmas.free(vma);
  // A shmem object lives as long as something maps it.
  if (file && file->shmem && file->i_mmap.empty()) {
    while (!file->i_pages.empty()) filemap_remove_folio(k, file->i_pages.begin()->second);
    for (const auto& [pgoff, slot] : file->swapped) swap_free(k, slot);
    file->swapped.clear();
    k.spaces.free(file);
  }
}

void vma_set_range(Kernel& k, Vma* vma, Vpn start, Vpn end, uint64_t pgoff) {
  // vma_adjust_trans_huge: where the VMA shrinks, a huge PMD across its new edge splits.
  if (start > vma->start) split_huge_pmd_address(k, vma, start);
  if (end < vma->end) split_huge_pmd_address(k, vma, end);
  std::optional<LockGuard> file_lock, anon_lock;
  if (vma->file) file_lock.emplace(k.locks, vma->file->i_mmap_rwsem, LockMode::write);
  if (vma->anon_vma) anon_lock.emplace(k.locks, vma->anon_vma->root->rwsem, LockMode::write);
  if (vma->file) vma_interval_tree_remove(k, vma, vma->file);
  anon_vma_pre_update(k, vma);
  auto& mt = vma->mm->mm_mt;
  if (mt.count(vma->start) && mt.at(vma->start) == vma) mt.erase(vma->start);
  sched_point(k, Access::write, vma_id(vma), "vma_set_range");
  vma->start = start;
  vma->end = end;
  vma->pgoff = pgoff;
  mt[start] = vma;
  anon_vma_post_update(k, vma);
  if (vma->file) vma_interval_tree_insert(k, vma, vma->file);
}

Vma* split_vma(Kernel& k, Vma* vma, Vpn addr, bool new_below) {
  split_huge_pmd_address(k, vma, addr);  // no huge PMD may straddle the new boundary
  Vma* fresh = vma_create(k, vma->mm, vma->start, vma->end, vma->pgoff, vma->flags, vma->file);
  fresh->anon_vma = vma->anon_vma;
  if (new_below) {
    fresh->end = addr;
  } else {
    fresh->start = addr;
    fresh->pgoff += addr - vma->start;
  }
  if (!k.bugs.skip_anon_vma_clone_on_split) anon_vma_clone(k, fresh, vma);
  if (new_below) vma_set_range(k, vma, addr, vma->end, vma->pgoff + (addr - vma->start));
  else vma_set_range(k, vma, vma->start, addr, vma->pgoff);
  vma_link(k, fresh);
  return fresh;
}

Vma* vma_merge_new_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end, uint64_t pgoff,
                         uint32_t flags, AddressSpace* file, Vma* anon_src, Vma* copied_from) {
  Proposal p{start, end, pgoff, flags, file, anon_src ? anon_src->anon_vma : nullptr, nullptr, copied_from};
  Vma* merged = nullptr;
  auto it = mm->mm_mt.lower_bound(start);
  Vma* next = it == mm->mm_mt.end() ? nullptr : it->second;
  Vma* prev = it == mm->mm_mt.begin() ? nullptr : std::prev(it)->second;
  bool left = can_merge_after(k.bugs, p, prev);
  bool right = can_merge_before(k.bugs, p, next) && (!left || anon_vmas_compatible(k.bugs, prev, next));
  if (left && right) {
    Vpn next_end = next->end;
    dup_anon_vma(k, prev, next);
    vma_remove(k, next);
    vma_set_range(k, prev, prev->start, next_end, prev->pgoff);
    merged = prev;
  } else if (left) {
    vma_set_range(k, prev, prev->start, end, prev->pgoff);
    merged = prev;
  } else if (right) {
    vma_set_range(k, next, start, next->end, pgoff);
    merged = next;
  }
  if (merged && anon_src) dup_anon_vma(k, merged, anon_src);
  return merged;
}

Vma* vma_modify_flags(Kernel& k, Vma* vma, Vpn start, Vpn end, uint32_t flags) {
  if (vma->flags == flags) return vma;
  MmStruct* mm = vma->mm;
  Proposal p{start, end, vma->pgoff + (start - vma->start), flags, vma->file, vma->anon_vma, vma, nullptr};
  Vma* prev = vma_prev(mm, vma);
  Vma* next = vma_next(mm, vma);
  bool left = start == vma->start && can_merge_after(k.bugs, p, prev);
  bool right = end == vma->end && can_merge_before(k.bugs, p, next) &&
               (!left || anon_vmas_compatible(k.bugs, prev, next));
  if (left && right) {  // prev absorbs vma and next
    Vpn next_end = next->end;
    dup_anon_vma(k, prev, vma);
    dup_anon_vma(k, prev, next);
    vma_remove(k, vma);
    vma_remove(k, next);
    vma_set_range(k, prev, prev->start, next_end, prev->pgoff);
    return prev;
  }
  if (left) {  // prev grows over [start, end); vma keeps the rest
    dup_anon_vma(k, prev, vma);
    if (end == vma->end) vma_remove(k, vma);
    else vma_set_range(k, vma, end, vma->end, vma->pgoff + (end - vma->start));
    vma_set_range(k, prev, prev->start, end, prev->pgoff);
    return prev;
  }
  if (right) {  // next grows down over [start, end)
    dup_anon_vma(k, next, vma);
    if (start == vma->start) vma_remove(k, vma);
    else vma_set_range(k, vma, vma->start, start, vma->pgoff);
    vma_set_range(k, next, start, next->end, p.pgoff);
    return next;
  }
  // No merge: split off what lies outside the range; `vma` keeps the range itself.
  if (start > vma->start) split_vma(k, vma, start, /*new_below=*/true);
  if (end < vma->end) split_vma(k, vma, end, /*new_below=*/false);
  sched_point(k, Access::write, vma_id(vma), "vm_flags_reset");
  vma->flags = flags;
  return vma;
}

}  // namespace impl
