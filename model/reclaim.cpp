// Reclaim, MADV_PAGEOUT and migration. Which frames `reclaim N` takes is the
// implementation's choice, handed in as facts; the model checks each one is legal
// before applying it. Standing alone, the model takes the oldest legal frames.

#include <fmt/format.h>

#include <algorithm>

#include "model/state.hpp"

namespace model {
namespace {

using ops::Errno;
using ops::FrameKind;
using ops::FrameRef;
using ops::Result;

std::optional<FrameId> resolve(const State& s, const FrameRef& ref) {
  using Kind = FrameRef::Kind;
  const std::map<uint64_t, FrameId>* cache = nullptr;
  if (ref.kind == Kind::mapped || ref.kind == Kind::swapcache) {
    auto pit = s.procs.find(ref.pid);
    if (pit == s.procs.end()) return std::nullopt;
    auto it = pit->second.pages.find(ref.vpn);
    if (it == pit->second.pages.end() || !it->second.pte) return std::nullopt;
    const Pte& pte = *it->second.pte;
    if (ref.kind == Kind::mapped)
      return pte.kind == Pte::Kind::present ? std::optional(pte.frame) : std::nullopt;
    for (const auto& [id, f] : s.frames)
      if (pte.kind == Pte::Kind::swap && f.swapcache == pte.slot) return id;
    return std::nullopt;
  }
  if (ref.kind == Kind::filecache && ref.object < s.files.size()) cache = &s.files[ref.object].cache;
  if (ref.kind == Kind::shmemcache && s.shmem.count(ref.object)) cache = &s.shmem.at(ref.object).cache;
  if (!cache || !cache->count(ref.pgoff)) return std::nullopt;
  return cache->at(ref.pgoff);
}

bool needs_slot(const Frame& f) {
  if (f.kind == FrameKind::shmem) return f.dirty;  // a clean shmem page holds zeros: dropped
  return (f.kind == FrameKind::anon || f.kind == FrameKind::ksm) && !f.lazyfree && !f.swapcache;
}

std::optional<std::string> illegal(const State& s, FrameId id) {
  if (folio_pinned(s, id)) return "the frame is pinned";
  // LRU reclaim unmaps a large folio as a whole, and try_to_unmap gives up at a mapping
  // in a VM_LOCKED VMA: a folio any page of which is mlocked keeps all its pages.
  if (folio_mlocked(s, id)) return "the frame's folio is mlocked";
  if (needs_slot(s.frames.at(id)) && s.slots.size() >= s.limits.swap_slots) return "no swap slot is free";
  return std::nullopt;
}

SlotId new_slot(State& s, uint64_t value) {
  SlotId slot = s.next_slot++;
  s.slots[slot] = value;
  return slot;
}

void unmap_all(State& s, FrameId id, std::optional<SlotId> swap_to) {
  for (auto [pid, vpn] : mappers(s, id)) {
    auto& pte = s.procs.at(pid).pages.at(vpn).pte;
    if (swap_to) pte = Pte{Pte::Kind::swap, 0, *swap_to};
    else pte.reset();
  }
}

// Removes the frame from whichever page cache holds it: a file page is written back, a
// dirty shmem page goes to swap, a clean one is simply dropped.
void drop_from_cache(State& s, FrameId id, const Frame& f) {
  const uint64_t value = f.value;
  for (File& file : s.files)
    for (auto it = file.cache.begin(); it != file.cache.end(); ++it)
      if (it->second == id) {
        file.disk[it->first] = value;  // written back
        file.cache.erase(it);
        return;
      }
  for (auto& [obj_id, obj] : s.shmem)
    for (auto it = obj.cache.begin(); it != obj.cache.end(); ++it)
      if (it->second == id) {
        if (f.dirty) obj.swapped[it->first] = new_slot(s, value);
        obj.cache.erase(it);
        return;
      }
}

void reclaim_id(State& s, FrameId id) {
  const bool was_mapped = !mappers(s, id).empty();
  split_folio(s, id);  // large folios are split before they go to swap
  if (was_mapped && mappers(s, id).empty()) return;  // the split mapped it to the zero page
  Frame f = s.frames.at(id);
  if ((f.kind == FrameKind::anon || f.kind == FrameKind::ksm) && f.lazyfree) {
    unmap_all(s, id, std::nullopt);  // clean lazyfree memory is simply dropped
  } else if (f.kind == FrameKind::anon || f.kind == FrameKind::ksm) {
    SlotId slot = f.swapcache ? *f.swapcache : new_slot(s, f.value);
    s.slots[slot] = f.value;
    if (f.kind == FrameKind::ksm) s.ksm_slots.insert(slot);
    unmap_all(s, id, slot);
  } else {
    unmap_all(s, id, std::nullopt);
    drop_from_cache(s, id, f);
  }
  s.frames.at(id).swapcache.reset();
}

bool only_mapped_here(const State& s, FrameId id, Pid pid, Vpn start, Vpn end) {
  for (FrameId m : folio_frames(s, id))
    for (auto [p, v] : mappers(s, m))
      if (p != pid || v < start || v >= end) return false;
  return true;
}

}  // namespace

namespace {

// The next pending fact, applied, and what it freed freed at once (so that the next
// fact finds its slot and frame state current); false when there is none or it was
// illegal. Callers free what the op left unreachable before the first one.
bool take_fact(State& s) {
  if (s.pending_facts.empty() || s.fact_error) return false;
  const FrameRef ref = s.pending_facts.front();
  s.pending_facts.pop_front();
  if (auto why = reclaim_frame(s, ref)) {
    s.fact_error = fmt::format("impl reclaimed {}, which is illegal: {}", ops::frame_ref_text(ref), *why);
    return false;
  }
  free_unreachable(s);
  return true;
}

}  // namespace

bool State::no_free_frames(uint64_t n) {
  // The kernel frees a page the moment its last reference goes; the model at the end of
  // the op. Where it matters, mid-op, catch up first (frames and swap slots alike).
  if (free_frames() < n) free_unreachable(*this);
  while (free_frames() < n && take_fact(*this)) {}
  if (free_frames() >= n) return false;
  ran_out_of_frames = true;
  return true;
}

bool State::huge_page_available(Pid pid, Vpn vpn) {
  if (free_frames() < hpage()) free_unreachable(*this);
  if (free_frames() < hpage()) return false;
  if (pending_fallbacks.empty() || pending_fallbacks.front() != ops::HugeFallbackFact{pid, vpn}) return true;
  const ops::HugeFallbackFact fact = pending_fallbacks.front();
  pending_fallbacks.pop_front();
  // Every aligned block of H frames that holds a free frame must hold a frame that
  // cannot move (a pinned small page), or compaction would have emptied it; frames
  // outside whole blocks (frames % H of them) never make a huge page.
  uint64_t pinned = 0;
  for (const auto& [id, f] : frames) pinned += f.folio == 0 && frame_pinned(*this, id);
  const uint64_t stranded = pinned * (hpage() - 1) + limits.frames % hpage();
  if (stranded < free_frames() && !fact_error)
    fact_error = fmt::format("impl reported {}, but {} frames are free and only {} pinned pages could keep them apart",
                             ops::huge_fallback_text(fact), free_frames(), pinned);
  return false;
}

void apply_pending_facts(State& s) {
  if (s.pending_facts.empty() || s.fact_error) return;
  free_unreachable(s);  // a slot freed earlier in the op is free for these facts
  while (take_fact(s)) {}
}

std::optional<std::string> reclaim_frame(State& s, const FrameRef& ref) {
  auto id = resolve(s, ref);
  if (!id) return fmt::format("no frame is at {}", ops::frame_ref_text(ref));
  if (auto why = illegal(s, *id)) return *why;
  reclaim_id(s, *id);
  return std::nullopt;
}

namespace {

// How a fact would name the frame: a page mapping it, a swap PTE naming the slot it
// caches, or its place in a page cache.
std::optional<FrameRef> ref_of(const State& s, FrameId id) {
  using Kind = FrameRef::Kind;
  if (auto m = mappers(s, id); !m.empty()) return FrameRef{Kind::mapped, m[0].first, m[0].second, 0, 0};
  const Frame& f = s.frames.at(id);
  for (const auto& [pid, proc] : s.procs)
    for (const auto& [vpn, page] : proc.pages)
      if (f.swapcache && page.pte && page.pte->kind == Pte::Kind::swap && page.pte->slot == *f.swapcache)
        return FrameRef{Kind::swapcache, pid, vpn, 0, 0};
  for (unsigned file = 0; file < s.files.size(); ++file)
    for (const auto& [pgoff, fid] : s.files[file].cache)
      if (fid == id) return FrameRef{Kind::filecache, 0, 0, file, pgoff};
  for (const auto& [obj, shm] : s.shmem)
    for (const auto& [pgoff, fid] : shm.cache)
      if (fid == id) return FrameRef{Kind::shmemcache, 0, 0, obj, pgoff};
  return std::nullopt;
}

// Whether reclaim passes the folio of `id` over: the fault at `held` holds it (a large
// folio cannot be split for reclaim while the fault path has a reference on it), or,
// for direct reclaim, the op used a page of it.
bool spared(const State& s, FrameId id, std::optional<FrameId> held, bool direct) {
  for (FrameId member : folio_frames(s, id))
    if (member == held || (direct && s.touched_this_op(member))) return true;
  return false;
}

}  // namespace

std::optional<FrameRef> reclaim_candidate(const State& s, std::optional<ops::PageKey> held_at, bool direct) {
  const std::optional<FrameId> held = held_at ? frame_held_by_fault(s, *held_at) : std::nullopt;
  for (const auto& [id, f] : s.frames) {
    if (illegal(s, id) || spared(s, id, held, direct)) continue;
    if (auto ref = ref_of(s, id)) return ref;
  }
  return std::nullopt;
}

Result do_reclaim(State& s, const ops::Reclaim& op) {
  if (!s.options.own_reclaim_policy) return Result::ok();
  std::vector<FrameId> oldest_first;
  for (const auto& [id, f] : s.frames) oldest_first.push_back(id);
  uint64_t done = 0;
  for (FrameId id : oldest_first) {
    if (done == op.frames) break;
    if (!s.frames.count(id) || illegal(s, id)) continue;
    reclaim_id(s, id);
    ++done;
  }
  return Result::ok();
}

// Whether the range maps fewer pages of the large folio of `id` than it has: a folio
// partly unmapped (MADV_DONTNEED of some of its pages) is split before it is paged out,
// even when the range covers every page still mapped.
bool partly_mapped(const State& s, FrameId id, Pid pid, Vpn start, Vpn end) {
  const std::vector<FrameId> members = folio_frames(s, id);
  size_t mapped_here = 0;
  for (FrameId m : members)
    for (auto [p, v] : mappers(s, m)) mapped_here += p == pid && v >= start && v < end;
  return mapped_here < members.size();
}

// An anon large folio that cannot go to swap whole (no slot: add_to_swap fails) is split
// all the same, and its pages stay where they are (shrink_folio_list's fallback).
bool split_without_swap(State& s, FrameId id) {
  const Frame& f = s.frames.at(id);
  if (!f.folio || f.kind != FrameKind::anon || f.lazyfree || folio_pinned(s, id) || frame_mlocked(s, id)) return false;
  if (!needs_slot(f) || s.slots.size() < s.limits.swap_slots) return false;
  split_folio(s, id);
  return true;
}

// MADV_PAGEOUT reclaims the pages in range that only this mapping uses. A page-cache
// page it cannot write out (a dirty file page: only kswapd writes file pages back; a
// dirty shmem page with no swap slot) is unmapped all the same and stays in its cache.
Result pageout_range(State& s, Pid pid, Vpn start, Vpn end) {
  for (Vpn v = start; v < end; ++v) {
    const auto& pte = s.procs.at(pid).pages.at(v).pte;
    if (!pte || pte->kind != Pte::Kind::present) continue;
    FrameId id = pte->frame;
    if (!only_mapped_here(s, id, pid, start, end) || (s.frames.at(id).folio && partly_mapped(s, id, pid, start, end))) {
      if (!s.frames.at(id).folio || folio_pinned(s, id)) continue;
      split_folio(s, id);
      const auto& now = s.procs.at(pid).pages.at(v).pte;
      if (!now || now->kind != Pte::Kind::present || !only_mapped_here(s, id, pid, start, end)) continue;
    }
    if (split_without_swap(s, id)) continue;
    const Frame& f = s.frames.at(id);
    const bool cannot_write_out = (f.kind == FrameKind::file || f.kind == FrameKind::shmem) && f.dirty &&
                                  (f.kind == FrameKind::file || illegal(s, id));
    if (cannot_write_out && !folio_pinned(s, id) && !frame_mlocked(s, id)) unmap_all(s, id, std::nullopt);
    else if (!illegal(s, id)) reclaim_id(s, id);
  }
  return Result::ok();
}

Result do_migrate(State& s, const ops::Migrate& op) {
  if (!s.proc(op.pid)) return Result::fail(Errno::esrch);
  Page* page = s.page(op.pid, op.vpn);
  if (!page) return Result::fail(Errno::efault);
  // move_pages(2) answers EFAULT for the zero page (it is no frame of the process's).
  if (page->pte && page->pte->kind == Pte::Kind::zero) return Result::fail(Errno::efault);
  if (!page->pte || page->pte->kind != Pte::Kind::present) return Result::fail(Errno::enoent);
  if (folio_pinned(s, page->pte->frame)) return Result::fail(Errno::ebusy);
  if (s.frames.at(page->pte->frame).folio) {
    if (!s.huge_page_available(op.pid, op.vpn)) return Result::fail(Errno::enomem);
  } else if (s.no_free_frame()) {  // after direct reclaim, which passes the source over
    return Result::fail(Errno::enomem);
  }
  return Result::ok();  // a new frame with the same content, mappings and folio: nothing visible changes
}

}  // namespace model
