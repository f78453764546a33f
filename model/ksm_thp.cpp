// KSM and large folios. KSM, run to its fixpoint, leaves every eligible anon page of
// a given value on one read-only KSM frame. split breaks a large folio into small
// ones; collapse (MADV_COLLAPSE) builds a PMD-mapped large folio from a range.

#include <algorithm>
#include <map>

#include "model/state.hpp"

namespace model {
namespace {

using ops::Errno;
using ops::FrameKind;
using ops::Result;

// A page KSM may merge: anon, unpinned, and only mapped in mergeable VMAs (the model
// leaves a page alone if any mapping of it is outside a mergeable VMA).
bool ksm_eligible(const State& s, FrameId id) {
  const Frame& f = s.frames.at(id);
  if (f.kind != FrameKind::anon && f.kind != FrameKind::ksm) return false;
  if (folio_pinned(s, id)) return false;
  for (auto [pid, vpn] : mappers(s, id))
    if (!s.procs.at(pid).pages.at(vpn).attrs.mergeable) return false;
  return true;
}

// Every frame of the group leaves the swap cache, the one kept included: which of the
// equal pages KSM keeps depends on its scan order, and this way nothing observable
// does. (The kernel leaves each page in the swap cache; a later swap-in of such a slot
// then finds that page, where the model reads the slot afresh.)
void merge_into(State& s, FrameId target, const std::vector<FrameId>& group) {
  for (FrameId id : group) split_folio(s, id);
  for (FrameId id : group) {
    for (auto [pid, vpn] : mappers(s, id)) s.procs.at(pid).pages.at(vpn).pte = Pte{Pte::Kind::present, target};
    s.frames.at(id).swapcache.reset();
  }
  Frame& t = s.frames.at(target);
  t.kind = FrameKind::ksm;
  t.exclusive = t.lazyfree = false;
}

bool pmd_mapped_whole(const State& s, Pid pid, Vpn base) {
  const Process& proc = s.procs.at(pid);
  for (Vpn v = base; v < base + s.hpage(); ++v) {
    const auto& pte = proc.pages.at(v).pte;
    if (!pte || !pte->pmd) return false;
  }
  return true;
}

Result collapse_one(State& s, Pid pid, Vpn base) {
  Process& proc = s.procs.at(pid);
  if (pmd_mapped_whole(s, pid, base)) return Result::ok();
  if (!proc.tables.count(base)) return Result::fail(Errno::einval);  // pmd_none: nothing to collapse
  std::vector<uint64_t> values;
  for (Vpn v = base; v < base + s.hpage(); ++v) {
    const auto& pte = proc.pages.at(v).pte;
    uint64_t value = 0;
    if (pte && pte->kind == Pte::Kind::present) {
      if (folio_pinned(s, pte->frame)) return Result::fail(Errno::eagain);
      if (s.frames.at(pte->frame).kind == FrameKind::ksm) return Result::fail(Errno::einval);
      value = s.frames.at(pte->frame).value;
    }
    if (pte && pte->kind == Pte::Kind::swap) value = s.slots.at(pte->slot);
    values.push_back(value);
  }
  if (!s.huge_page_available(pid, base)) return Result::fail(Errno::enomem);
  uint64_t folio = s.next_folio++;
  for (uint64_t i = 0; i < s.hpage(); ++i) {
    FrameId id = s.alloc_frame(FrameKind::anon, values[i]);
    Frame& f = s.frames.at(id);
    f.exclusive = true;
    f.folio = folio;
    f.folio_index = i;
    Page& page = proc.pages.at(base + i);
    page.pte = Pte{Pte::Kind::present, id, 0, true};
  }
  proc.tables.erase(base);  // the PMD replaces the PTE table
  return Result::ok();
}

}  // namespace

// The large folio KSM splits next, if any. A page merges when the scan (processes in
// KSM's scan order, pages by address; KSM pages first) meets it after an equal one;
// merging splits the large folio of the page met second, then of the first
// (try_to_merge_one_page). A split maps the folio's zero-filled pages to the zero
// page, which may leave a later page with nothing equal to merge with, so its folio is
// never split: one split at a time, in scan order.
std::optional<FrameId> next_ksm_split(const State& s) {
  std::map<uint64_t, FrameId> first;
  for (const auto& [id, f] : s.frames)
    if (f.kind == FrameKind::ksm && !mappers(s, id).empty()) first.try_emplace(f.value, id);
  for (Pid pid : s.ksm_scan_order)
    for (const auto& [vpn, page] : s.procs.at(pid).pages) {
      if (!page.pte || page.pte->kind != Pte::Kind::present || !ksm_eligible(s, page.pte->frame)) continue;
      const FrameId id = page.pte->frame;
      const auto [it, fresh] = first.try_emplace(s.frames.at(id).value, id);
      if (fresh || it->second == id) continue;
      if (s.frames.at(id).folio) return id;
      if (s.frames.at(it->second).folio) return it->second;
    }
  return std::nullopt;
}

void ksm_enter(State& s, Pid pid) {
  if (std::find(s.ksm_scan_order.begin(), s.ksm_scan_order.end(), pid) == s.ksm_scan_order.end())
    s.ksm_scan_order.push_back(pid);
}

Result do_ksm(State& s) {
  while (auto id = next_ksm_split(s)) split_folio(s, *id);
  std::map<uint64_t, std::vector<FrameId>> by_value;
  for (const auto& [id, f] : s.frames)
    if (!mappers(s, id).empty() && ksm_eligible(s, id)) by_value[f.value].push_back(id);
  for (auto& [value, group] : by_value) {
    if (group.size() < 2) continue;
    FrameId target = group.front();
    for (FrameId id : group)
      if (s.frames.at(id).kind == FrameKind::ksm) target = id;
    merge_into(s, target, group);
  }
  return Result::ok();
}

// break_ksm faults each KSM page in the range (handle_mm_fault): the copy's allocation
// may use what the op freed so far (a KSM page broken earlier whose last mapping that
// was) and direct reclaim, like any fault.
Result unmerge_range(State& s, Pid pid, Vpn start, Vpn end) {
  auto ksm_page_at = [&](Vpn v) {
    const auto& pte = s.procs.at(pid).pages.at(v).pte;
    return pte && pte->kind == Pte::Kind::present && s.frames.at(pte->frame).kind == FrameKind::ksm;
  };
  for (Vpn v = start; v < end; ++v) {
    if (!ksm_page_at(v)) continue;
    s.touch(s.procs.at(pid).pages.at(v).pte->frame);
    if (s.no_free_frame()) return Result::fail(Errno::enomem);
    auto& pte = s.procs.at(pid).pages.at(v).pte;
    FrameId copy = s.alloc_frame(FrameKind::anon, s.frames.at(pte->frame).value);
    s.frames.at(copy).exclusive = true;
    pte = Pte{Pte::Kind::present, copy};
  }
  return Result::ok();
}

Result do_split(State& s, const ops::Split& op) {
  if (!s.proc(op.pid)) return Result::fail(Errno::esrch);
  Page* page = s.page(op.pid, op.vpn);
  if (!page) return Result::fail(Errno::efault);
  if (!page->pte || page->pte->kind != Pte::Kind::present) return Result::fail(Errno::enoent);
  FrameId id = page->pte->frame;
  if (s.frames.at(id).folio == 0) return Result::fail(Errno::einval);
  if (folio_pinned(s, id)) return Result::fail(Errno::ebusy);
  split_folio(s, id);
  return Result::ok();
}

// MADV_COLLAPSE of one VMA's part of the range. A VMA that holds no aligned huge range
// is refused outright (thp_vma_allowable_order); a busy range (EAGAIN) lets the walk go
// on to the next one, any other failure ends it.
Result collapse_range(State& s, Pid pid, Vpn start, Vpn end) {
  const uint64_t h = s.hpage();
  const Extent vma = *extent_at(s.procs.at(pid), start);
  if (((vma.start + h - 1) & ~(h - 1)) + h > vma.end) return Result::fail(Errno::einval);
  // Nor will it collapse in a VMA no anon fault has prepared an anon_vma for.
  if (!s.procs.at(pid).pages.at(start).attrs.anon_vma) return Result::fail(Errno::einval);
  // A range within one huge page that touches neither of its ends counts as a failure
  // (the kernel's count of huge ranges goes negative there); one that starts on a
  // boundary and holds no huge range is fine.
  const Vpn hstart = (start + h - 1) & ~(h - 1), hend = end & ~(h - 1);
  if (hend < hstart) return Result::fail(Errno::einval);
  Result last = Result::ok();
  for (Vpn base = hstart; base + h <= end; base += h) {
    Result r = collapse_one(s, pid, base);
    if (r.kind == Result::Kind::ok) continue;
    last = r;
    if (r.err != Errno::eagain) break;
  }
  return last;
}

}  // namespace model
