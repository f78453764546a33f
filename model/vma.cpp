// Where the model's VMA boundaries are. Every page names its VMA by a number; a VMA is
// the run of pages with one number. The boundaries come from the kernel's own rules
// (mm/vma.c as of Linux 6.18), applied naively by looking at the pages on either side:
// nothing about them comes from the implementation or the kernel under test.
//
// The rules, in the model's words:
// - Two neighbouring VMAs merge only when an op edits or creates one of them, never on
//   their own: a boundary stays until an op with the right shape removes it.
// - They must agree on every flag (prot, sharing, backing, locked, dontfork,
//   wipeonfork, mergeable, hugepage, nohugepage, VM_ACCOUNT), on the file, and on
//   the offset: the second must continue the first's.
// - Their anon_vmas must agree: the same one; or one side has none and the side that
//   has one is not a fork child (its anon_vma then covers the merged VMA). A VMA that
//   mremap copies keeps the forked state of the VMA it came from.

#include <fmt/format.h>

#include <set>

#include "model/state.hpp"

namespace model {
namespace {

// A VMA as the merge rules see it: its extent and its first page's attributes.
struct VmaView {
  Vpn start = 0, end = 0;
  Attrs attrs;
  uint64_t pgoff_end() const { return attrs.pgoff + (end - start); }
};

std::optional<VmaView> vma_at(const Process& proc, Vpn vpn) {
  auto ext = extent_at(proc, vpn);
  if (!ext) return std::nullopt;
  return VmaView{ext->start, ext->end, proc.pages.at(ext->start).attrs};
}

// The VMA that ends exactly at `at`, and the one that begins exactly there.
std::optional<VmaView> vma_ending_at(const Process& proc, Vpn at) {
  if (at == 0) return std::nullopt;
  auto v = vma_at(proc, at - 1);
  return v && v->end == at ? v : std::nullopt;
}

std::optional<VmaView> vma_starting_at(const Process& proc, Vpn at) {
  auto v = vma_at(proc, at);
  return v && v->start == at ? v : std::nullopt;
}

void for_pages(Process& proc, Vpn start, Vpn end, const std::function<void(Attrs&)>& fn) {
  for (auto it = proc.pages.lower_bound(start); it != proc.pages.end() && it->first < end; ++it)
    fn(it->second.attrs);
}

// is_mergeable_anon_vma: `target` is the VMA that stays; `src_anon` the anon_vma the
// range brings (`src` the VMA it is part of, `copied_from` the VMA mremap copies it
// from, either may be missing).
bool anon_vma_mergeable(const Attrs& target, uint64_t src_anon, const Attrs* src, const Attrs* copied_from) {
  auto fork_child = [](const Attrs* a) { return a && a->anon_vma && a->fork_child; };
  if (!target.anon_vma && src_anon) return !fork_child(src) && !fork_child(copied_from);
  if (target.anon_vma && !src_anon) return !target.fork_child;
  return target.anon_vma == src_anon;
}

// Merging with both neighbours also needs their two anon_vmas to agree.
bool anon_vmas_compatible(const Attrs& a, const Attrs& b) {
  return !a.anon_vma || !b.anon_vma || a.anon_vma == b.anon_vma;
}

// The range [start, end) as vma_merge_*_range proposes it: `range` has its flags, its
// first offset and the anon_vma it brings; `src` is the VMA it is part of (an edit),
// `copied_from` the VMA mremap copies it from.
struct Proposal {
  Vpn start, end;
  const Attrs& range;
  const Attrs* src;
  const Attrs* copied_from;
};

bool can_merge_left(const Proposal& p, const std::optional<VmaView>& prev) {
  return prev && prev->attrs.same_flags(p.range) && prev->pgoff_end() == p.range.pgoff &&
         anon_vma_mergeable(prev->attrs, p.range.anon_vma, p.src, p.copied_from);
}

bool can_merge_right(const Proposal& p, const std::optional<VmaView>& next, const std::optional<VmaView>& prev,
                     bool left) {
  return next && next->attrs.same_flags(p.range) && next->attrs.pgoff == p.range.pgoff + (p.end - p.start) &&
         anon_vma_mergeable(next->attrs, p.range.anon_vma, p.src, p.copied_from) &&
         (!left || anon_vmas_compatible(prev->attrs, next->attrs));
}

// Makes [lo, hi) one VMA numbered `vma` whose anon_vma is the first of `candidates`
// that has one (dup_anon_vma: the merged VMA takes over an anon_vma brought in).
void join(Process& proc, Vpn lo, Vpn hi, uint64_t vma, std::initializer_list<const Attrs*> candidates) {
  uint64_t anon = 0;
  bool forked = false;
  for (const Attrs* c : candidates)
    if (c && c->anon_vma) {
      anon = c->anon_vma;
      forked = c->fork_child;
      break;
    }
  for_pages(proc, lo, hi, [&](Attrs& a) {
    a.vma = vma;
    a.anon_vma = anon;
    a.fork_child = forked;
  });
}

// Merges the proposal with `prev` and/or `next` as decided; [p.start, p.end) must hold
// the new flags already.
void commit_merge(Process& proc, const Proposal& p, const std::optional<VmaView>& prev, bool left,
                  const std::optional<VmaView>& next, bool right) {
  const Vpn lo = left ? prev->start : p.start, hi = right ? next->end : p.end;
  const VmaView& target = left ? *prev : *next;
  join(proc, lo, hi, target.attrs.vma, {&target.attrs, &p.range, right && left ? &next->attrs : nullptr});
}

// anon_vma_compatible: whether `b`, right after `a`, could share its anon_vma.
bool anon_vma_compatible(const VmaView& a, const VmaView& b) {
  Attrs ignoring_access = b.attrs;
  ignoring_access.prot = a.attrs.prot;
  return a.end == b.start && a.attrs.same_flags(ignoring_access) && b.attrs.pgoff == a.pgoff_end();
}

// reusable_anon_vma: `old`'s anon_vma, if `old` has its own (not a fork child's) and
// `a` and `b` are compatible.
uint64_t reusable_anon_vma(const VmaView& old, const VmaView& a, const VmaView& b) {
  if (!anon_vma_compatible(a, b) || !old.attrs.anon_vma || old.attrs.fork_child) return 0;
  return old.attrs.anon_vma;
}

}  // namespace

uint64_t new_vma(State& s) { return s.next_vma++; }

void split_vma(State& s, Process& proc, Vpn at) {
  if (at == 0) return;
  auto below = proc.pages.find(at - 1), above = proc.pages.find(at);
  if (below == proc.pages.end() || above == proc.pages.end()) return;
  if (!below->second.attrs.continues_with(above->second.attrs)) return;
  const uint64_t old = above->second.attrs.vma, fresh = new_vma(s);
  for (auto it = above; it != proc.pages.end() && it->second.attrs.vma == old; ++it) it->second.attrs.vma = fresh;
}

void unmap_range(State& s, Process& proc, Vpn start, Vpn end) {
  if (start >= end) return;
  split_vma(s, proc, start);
  split_vma(s, proc, end);
  proc.pages.erase(proc.pages.lower_bound(start), proc.pages.lower_bound(end));
}

void merge_new_range(State&, Process& proc, Vpn start, Vpn end, const Attrs* copied_from) {
  const Attrs fresh = proc.pages.at(start).attrs;
  const Proposal p{start, end, fresh, nullptr, copied_from};
  const auto prev = vma_ending_at(proc, start), next = vma_starting_at(proc, end);
  const bool left = can_merge_left(p, prev);
  const bool right = can_merge_right(p, next, prev, left);
  if (left || right) commit_merge(proc, p, prev, left, next, right);
}

void modify_range(State& s, Process& proc, Vpn start, Vpn end, const std::function<void(Attrs&)>& edit) {
  const VmaView middle = *vma_at(proc, start);
  Attrs flags = middle.attrs;
  edit(flags);
  if (flags.same_flags(middle.attrs)) return;
  flags.pgoff = proc.pages.at(start).attrs.pgoff;
  const Proposal p{start, end, flags, &middle.attrs, nullptr};
  const auto prev = start == middle.start ? vma_ending_at(proc, start) : std::nullopt;
  const auto next = end == middle.end ? vma_starting_at(proc, end) : std::nullopt;
  const bool left = can_merge_left(p, prev);
  const bool right = can_merge_right(p, next, prev, left);
  // The range becomes a VMA of its own; what stays of the middle VMA outside it keeps
  // its anon_vma. Then the range joins a neighbour where the rules allow.
  split_vma(s, proc, start);
  split_vma(s, proc, end);
  for_pages(proc, start, end, edit);
  if (left || right) commit_merge(proc, p, prev, left, next, right);
}

bool modify_vmas(State& s, Process& proc, Vpn start, Vpn end, const std::function<void(Attrs&)>& edit) {
  for (Vpn v = start; v < end;) {
    auto vma = vma_at(proc, v);
    if (!vma) return false;
    const Vpn piece_end = std::min(vma->end, end);
    modify_range(s, proc, v, piece_end, edit);
    v = piece_end;
  }
  return true;
}

void anon_vma_prepare(State& s, Pid pid, Vpn vpn) {
  Process& proc = s.procs.at(pid);
  const VmaView vma = *vma_at(proc, vpn);
  if (vma.attrs.anon_vma) return;
  // find_mergeable_anon_vma looks at the next VMA first, then the previous one.
  uint64_t anon = 0;
  if (auto next = vma_starting_at(proc, vma.end)) anon = reusable_anon_vma(*next, vma, *next);
  if (!anon)
    if (auto prev = vma_ending_at(proc, vma.start)) anon = reusable_anon_vma(*prev, *prev, vma);
  if (!anon) anon = s.next_anon_vma++;
  for_pages(proc, vma.start, vma.end, [&](Attrs& a) {
    a.anon_vma = anon;
    a.fork_child = false;
  });
}

std::optional<std::string> check_vmas(const State& s) {
  for (const auto& [pid, proc] : s.procs) {
    std::set<uint64_t> seen;
    const std::pair<Vpn, Page>* prev = nullptr;
    for (const auto& entry : proc.pages) {
      const Attrs& a = entry.second.attrs;
      const bool continues = prev && prev->first + 1 == entry.first && prev->second.attrs.vma == a.vma;
      if (continues && !(prev->second.attrs.same_flags(a) && prev->second.attrs.pgoff + 1 == a.pgoff &&
                         prev->second.attrs.anon_vma == a.anon_vma &&
                         prev->second.attrs.fork_child == a.fork_child))
        return fmt::format("pid {}: the pages of VMA {} differ at {:#x}", pid, a.vma, entry.first);
      if (!continues && !seen.insert(a.vma).second)
        return fmt::format("pid {}: VMA {} is in two pieces, the second at {:#x}", pid, a.vma, entry.first);
      if (a.vma == 0) return fmt::format("pid {}: page {:#x} has no VMA", pid, entry.first);
      prev = &entry;
    }
  }
  return std::nullopt;
}

}  // namespace model
