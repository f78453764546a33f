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

// hpage_collapse_scan_pmd: whether the range can be collapsed at all. A range with no
// page table is nothing to collapse (SCAN_PMD_NONE); a pinned page makes it busy, a KSM
// page refuses it.
Result scan_pmd(Kernel& k, MmStruct* mm, Vpn base) {
  const Pmd* pmd = pmd_offset(mm, base);
  if (!pmd || pmd->kind == Pmd::Kind::none) return Result::fail(Errno::einval);
  for (Vpn v = base; v < base + mm->pmd_pages; ++v) {
    const PageView view = follow_page(mm, v);
    if (view.pte.kind != Pte::Kind::present) continue;
    const Folio* folio = pfn_folio(k, view.pte.pfn);
    if (folio->pincount > 0) return Result::fail(Errno::eagain);  // SCAN_PAGE_COUNT: a pin holds it
    if (folio->ksm()) return Result::fail(Errno::einval);
  }
  return Result::ok();
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

// The VMA must hold an aligned huge range and have an anon_vma (thp_vma_allowable_order);
// a range inside one huge page touching neither boundary fails as the kernel counts it
// (hend - hstart). A busy range (EAGAIN) lets the walk go on, any other failure ends it.
Result madvise_collapse(Kernel& k, Vma* vma, Vpn start, Vpn end) {
  const uint64_t h = vma->mm->pmd_pages;
  if ((vma->start + h - 1) / h * h + h > vma->end || !vma->anon_vma) return Result::fail(Errno::einval);
  const Vpn hstart = (start + h - 1) / h * h, hend = end / h * h;
  if (hend < hstart) return Result::fail(Errno::einval);
  Result last = Result::ok();
  for (Vpn base = hstart; base + h <= end; base += h) {
    Result r = collapse_huge_page(k, vma, base);
    if (r.kind == Result::Kind::ok) continue;
    last = r;
    if (r.err != Errno::eagain) break;
  }
  return last;
}

}  // namespace impl
