// Housekeeping after every op. The handlers change pages and PTEs and leave the
// consequences to these closure rules, each of which states one kernel invariant:
// an anon_vma belongs to a whole VMA, a PMD maps a whole aligned range of one folio
// inside one VMA, and memory nobody can reach any more is freed.

#include <set>

#include "model/state.hpp"

namespace model {
namespace {

void spread_anon_vma(State& s) {
  for (auto& [pid, proc] : s.procs)
    for (const Extent& e : extents(proc)) {
      bool any = false;
      for (Vpn v = e.start; v < e.end; ++v) any |= proc.pages.at(v).attrs.anon_vma;
      if (any)
        for (Vpn v = e.start; v < e.end; ++v) proc.pages.at(v).attrs.anon_vma = true;
    }
}

bool pmd_still_valid(const State& s, Pid pid, Vpn base) {
  const Process& proc = s.procs.at(pid);
  auto ext = extent_at(proc, base);
  if (!ext || ext->start > base || ext->end < base + s.hpage()) return false;
  const auto& first = proc.pages.at(base).pte;
  if (first && first->kind == Pte::Kind::zero && first->pmd) {  // the huge zero page
    for (uint64_t i = 0; i < s.hpage(); ++i) {
      const auto& pte = proc.pages.at(base + i).pte;
      if (!pte || pte->kind != Pte::Kind::zero || !pte->pmd) return false;
    }
    return true;
  }
  uint64_t folio = 0;
  for (uint64_t i = 0; i < s.hpage(); ++i) {
    const Page& page = proc.pages.at(base + i);
    if (!page.pte || page.pte->kind != Pte::Kind::present || !page.pte->pmd) return false;
    const Frame& f = s.frames.at(page.pte->frame);
    if (f.folio == 0 || f.folio_index != i || (i > 0 && f.folio != folio)) return false;
    folio = f.folio;
  }
  return true;
}

void drop_broken_pmds(State& s) {
  for (auto& [pid, proc] : s.procs) {
    std::set<Vpn> bases;
    for (const auto& [vpn, page] : proc.pages)
      if (page.pte && page.pte->pmd) bases.insert(vpn & ~(s.hpage() - 1));
    for (Vpn base : bases)
      if (!pmd_still_valid(s, pid, base)) split_pmd(s, pid, base);
  }
}

// PTE tables appear wherever a PTE (not a PMD) maps something, and are freed with the
// last VMA over their range (free_pgtables).
void track_page_tables(State& s) {
  const uint64_t h = s.hpage();
  for (auto& entry : s.procs) {
    Process& proc = entry.second;
    for (const auto& [vpn, page] : proc.pages)
      if (page.pte && !page.pte->pmd) proc.tables.insert(vpn & ~(h - 1));
    free_pgtables(s, proc);
  }
}


}  // namespace

void free_pgtables(const State& s, Process& proc) {
  const uint64_t h = s.hpage();
  std::erase_if(proc.tables, [&](Vpn base) {
    auto it = proc.pages.lower_bound(base);
    return it == proc.pages.end() || it->first >= base + h;
  });
}

void zap(State& s, Pid pid, Vpn vpn) {
  if (Page* page = s.page(pid, vpn)) page->pte.reset();
}

void split_folio(State& s, FrameId frame) {
  uint64_t folio = s.frames.at(frame).folio;
  if (folio == 0) return;
  for (auto& [id, f] : s.frames)
    if (f.folio == folio) f.folio = f.folio_index = 0;
  drop_broken_pmds(s);
}

void split_pmd_if_broken(State& s, Pid pid, Vpn vpn) {
  const Vpn base = vpn & ~(s.hpage() - 1);
  if (!pmd_still_valid(s, pid, base)) split_pmd(s, pid, base);
}

// The PMD becomes a PTE table mapping the same pages; the table stays when those PTEs
// are zapped later in the same op (reclaim splitting a folio, then unmapping its pages).
void split_pmd(State& s, Pid pid, Vpn vpn) {
  Vpn base = vpn & ~(s.hpage() - 1);
  bool split = false;
  for (Vpn v = base; v < base + s.hpage(); ++v)
    if (Page* page = s.page(pid, v); page && page->pte && page->pte->pmd) {
      page->pte->pmd = false;
      split = true;
    }
  if (split) s.procs.at(pid).tables.insert(base);
}

// Memory nobody can reach any more is freed: frames no PTE, cache, swap cache or pin
// holds, slots no PTE or shmem object names, shmem objects nothing maps.
void free_unreachable(State& s) {
  std::set<SlotId> live_slots;
  std::set<unsigned> live_shmem;
  std::set<FrameId> live_frames;
  for (const auto& [pid, proc] : s.procs)
    for (const auto& [vpn, page] : proc.pages) {
      if (page.attrs.backing == Backing::shmem) live_shmem.insert(page.attrs.object);
      if (!page.pte) continue;
      if (page.pte->kind == Pte::Kind::swap) live_slots.insert(page.pte->slot);
      if (page.pte->kind == Pte::Kind::present) live_frames.insert(page.pte->frame);
    }
  std::erase_if(s.shmem, [&](const auto& kv) { return !live_shmem.count(kv.first); });
  for (const auto& [id, obj] : s.shmem) {
    for (const auto& [pgoff, slot] : obj.swapped) live_slots.insert(slot);
    for (const auto& [pgoff, frame] : obj.cache) live_frames.insert(frame);
  }
  for (const File& file : s.files)
    for (const auto& [pgoff, frame] : file.cache) live_frames.insert(frame);
  for (const auto& [id, pin] : s.pins) live_frames.insert(pin.frame);
  std::erase_if(s.slots, [&](const auto& kv) { return !live_slots.count(kv.first); });
  std::erase_if(s.ksm_slots, [&](SlotId slot) { return !live_slots.count(slot); });
  std::set<uint64_t> live_folios;
  for (auto& [id, f] : s.frames) {
    if (f.swapcache && !live_slots.count(*f.swapcache)) f.swapcache.reset();
    if (f.swapcache) live_frames.insert(id);
    if (live_frames.count(id) && f.folio) live_folios.insert(f.folio);
  }
  // A large folio is freed as a whole, when its last page goes.
  std::erase_if(s.frames, [&](const auto& kv) {
    return !live_frames.count(kv.first) && !(kv.second.folio && live_folios.count(kv.second.folio));
  });
}

void tidy(State& s) {
  spread_anon_vma(s);
  drop_broken_pmds(s);
  track_page_tables(s);
  free_unreachable(s);
}

}  // namespace model
