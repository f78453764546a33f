// Housekeeping after every op. The handlers change pages and PTEs and leave the
// consequences to these closure rules, each of which states one kernel invariant:
// a PMD maps a whole aligned range of one folio inside one VMA, and memory nobody can
// reach any more is freed.

#include <algorithm>
#include <optional>
#include <vector>

#include "model/state.hpp"

namespace model {
namespace {

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
  std::vector<Vpn> bases;  // in order, as the pages are
  for (auto& [pid, proc] : s.procs) {
    bases.clear();
    for (const auto& [vpn, page] : proc.pages)
      if (page.pte && page.pte->pmd && (bases.empty() || bases.back() != (vpn & ~(s.hpage() - 1))))
        bases.push_back(vpn & ~(s.hpage() - 1));
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
    std::optional<Vpn> last;
    for (const auto& [vpn, page] : proc.pages)
      if (page.pte && !page.pte->pmd && last != (vpn & ~(h - 1))) proc.tables.insert(*(last = vpn & ~(h - 1)));
    free_pgtables(s, proc);
  }
}


}  // namespace

void free_pgtables(const State& s, Process& proc) {
  const uint64_t h = s.hpage();
  erase_if(proc.tables, [&](Vpn base) {
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
  std::vector<FrameId> members;
  for (auto& [id, f] : s.frames)
    if (f.folio == folio) {
      f.folio = f.folio_index = 0;
      members.push_back(id);
    }
  drop_broken_pmds(s);
  map_unused_to_zeropage(s, members);
}

// Linux 6.12+: splitting an anon large folio maps each of its pages that holds only
// zeros to the shared zero page instead (remove_migration_ptes with
// RMP_USE_SHARED_ZEROPAGE), except in a locked VMA or when the folio was mlocked; the
// page itself is then freed. `members` are the pages the split made.
void map_unused_to_zeropage(State& s, const std::vector<FrameId>& members) {
  const bool mlocked = std::any_of(members.begin(), members.end(), [&](FrameId id) { return frame_mlocked(s, id); });
  if (mlocked) return;
  for (FrameId id : members) {
    const Frame& f = s.frames.at(id);
    if (f.kind != ops::FrameKind::anon || f.value != 0) continue;
    for (auto [pid, vpn] : mappers(s, id)) {
      Page& page = s.procs.at(pid).pages.at(vpn);
      if (!page.attrs.locked) page.pte = Pte{Pte::Kind::zero};
    }
  }
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

namespace {

// Marks of liveness beside a flat map's entries, found by key.
template <class Map>
class Marks {
 public:
  explicit Marks(const Map& m) : map_(m), live_(m.size(), false) {}
  void mark(uint64_t key) {
    auto it = map_.lower_bound(key);
    if (it != map_.end() && it->first == key) live_[size_t(it - map_.begin())] = true;
  }
  bool live(uint64_t key) const {
    auto it = map_.lower_bound(key);
    return it != map_.end() && it->first == key && live_[size_t(it - map_.begin())];
  }
  // Live or not, by position in the map.
  std::vector<bool>& by_position() { return live_; }

 private:
  const Map& map_;
  std::vector<bool> live_;
};

}  // namespace

// Memory nobody can reach any more is freed: frames no PTE, cache, swap cache or pin
// holds, slots no PTE or shmem object names, shmem objects nothing maps.
void free_unreachable(State& s) {
  Marks frames(s.frames);
  Marks slots(s.slots);
  std::vector<unsigned> live_shmem;
  for (const auto& [pid, proc] : s.procs)
    for (const auto& [vpn, page] : proc.pages) {
      if (page.attrs.backing == Backing::shmem &&
          std::find(live_shmem.begin(), live_shmem.end(), page.attrs.object) == live_shmem.end())
        live_shmem.push_back(page.attrs.object);
      if (!page.pte) continue;
      if (page.pte->kind == Pte::Kind::swap) slots.mark(page.pte->slot);
      if (page.pte->kind == Pte::Kind::present) frames.mark(page.pte->frame);
    }
  std::erase_if(s.shmem, [&](const auto& kv) {
    return std::find(live_shmem.begin(), live_shmem.end(), kv.first) == live_shmem.end();
  });
  for (const auto& [id, obj] : s.shmem) {
    for (const auto& [pgoff, slot] : obj.swapped) slots.mark(slot);
    for (const auto& [pgoff, frame] : obj.cache) frames.mark(frame);
  }
  for (const File& file : s.files)
    for (const auto& [pgoff, frame] : file.cache) frames.mark(frame);
  for (const auto& [id, pin] : s.pins) frames.mark(pin.frame);
  std::erase_if(s.ksm_slots, [&](SlotId slot) { return !slots.live(slot); });
  for (auto& [id, f] : s.frames) {
    if (f.swapcache && !slots.live(*f.swapcache)) f.swapcache.reset();
    if (f.swapcache) frames.mark(id);
  }
  s.slots.keep_only(slots.by_position());
  // A large folio is freed as a whole, when its last page goes.
  std::vector<uint64_t> live_folios;
  for (const auto& [id, f] : s.frames)
    if (f.folio && frames.live(id) && (live_folios.empty() || live_folios.back() != f.folio))
      live_folios.push_back(f.folio);
  std::vector<bool>& keep = frames.by_position();
  for (size_t i = 0; i < keep.size(); ++i) {
    const uint64_t folio = (s.frames.begin() + std::ptrdiff_t(i))->second.folio;
    keep[i] = keep[i] || (folio && std::find(live_folios.begin(), live_folios.end(), folio) != live_folios.end());
  }
  s.frames.keep_only(keep);
}

void tidy(State& s) {
  drop_broken_pmds(s);
  track_page_tables(s);
  free_unreachable(s);
}

}  // namespace model
