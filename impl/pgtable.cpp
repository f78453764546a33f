#include "impl/pgtable.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace impl {

uint64_t pmd_lock_id(const MmStruct* mm, Vpn vpn) {
  return lock_id(LockClass::ptl, uint64_t(mm->pid) << 36 | (vpn - vpn % mm->pmd_pages) << 1);
}

std::unique_ptr<PteTable> pte_table_alloc(const MmStruct* mm, Vpn vpn) {
  auto table = std::make_unique<PteTable>();
  table->ptes.resize(mm->pmd_pages);
  table->ptl.id = lock_id(LockClass::ptl, uint64_t(mm->pid) << 36 | (vpn - vpn % mm->pmd_pages) << 1 | 1);
  return table;
}

Pmd* pmd_offset(MmStruct* mm, Vpn vpn) {
  uint64_t i = vpn / mm->pmd_pages;
  return i < mm->pgd.size() ? &mm->pgd[i] : nullptr;
}

Lock& pmd_lockptr(MmStruct* mm, Vpn vpn) { return mm->pgd.at(vpn / mm->pmd_pages).ptl; }

PteTable* pte_table(MmStruct* mm, Vpn vpn) {
  Pmd* pmd = pmd_offset(mm, vpn);
  return pmd && pmd->kind == Pmd::Kind::table ? pmd->table.get() : nullptr;
}

Pte* pte_offset(MmStruct* mm, Vpn vpn) {
  PteTable* t = pte_table(mm, vpn);
  return t ? &t->ptes[vpn % mm->pmd_pages] : nullptr;
}

static PteTable& table_alloc(MmStruct* mm, Vpn vpn) {
  Pmd& pmd = mm->pgd.at(vpn / mm->pmd_pages);
  if (pmd.kind == Pmd::Kind::none) {
    pmd.kind = Pmd::Kind::table;
    pmd.table = pte_table_alloc(mm, vpn);
  }
  if (pmd.kind != Pmd::Kind::table)
    throw std::logic_error(fmt::format("pid {}: PTE wanted at {:#x}, under a huge PMD", mm->pid, vpn));
  return *pmd.table;
}

Pte& pte_alloc(MmStruct* mm, Vpn vpn) { return table_alloc(mm, vpn).ptes[vpn % mm->pmd_pages]; }

Lock& pte_lockptr(MmStruct* mm, Vpn vpn) { return table_alloc(mm, vpn).ptl; }

PageView follow_page(MmStruct* mm, Vpn vpn) {
  PageView view;
  Pmd* pmd = pmd_offset(mm, vpn);
  if (!pmd) return view;
  switch (pmd->kind) {
    case Pmd::Kind::none:
      break;
    case Pmd::Kind::table:
      view.pte = pmd->table->ptes[vpn % mm->pmd_pages];
      break;
    case Pmd::Kind::huge:
    case Pmd::Kind::migration:
      view.pte = Pte{pmd->kind == Pmd::Kind::huge ? Pte::Kind::present : Pte::Kind::migration,
                     pmd->pfn + vpn % mm->pmd_pages, 0, pmd->write, pmd->dirty, pmd->young};
      view.pmd = true;
      break;
    case Pmd::Kind::zero:
      view.pte = Pte{Pte::Kind::zero, 0, 0, false, false, pmd->young};
      view.pmd = true;
      break;
  }
  return view;
}

void free_pgtables(MmStruct* mm, Vpn start, Vpn end) {
  const uint64_t h = mm->pmd_pages;
  for (Vpn base = pmd_base(mm, start); base < end; base += h) {
    Pmd* pmd = pmd_offset(mm, base);
    if (!pmd || pmd->kind != Pmd::Kind::table) continue;
    auto it = mm->mm_mt.lower_bound(base + h);  // the first VMA starting past the range
    const bool covered = it != mm->mm_mt.begin() && std::prev(it)->second->end > base;
    if (covered) continue;
    for (const Pte& pte : pmd->table->ptes)
      if (pte.kind != Pte::Kind::none)
        throw std::logic_error(fmt::format("pid {}: freeing the page table at {:#x} while it maps", mm->pid, base));
    pmd->table.reset();
    pmd->kind = Pmd::Kind::none;
  }
}

}  // namespace impl
