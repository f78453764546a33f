#pragma once
// Direct compaction (mm/compaction.c), reduced to what one huge page needs: when
// enough frames are free but no naturally aligned block of the order is, pick the
// aligned block whose pages can all move and that has the most free frames, migrate
// each of its folios to a free frame outside it, and let the buddy allocator merge it.

#include "impl/kernel.hpp"

namespace impl {

// True when a free block of `order` exists afterwards. Blocks holding a reserved
// frame, a large folio, or a folio that cannot move (pinned, or held by someone) are
// never chosen, so compaction fails when every candidate block holds one.
bool compact_for_order(Kernel& k, unsigned order);

}  // namespace impl
