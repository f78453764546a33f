#pragma once
// KSM's structures (mm/ksm.c): one mm slot per registered mm, one rmap item per scanned
// page, one stable node per KSM page, the stable tree of stable nodes and the unstable
// tree of rmap items, both ordered by page content.
//
// How the implementation keeps them (impl/ksm.hpp has the operations):
//   - An rmap item is "stable" while it hangs off a stable node (head set): then its
//     (mm, address) PTE maps that node's KSM page, and its anon_vma is the one of the VMA
//     there. Items never outlive their PTE: the unmap and COW paths take them out at once
//     (the kernel leaves that to ksmd's next scan), so they need no anon_vma reference.
//   - A forked child gets no rmap items: rmap_walk_ksm reaches its PTEs through the
//     parent's items' anon_vmas, whose interval trees hold the child's VMAs. When the
//     last item a child's PTE was reached through goes, the child gets an item of its own
//     (what ksmd's next scan of the child would do: "ksm page forked").
//   - Otherwise an item only remembers the checksum its page had at the last scan: a page
//     enters the unstable tree only when that checksum did not change since.
//   - The unstable tree exists only while `ksm` runs; each full scan starts it empty.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "impl/ksm_tree.hpp"
#include "impl/mm_types.hpp"
#include "impl/rbtree.hpp"
#include "impl/slab.hpp"

namespace impl {

struct KsmStableNode;

// ksm_rmap_item: one scanned page of a registered mm. The rb::Node base links it into
// the unstable tree.
struct KsmRmapItem : Object, rb::Node {
  MmStruct* mm = nullptr;
  Vpn address = 0;
  std::optional<uint32_t> oldchecksum;  // none until the first scan looked at the page
  KsmStableNode* head = nullptr;        // stable: the node whose hlist holds this item
  AnonVma* anon_vma = nullptr;          // stable: the anon_vma of the VMA at address
  uint64_t unstable_key = 0;            // in the unstable tree: the content it went in with
};

// ksm_stable_node: one KSM page. The rb::Node base links it into the stable tree; hlist
// holds the rmap items of the PTEs that map the page (forked ones aside, see above).
struct KsmStableNode : Object, rb::Node {
  pfn_t kpfn = 0;
  std::vector<KsmRmapItem*> hlist;
};

// ksm_mm_slot: a registered mm and its rmap items by address (the kernel's rmap_list,
// which is sorted by address too).
struct KsmMmSlot : Object {
  MmStruct* mm = nullptr;
  std::map<Vpn, KsmRmapItem*> rmap_list;
};

struct Ksm {
  Slab<KsmMmSlot> slots;
  Slab<KsmRmapItem> rmap_items;
  Slab<KsmStableNode> stable_nodes;
  std::vector<KsmMmSlot*> mm_list;  // scan order: order of registration (ksm_mm_head)
  std::map<Pid, KsmMmSlot*> slot_of;  // mm_slots_hash
  ContentTree<KsmStableNode> root_stable_tree;
  ContentTree<KsmRmapItem> root_unstable_tree;

  // Counters, as /sys/kernel/mm/ksm shows them.
  uint64_t full_scans = 0;
  // Large folios split to merge a page of them: a split changes what the next scan
  // finds (its zero-filled pages now map the zero page) even when the merge failed.
  uint64_t splits = 0;
  uint64_t pages_merged = 0;  // rmap items a merge put on a stable node (forks given one not counted)
};

}  // namespace impl
