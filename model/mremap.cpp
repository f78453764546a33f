// mremap with MREMAP_MAYMOVE, optionally MREMAP_FIXED ("to") and MREMAP_DONTUNMAP.
// Pages move with their PTEs; a moved VMA keeps its page offset and anon_vma. The
// result is the range's new vpn. Where a move needs a place, the model takes the
// highest free range, as a top-down mmap layout would. A range that moves has its KSM
// pages broken first, as the kernel's prep_move_vma does.

#include "model/state.hpp"

namespace model {
namespace {

using ops::Errno;
using ops::Result;

bool range_free(const Process& proc, Vpn start, Vpn end) {
  auto it = proc.pages.lower_bound(start);
  return it == proc.pages.end() || it->first >= end;
}

std::optional<Vpn> highest_free_range(const State& s, const Process& proc, uint64_t pages) {
  Vpn gap_end = s.limits.address_space;
  for (auto it = proc.pages.rbegin(); it != proc.pages.rend(); ++it) {
    if (gap_end - (it->first + 1) >= pages) return gap_end - pages;
    gap_end = it->first;
  }
  if (gap_end >= pages) return gap_end - pages;
  return std::nullopt;
}

// Adds pages [at, at + count) continuing the VMA whose last page has attributes
// `last` (a copy: inserting pages moves the others).
void extend(Process& proc, const Attrs last, Vpn at, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    Page& p = proc.pages[at + i];
    p.attrs = last;
    p.attrs.pgoff = last.pgoff + 1 + i;
  }
}

// Whether the huge PMD over `v` moves whole: only when the move covers it and keeps its
// alignment (move_huge_pmd); otherwise it is split in place first and its PTEs move.
bool pmd_moves_whole(const State& s, const ops::Mremap& op, uint64_t count, Vpn to, Vpn v) {
  const uint64_t h = s.hpage();
  const Vpn base = v & ~(h - 1);
  return base >= op.vpn && base + h <= op.vpn + count && (to - op.vpn) % h == 0;
}

// MREMAP_DONTUNMAP leaves the old VMA in place, not split: all of it loses VM_LOCKED
// (the VMA copy_vma merged the moved range into, when that was the old VMA itself),
// and one that was moved whole loses its anon_vma too (dontunmap_complete): its pages
// are gone, and a fork copies no page table for it any more.
void dontunmap_complete(Process& proc, const Extent& old_vma, Vpn from, uint64_t count) {
  const Extent vma = *extent_at(proc, from);
  const bool merged_into_old = vma.start != old_vma.start || vma.end != old_vma.end;
  const bool moved_whole = old_vma.start == from && old_vma.end == from + count;
  for (Vpn v = vma.start; v < vma.end; ++v) {
    Attrs& a = proc.pages.at(v).attrs;
    a.locked = false;
    if (moved_whole && !merged_into_old) {
      a.anon_vma = 0;
      a.fork_child = false;
    }
  }
}

// Moves [from, from + count) to `to`, grown to `new_pages` (copy_vma, then the page
// tables, then the old range goes): the new VMA merges with its neighbours at `to`
// where the rules allow, while the old VMA is still there.
void move_pages(State& s, Process& proc, const ops::Mremap& op, uint64_t count, Vpn to) {
  std::vector<Page> moved;
  for (Vpn v = op.vpn; v < op.vpn + count; ++v) {
    moved.push_back(proc.pages.at(v));
    // Split pages of the huge zero page would look like a whole one again at an aligned
    // target; pages of a large folio would not, but are split here all the same.
    if (Page& p = moved.back(); p.pte && p.pte->pmd && !pmd_moves_whole(s, op, count, to, v))
      p.pte->pmd = false;
  }
  const Attrs source = moved.front().attrs;
  // The target is unmapped first, its page tables freed where no VMA is left around
  // them (the source still is); that may cut the old VMA down to the range.
  unmap_range(s, proc, to, to + op.new_pages);
  free_pgtables(s, proc);
  const Extent old_vma = *extent_at(proc, op.vpn);
  // An anon VMA no fault has given an anon_vma takes the index of its new address, so
  // that it can merge there (copy_vma); one with an anon_vma keeps its index.
  const bool new_index = source.backing == Backing::anon && !source.shared && !source.anon_vma;
  const uint64_t vma = new_vma(s);
  for (uint64_t i = 0; i < count; ++i) {
    moved[i].attrs.vma = vma;
    if (new_index) moved[i].attrs.pgoff = to + i;
  }
  for (uint64_t i = 0; i < count; ++i) proc.pages[to + i] = moved[i];
  extend(proc, moved.back().attrs, to + count, op.new_pages - count);
  merge_new_range(s, proc, to, to + op.new_pages, &source);
  if (op.dontunmap) {
    // A PMD that did not move whole was split in place first: the old range keeps the
    // PTE table that split left, empty now.
    for (Vpn v = op.vpn; v < op.vpn + count; ++v)
      if (proc.pages.at(v).pte && proc.pages.at(v).pte->pmd && !pmd_moves_whole(s, op, count, to, v))
        proc.tables.insert(v & ~(s.hpage() - 1));
    for (Vpn v = op.vpn; v < op.vpn + count; ++v) proc.pages.at(v).pte.reset();
    dontunmap_complete(proc, old_vma, op.vpn, count);
  } else {
    unmap_range(s, proc, op.vpn, op.vpn + op.old_pages);
  }
}

// mremap of 0 old pages: a second mapping of the same shared object, from the offset
// at `vpn` on, at the highest free range (or `to`); the first stays as it was. Private
// mappings refuse it (a duplicate would share nothing).
Result duplicate_mapping(State& s, Process& proc, const ops::Mremap& op) {
  if (op.dontunmap) return Result::fail(Errno::einval);
  if (op.vpn >= s.limits.address_space || !extent_at(proc, op.vpn))
    return Result::fail(Errno::efault);
  const Attrs a = proc.pages.at(op.vpn).attrs;
  if (!a.shared) return Result::fail(Errno::einval);
  if (op.to) {  // MREMAP_FIXED unmaps the target first, even if that takes the source
    unmap_range(s, proc, *op.to, *op.to + op.new_pages);
    free_pgtables(s, proc);
    free_unreachable(s);
    if (!proc.pages.count(op.vpn)) return Result::fail(Errno::efault);
  }
  Process next = proc;
  auto dest = op.to ? op.to : highest_free_range(s, next, op.new_pages);
  if (!dest) return Result::fail(Errno::enomem);
  const uint64_t vma = new_vma(s);
  for (uint64_t i = 0; i < op.new_pages; ++i) {
    Page& p = next.pages[*dest + i];
    p.attrs = a;
    p.attrs.vma = vma;
    p.attrs.pgoff = a.pgoff + i;
  }
  merge_new_range(s, next, *dest, *dest + op.new_pages, &a);
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  proc = std::move(next);
  free_unreachable(s);
  if (a.locked) populate(s, op.pid, *dest, *dest + op.new_pages, false);
  return Result::of(*dest);
}

// How much of the old range must lie in the VMA at its start: all of it to grow; to
// move (`to`, `dontunmap`) only what is kept, since the tail is unmapped first; to
// shrink in place nothing beyond the start, since only the tail is unmapped.
uint64_t must_lie_in_one_vma(const ops::Mremap& op) {
  if (op.to || op.dontunmap) return std::min(op.old_pages, op.new_pages);
  return op.new_pages <= op.old_pages ? 1 : op.old_pages;
}

Result validate(const State& s, const ops::Mremap& op) {
  const uint64_t space = s.limits.address_space;
  if (op.new_pages == 0) return Result::fail(Errno::einval);
  if (op.dontunmap && op.old_pages != op.new_pages) return Result::fail(Errno::einval);
  if (op.to) {
    if (*op.to > space || op.new_pages > space - *op.to) return Result::fail(Errno::einval);
    if (*op.to < op.vpn + op.old_pages && op.vpn < *op.to + op.new_pages)
      return Result::fail(Errno::einval);
  }
  if (op.vpn > space || op.old_pages > space - op.vpn) return Result::fail(Errno::efault);
  const Process& proc = s.procs.at(op.pid);
  auto ext = extent_at(proc, op.vpn);
  if (!ext || ext->end < op.vpn + must_lie_in_one_vma(op)) return Result::fail(Errno::efault);
  return Result::ok();
}

Result remap_one(State& s, const ops::Mremap& op);

// MREMAP_FIXED without a change of size only moves (Linux 6.17+): the range may span
// several VMAs and holes, though not begin in a hole; each VMA moves to the target with
// the holes between them kept, one after the other. Found by the kernel oracle.
Result move_vmas(State& s, const ops::Mremap& op) {
  const uint64_t space = s.limits.address_space;
  if (*op.to > space || op.new_pages > space - *op.to) return Result::fail(Errno::einval);
  if (*op.to < op.vpn + op.old_pages && op.vpn < *op.to + op.new_pages)
    return Result::fail(Errno::einval);
  if (op.vpn > space || op.old_pages > space - op.vpn) return Result::fail(Errno::efault);
  std::vector<Extent> pieces;
  for (const Extent& e : extents(s.procs.at(op.pid)))
    if (e.end > op.vpn && e.start < op.vpn + op.old_pages)
      pieces.push_back({std::max(e.start, op.vpn), std::min(e.end, op.vpn + op.old_pages)});
  if (pieces.empty() || pieces.front().start > op.vpn) return Result::fail(Errno::efault);
  Vpn target = *op.to, last_end = op.vpn;
  for (const Extent& piece : pieces) {
    const uint64_t len = piece.end - piece.start;
    const Vpn dest = target + (piece.start - last_end);
    last_end = piece.end;
    Result r = remap_one(s, ops::Mremap{op.pid, piece.start, len, len, dest, op.dontunmap});
    if (r.kind != Result::Kind::value) return r;
    target = r.value + len;
  }
  return Result::of(*op.to);
}

// The address space after the op, in `next`, and where the range starts (`at`), or
// why it fails (changing nothing). `moves`: whether the range moves.
Result plan(State& s, const Process& proc, const ops::Mremap& op, Process& next, Vpn& at,
            bool& moves) {
  next = proc;
  const uint64_t kept = std::min(op.old_pages, op.new_pages);
  const Vpn old_end = op.vpn + op.old_pages, new_end = op.vpn + op.new_pages;
  at = op.vpn;
  moves = false;
  if (op.to || op.dontunmap) {
    unmap_range(s, next, op.vpn + kept, old_end);
    auto dest = op.to ? op.to : highest_free_range(s, next, op.new_pages);
    if (!dest) return Result::fail(Errno::enomem);
    at = *dest;
    move_pages(s, next, op, kept, at);
    moves = true;
  } else if (op.new_pages <= op.old_pages) {
    unmap_range(s, next, new_end, old_end);
  } else if (extent_at(next, op.vpn)->end == old_end && new_end <= s.limits.address_space &&
             range_free(next, old_end, new_end)) {
    // vma_merge_extend: the growth is a new range that the VMA itself takes in, and the
    // next VMA too where the rules allow.
    Attrs growth = next.pages.at(old_end - 1).attrs;
    growth.vma = new_vma(s);
    extend(next, growth, old_end, op.new_pages - op.old_pages);
    merge_new_range(s, next, old_end, new_end);
  } else {
    auto dest = highest_free_range(s, next, op.new_pages);
    if (!dest) return Result::fail(Errno::enomem);
    at = *dest;
    move_pages(s, next, op, kept, at);
    moves = true;
  }
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  return Result::ok();
}

}  // namespace

Result do_mremap(State& s, const ops::Mremap& op) {
  if (!s.proc(op.pid)) return Result::fail(Errno::esrch);
  if (op.to && op.old_pages == op.new_pages && op.old_pages > 0) return move_vmas(s, op);
  return remap_one(s, op);
}

namespace {

Result remap_one(State& s, const ops::Mremap& op) {
  Process* proc = s.proc(op.pid);
  if (op.old_pages == 0 && op.new_pages > 0) {
    if (op.to &&
        (*op.to > s.limits.address_space || op.new_pages > s.limits.address_space - *op.to))
      return Result::fail(Errno::einval);
    // The overlap check, with an old range of no length: `vpn` inside the target.
    if (op.to && *op.to < op.vpn && op.vpn < *op.to + op.new_pages)
      return Result::fail(Errno::einval);
    return duplicate_mapping(s, *proc, op);
  }
  if (op.old_pages == 0) return Result::fail(Errno::einval);
  if (Result r = validate(s, op); r.kind != Result::Kind::ok) return r;
  Process next;
  Vpn at = op.vpn;
  bool moves = false;
  if (Result r = plan(s, *proc, op, next, at, moves); r.kind != Result::Kind::ok) return r;
  if (moves && proc->pages.at(op.vpn).attrs.mergeable) {
    // KSM pages found by rmap at the addresses they were merged at must not move; on
    // ENOMEM the pages broken so far stay broken and nothing else changes.
    const Vpn kept_end = op.vpn + std::min(op.old_pages, op.new_pages);
    if (unmerge_range(s, op.pid, op.vpn, kept_end).kind != Result::Kind::ok)
      return Result::fail(Errno::enomem);
    if (Result r = plan(s, *proc, op, next, at, moves); r.kind != Result::Kind::ok)
      return r;  // over the copies
  }
  *proc = std::move(next);
  free_unreachable(s);  // what the move replaced is gone before the growth is populated
  if (op.new_pages > op.old_pages && proc->pages.at(at).attrs.locked)
    populate(s, op.pid, at + op.old_pages, at + op.new_pages, false);
  return Result::of(at);
}

}  // namespace
}  // namespace model
