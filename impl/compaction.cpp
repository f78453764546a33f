#include "impl/compaction.hpp"

#include <optional>
#include <vector>

#include "impl/folio.hpp"
#include "impl/migrate.hpp"

namespace impl {
namespace {

// What migrating a block free would take: its in-use frames, or nothing when one of
// them cannot move (isolate_migratepages_block giving up on the pageblock).
std::optional<uint64_t> block_cost(Kernel& k, pfn_t start, uint64_t size) {
  uint64_t used = 0;
  for (pfn_t pfn = start; pfn < start + size; ++pfn) {
    if (k.frames.is_reserved(pfn)) return std::nullopt;
    Folio* folio = k.page(pfn).folio;
    if (!folio) continue;
    if (folio->large() || folio->freed || !folio_movable(k, folio)) return std::nullopt;
    ++used;
  }
  return used;
}

}  // namespace

bool compact_for_order(Kernel& k, unsigned order) {
  const uint64_t size = uint64_t{1} << order;
  if (k.frames.free_frames() < size) return false;
  std::optional<pfn_t> best;
  uint64_t best_cost = 0;
  for (pfn_t start = 0; start + size <= k.frames.total(); start += size) {
    auto cost = block_cost(k, start, size);
    if (cost && (!best || *cost < best_cost)) {
      best = start;
      best_cost = *cost;
    }
  }
  if (!best || k.frames.free_frames() - (size - best_cost) < best_cost) return false;
  std::vector<Folio*> movers;
  for (pfn_t pfn = *best; pfn < *best + size; ++pfn)
    if (Folio* folio = k.page(pfn).folio) movers.push_back(folio);
  for (Folio* src : movers) {
    auto pfn = k.frames.alloc_outside(*best, *best + size);
    if (!pfn) return false;  // counted above: cannot happen
    migrate_folio_to(k, src, folio_init(k, *pfn, 0));
  }
  k.frames.drain_all_pages();  // the freed frames merge into the block
  for (unsigned o = order; o <= PageAllocator::max_order; ++o)
    if (k.frames.nr_free(o) > 0) return true;
  return false;
}

}  // namespace impl
