#include "impl/rmap.hpp"

#include "impl/ksm.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"

namespace impl {

uint64_t linear_page_index(const Vma* vma, Vpn addr) { return vma->pgoff + (addr - vma->start); }

void folio_add_new_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr) {
  folio->anon_vma = vma->anon_vma;
  folio->index = linear_page_index(vma, addr);
  Page& page = k.page(folio->pfn);
  page.mapcount = 0;
  page.anon_exclusive = true;
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_add_shared_anon_rmap(Kernel& k, Folio* folio, Vma* vma, Vpn addr) {
  folio->anon_vma = vma->anon_vma->root;
  folio->index = linear_page_index(vma, addr);
  k.page(folio->pfn).mapcount = 0;
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_add_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma) {
  k.page(pfn).mapcount++;
  if (vma->flags & VM_LOCKED) mlock_folio(k, folio);
}

void folio_remove_rmap_pte(Kernel& k, Folio* folio, pfn_t pfn, const Vma* vma) {
  Page& page = k.page(pfn);
  page.mapcount--;
  if (page.mapcount < 0) page.anon_exclusive = false;
  if (vma->flags & VM_LOCKED) munlock_folio(k, folio);
}

void folio_move_anon_rmap(Folio* folio, Vma* vma) { folio->anon_vma = vma->anon_vma; }

namespace {

void rmap_walk_anon(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  AnonVma* anon_vma = folio->anon_vma;
  LockGuard g(k.locks, anon_vma->root->rwsem, LockMode::read);
  const uint64_t first = folio->index, last = folio->index + folio->nr_pages() - 1;
  std::vector<AnonVmaChain*> hits;
  anon_vma->rb_root.for_each_overlap(first, last, [&](AnonVmaChain& avc) { hits.push_back(&avc); });
  for (AnonVmaChain* avc : hits)
    if (!rwc.rmap_one(folio, avc->vma, avc->vma->vpn_of(first))) return;
}

void rmap_walk_file(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  AddressSpace* mapping = folio->mapping;
  LockGuard g(k.locks, mapping->i_mmap_rwsem, LockMode::read);
  const uint64_t first = folio->index, last = folio->index + folio->nr_pages() - 1;
  std::vector<Vma*> hits;
  mapping->i_mmap.for_each_overlap(first, last, [&](Vma& vma) { hits.push_back(&vma); });
  for (Vma* vma : hits)
    if (!rwc.rmap_one(folio, vma, vma->vpn_of(first))) return;
}

}  // namespace

void rmap_walk(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  if (folio->ksm()) rmap_walk_ksm(k, folio, rwc);
  else if (folio->anon_vma) rmap_walk_anon(k, folio, rwc);
  else if (folio->mapping) rmap_walk_file(k, folio, rwc);
}

std::vector<ops::PageKey> page_mappers_by_rmap(Kernel& k, Folio* folio, pfn_t pfn) {
  std::vector<ops::PageKey> out;
  const Vpn offset = pfn - folio->pfn;
  RmapWalkControl rwc;
  rwc.rmap_one = [&](Folio*, Vma* vma, Vpn addr) {
    Vpn v = addr + offset;  // may lie outside the VMA: the walk covers the whole folio
    if (v < vma->start || v >= vma->end) return true;
    Pte* pte = pte_offset(vma->mm, v);
    if (pte && pte->kind == Pte::Kind::present && pte->pfn == pfn) out.emplace_back(vma->mm->pid, v);
    return true;
  };
  rmap_walk(k, folio, rwc);
  return out;
}

}  // namespace impl
