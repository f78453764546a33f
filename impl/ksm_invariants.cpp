// KSM's invariants, recomputed by brute force after every op:
//   - the stable tree is a red-black tree ordered by content; the unstable tree is empty
//     (it lives only while `ksm` runs);
//   - every stable node names an in-use KSM folio that names it back;
//   - every rmap item belongs to a live mm's slot; a stable one's PTE maps its node's
//     page, in a VMA whose anon_vma chain holds the item's (live) anon_vma;
//   - every KSM folio is small, not AnonExclusive and not pinned, and rmap_walk_ksm
//     from its stable node finds exactly the PTEs that map it;
//   - every mm with a VM_MERGEABLE VMA is registered.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/ksm_internal.hpp"
#include "impl/pgtable.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using Report = std::vector<std::string>;
using Mapping = std::pair<Pid, Vpn>;

std::string item_text(const KsmRmapItem& item) {
  return fmt::format("rmap item {} ({},{:#x})", item.id, item.mm ? item.mm->pid : 0, item.address);
}

bool mm_live(Kernel& k, const MmStruct* mm) {
  auto it = k.tasks.find(mm->pid);
  return it != k.tasks.end() && it->second == mm && !mm->freed;
}

void check_trees(Kernel& k, Report& out) {
  if (auto why = k.ksm.root_stable_tree.verify([&](const KsmStableNode& n) { return stable_node_key(k, n); }))
    out.push_back("ksm stable tree: " + *why);
  if (!k.ksm.root_unstable_tree.empty()) out.push_back("ksm unstable tree is not empty outside a scan");
}

void check_stable_nodes(Kernel& k, Report& out) {
  k.ksm.stable_nodes.for_each_live([&](KsmStableNode& node) {
    if (!node.linked()) out.push_back(fmt::format("stable node {} is not in the stable tree", node.id));
    Folio* folio = node.kpfn < k.mem_map.size() ? pfn_folio(k, node.kpfn) : nullptr;
    if (!folio || folio->freed || folio->pfn != node.kpfn || folio->stable_node != &node)
      out.push_back(fmt::format("stable node {}: kpfn {} is not its KSM folio", node.id, node.kpfn));
    std::set<Mapping> seen;
    for (const KsmRmapItem* item : node.hlist) {
      if (item->freed || item->head != &node)
        out.push_back(fmt::format("stable node {} lists {} that is not its own", node.id, item_text(*item)));
      else if (!seen.insert({item->mm->pid, item->address}).second)
        out.push_back(fmt::format("stable node {} lists {} twice", node.id, item_text(*item)));
    }
  });
}

// A stable item's page, mm and anon_vma are live, and its PTE maps its node's page.
void check_stable_item(const KsmRmapItem& item, Report& out) {
  const KsmStableNode* node = item.head;
  if (node->freed) return out.push_back(fmt::format("{} hangs off freed stable node {}", item_text(item), node->id));
  if (!item.anon_vma || item.anon_vma->freed)
    return out.push_back(fmt::format("{}: its anon_vma is missing or freed", item_text(item)));
  Vma* vma = find_vma(item.mm, item.address);
  if (!vma) return out.push_back(fmt::format("{}: no VMA at its address", item_text(item)));
  bool chained = std::any_of(vma->anon_vma_chain.begin(), vma->anon_vma_chain.end(),
                             [&](const AnonVmaChain* avc) { return avc->anon_vma == item.anon_vma; });
  if (!chained)
    out.push_back(fmt::format("{}: anon_vma {} is not on the chain of its VMA", item_text(item), item.anon_vma->id));
  const Pte* pte = pte_offset(item.mm, item.address);
  if (!pte || pte->kind != Pte::Kind::present || pte->pfn != node->kpfn)
    out.push_back(fmt::format("{}: its PTE does not map the KSM page of stable node {}", item_text(item), node->id));
}

void check_rmap_items(Kernel& k, Report& out) {
  k.ksm.rmap_items.for_each_live([&](KsmRmapItem& item) {
    if (!item.mm || !mm_live(k, item.mm)) return out.push_back(item_text(item) + ": its mm is gone");
    KsmMmSlot* slot = ksm_slot(k, item.mm);
    if (!slot || !slot->rmap_list.count(item.address) || slot->rmap_list.at(item.address) != &item)
      out.push_back(item_text(item) + " is not in its mm's slot");
    if (item.linked()) out.push_back(item_text(item) + " is in the unstable tree outside a scan");
    if (item.head && item.linked()) out.push_back(item_text(item) + " is in both trees");
    if (item.head) check_stable_item(item, out);
  });
}

void check_slots(Kernel& k, Report& out) {
  size_t live = 0;
  k.ksm.slots.for_each_live([&](KsmMmSlot& slot) {
    ++live;
    if (!mm_live(k, slot.mm)) return out.push_back(fmt::format("ksm mm slot {}: its mm is gone", slot.id));
    if (ksm_slot(k, slot.mm) != &slot || std::count(k.ksm.mm_list.begin(), k.ksm.mm_list.end(), &slot) != 1)
      out.push_back(fmt::format("ksm mm slot {} of pid {} is not registered once", slot.id, slot.mm->pid));
  });
  if (live != k.ksm.mm_list.size() || live != k.ksm.slot_of.size())
    out.push_back(fmt::format("ksm: {} live mm slots, {} listed, {} hashed", live, k.ksm.mm_list.size(),
                              k.ksm.slot_of.size()));
  for (const auto& [pid, mm] : k.tasks)
    for (const auto& [start, vma] : mm->mm_mt)
      if ((vma->flags & VM_MERGEABLE) && !ksm_slot(k, mm)) {
        out.push_back(fmt::format("pid {} has a VM_MERGEABLE VMA but is not registered with KSM", pid));
        break;
      }
}

// Every KSM folio: its own state, and rmap_walk_ksm against the page tables.
void check_ksm_folios(Kernel& k, Report& out) {
  std::map<pfn_t, std::set<Mapping>> mapped;  // KSM pages -> their PTEs, from the page tables
  for (const auto& [pid, mm] : k.tasks)
    for (const auto& [start, vma] : mm->mm_mt)
      for (Vpn v = vma->start; v < vma->end; ++v)
        if (const Pte* pte = pte_offset(mm, v); pte && pte->kind == Pte::Kind::present)
          if (Folio* f = pfn_folio(k, pte->pfn); f && !f->freed && f->ksm()) mapped[pte->pfn].insert({pid, v});
  k.folios.for_each_live([&](Folio& folio) {
    if (!folio.ksm()) return;
    if (folio.stable_node->freed) return out.push_back(fmt::format("KSM folio {}: freed stable node", folio.id));
    if (folio.anon_vma) out.push_back(fmt::format("KSM folio {} has an anon_vma too", folio.id));
    if (folio.order != 0) out.push_back(fmt::format("KSM folio {} is large", folio.id));
    if (k.page(folio.pfn).anon_exclusive) out.push_back(fmt::format("KSM folio {} is AnonExclusive", folio.id));
    if (folio.pincount) out.push_back(fmt::format("KSM folio {} is pinned", folio.id));
    std::set<Mapping> walked;
    for (auto [pid, v] : page_mappers_by_rmap(k, &folio, folio.pfn)) walked.insert({pid, v});
    if (walked != mapped[folio.pfn]) {
      std::string missing, extra;
      for (auto [pid, v] : mapped[folio.pfn])
        if (!walked.count({pid, v})) missing += fmt::format(" ({},{:#x})", pid, v);
      for (auto [pid, v] : walked)
        if (!mapped[folio.pfn].count({pid, v})) extra += fmt::format(" ({},{:#x})", pid, v);
      out.push_back(fmt::format("KSM folio {}: rmap_walk_ksm from stable node {} misses{} and finds{}", folio.id,
                                folio.stable_node->id, missing.empty() ? " nothing" : missing,
                                extra.empty() ? " nothing more" : extra));
    }
  });
}

}  // namespace

void check_ksm(Kernel& k, std::vector<std::string>& out) {
  check_trees(k, out);
  check_stable_nodes(k, out);
  check_rmap_items(k, out);
  check_slots(k, out);
  check_ksm_folios(k, out);
}

}  // namespace impl
