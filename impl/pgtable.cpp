#include "impl/pgtable.hpp"

namespace impl {

PteTable* pte_table(MmStruct* mm, Vpn vpn) {
  uint64_t i = vpn / mm->pmd_pages;
  if (i >= mm->pgd.size()) return nullptr;
  return mm->pgd[i].table.get();
}

Pte* pte_offset(MmStruct* mm, Vpn vpn) {
  PteTable* t = pte_table(mm, vpn);
  return t ? &t->ptes[vpn % mm->pmd_pages] : nullptr;
}

static PteTable& table_alloc(MmStruct* mm, Vpn vpn) {
  Pmd& pmd = mm->pgd.at(vpn / mm->pmd_pages);
  if (!pmd.table) {
    pmd.table = std::make_unique<PteTable>();
    pmd.table->ptes.resize(mm->pmd_pages);
  }
  return *pmd.table;
}

Pte& pte_alloc(MmStruct* mm, Vpn vpn) { return table_alloc(mm, vpn).ptes[vpn % mm->pmd_pages]; }

Lock& pte_lockptr(MmStruct* mm, Vpn vpn) { return table_alloc(mm, vpn).ptl; }

}  // namespace impl
