// The implementation's Observation, twice: frame classes read off the page tables, and
// frame classes found by rmap_walk over every in-use folio. Everything else (pages,
// states, swap) comes from the page tables in both. This is the harness's side of
// impl: nothing in the mm code calls it.

#include <algorithm>

#include "impl/folio.hpp"
#include "impl/kernel.hpp"
#include "impl/ksm_types.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "impl/vma.hpp"
#include "ops/observation_writer.hpp"

namespace impl {
namespace {

ops::VmaAttrs observed_attrs(const Vma* vma) {
  ops::VmaAttrs a;
  a.prot = ops::Prot((vma->flags & VM_READ ? ops::prot_read : 0) | (vma->flags & VM_WRITE ? ops::prot_write : 0) |
                     (vma->flags & VM_EXEC ? ops::prot_exec : 0));
  a.shared = vma->flags & VM_SHARED;
  a.kind = !vma->file ? ops::MapKind::anon : vma->file->shmem ? ops::MapKind::shmem : ops::MapKind::file;
  a.file = vma->file && !vma->file->shmem ? vma->file->object : 0;
  a.locked = vma->flags & VM_LOCKED;
  a.dontfork = vma->flags & VM_DONTCOPY;
  a.wipeonfork = vma->flags & VM_WIPEONFORK;
  a.mergeable = vma->flags & VM_MERGEABLE;
  a.hugepage = vma->flags & VM_HUGEPAGE;
  a.nohugepage = vma->flags & VM_NOHUGEPAGE;
  a.account = vma->flags & VM_ACCOUNT;
  return a;
}

ops::PteState observed_state(Pte::Kind kind) {
  switch (kind) {
    case Pte::Kind::present: case Pte::Kind::migration: return ops::PteState::present;
    case Pte::Kind::zero: return ops::PteState::zero;
    case Pte::Kind::swap: return ops::PteState::swapped;
    case Pte::Kind::none: return ops::PteState::none;
  }
  return ops::PteState::none;
}

// A class's attributes from the implementation's own counters: mapcount from _mapcount
// and the entire mapcount, PMD-mapped from the entire mapcount, large-folio membership
// from the folio. The pages are added by the caller, however it found them.
void describe_frame(Kernel& k, pfn_t pfn, ops::FrameClass& c, unsigned folio_label) {
  Folio* folio = pfn_folio(k, pfn);
  c.value = k.page(pfn).value;
  if (!folio) return;  // a PTE to a free frame: the invariants say so
  c.kind = folio->ksm()    ? ops::FrameKind::ksm
           : folio->anon() ? ops::FrameKind::anon
           : folio->mapping && folio->mapping->shmem ? ops::FrameKind::shmem
                                                     : ops::FrameKind::file;
  c.mapcount = static_cast<unsigned>(page_mapcount(k.page(pfn)));
  c.pmd_mapped = folio->large() && folio_entire_mapcount(folio) > 0;
  c.mlocked = folio->mlocked();  // PG_mlocked, kept by the rmap and mlock_fixup
  c.folio = folio_label;
  for (const auto& [id, pin] : k.pins) c.pins += pin.pfn == pfn;
}

// A large folio is mlocked only by its PMD mappings (mlock_vma_folio); a page of it
// that a locked VMA maps by PTE is held there all the same: reclaim leaves it.
void add_mapping(Kernel& k, pfn_t pfn, const Vma* vma, ops::FrameClass& c) {
  const Folio* folio = pfn_folio(k, pfn);
  if (folio && folio->large()) c.mlocked |= (vma->flags & VM_LOCKED) != 0;
}

unsigned folio_label(Kernel& k, pfn_t pfn, ops::ObservationWriter& w) {
  const Folio* folio = pfn_folio(k, pfn);
  return folio && folio->large() ? w.folio_label(folio->id) : 0;
}

// Walks every page of every VMA in (pid, vpn) order: pages, states and swap classes,
// and for each present page fn(pfn, pid, vpn, vma).
template <class Fn>
void walk_page_tables(Kernel& k, ops::ObservationWriter& w, Fn fn) {
  for (const auto& [pid, mm] : k.tasks)
    for (const auto& [start, vma] : mm->mm_mt) {
      w.vma({pid, vma->start, vma->end, vma->anon_vma != nullptr,
             vma->anon_vma != nullptr && vma->anon_vma_chain.size() > 1});
      ops::VmaAttrs attrs = observed_attrs(vma);
      for (Vpn v = vma->start; v < vma->end; ++v) {
        const Pte pte = follow_page(mm, v).pte;
        attrs.pgoff = vma->file ? vma->pgoff_of(v) : 0;
        w.page(pid, v, attrs, observed_state(pte.kind));
        if (pte.kind == Pte::Kind::present) fn(pte.pfn, pid, v, vma);
        if (pte.kind == Pte::Kind::swap) w.swap(pte.slot, {pid, v});
      }
    }
}

}  // namespace

void Kernel::observe_page_tables(ops::Observation& out) {
  ops::ObservationWriter w(out, observe_scratch);
  observed_pfns.clear();
  walk_page_tables(*this, w, [&](pfn_t pfn, Pid pid, Vpn v, const Vma* vma) {
    bool fresh = false;
    ops::FrameClass& c = w.map(pfn, {pid, v}, fresh);
    if (fresh) {
      describe_frame(*this, pfn, c, folio_label(*this, pfn, w));
      observed_pfns.push_back(pfn);
    }
    add_mapping(*this, pfn, vma, c);
  });
  if (!w.finish()) return;
  // The walk was out of order and the classes were sorted: find each one's frame again.
  observed_pfns.clear();
  for (const ops::FrameClass& c : out.frames)
    observed_pfns.push_back(follow_page(tasks.at(c.pages.front().first), c.pages.front().second).pte.pfn);
}

ops::Observation Kernel::observe_page_tables() {
  ops::Observation out;
  observe_page_tables(out);
  return out;
}

void Kernel::rmap_mappers(pfn_t pfn, std::vector<ops::PageKey>& out) {
  out.clear();
  Folio* folio = pfn_folio(*this, pfn);
  if (!folio || folio->freed) return;
  if (folio->anon_vma && folio->anon_vma->freed) return;  // reported by the invariants
  if (folio->stable_node && folio->stable_node->freed) return;
  page_mappers_by_rmap(*this, folio, pfn, out);
  std::sort(out.begin(), out.end());
}

ops::Observation Kernel::observe_rmap() {
  ops::Observation out;
  ops::ObservationWriter w(out, observe_scratch);
  walk_page_tables(*this, w, [](pfn_t, Pid, Vpn, const Vma*) {});
  for (pfn_t pfn = 0; pfn < mem_map.size(); ++pfn) {
    Folio* folio = mem_map[pfn].folio;
    if (!folio || folio->freed || folio->pfn != pfn) continue;
    std::vector<ops::PageKey> pages;
    for (pfn_t p = pfn; p < pfn + folio->nr_pages(); ++p) {
      rmap_mappers(p, pages);
      if (pages.empty()) continue;
      bool fresh = false;
      ops::FrameClass& c = w.map(p, pages.front(), fresh);
      describe_frame(*this, p, c, folio_label(*this, p, w));
      c.pages.insert(c.pages.end(), pages.begin() + 1, pages.end());
      for (auto [pid, v] : pages)
        if (auto task = tasks.find(pid); task != tasks.end())
          if (const Vma* vma = find_vma(task->second, v)) add_mapping(*this, p, vma, c);
    }
  }
  w.finish();
  return out;
}

}  // namespace impl
