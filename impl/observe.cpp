// The implementation's Observation, twice: frame classes read off the page tables, and
// frame classes found by rmap_walk over every in-use folio. Everything else (pages,
// states, swap) comes from the page tables in both.

#include <map>

#include "impl/folio.hpp"
#include "impl/kernel.hpp"
#include "impl/ksm_types.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

ops::VmaAttrs observed_attrs(const Vma* vma, Vpn v) {
  ops::VmaAttrs a;
  a.prot = ops::Prot((vma->flags & VM_READ ? ops::prot_read : 0) | (vma->flags & VM_WRITE ? ops::prot_write : 0) |
                     (vma->flags & VM_EXEC ? ops::prot_exec : 0));
  a.shared = vma->flags & VM_SHARED;
  a.kind = !vma->file ? ops::MapKind::anon : vma->file->shmem ? ops::MapKind::shmem : ops::MapKind::file;
  a.file = vma->file && !vma->file->shmem ? vma->file->object : 0;
  a.pgoff = vma->file ? vma->pgoff_of(v) : 0;
  a.locked = vma->flags & VM_LOCKED;
  a.dontfork = vma->flags & VM_DONTCOPY;
  a.wipeonfork = vma->flags & VM_WIPEONFORK;
  a.mergeable = vma->flags & VM_MERGEABLE;
  a.hugepage = vma->flags & VM_HUGEPAGE;
  return a;
}

ops::PteState observed_state(const Pte* pte) {
  if (!pte) return ops::PteState::none;
  switch (pte->kind) {
    case Pte::Kind::present: case Pte::Kind::migration: return ops::PteState::present;
    case Pte::Kind::zero: return ops::PteState::zero;
    case Pte::Kind::swap: return ops::PteState::swapped;
    case Pte::Kind::none: return ops::PteState::none;
  }
  return ops::PteState::none;
}

// A class's attributes from the implementation's own counters: mapcount from _mapcount
// and the entire mapcount, PMD-mapped from the entire mapcount, large-folio membership
// from the folio. `pages` are the class's mappings, however they were found.
ops::FrameClass describe_frame(Kernel& k, pfn_t pfn, const std::vector<ops::PageKey>& pages) {
  ops::FrameClass c;
  Folio* folio = pfn_folio(k, pfn);
  c.value = k.page(pfn).value;
  if (!folio) return c;  // a PTE to a free frame: the invariants say so
  c.kind = folio->ksm()    ? ops::FrameKind::ksm
           : folio->anon() ? ops::FrameKind::anon
           : folio->mapping && folio->mapping->shmem ? ops::FrameKind::shmem
                                                     : ops::FrameKind::file;
  c.mapcount = static_cast<unsigned>(page_mapcount(k.page(pfn)));
  c.pmd_mapped = folio->large() && folio_entire_mapcount(folio) > 0;
  c.mlocked = folio->mlocked();  // PG_mlocked, kept by the rmap and mlock_fixup
  // A large folio is mlocked only by its PMD mappings (mlock_vma_folio); a page of it
  // that a locked VMA maps by PTE is held there all the same: reclaim leaves it.
  if (folio->large())
    for (auto [pid, v] : pages) {
      const Vma* vma = find_vma(k.tasks.at(pid), v);
      c.mlocked |= vma && (vma->flags & VM_LOCKED);
    }
  c.folio = folio->large() ? static_cast<unsigned>(folio->id) : 0;
  for (const auto& [id, pin] : k.pins) c.pins += pin.pfn == pfn;
  return c;
}

// Pages, states and swap classes, plus the page -> frame map the page tables give.
ops::Observation observe_tables(Kernel& k, std::map<pfn_t, std::vector<ops::PageKey>>& by_pfn) {
  ops::Observation obs;
  std::map<uint64_t, ops::SwapClass> by_slot;
  for (const auto& [pid, mm] : k.tasks)
    for (const auto& [start, vma] : mm->mm_mt)
      for (Vpn v = vma->start; v < vma->end; ++v) {
        const Pte pte = follow_page(mm, v).pte;
        const Pte* shown = pte.kind == Pte::Kind::none ? nullptr : &pte;
        obs.pages.push_back({pid, v, observed_attrs(vma, v), observed_state(shown)});
        if (pte.kind == Pte::Kind::present) by_pfn[pte.pfn].emplace_back(pid, v);
        if (pte.kind == Pte::Kind::swap) by_slot[pte.slot].pages.emplace_back(pid, v);
      }
  for (auto& [slot, c] : by_slot) obs.swap.push_back(std::move(c));
  return obs;
}

void add_classes(Kernel& k, ops::Observation& obs, const std::map<pfn_t, std::vector<ops::PageKey>>& by_pfn) {
  for (const auto& [pfn, pages] : by_pfn) {
    ops::FrameClass c = describe_frame(k, pfn, pages);
    c.pages = pages;
    obs.frames.push_back(std::move(c));
  }
  ops::canonicalize(obs);
}

}  // namespace

ops::Observation Kernel::observe_page_tables() {
  std::map<pfn_t, std::vector<ops::PageKey>> by_pfn;
  ops::Observation obs = observe_tables(*this, by_pfn);
  add_classes(*this, obs, by_pfn);
  return obs;
}

ops::Observation Kernel::observe_rmap() {
  std::map<pfn_t, std::vector<ops::PageKey>> from_tables, by_pfn;
  ops::Observation obs = observe_tables(*this, from_tables);
  for (pfn_t pfn = 0; pfn < mem_map.size(); ++pfn) {
    Folio* folio = mem_map[pfn].folio;
    if (!folio || folio->freed || folio->pfn != pfn) continue;
    if (folio->anon_vma && folio->anon_vma->freed) continue;  // reported by the invariants
    if (folio->stable_node && folio->stable_node->freed) continue;
    for (pfn_t p = pfn; p < pfn + folio->nr_pages(); ++p) {
      auto pages = page_mappers_by_rmap(*this, folio, p);
      if (!pages.empty()) by_pfn[p] = std::move(pages);
    }
  }
  add_classes(*this, obs, by_pfn);
  return obs;
}

}  // namespace impl
