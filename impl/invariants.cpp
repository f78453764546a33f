// The implementation's own invariants, checked by the runner after every op. Each
// check recomputes by brute force what the implementation keeps incrementally.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "impl/folio.hpp"
#include "impl/kernel.hpp"
#include "impl/ksm.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/swap.hpp"
#include "impl/rmap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using Report = std::vector<std::string>;

std::string vma_text(const Vma* v) {
  return fmt::format("vma {} [{:#x},{:#x}) of pid {}", v->id, v->start, v->end, v->mm->pid);
}

void check_trees(Kernel& k, Report& out) {
  k.anon_vmas.for_each_live([&](AnonVma& av) {
    if (auto why = av.rb_root.verify()) out.push_back(fmt::format("anon_vma {} tree: {}", av.id, *why));
  });
  k.spaces.for_each_live([&](AddressSpace& as) {
    if (auto why = as.i_mmap.verify()) out.push_back(fmt::format("i_mmap of {}: {}", as.object, *why));
  });
}

void check_anon_vma_counters(Kernel& k, Report& out) {
  std::map<const AnonVma*, unsigned> children, active, root_refs;
  k.anon_vmas.for_each_live([&](AnonVma& av) {
    children[av.parent]++;
    if (av.root != &av) root_refs[av.root]++;
    if (av.root->freed || av.parent->freed) out.push_back(fmt::format("anon_vma {} links to a freed root or parent", av.id));
  });
  k.vmas.for_each_live([&](Vma& v) {
    if (v.anon_vma) active[v.anon_vma]++;
  });
  k.anon_vmas.for_each_live([&](AnonVma& av) {
    int refs = (av.rb_root.empty() ? 0 : 1) + static_cast<int>(root_refs[&av]);
    if (av.num_children != children[&av])
      out.push_back(fmt::format("anon_vma {} num_children {} but {} children", av.id, av.num_children, children[&av]));
    if (av.num_active_vmas != active[&av])
      out.push_back(fmt::format("anon_vma {} num_active_vmas {} but {} VMAs use it", av.id, av.num_active_vmas, active[&av]));
    if (av.refcount != refs)
      out.push_back(fmt::format("anon_vma {} refcount {} but {} references", av.id, av.refcount, refs));
  });
}

void check_vma(MmStruct* mm, Vma* v, Report& out) {
  if (v->freed) return out.push_back(fmt::format("pid {} maps a freed VMA", mm->pid));
  if (v->mm != mm || v->start >= v->end || mm->mm_mt.at(v->start) != v)
    out.push_back(fmt::format("{} is not where its mm keeps it", vma_text(v)));
  if (v->file && !v->file->i_mmap.contains(*v)) out.push_back(fmt::format("{} missing from i_mmap", vma_text(v)));
  std::set<const AnonVma*> chained;
  for (AnonVmaChain* avc : v->anon_vma_chain) {
    if (avc->freed || avc->anon_vma->freed) {
      out.push_back(fmt::format("{} chains to a freed avc or anon_vma", vma_text(v)));
      continue;
    }
    chained.insert(avc->anon_vma);
    if (avc->vma != v || !avc->anon_vma->rb_root.contains(*avc))
      out.push_back(fmt::format("{}: avc {} not in its anon_vma's tree", vma_text(v), avc->id));
    if (avc->anon_vma->root != v->anon_vma_chain.front()->anon_vma->root)
      out.push_back(fmt::format("{} chains anon_vmas of different roots", vma_text(v)));
  }
  if (v->anon_vma && !chained.count(v->anon_vma)) out.push_back(fmt::format("{}: own anon_vma not on its chain", vma_text(v)));
  if (!v->anon_vma && !v->anon_vma_chain.empty()) out.push_back(fmt::format("{}: a chain but no anon_vma", vma_text(v)));
}

void check_vmas(Kernel& k, Report& out) {
  std::map<const AnonVma*, std::set<const AnonVma*>> chain_of;
  for (const auto& [pid, mm] : k.tasks) {
    Vpn prev_end = 0;
    for (const auto& [start, v] : mm->mm_mt) {
      check_vma(mm, v, out);
      if (start < prev_end) out.push_back(fmt::format("{} overlaps the VMA before it", vma_text(v)));
      prev_end = v->end;
      if (!v->anon_vma || v->freed) continue;
      std::set<const AnonVma*> chain;
      for (AnonVmaChain* avc : v->anon_vma_chain) chain.insert(avc->anon_vma);
      auto [it, fresh] = chain_of.emplace(v->anon_vma, chain);
      if (!fresh && it->second != chain)
        out.push_back(fmt::format("{} shares anon_vma {} with a VMA whose chain differs", vma_text(v), v->anon_vma->id));
    }
  }
  k.anon_vmas.for_each_live([&](AnonVma& av) {
    for (AnonVmaChain& avc : av.rb_root) {
      bool linked = !avc.freed && !avc.vma->freed &&
                    std::count(avc.vma->anon_vma_chain.begin(), avc.vma->anon_vma_chain.end(), &avc);
      if (!linked) out.push_back(fmt::format("anon_vma {} tree holds avc {} that no live VMA chains", av.id, avc.id));
    }
  });
}

// Every mapped page: rmap must be able to find this mapping from the folio.
void check_mapping_reachable(Vma* v, Vpn vpn, Folio* folio, pfn_t pfn, Report& out) {
  if (folio->ksm()) return;  // through its stable node instead: check_ksm
  uint64_t index = folio->index + (pfn - folio->pfn);
  if (folio->anon()) {
    if (folio->anon_vma->freed)
      return out.push_back(fmt::format("folio {} mapped at ({},{:#x}) names freed anon_vma {}", folio->id,
                                       v->mm->pid, vpn, folio->anon_vma->id));
    bool chained = std::any_of(v->anon_vma_chain.begin(), v->anon_vma_chain.end(),
                               [&](AnonVmaChain* avc) { return avc->anon_vma == folio->anon_vma; });
    if (!chained)
      out.push_back(fmt::format("anon folio {} at ({},{:#x}): its anon_vma {} is not on {}'s chain", folio->id,
                                v->mm->pid, vpn, folio->anon_vma->id, vma_text(v)));
  } else if (folio->mapping != v->file) {
    out.push_back(fmt::format("file folio {} at ({},{:#x}) belongs to another mapping", folio->id, v->mm->pid, vpn));
  }
  if (index != linear_page_index(v, vpn))
    out.push_back(fmt::format("folio {} index {} but mapped at ({},{:#x}) whose linear index is {}", folio->id,
                              index, v->mm->pid, vpn, linear_page_index(v, vpn)));
}

// What the page tables say each folio's counters must be, recomputed by scanning.
// Counts per folio sit at its head page's frame number.
struct Mappings {
  explicit Mappings(size_t frames) : ptes(frames), pmds(frames), locked(frames), pins(frames) {}
  std::vector<int> ptes;         // PTE mappings per page
  std::vector<int> pmds;         // PMD mappings per (large) folio
  std::vector<unsigned> locked;  // mappings that mlock: see folio_add_rmap_*
  std::vector<int> pins;         // long-term pins per folio
  std::map<pfn_t, std::map<const MmStruct*, int>> per_mm;  // large folios only
};

// Huge PMDs: each maps a whole aligned range of one VMA, a large folio from its head
// (or the huge zero page, in a private anon VMA); PMD kinds match their table.
void check_pmds(Kernel& k, MmStruct* mm, Mappings& m, Report& out) {
  for (uint64_t i = 0; i < mm->pgd.size(); ++i) {
    const Pmd& pmd = mm->pgd[i];
    const Vpn base = i * mm->pmd_pages;
    if ((pmd.kind == Pmd::Kind::table) != (pmd.table != nullptr))
      out.push_back(fmt::format("pid {} PMD {:#x}: kind and PTE table disagree", mm->pid, base));
    if (pmd.kind == Pmd::Kind::migration)
      out.push_back(fmt::format("pid {} PMD {:#x}: a migration entry left behind", mm->pid, base));
    if (!pmd_trans_huge(&pmd)) continue;
    Vma* v = find_vma(mm, base);
    if (!v || v->end < base + mm->pmd_pages) {
      out.push_back(fmt::format("pid {} huge PMD {:#x} is not inside one VMA", mm->pid, base));
      continue;
    }
    if (pmd.kind == Pmd::Kind::zero) {
      if (v->file || (v->flags & VM_SHARED) || !v->anon_vma)
        out.push_back(fmt::format("pid {} huge zero PMD {:#x} in {} (not private anon with an anon_vma)", mm->pid,
                                  base, vma_text(v)));
      continue;
    }
    Folio* folio = pfn_folio(k, pmd.pfn);
    if (!folio || folio->freed || folio->pfn != pmd.pfn || folio->order != k.limits.hpage_order) {
      out.push_back(fmt::format("pid {} huge PMD {:#x} maps frame {}, not the head of a huge folio", mm->pid, base,
                                pmd.pfn));
      continue;
    }
    m.pmds[folio->pfn]++;
    m.per_mm[folio->pfn][mm]++;
    if (v->flags & VM_LOCKED) m.locked[folio->pfn]++;
    check_mapping_reachable(v, base, folio, folio->pfn, out);
  }
}

void check_ptes(Kernel& k, MmStruct* mm, Vma* v, Mappings& m, Report& out) {
  for (Vpn vpn = v->start; vpn < v->end; ++vpn) {
    const Pte* pte = pte_offset(mm, vpn);
    if (!pte || pte->kind != Pte::Kind::present) continue;
    Folio* folio = pfn_folio(k, pte->pfn);
    if (!folio || folio->freed) {
      out.push_back(fmt::format("PTE ({},{:#x}) maps free frame {}", mm->pid, vpn, pte->pfn));
      continue;
    }
    m.ptes[pte->pfn]++;
    if (folio->large()) m.per_mm[folio->pfn][mm]++;
    else if (v->flags & VM_LOCKED) m.locked[folio->pfn]++;
    check_mapping_reachable(v, vpn, folio, pte->pfn, out);
  }
}

// A large folio's counters against the page tables: entire mapcount == PMD maps,
// large mapcount == all maps, nr_pages_mapped == pages some PTE maps, the per-MM
// counts, the deferred split queue, and AnonExclusive of a PMD mapping.
void check_large_folio(Kernel& k, Folio* folio, Mappings& m, Report& out) {
  int pte_maps = 0;
  unsigned pages_mapped = 0;
  for (pfn_t p = folio->pfn; p < folio->pfn + folio->nr_pages(); ++p) {
    pte_maps += m.ptes[p];
    pages_mapped += m.ptes[p] > 0;
  }
  const int pmds = m.pmds[folio->pfn];
  if (folio_entire_mapcount(folio) != pmds)
    out.push_back(fmt::format("folio {} entire mapcount {} but {} PMDs map it", folio->id,
                              folio_entire_mapcount(folio), pmds));
  if (folio_mapcount(k, folio) != pte_maps + pmds)
    out.push_back(fmt::format("folio {} large mapcount {} but {} PTEs and {} PMDs map it", folio->id,
                              folio_mapcount(k, folio), pte_maps, pmds));
  if (folio->nr_pages_mapped != pages_mapped)
    out.push_back(fmt::format("folio {} nr_pages_mapped {} but PTEs map {} of its pages", folio->id,
                              folio->nr_pages_mapped, pages_mapped));
  std::map<const MmStruct*, int> counted(folio->mm_mapcount.begin(), folio->mm_mapcount.end());
  if (counted != m.per_mm[folio->pfn] || counted.size() != folio->mm_mapcount.size())
    out.push_back(fmt::format("folio {} per-MM mapcounts differ from the page tables", folio->id));
  const bool partial = pmds == 0 && pages_mapped > 0 && pages_mapped < folio->nr_pages();
  const bool queued = std::count(k.deferred_split_queue.begin(), k.deferred_split_queue.end(), folio) == 1;
  if (queued != folio->partially_mapped)
    out.push_back(fmt::format("folio {} partially_mapped {} but {} the deferred split queue", folio->id,
                              folio->partially_mapped, queued ? "on" : "not on"));
  if (folio->anon() && partial && !folio->partially_mapped)
    out.push_back(fmt::format("folio {} is partly mapped but not on the deferred split queue", folio->id));
  if (pmds > 0 && k.page(folio->pfn).anon_exclusive && pte_maps + pmds != 1)
    out.push_back(fmt::format("folio {} is AnonExclusive by its PMD but mapped {} times", folio->id, pte_maps + pmds));
  if (!folio->anon() || folio->order != k.limits.hpage_order)
    out.push_back(fmt::format("folio {} of order {} is not an anon huge folio", folio->id, folio->order));
}

void check_pages(Kernel& k, Report& out) {
  Mappings m(k.mem_map.size());
  for (const auto& [pid, mm] : k.tasks) {
    check_pmds(k, mm, m, out);
    for (const auto& [start, v] : mm->mm_mt)
      if (!v->freed) check_ptes(k, mm, v, m, out);
  }
  for (const auto& [id, pin] : k.pins) {
    if (pin.folio->freed) out.push_back(fmt::format("pin {} holds freed folio {}", id, pin.folio->id));
    else m.pins[pin.folio->pfn]++;
  }
  uint64_t used = 0;
  for (pfn_t pfn = 0; pfn < k.mem_map.size(); ++pfn) {
    const Page& page = k.mem_map[pfn];
    if (bool in_use = page.folio != nullptr; in_use != k.frames.in_use(pfn))
      out.push_back(fmt::format("frame {} is {} but the allocator says otherwise", pfn, in_use ? "in use" : "free"));
    if (!page.folio) continue;
    ++used;
    if (page.mapcount + 1 != m.ptes[pfn])
      out.push_back(fmt::format("page {} _mapcount {} but {} PTEs map it", pfn, page.mapcount + 1, m.ptes[pfn]));
    if (page.anon_exclusive && m.ptes[pfn] > 1)
      out.push_back(fmt::format("page {} is AnonExclusive but {} PTEs map it", pfn, m.ptes[pfn]));
    Folio* folio = page.folio;
    if (folio->pfn != pfn) continue;
    if (folio->large()) check_large_folio(k, folio, m, out);
    int mapped = m.pmds[pfn];
    for (pfn_t p = pfn; p < pfn + folio->nr_pages(); ++p) mapped += m.ptes[p];
    const int cached = folio_in_page_cache(folio) ? static_cast<int>(folio->nr_pages()) : 0;
    const int swapcache = folio->swap ? static_cast<int>(folio->nr_pages()) : 0;
    if (folio->refcount != mapped + cached + swapcache + m.pins[pfn])
      out.push_back(fmt::format("folio {} refcount {} but {} mappings, {} page cache, {} swap cache and {} pin references",
                                folio->id, folio->refcount, mapped, cached, swapcache, m.pins[pfn]));
    if (folio->mlock_count != m.locked[pfn])
      out.push_back(fmt::format("folio {} mlock_count {} but {} mappings from locked VMAs", folio->id,
                                folio->mlock_count, m.locked[pfn]));
    if (static_cast<int>(folio->pincount) != m.pins[pfn])
      out.push_back(fmt::format("folio {} pincount {} but {} pins", folio->id, folio->pincount, m.pins[pfn]));
  }
  if (used + k.frames.free_frames() + k.frames.reserved() != k.frames.total())
    out.push_back(fmt::format("frames: {} in use + {} free + {} reserved != {} total", used, k.frames.free_frames(),
                              k.frames.reserved(), k.frames.total()));
  for (auto& why : k.frames.problems()) out.push_back("page allocator: " + why);
  for (const Folio* f : k.deferred_split_queue)
    if (f->freed || !f->large() || !f->anon())
      out.push_back(fmt::format("deferred split queue holds folio {}, which is not a live anon large folio", f->id));
}

void check_page_cache(Kernel& k, Report& out) {
  k.spaces.for_each_live([&](AddressSpace& as) {
    for (const auto& [pgoff, folio] : as.i_pages)
      if (folio->freed || folio->mapping != &as || folio->index != pgoff)
        out.push_back(fmt::format("page cache of {} at {} holds a folio that is not its own", as.object, pgoff));
  });
}

}  // namespace

std::vector<std::string> Kernel::check_invariants() {
  Report out;
  check_trees(*this, out);
  check_anon_vma_counters(*this, out);
  check_vmas(*this, out);
  check_pages(*this, out);
  check_page_cache(*this, out);
  check_lru(*this, out);
  check_swap(*this, out);
  check_ksm(*this, out);
  for (const auto& v : locks.violations()) out.push_back(v);
  for (const auto& p : poison_uses) out.push_back(p);
  if (!locks.idle()) out.push_back(fmt::format("{} locks still held after the op", locks.held()));
  return out;
}

namespace {

// A folio named by a page-table entry, and what it names in turn, must be alive.
void check_live_folio(Kernel& k, const MmStruct* mm, Vpn vpn, pfn_t pfn, Report& out) {
  const Folio* folio = pfn < k.mem_map.size() ? k.mem_map[pfn].folio : nullptr;
  if (!folio) return out.push_back(fmt::format("({},{:#x}) maps free frame {}", mm->pid, vpn, pfn));
  if (folio->freed) return out.push_back(fmt::format("({},{:#x}) maps freed folio {}", mm->pid, vpn, folio->id));
  if (folio->anon_vma && folio->anon_vma->freed)
    out.push_back(fmt::format("folio {} mapped at ({},{:#x}) names freed anon_vma {}", folio->id, mm->pid, vpn,
                              folio->anon_vma->id));
  if (folio->mapping && folio->mapping->freed)
    out.push_back(fmt::format("folio {} mapped at ({},{:#x}) names a freed address_space", folio->id, mm->pid, vpn));
}

void check_page_tables_quiescent(Kernel& k, Report& out) {
  for (const auto& [pid, mm] : k.tasks) {
    if (mm->freed) {
      out.push_back(fmt::format("pid {} has a freed mm", pid));
      continue;
    }
    for (size_t i = 0; i < mm->pgd.size(); ++i) {
      const Pmd& pmd = mm->pgd[i];
      const Vpn base = i * mm->pmd_pages;
      if (pmd.kind == Pmd::Kind::migration) out.push_back(fmt::format("migration entry left in the PMD at ({},{:#x})", pid, base));
      if (pmd.kind == Pmd::Kind::huge) check_live_folio(k, mm, base, pmd.pfn, out);
      if (pmd.kind != Pmd::Kind::table) continue;
      for (size_t j = 0; j < pmd.table->ptes.size(); ++j) {
        const Pte& pte = pmd.table->ptes[j];
        if (pte.kind == Pte::Kind::migration)
          out.push_back(fmt::format("migration entry left at ({},{:#x})", pid, base + j));
        if (pte.kind == Pte::Kind::present) check_live_folio(k, mm, base + j, pte.pfn, out);
      }
    }
    for (const auto& [start, vma] : mm->mm_mt) {
      if (vma->freed) out.push_back(fmt::format("pid {} maps freed vma {}", pid, vma->id));
      else if (vma->anon_vma && vma->anon_vma->freed)
        out.push_back(fmt::format("vma {} of pid {} names freed anon_vma {}", vma->id, pid, vma->anon_vma->id));
    }
  }
}

}  // namespace

std::vector<std::string> Kernel::check_quiescent() {
  Report out = check_invariants();
  for (const std::string& h : locks.held_report()) out.push_back(h + " after the group");
  for (size_t t = 0; t < contexts.size(); ++t)
    if (contexts[t].rcu_depth > 0) out.push_back(fmt::format("T{} is still in an RCU read-side section", t));
  check_page_tables_quiescent(*this, out);
  return out;
}

}  // namespace impl
