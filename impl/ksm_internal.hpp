#pragma once
// Internal to the KSM files (ksm.cpp, ksm_rmap.cpp, ksm_invariants.cpp): rmap item and
// stable node bookkeeping shared between the scan and the rmap side.

#include "impl/kernel.hpp"

namespace impl {

// The rmap item of (slot's mm, vpn), made if there is none (get_next_rmap_item).
KsmRmapItem* get_rmap_item(Kernel& k, KsmMmSlot* slot, Vpn vpn);
// Takes the item off its stable node or out of the unstable tree.
void remove_rmap_item_from_tree(Kernel& k, KsmRmapItem* item);
// remove_rmap_item_from_tree, then out of its slot, and freed.
void free_rmap_item(Kernel& k, KsmRmapItem* item);
// The item (whose PTE in `vma` maps node's KSM page) joins the node's hlist.
void stable_tree_append(Kernel& k, KsmRmapItem* item, KsmStableNode* node, Vma* vma);

// The content a stable node is keyed by: its KSM page's (0 if the page is gone, which
// the invariants report).
uint64_t stable_node_key(Kernel& k, const KsmStableNode& node);

// Whether rmap_walk_ksm of `folio` visits (vma, vpn). Never affected by injected bugs:
// bookkeeping must stay right so that only the walk itself is wrong.
bool ksm_walk_reaches(Kernel& k, Folio* folio, const Vma* vma, Vpn vpn);

}  // namespace impl
