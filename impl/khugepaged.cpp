#include "impl/khugepaged.hpp"

#include <vector>

#include "impl/anon_vma.hpp"
#include "impl/folio.hpp"
#include "impl/huge_memory.hpp"
#include "impl/lru.hpp"
#include "impl/memory.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

// hpage_collapse_scan_pmd: whether the range can be collapsed at all.
Result scan_pmd(Kernel& k, MmStruct* mm, Vpn base) {
  bool any = false;
  for (Vpn v = base; v < base + mm->pmd_pages; ++v) {
    const PageView view = follow_page(mm, v);
    if (view.pte.kind == Pte::Kind::none) continue;
    any = true;
    if (view.pte.kind == Pte::Kind::present && pfn_folio(k, view.pte.pfn)->pincount > 0)
      return Result::fail(Errno::eagain);  // SCAN_PAGE_COUNT: a pin holds it
  }
  return any ? Result::ok() : Result::fail(Errno::einval);
}

// collapse_huge_page: the new folio takes each page's content (swapped-out pages are
// read from their slots, as __collapse_huge_page_swapin would), the PTEs and their table
// go, and one PMD maps the new folio. Other processes keep the pages they shared.
Result collapse_huge_page(Kernel& k, Vma* vma, Vpn base) {
  MmStruct* mm = vma->mm;
  if (pmd_trans_huge(pmd_offset(mm, base))) return Result::ok();  // SCAN_PMD_MAPPED
  if (Result r = scan_pmd(k, mm, base); r.kind != Result::Kind::ok) return r;
  Folio* folio = vma_alloc_huge_folio(k, mm, base);  // may compact: read the pages after
  if (!folio) return Result::fail(Errno::enomem);
  anon_vma_prepare(k, vma);
  for (uint64_t i = 0; i < mm->pmd_pages; ++i) {
    const Pte pte = follow_page(mm, base + i).pte;
    uint64_t value = 0;
    if (pte.kind == Pte::Kind::present) value = k.page(pte.pfn).value;
    if (pte.kind == Pte::Kind::swap) value = k.swap.content.at(pte.slot);
    k.page(folio->pfn + i).value = value;
  }
  zap_page_range(k, vma, base, base + mm->pmd_pages);
  LockGuard ptl(k.locks, pmd_lockptr(mm, base), LockMode::write);
  Pmd& pmd = *pmd_offset(mm, base);
  pmd.table.reset();  // the PMD replaces the PTE table
  folio_add_new_anon_rmap(k, folio, vma, base);
  folio_add_lru(k, folio);
  pmd.kind = Pmd::Kind::huge;
  pmd.pfn = folio->pfn;
  pmd.write = (vma->flags & VM_WRITE) != 0;
  pmd.dirty = pmd.young = true;
  return Result::ok();
}

}  // namespace

Result madvise_collapse(Kernel& k, Vma* vma, Vpn start, Vpn end) {
  const uint64_t h = vma->mm->pmd_pages;
  Result last = Result::ok();
  for (Vpn base = (start + h - 1) / h * h; base + h <= end; base += h)
    if (Result r = collapse_huge_page(k, vma, base); r.kind != Result::Kind::ok) last = r;
  return last;
}

}  // namespace impl
