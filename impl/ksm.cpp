// KSM's scan (mm/ksm.c's ksm_do_scan): the stable and unstable trees, the checksum
// rule, and merging pages into KSM pages. `ksm` runs full scans until one changes
// nothing.
//
// Why to a fixpoint, and why that is at least two scans: the first time a scan meets a
// page it only records the page's checksum, since a page enters the unstable tree only
// when its checksum did not change since the previous scan; so two fresh equal pages
// merge in the second scan. A page that becomes a KSM page mid-scan may be mapped by
// PTEs the scan passed before (forks sharing it); the next scan gives them rmap items
// or moves them onto the KSM page. A scan that changes nothing (no checksum, no merge,
// no rmap item) would be followed by identical ones. Then, for every value, no two
// mergeable pages are left apart: the first one the scan met went into the unstable
// tree (or is in the stable tree), and the next would have merged with it. That is the
// model's "every eligible page merged with every other of its value".

#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "impl/folio.hpp"
#include "impl/sched_point.hpp"
#include "impl/ksm.hpp"
#include "impl/ksm_internal.hpp"
#include "impl/pgtable.hpp"
#include "impl/swap.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Result;

// More full scans than a fixpoint can need (it takes at most four: checksums, merges,
// forked PTEs, their old pages); more means the scan does not converge, which is a bug.
constexpr int max_full_scans = 16;

// The kernel hashes the page with xxhash; any fixed mixing of the value does here.
uint32_t calc_checksum(uint64_t value) {
  uint64_t z = (value ^ (value >> 31)) * 0x9e3779b97f4a7c15ull;
  return uint32_t(z ^ (z >> 32));
}

auto stable_key_of(Kernel& k) {
  return [&k](const KsmStableNode& node) { return stable_node_key(k, node); };
}

uint64_t unstable_key_of(const KsmRmapItem& item) { return item.unstable_key; }

// A page KSM may look at: an anon page (KSM pages included) in a VM_MERGEABLE VMA.
struct MergeablePage {
  Vma* vma;
  Vpn vpn;
  Folio* folio;
  pfn_t pfn;  // the page, which a large folio holds with others
};

std::optional<MergeablePage> get_mergeable_page(Kernel& k, MmStruct* mm, Vpn vpn) {
  Vma* vma = find_vma(mm, vpn);
  if (!vma || !(vma->flags & VM_MERGEABLE)) return std::nullopt;
  const PageView view = follow_page(mm, vpn);  // PTE or huge PMD
  if (view.pte.kind != Pte::Kind::present) return std::nullopt;
  Folio* folio = pfn_folio(k, view.pte.pfn);
  if (!folio->anon()) return std::nullopt;
  return MergeablePage{vma, vpn, folio, view.pte.pfn};
}

// Whether KSM may take this page (model/RULES.md): nothing holds it but its mappings and
// the swap cache (no pin: write_protect_page's refcount check), and every VMA mapping it
// is VM_MERGEABLE (the kernel may merge other pages, depending on scan order; the model
// leaves them alone, and so does this implementation).
bool page_mergeable(Kernel& k, Folio* folio, pfn_t pfn) {
  if (!folio->anon() || folio->pincount > 0) return false;
  if (folio->refcount != folio_expected_refs(k, folio)) return false;
  for (auto [pid, v] : page_mappers_by_rmap(k, folio, pfn)) {
    const Vma* vma = find_vma(k.tasks.at(pid), v);
    if (!vma || !(vma->flags & VM_MERGEABLE)) return false;
  }
  return true;
}

// A page being merged leaves the swap cache; the model keeps no swap-cache page for a
// merged frame (model/RULES.md), whichever of the equal pages KSM keeps.
void drop_swap_cache_of_merged(Kernel& k, Folio* folio) {
  if (folio->swap && folio_mapcount(k, folio) == 0) delete_from_swap_cache(k, folio);
}

// try_to_merge_one_page with no KSM page yet: `folio` itself becomes the KSM page of
// `node`. All its PTEs are write-protected (a fork's already are) and it stops being
// AnonExclusive, so that a write faults and copies.
void make_ksm_page(Kernel& k, Folio* folio, KsmStableNode* node) {
  LockGuard lock(k.locks, folio->lock, LockMode::write);
  folio_for_each_pte(k, folio, [&](Vma* vma, Vpn v, Pte& pte) {  // under the PTL
    sched_point(k, Access::write, pte_id(vma->mm, v), "write_protect_page");
    pte.write = false;
  });
  if (folio->swap) delete_from_swap_cache(k, folio);
  k.page(folio->pfn).anon_exclusive = false;
  k.page(folio->pfn).lazyfree = false;
  folio->anon_vma = nullptr;  // folio->mapping = stable node | PAGE_MAPPING_KSM
  sched_point(k, Access::write, folio_id(folio), "folio_set_stable_node");
  folio->stable_node = node;
}

// try_to_merge_one_page + replace_page: the PTE at (vma, vpn), which maps `folio`, is
// pointed at `kfolio`, write-protected. False when the page may not merge.
bool merge_into_ksm_page(Kernel& k, Vma* vma, Vpn vpn, Folio* folio, Folio* kfolio) {
  folio = ksm_split_large(k, folio, follow_page(vma->mm, vpn).pte.pfn);
  // The split maps a page holding only zeros to the zero page: nothing left to merge.
  if (!folio || follow_page(vma->mm, vpn).pte.kind != Pte::Kind::present) return false;
  const pfn_t pfn = pte_offset(vma->mm, vpn)->pfn;  // mapped by a PTE now
  {
    LockGuard lock(k.locks, folio->lock, LockMode::write);
    if (!page_mergeable(k, folio, pfn) || k.page(pfn).value != k.page(kfolio->pfn).value) return false;
    LockGuard ptl(k.locks, pte_lockptr(vma->mm, vpn), LockMode::write);
    Pte& pte = *pte_offset(vma->mm, vpn);
    folio_get(kfolio);
    folio_add_rmap_pte(k, kfolio, kfolio->pfn, vma);
    pte.pfn = kfolio->pfn;
    pte.write = false;
    folio_remove_rmap_pte(k, folio, pfn, vma);
    drop_swap_cache_of_merged(k, folio);
  }
  if (folio->ksm()) ksm_pte_unmapped(k, vma, vpn, folio);  // two KSM pages of one value
  folio_put(k, folio);
  return true;
}

KsmStableNode* stable_tree_search(Kernel& k, uint64_t value) {
  return k.ksm.root_stable_tree.search(value, stable_key_of(k));
}

KsmStableNode* stable_tree_insert(Kernel& k, Folio* kfolio) {
  KsmStableNode* node = k.ksm.stable_nodes.alloc();
  node->kpfn = kfolio->pfn;
  sched_point(k, Access::write, ksm_tree_id, "stable_tree_insert");
  if (k.ksm.root_stable_tree.insert(*node, k.page(kfolio->pfn).value, stable_key_of(k)))
    throw std::logic_error("ksm: a stable node for this content exists already");
  return node;
}

// The item's page goes into the unstable tree, unless a page of equal content is there
// already: that page's item is returned (null when it is this very page, mapped twice).
KsmRmapItem* unstable_tree_search_insert(Kernel& k, KsmRmapItem* item, uint64_t value, pfn_t pfn) {
  item->unstable_key = value;
  sched_point(k, Access::write, ksm_tree_id, "unstable_tree_search_insert");
  KsmRmapItem* tree_item = k.ksm.root_unstable_tree.insert(*item, value, unstable_key_of);
  if (!tree_item) return nullptr;
  auto tree_page = get_mergeable_page(k, tree_item->mm, tree_item->address);
  if (!tree_page || tree_page->pfn == pfn) return nullptr;
  return tree_item;
}

// try_to_merge_two_pages: the scanned page becomes a KSM page, in the stable tree, and
// the unstable tree's equal page is merged into it. A large folio holding the scanned
// page is split first, and only if that page is still there to merge (a split maps a
// zero-filled page to the zero page), the one holding the tree's page: the kernel's
// try_to_merge_one_page comes before try_to_merge_with_ksm_page.
bool try_to_merge_two_pages(Kernel& k, KsmRmapItem* item, Vma* vma, Folio* folio, KsmRmapItem* tree_item) {
  std::optional<LockGuard> tree_mm_lock;
  if (tree_item->mm != vma->mm) tree_mm_lock.emplace(k.locks, tree_item->mm->mmap_lock, LockMode::read);
  if (!get_mergeable_page(k, tree_item->mm, tree_item->address)) return false;
  auto scanned_pte = [&] { return follow_page(vma->mm, item->address).pte; };
  if (scanned_pte().kind != Pte::Kind::present) return false;
  folio = ksm_split_large(k, pfn_folio(k, scanned_pte().pfn), scanned_pte().pfn);
  if (!folio || scanned_pte().kind != Pte::Kind::present) return false;  // now the zero page
  auto tree_page = get_mergeable_page(k, tree_item->mm, tree_item->address);  // after the split
  if (!tree_page || !ksm_split_large(k, tree_page->folio, tree_page->pfn)) return false;
  folio = pfn_folio(k, scanned_pte().pfn);  // the same page: both may have been one folio
  tree_page = get_mergeable_page(k, tree_item->mm, tree_item->address);
  if (!tree_page) return false;
  {
    LockGuard lock(k.locks, tree_page->folio->lock, LockMode::write);
    if (!page_mergeable(k, tree_page->folio, tree_page->pfn)) return false;
  }
  KsmStableNode* node = stable_tree_insert(k, folio);
  make_ksm_page(k, folio, node);
  sched_point(k, Access::write, ksm_tree_id, "remove_rmap_item_from_tree");
  k.ksm.root_unstable_tree.erase(*tree_item);
  if (!merge_into_ksm_page(k, tree_page->vma, tree_page->vpn, tree_page->folio, folio))
    throw std::logic_error("ksm: the unstable tree's page could not merge after all");
  stable_tree_append(k, tree_item, node, tree_page->vma);
  stable_tree_append(k, item, node, vma);
  k.ksm.pages_merged += 2;
  return true;
}

// One page of a scan; whether anything changed.
bool cmp_and_merge_page(Kernel& k, KsmRmapItem* item, Vma* vma, Vpn vpn) {
  const pfn_t pfn = follow_page(vma->mm, vpn).pte.pfn;
  Folio* folio = pfn_folio(k, pfn);
  const uint64_t value = k.page(pfn).value;
  if (item->head) {
    if (item->head == folio->stable_node) return false;  // merged already
    throw std::logic_error(fmt::format("ksm: rmap item ({},{:#x}) is stable but its PTE maps another page",
                                       vma->mm->pid, vpn));
  }
  {
    LockGuard lock(k.locks, folio->lock, LockMode::write);
    if (!page_mergeable(k, folio, pfn)) return false;
  }
  if (KsmStableNode* node = stable_tree_search(k, value)) {
    Folio* kfolio = pfn_folio(k, node->kpfn);
    if (kfolio != folio) {
      if (!merge_into_ksm_page(k, vma, vpn, folio, kfolio)) return false;
      k.ksm.pages_merged++;
    }
    stable_tree_append(k, item, node, vma);  // kfolio == folio: "ksm page forked"
    return true;
  }
  // Only a page that held still since the last scan may go into the unstable tree.
  if (const uint32_t checksum = calc_checksum(value); item->oldchecksum != checksum) {
    item->oldchecksum = checksum;
    return true;
  }
  KsmRmapItem* tree_item = unstable_tree_search_insert(k, item, value, pfn);
  return tree_item && try_to_merge_two_pages(k, item, vma, folio, tree_item);
}

// One mm's part of a full scan; whether anything changed. Rmap items of addresses
// where no mergeable page is any more are dropped (the kernel's scan does the same).
bool scan_mm(Kernel& k, KsmMmSlot* slot) {
  MmStruct* mm = slot->mm;
  std::vector<Vpn> addrs;
  {
    LockGuard g(k.locks, mm->mmap_lock, LockMode::read);
    for (const auto& [start, vma] : mm->mm_mt)
      if (vma->flags & VM_MERGEABLE)
        for (Vpn v = vma->start; v < vma->end; ++v) addrs.push_back(v);
  }
  bool changed = false;
  std::set<Vpn> seen;
  for (Vpn v : addrs) {
    LockGuard g(k.locks, mm->mmap_lock, LockMode::read);
    auto page = get_mergeable_page(k, mm, v);
    if (!page) continue;
    seen.insert(v);
    changed |= cmp_and_merge_page(k, get_rmap_item(k, slot, v), page->vma, v);
  }
  std::vector<KsmRmapItem*> stale;
  for (const auto& [vpn, item] : slot->rmap_list)
    if (!seen.count(vpn)) stale.push_back(item);
  for (KsmRmapItem* item : stale) {
    if (item->head)
      throw std::logic_error(fmt::format("ksm: stable rmap item ({},{:#x}) has no KSM page", mm->pid, item->address));
    free_rmap_item(k, item);
  }
  return changed;
}

}  // namespace

bool ksm_full_scan(Kernel& k) {
  bool changed = false;
  const uint64_t splits = k.ksm.splits;
  const std::vector<KsmMmSlot*> slots = k.ksm.mm_list;  // nothing registers or exits meanwhile
  for (KsmMmSlot* slot : slots) changed |= scan_mm(k, slot);
  changed |= k.ksm.splits != splits;
  k.ksm.root_unstable_tree.clear();  // rebuilt from scratch by every full scan
  k.ksm.full_scans++;
  return changed;
}

Result ksm_run(Kernel& k) {
  for (int scan = 0; scan < max_full_scans; ++scan)
    if (!ksm_full_scan(k)) return Result::ok();
  throw std::logic_error(fmt::format("ksm: no fixpoint after {} full scans", max_full_scans));
}

}  // namespace impl
