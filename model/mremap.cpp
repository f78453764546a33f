// mremap with MREMAP_MAYMOVE, optionally MREMAP_FIXED ("to") and MREMAP_DONTUNMAP.
// Pages move with their PTEs; a moved VMA keeps its page offset and anon_vma. The
// result is the range's new vpn. Where a move needs a place, the model takes the
// highest free range, as a top-down mmap layout would.

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

// Adds pages [at, at + count) continuing the VMA whose last page is `last`.
void extend(Process& proc, const Page& last, Vpn at, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    Page& p = proc.pages[at + i];
    p.attrs = last.attrs;
    p.attrs.pgoff = last.attrs.pgoff + 1 + i;
  }
}

// Moves [from, from + count) to `to`, then grows the moved VMA to `new_pages`.
void move_pages(const State& s, Process& proc, const ops::Mremap& op, uint64_t count, Vpn to) {
  std::vector<Page> moved;
  for (Vpn v = op.vpn; v < op.vpn + count; ++v) moved.push_back(proc.pages.at(v));
  // The target is unmapped first, its page tables freed where no VMA is left around
  // them (the source still is), then the pages move, then the source goes.
  proc.pages.erase(proc.pages.lower_bound(to), proc.pages.lower_bound(to + op.new_pages));
  free_pgtables(s, proc);
  if (op.dontunmap) {
    // A huge PMD moves whole only when the move covers it and keeps its alignment
    // (move_huge_pmd); otherwise it was split in place first, and the old range keeps
    // the PTE table that split left, empty now.
    const uint64_t h = s.hpage();
    for (Vpn v = op.vpn; v < op.vpn + count; ++v) {
      const Vpn base = v & ~(h - 1);
      const bool whole = base >= op.vpn && base + h <= op.vpn + count && (to - op.vpn) % h == 0;
      if (proc.pages.at(v).pte && proc.pages.at(v).pte->pmd && !whole) proc.tables.insert(base);
    }
    for (Vpn v = op.vpn; v < op.vpn + count; ++v) {
      proc.pages.at(v).pte.reset();
      proc.pages.at(v).attrs.locked = false;
    }
  } else {
    proc.pages.erase(proc.pages.lower_bound(op.vpn), proc.pages.lower_bound(op.vpn + op.old_pages));
  }
  for (uint64_t i = 0; i < count; ++i) proc.pages[to + i] = moved[i];
  extend(proc, moved.back(), to + count, op.new_pages - count);
}

Result validate(const State& s, const ops::Mremap& op) {
  const uint64_t space = s.limits.address_space;
  if (op.old_pages == 0 || op.new_pages == 0) return Result::fail(Errno::einval);
  if (op.dontunmap && op.old_pages != op.new_pages) return Result::fail(Errno::einval);
  if (op.to) {
    if (*op.to > space || op.new_pages > space - *op.to) return Result::fail(Errno::einval);
    if (*op.to < op.vpn + op.old_pages && op.vpn < *op.to + op.new_pages)
      return Result::fail(Errno::einval);
  }
  if (op.vpn > space || op.old_pages > space - op.vpn) return Result::fail(Errno::efault);
  const Process& proc = s.procs.at(op.pid);
  auto ext = extent_at(proc, op.vpn);
  if (!ext || ext->end < op.vpn + op.old_pages) return Result::fail(Errno::efault);
  const Attrs& a = proc.pages.at(op.vpn).attrs;
  if (op.dontunmap && (a.backing != Backing::anon || a.shared)) return Result::fail(Errno::einval);
  return Result::ok();
}

}  // namespace

Result do_mremap(State& s, const ops::Mremap& op) {
  Process* proc = s.proc(op.pid);
  if (!proc) return Result::fail(Errno::esrch);
  if (Result r = validate(s, op); r.kind != Result::Kind::ok) return r;
  Process next = *proc;
  const uint64_t kept = std::min(op.old_pages, op.new_pages);
  const Vpn old_end = op.vpn + op.old_pages, new_end = op.vpn + op.new_pages;
  Vpn at = op.vpn;
  if (op.to || op.dontunmap) {
    next.pages.erase(next.pages.lower_bound(op.vpn + kept), next.pages.lower_bound(old_end));
    auto dest = op.to ? op.to : highest_free_range(s, next, op.new_pages);
    if (!dest) return Result::fail(Errno::enomem);
    at = *dest;
    move_pages(s, next, op, kept, at);
  } else if (op.new_pages <= op.old_pages) {
    next.pages.erase(next.pages.lower_bound(new_end), next.pages.lower_bound(old_end));
  } else if (extent_at(next, op.vpn)->end == old_end && new_end <= s.limits.address_space &&
             range_free(next, old_end, new_end)) {
    extend(next, next.pages.at(old_end - 1), old_end, op.new_pages - op.old_pages);
  } else {
    auto dest = highest_free_range(s, next, op.new_pages);
    if (!dest) return Result::fail(Errno::enomem);
    at = *dest;
    move_pages(s, next, op, kept, at);
  }
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  *proc = std::move(next);
  free_unreachable(s);  // what the move replaced is gone before the growth is populated
  use_layout_after_edit(s);
  if (op.new_pages > op.old_pages && proc->pages.at(at).attrs.locked)
    populate(s, op.pid, at + op.old_pages, at + op.new_pages, false);
  return Result::of(at);
}

}  // namespace model
