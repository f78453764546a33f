// mremap: shrink, grow in place, or move. A move creates (or merges into) a VMA at
// the destination with the same page offset and anon_vma chain, then moves the page
// tables; rmap finds the pages there because their linear index did not change.
//
// The rmap locks (i_mmap_rwsem, anon_vma root rwsem) must be held while page tables
// move whenever the destination VMA does not sort after the source in the rmap trees
// (its pgoff is not greater): an rmap walk could otherwise visit the destination
// before the PTE arrives and the source after it left, and miss the page.
//
// KSM pages in a range that moves are broken first (prep_move_vma): rmap_walk_ksm finds
// a KSM page's PTEs at the addresses of its rmap items, which a move would leave behind.

#include <algorithm>

#include "impl/anon_vma.hpp"
#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/lru.hpp"
#include "impl/huge_memory.hpp"
#include "impl/memory.hpp"
#include "impl/mmap.hpp"
#include "impl/pgtable.hpp"
#include "impl/sched_point.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

std::optional<Vpn> highest_free_range(const Kernel& k, const MmStruct* mm, uint64_t pages) {
  Vpn gap_end = k.limits.address_space;
  for (auto it = mm->mm_mt.rbegin(); it != mm->mm_mt.rend(); ++it) {
    if (gap_end - it->second->end >= pages) return gap_end - pages;
    gap_end = it->second->start;
  }
  if (gap_end >= pages) return gap_end - pages;
  return std::nullopt;
}

// How much of the old range must lie in the VMA at its start: all of it to grow; to
// move (`to`, `dontunmap`) only what is kept, since the tail is unmapped first; to
// shrink in place nothing beyond the start, since only the tail is unmapped.
uint64_t must_lie_in_one_vma(const ops::Mremap& op) {
  if (op.to || op.dontunmap) return std::min(op.old_pages, op.new_pages);
  return op.new_pages <= op.old_pages ? 1 : op.old_pages;
}

Result validate(const Kernel& k, MmStruct* mm, const ops::Mremap& op) {
  const uint64_t space = k.limits.address_space;
  if (op.old_pages == 0 || op.new_pages == 0) return Result::fail(Errno::einval);
  if (op.dontunmap && op.old_pages != op.new_pages) return Result::fail(Errno::einval);
  if (op.to) {
    if (*op.to > space || op.new_pages > space - *op.to) return Result::fail(Errno::einval);
    if (*op.to < op.vpn + op.old_pages && op.vpn < *op.to + op.new_pages) return Result::fail(Errno::einval);
  }
  if (op.vpn > space || op.old_pages > space - op.vpn) return Result::fail(Errno::efault);
  Vma* vma = find_vma(mm, op.vpn);
  if (!vma || vma->end < op.vpn + must_lie_in_one_vma(op)) return Result::fail(Errno::efault);
  // RLIMIT_AS: the address space after the call, counted before changing anything.
  int64_t after = static_cast<int64_t>(mapped_pages(mm)) + static_cast<int64_t>(op.new_pages);
  if (!op.dontunmap) after -= static_cast<int64_t>(op.old_pages);
  if (op.to) after -= static_cast<int64_t>(mapped_pages_in(mm, *op.to, *op.to + op.new_pages));
  if (after > static_cast<int64_t>(k.limits.max_pages)) return Result::fail(Errno::enomem);
  return Result::ok();
}

// copy_vma: the destination VMA for a move of `pages` pages of `vma` from `from`.
Vma* copy_vma(Kernel& k, Vma* vma, Vpn from, Vpn to, uint64_t pages, bool* need_rmap_locks) {
  uint64_t pgoff = vma->pgoff_of(from);
  // Not faulted yet: the moved VMA takes the index of its new address, to merge there.
  if (!vma->file && !vma->anon_vma) pgoff = to;
  Vma* dst = vma_merge_new_range(k, vma->mm, to, to + pages, pgoff, vma->flags, vma->file, vma, vma);
  if (!dst) {
    dst = vma_create(k, vma->mm, to, to + pages, pgoff, vma->flags, vma->file);
    dst->anon_vma = vma->anon_vma;
    anon_vma_clone(k, dst, vma);
    vma_link(k, dst);
  }
  *need_rmap_locks = dst->pgoff <= vma->pgoff;
  return dst;
}

// MREMAP_DONTUNMAP: nothing is unmapped, so the old VMA is not split: all of it loses
// VM_LOCKED (a flag cleared in place, no merge), and the pages still mapped in it are
// munlocked. One moved whole (and not merged with the new one) has no pages left to
// reach: its anon_vma links go.
void dontunmap_complete(Kernel& k, Vma* old, const Vma* new_vma, Vpn from, uint64_t pages) {
  if (old->flags & VM_LOCKED) {
    const Vpn start = old->start;
    const std::vector<bool> was_locked(old->end - old->start, true);
    old->flags &= ~VM_LOCKED;
    mlock_pte_range(k, old->mm, start, was_locked);
  }
  if (new_vma != old && old->start == from && old->end == from + pages) unlink_anon_vmas(k, old);
}

// With need_rmap_locks, an rmap walk could look at the new range before the entries
// arrive and at the old one after they left, and miss them: the move holds the rmap
// locks (take_rmap_locks) for every entry it moves.
void assert_rmap_locks(Kernel& k, const Vma* vma, bool rmap_locks, std::string_view where) {
  if (!rmap_locks) return;
  if (vma->file) k.locks.assert_held(vma->file->i_mmap_rwsem, LockMode::write, where);
  if (vma->anon_vma) k.locks.assert_held(vma->anon_vma->root->rwsem, LockMode::write, where);
}

// take_rmap_locks / drop_rmap_locks: held around each entry (a huge PMD, or the PTEs
// of one PMD range) that moves while need_rmap_locks says a walk could miss it.
class RmapLocks {
 public:
  RmapLocks(Kernel& k, const Vma* vma, bool take) : locks_(k.locks) {
    if (take && vma->file) locks_.acquire(*(file_ = &vma->file->i_mmap_rwsem), LockMode::write);
    if (take && vma->anon_vma) locks_.acquire(*(anon_ = &vma->anon_vma->root->rwsem), LockMode::write);
  }
  RmapLocks(const RmapLocks&) = delete;
  RmapLocks& operator=(const RmapLocks&) = delete;
  ~RmapLocks() {
    if (anon_) locks_.release(*anon_);
    if (file_) locks_.release(*file_);
  }

 private:
  LockTracker& locks_;
  Lock* file_ = nullptr;
  Lock* anon_ = nullptr;
};

// move_ptes: the PTEs of [from, from + n), all in one PMD range at both ends.
void move_ptes(Kernel& k, Vma* src, Vpn from, Vpn to, uint64_t n, bool rmap_locks) {
  MmStruct* mm = src->mm;
  RmapLocks locks(k, src, rmap_locks && !k.bugs.mremap_skips_rmap_locks);
  for (uint64_t i = 0; i < n; ++i) {
    Pte* old = pte_offset(mm, from + i);
    if (!old || old->kind == Pte::Kind::none) continue;
    assert_rmap_locks(k, src, rmap_locks, "move_ptes");
    LockGuard old_ptl(k.locks, pte_lockptr(mm, from + i), LockMode::write);
    Lock& new_lock = pte_lockptr(mm, to + i);
    std::optional<LockGuard> new_ptl;
    if (&new_lock != &pte_lockptr(mm, from + i)) new_ptl.emplace(k.locks, new_lock, LockMode::write);
    sched_point(k, Access::read, pte_id(mm, from + i), "move_ptes");
    const Pte moving = *old;
    sched_point(k, Access::write, pte_id(mm, to + i), "move_ptes");
    pte_alloc(mm, to + i) = moving;
    sched_point(k, Access::write, pte_id(mm, from + i), "move_ptes");
    *pte_offset(mm, from + i) = Pte{};
  }
}

void move_page_tables(Kernel& k, Vma* src, Vpn from, Vpn to, uint64_t pages, bool rmap_locks) {
  MmStruct* mm = src->mm;
  const uint64_t h = mm->pmd_pages;
  for (uint64_t i = 0; i < pages;) {
    // A huge PMD (or a migration entry in its place) moves whole when both ends are
    // aligned and the move covers it (move_huge_pmd); otherwise it is split and its
    // PTEs move one by one.
    if (pmd_is_leaf(pmd_offset(mm, from + i))) {
      if ((from + i) % h == 0 && (to + i) % h == 0 && pages - i >= h) {
        RmapLocks locks(k, src, rmap_locks && !k.bugs.pmd_move_skips_rmap_locks);
        assert_rmap_locks(k, src, rmap_locks, "move_huge_pmd");
        if (move_huge_pmd(k, mm, from + i, to + i)) {
          i += h;
          continue;
        }
      }
      split_huge_pmd(k, src, from + i);
    }
    const uint64_t extent = std::min({pages - i, h - (from + i) % h, h - (to + i) % h});
    move_ptes(k, src, from + i, to + i, extent, rmap_locks);
    i += extent;
  }
}

Result move_vma(Kernel& k, MmStruct* mm, const ops::Mremap& op, Vpn to) {
  const uint64_t kept = std::min(op.old_pages, op.new_pages);
  if (op.to) unmap_range(k, mm, to, to + op.new_pages);
  Vma* vma = find_vma(mm, op.vpn);
  bool rmap_locks = false;
  Vma* new_vma = copy_vma(k, vma, op.vpn, to, op.new_pages, &rmap_locks);
  vma = find_vma(mm, op.vpn);  // copy_vma may have merged next to it
  move_page_tables(k, vma, op.vpn, to, kept, rmap_locks);
  if (op.dontunmap) dontunmap_complete(k, vma, new_vma, op.vpn, kept);
  else unmap_range(k, mm, op.vpn, op.vpn + op.old_pages);
  return Result::ok();
}

// mremap of 0 old pages: a second mapping of the same shared object, from the offset
// at `vpn` on; the first stays. Private mappings refuse it.
Result duplicate_mapping(Kernel& k, MmStruct* mm, const ops::Mremap& op) {
  const uint64_t space = k.limits.address_space;
  if (op.to && (*op.to > space || op.new_pages > space - *op.to)) return Result::fail(Errno::einval);
  // The overlap check, with an old range of no length: `vpn` inside the target.
  if (op.to && *op.to < op.vpn && op.vpn < *op.to + op.new_pages) return Result::fail(Errno::einval);
  if (op.dontunmap) return Result::fail(Errno::einval);
  if (op.vpn >= space) return Result::fail(Errno::efault);
  Vma* vma = find_vma(mm, op.vpn);
  if (!vma) return Result::fail(Errno::efault);
  if (!(vma->flags & VM_SHARED)) return Result::fail(Errno::einval);
  if (op.to) {  // MREMAP_FIXED unmaps the target first, even if that takes the source
    unmap_range(k, mm, *op.to, *op.to + op.new_pages);
    if (!(vma = find_vma(mm, op.vpn))) return Result::fail(Errno::efault);
  }
  if (mapped_pages(mm) + op.new_pages > k.limits.max_pages) return Result::fail(Errno::enomem);
  auto dest = op.to ? op.to : highest_free_range(k, mm, op.new_pages);
  if (!dest) return Result::fail(Errno::enomem);
  bool rmap_locks = false;
  copy_vma(k, vma, op.vpn, *dest, op.new_pages, &rmap_locks);
  if (vma->flags & VM_LOCKED) populate_range(k, mm, *dest, *dest + op.new_pages, false);
  return Result::of(*dest);
}

Result remap_one(Kernel& k, MmStruct* mm, const ops::Mremap& op);

// MREMAP_FIXED without a change of size only moves (Linux 6.17+): the range may span
// several VMAs and holes, not begin in a hole; each VMA moves in turn, the holes
// between them kept at the target.
Result move_vmas(Kernel& k, MmStruct* mm, const ops::Mremap& op) {
  const uint64_t space = k.limits.address_space;
  if (*op.to > space || op.new_pages > space - *op.to) return Result::fail(Errno::einval);
  if (*op.to < op.vpn + op.old_pages && op.vpn < *op.to + op.new_pages) return Result::fail(Errno::einval);
  if (op.vpn > space || op.old_pages > space - op.vpn) return Result::fail(Errno::efault);
  const Vpn end = op.vpn + op.old_pages;
  std::vector<std::pair<Vpn, Vpn>> pieces;
  for (const auto& [start, vma] : mm->mm_mt)
    if (vma->end > op.vpn && vma->start < end) pieces.emplace_back(std::max(vma->start, op.vpn), std::min(vma->end, end));
  if (pieces.empty() || pieces.front().first > op.vpn) return Result::fail(Errno::efault);
  Vpn target = *op.to, last_end = op.vpn;
  for (const auto& [from, to] : pieces) {
    const uint64_t len = to - from;
    const Vpn dest = target + (from - last_end);
    last_end = to;
    Result r = remap_one(k, mm, ops::Mremap{op.pid, from, len, len, dest, op.dontunmap});
    if (r.kind != Result::Kind::value) return r;
    target = r.value + len;
  }
  return Result::of(*op.to);
}

}  // namespace

Result do_mremap(Kernel& k, MmStruct* mm, const ops::Mremap& op) {
  if (op.to && op.old_pages == op.new_pages && op.old_pages > 0) return move_vmas(k, mm, op);
  return remap_one(k, mm, op);
}

namespace {

Result remap_one(Kernel& k, MmStruct* mm, const ops::Mremap& op) {
  if (op.old_pages == 0 && op.new_pages > 0) return duplicate_mapping(k, mm, op);
  if (Result r = validate(k, mm, op); r.kind != Result::Kind::ok) return r;
  const Vpn old_end = op.vpn + op.old_pages, new_end = op.vpn + op.new_pages;
  const Vpn kept_end = op.vpn + std::min(op.old_pages, op.new_pages);
  Vpn at = op.vpn;
  if (op.to || op.dontunmap) {
    auto dest = op.to ? op.to : highest_free_range(k, mm, op.new_pages);
    if (!dest) return Result::fail(Errno::enomem);
    if (Result r = ksm_unmerge_range(k, mm, op.vpn, kept_end); r.kind != Result::Kind::ok) return r;
    if (op.new_pages < op.old_pages) unmap_range(k, mm, new_end, old_end);
    at = *dest;
    move_vma(k, mm, op, at);
  } else if (op.new_pages <= op.old_pages) {
    if (op.new_pages < op.old_pages) unmap_range(k, mm, new_end, old_end);
  } else if (Vma* vma = find_vma(mm, op.vpn); vma->end == old_end && new_end <= k.limits.address_space &&
             mapped_pages_in(mm, old_end, new_end) == 0) {
    // vma_merge_extend: the growth is a new range the VMA takes in, with the next VMA
    // too where the rules allow.
    if (!vma_merge_new_range(k, mm, old_end, new_end, vma->pgoff_of(old_end), vma->flags, vma->file, vma))
      vma_set_range(k, vma, vma->start, new_end, vma->pgoff);
  } else {
    auto dest = highest_free_range(k, mm, op.new_pages);
    if (!dest) return Result::fail(Errno::enomem);
    if (Result r = ksm_unmerge_range(k, mm, op.vpn, kept_end); r.kind != Result::Kind::ok) return r;
    at = *dest;
    move_vma(k, mm, op, at);
  }
  Vma* moved = find_vma(mm, at);
  if (op.new_pages > op.old_pages && (moved->flags & VM_LOCKED))
    populate_range(k, mm, at + op.old_pages, at + op.new_pages, false);
  return Result::of(at);
}

}  // namespace
}  // namespace impl
