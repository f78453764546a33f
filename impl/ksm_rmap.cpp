// KSM's reverse map and bookkeeping: mm slots, rmap items, rmap_walk_ksm, and keeping
// the items exact as PTEs come and go (unmap, COW, unmerge, exit, migration, freeing).

#include <algorithm>
#include <set>
#include <utility>

#include "impl/folio.hpp"
#include "impl/sched_point.hpp"
#include "impl/folio_split.hpp"
#include "impl/ksm.hpp"
#include "impl/ksm_internal.hpp"
#include "impl/memory.hpp"
#include "impl/pgtable.hpp"
#include "impl/vma.hpp"

namespace impl {

using ops::Errno;
using ops::Result;

// ---- rmap items and stable nodes ----

KsmRmapItem* get_rmap_item(Kernel& k, KsmMmSlot* slot, Vpn vpn) {
  auto [it, fresh] = slot->rmap_list.try_emplace(vpn, nullptr);
  if (fresh) {
    it->second = k.ksm.rmap_items.alloc();
    it->second->mm = slot->mm;
    it->second->address = vpn;
  }
  return it->second;
}

void remove_rmap_item_from_tree(Kernel& k, KsmRmapItem* item) {
  if (KsmStableNode* node = item->head) {
    std::erase(node->hlist, item);
    item->head = nullptr;
    item->anon_vma = nullptr;
  } else if (item->linked()) {
    sched_point(k, Access::write, ksm_tree_id, "remove_rmap_item_from_tree");
    k.ksm.root_unstable_tree.erase(*item);
  }
}

void free_rmap_item(Kernel& k, KsmRmapItem* item) {
  remove_rmap_item_from_tree(k, item);
  if (KsmMmSlot* slot = ksm_slot(k, item->mm)) slot->rmap_list.erase(item->address);
  k.ksm.rmap_items.free(item);
}

void stable_tree_append(Kernel& k, KsmRmapItem* item, KsmStableNode* node, Vma* vma) {
  remove_rmap_item_from_tree(k, item);
  item->head = node;
  item->anon_vma = vma->anon_vma;
  node->hlist.push_back(item);
}

uint64_t stable_node_key(Kernel& k, const KsmStableNode& node) {
  return node.kpfn < k.mem_map.size() ? k.page(node.kpfn).value : 0;
}

// ---- rmap_walk_ksm ----

namespace {

// The walk behind rmap_walk_ksm. Pass one visits, for each rmap item, the VMA of the
// item's own mm at its address; pass two the VMAs of other mms there (forked since the
// item was made): both found in the interval tree of the item's anon_vma. The kernel
// may visit a VMA twice (a fork with an item of its own is also met through its
// parent's) and relies on its callbacks not minding; this walk visits each once.
template <class Fn>
void walk_stable_node(Kernel& k, Folio* folio, bool skip_other_processes, Fn rmap_one) {
  KsmStableNode* node = folio->stable_node;
  if (!node || node->freed || node->hlist.empty()) return;
  const std::vector<KsmRmapItem*> items = node->hlist;
  std::set<std::pair<const Vma*, Vpn>> visited;
  for (bool search_new_forks : {false, true}) {
    for (KsmRmapItem* item : items) {
      if (skip_other_processes && item->mm != items.front()->mm) continue;  // the injected bug
      AnonVma* anon_vma = item->anon_vma;
      LockGuard g(k.locks, anon_vma->root->rwsem, LockMode::read);
      std::vector<Vma*> vmas;
      for (AnonVmaChain& avc : anon_vma->rb_root) vmas.push_back(avc.vma);
      for (Vma* vma : vmas) {
        const Vpn addr = item->address;
        if (addr < vma->start || addr >= vma->end) continue;
        if ((vma->mm == item->mm) == search_new_forks) continue;
        if (!visited.insert({vma, addr}).second) continue;
        if (!rmap_one(vma, addr)) return;
      }
    }
  }
}

}  // namespace

void rmap_walk_ksm(Kernel& k, Folio* folio, RmapWalkControl& rwc) {
  walk_stable_node(k, folio, k.bugs.ksm_rmap_walk_skips_other_processes,
                   [&](Vma* vma, Vpn addr) { return rwc.rmap_one(folio, vma, addr); });
}

bool ksm_walk_reaches(Kernel& k, Folio* folio, const Vma* target, Vpn vpn) {
  bool found = false;
  walk_stable_node(k, folio, false, [&](Vma* vma, Vpn addr) {
    found = vma == target && addr == vpn;
    return !found;
  });
  return found;
}

// ---- registration and teardown ----

KsmMmSlot* ksm_slot(Kernel& k, const MmStruct* mm) {
  auto it = k.ksm.slot_of.find(mm->pid);
  return it == k.ksm.slot_of.end() || it->second->mm != mm ? nullptr : it->second;
}

void ksm_enter(Kernel& k, MmStruct* mm) {
  if (ksm_slot(k, mm)) return;
  KsmMmSlot* slot = k.ksm.slots.alloc();
  slot->mm = mm;
  k.ksm.mm_list.push_back(slot);
  k.ksm.slot_of[mm->pid] = slot;
}

void ksm_fork(Kernel& k, MmStruct* parent, MmStruct* child) {
  if (ksm_slot(k, parent)) ksm_enter(k, child);
}

void ksm_exit(Kernel& k, MmStruct* mm) {
  KsmMmSlot* slot = ksm_slot(k, mm);
  if (!slot) return;
  // Unmapping took the stable items out already; what is left only remembers checksums.
  while (!slot->rmap_list.empty()) free_rmap_item(k, slot->rmap_list.begin()->second);
  std::erase(k.ksm.mm_list, slot);
  k.ksm.slot_of.erase(mm->pid);
  k.ksm.slots.free(slot);
}

// ---- PTEs going away ----

namespace {

// The rmap item of (mm, vpn) left `folio`'s stable node: every PTE of another mm at vpn
// in a VMA of `anon_vma`'s tree (forks, which had no item) that the remaining items no
// longer reach gets an item of its own.
void rehome_forks(Kernel& k, Folio* folio, const MmStruct* mm, Vpn vpn, AnonVma* anon_vma) {
  std::vector<Vma*> forks;
  {
    LockGuard g(k.locks, anon_vma->root->rwsem, LockMode::read);
    for (AnonVmaChain& avc : anon_vma->rb_root)
      if (avc.vma->mm != mm && vpn >= avc.vma->start && vpn < avc.vma->end) forks.push_back(avc.vma);
  }
  for (Vma* fork : forks) {
    {
      // Only a PTE can map a KSM page: a fork whose PMD there is huge (a large folio)
      // or none has nothing to look at, and no page table is made for the look.
      PteTable* table = pte_table(fork->mm, vpn);
      if (!table) continue;
      LockGuard ptl(k.locks, table->ptl, LockMode::read);
      const Pte& pte = table->ptes[vpn % fork->mm->pmd_pages];
      if (pte.kind != Pte::Kind::present || pte.pfn != folio->pfn) continue;
    }
    if (ksm_walk_reaches(k, folio, fork, vpn)) continue;
    ksm_enter(k, fork->mm);  // registered at fork already; this only makes sure
    stable_tree_append(k, get_rmap_item(k, ksm_slot(k, fork->mm), vpn), folio->stable_node, fork);
  }
}

}  // namespace

void ksm_pte_unmapped(Kernel& k, Vma* vma, Vpn vpn, Folio* folio) {
  KsmStableNode* node = folio->stable_node;
  if (!node) return;
  auto it = std::find_if(node->hlist.begin(), node->hlist.end(),
                         [&](const KsmRmapItem* i) { return i->mm == vma->mm && i->address == vpn; });
  if (it == node->hlist.end()) return;  // a fork's PTE, reached through another item
  AnonVma* anon_vma = (*it)->anon_vma;
  free_rmap_item(k, *it);
  rehome_forks(k, folio, vma->mm, vpn, anon_vma);
}

Result ksm_unmerge_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end) {
  for (Vpn v = start; v < end; ++v) {
    Vma* vma = find_vma(mm, v);
    if (!vma || !(vma->flags & VM_MERGEABLE)) continue;
    const Pte* pte = pte_offset(mm, v);
    if (!pte || pte->kind != Pte::Kind::present || !pfn_folio(k, pte->pfn)->ksm()) continue;
    // break_ksm: an unshare fault copies the KSM page (do_wp_page never reuses one).
    if (Result r = handle_unshare_fault(k, vma, v); r.kind != Result::Kind::ok) return Result::fail(Errno::enomem);
  }
  return Result::ok();
}

void folio_migrate_ksm(Kernel& k, Folio* dst, Folio* src) {
  KsmStableNode* node = src->stable_node;
  if (!node) return;
  sched_point(k, Access::write, folio_id(dst), "folio_migrate_ksm");
  dst->stable_node = node;
  node->kpfn = dst->pfn;
  src->stable_node = nullptr;
}

void ksm_folio_freed(Kernel& k, Folio* folio) {
  KsmStableNode* node = folio->stable_node;
  folio->stable_node = nullptr;
  // Reclaim unmapped every PTE at once (try_to_unmap): their items go with the node.
  while (!node->hlist.empty()) free_rmap_item(k, node->hlist.back());
  sched_point(k, Access::write, ksm_tree_id, "remove_node_from_stable_tree");
  if (node->linked()) k.ksm.root_stable_tree.erase(*node);
  node->poison();
  k.ksm.stable_nodes.free(node);
}

// ---- swap-in of a page a KSM page was swapped out to ----

bool ksm_swapin_needs_copy(Kernel& k, Folio* folio, uint64_t slot) {
  return k.swap.from_ksm.at(slot) && folio_mapcount(k, folio) > 0;
}

bool ksm_swapin_reanchor(Kernel& k, Folio* folio, uint64_t slot) {
  return k.swap.from_ksm.at(slot) && folio_mapcount(k, folio) == 0;
}

// ---- THP ----

Folio* ksm_split_large(Kernel& k, Folio* folio, pfn_t pfn) {
  if (!folio->large()) return folio;
  if (!split_folio(k, folio)) return nullptr;  // a pin or another reference holds it
  k.ksm.splits++;
  return pfn_folio(k, pfn);
}

}  // namespace impl
