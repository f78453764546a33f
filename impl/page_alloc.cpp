#include "impl/page_alloc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

namespace impl {

namespace {

uint64_t pages(unsigned order) { return uint64_t{1} << order; }

}  // namespace

PageAllocator::PageAllocator(uint64_t usable_frames, Config config)
    : config_(config),
      frames_(config.reserved + usable_frames),
      free_area_(max_order + 1),
      pcp_(std::max(config.cpus, 1u)) {
  if (config.cpus == 0 || config.pcp_batch == 0 || config.pcp_batch > config.pcp_high + 1)
    throw std::invalid_argument(
        fmt::format("page allocator: cpus {} pcp_high {} pcp_batch {} (want cpus >= 1, "
                    "1 <= pcp_batch <= pcp_high + 1)",
                    config.cpus, config.pcp_high, config.pcp_batch));
  for (uint64_t pfn = 0; pfn < config.reserved; ++pfn) frames_[pfn].state = FrameState::reserved;
  free_boot_memory();
}

// Like memblock_free_all(): the largest naturally aligned blocks that fit, in pfn order,
// each to the tail of its list so that the lowest block is handed out first.
void PageAllocator::free_boot_memory() {
  for (uint64_t pfn = config_.reserved; pfn < total();) {
    unsigned order = max_order;
    while (pfn % pages(order) != 0 || pfn + pages(order) > total()) --order;
    set_state(pfn, order, FrameState::free_tail);
    add_to_free_area(pfn, order, /*to_tail=*/true);
    pfn += pages(order);
  }
}

// ---- the intrusive lists ----

void PageAllocator::list_add(PfnList& list, uint64_t pfn) {
  frames_[pfn].prev = nil;
  frames_[pfn].next = list.head;
  (list.head == nil ? list.tail : frames_[list.head].prev) = pfn;
  list.head = pfn;
  ++list.count;
}

void PageAllocator::list_add_tail(PfnList& list, uint64_t pfn) {
  frames_[pfn].next = nil;
  frames_[pfn].prev = list.tail;
  (list.tail == nil ? list.head : frames_[list.tail].next) = pfn;
  list.tail = pfn;
  ++list.count;
}

void PageAllocator::list_del(PfnList& list, uint64_t pfn) {
  Frame& f = frames_[pfn];
  (f.prev == nil ? list.head : frames_[f.prev].next) = f.next;
  (f.next == nil ? list.tail : frames_[f.next].prev) = f.prev;
  f.prev = f.next = nil;
  --list.count;
}

void PageAllocator::set_state(uint64_t pfn, unsigned order, FrameState state) {
  for (uint64_t p = pfn; p < pfn + pages(order); ++p) frames_[p].state = state;
}

void PageAllocator::add_to_free_area(uint64_t pfn, unsigned order, bool to_tail) {
  frames_[pfn].state = FrameState::free_head;
  frames_[pfn].order = static_cast<uint8_t>(order);
  to_tail ? list_add_tail(free_area_[order], pfn) : list_add(free_area_[order], pfn);
  nr_free_pages_ += pages(order);
}

// Leaves the head marked free_head: the caller decides what the frame becomes.
void PageAllocator::del_from_free_area(uint64_t pfn, unsigned order) {
  list_del(free_area_[order], pfn);
  nr_free_pages_ -= pages(order);
}

// ---- allocation ----

std::optional<uint64_t> PageAllocator::alloc(unsigned order, unsigned cpu) {
  if (order > max_order) return std::nullopt;
  if (auto pfn = rmqueue(order, cpu)) return pfn;
  // Other CPUs may be sitting on the frames we need, and their order-0 frames may be
  // the missing halves of a larger block.
  drain_all_pages();
  return rmqueue(order, cpu);
}

std::optional<uint64_t> PageAllocator::alloc_outside(uint64_t lo, uint64_t hi) {
  drain_all_pages();
  for (unsigned order = 0; order <= max_order; ++order)
    for (uint64_t pfn = free_area_[order].head; pfn != nil; pfn = frames_[pfn].next) {
      if (pfn < hi && pfn + pages(order) > lo) continue;
      del_from_free_area(pfn, order);
      expand(pfn, 0, order);
      set_state(pfn, 0, FrameState::in_use);
      return pfn;
    }
  return std::nullopt;
}

std::optional<uint64_t> PageAllocator::rmqueue(unsigned order, unsigned cpu) {
  auto pfn = order == 0 ? rmqueue_pcplist(cpu) : rmqueue_smallest(order);
  if (!pfn) return pfn;
  if (*pfn % pages(order) != 0)  // only a broken merge makes one (check_new_pages)
    bad_pages_.push_back(fmt::format(
        "alloc handed out block at {} order {}, which is not naturally aligned", *pfn, order));
  set_state(*pfn, order, FrameState::in_use);
  return pfn;
}

// __rmqueue_smallest(): the head of the first non-empty list at or above `order`.
std::optional<uint64_t> PageAllocator::rmqueue_smallest(unsigned order) {
  for (unsigned high = order; high <= max_order; ++high) {
    const uint64_t pfn = free_area_[high].head;
    if (pfn == nil) continue;
    del_from_free_area(pfn, high);
    expand(pfn, order, high);
    return pfn;
  }
  return std::nullopt;
}

// Keeps the lower 2^low frames of the 2^high block at pfn and frees the upper halves,
// largest first, each onto the list one order below the block it was cut from.
void PageAllocator::expand(uint64_t pfn, unsigned low, unsigned high) {
  while (high > low) {
    --high;
    add_to_free_area(pfn + pages(high), high, /*to_tail=*/false);
  }
}

std::optional<uint64_t> PageAllocator::rmqueue_pcplist(unsigned cpu) {
  PfnList& list = pcp(cpu);
  if (list.count == 0 && rmqueue_bulk(cpu) == 0) return std::nullopt;
  const uint64_t pfn = list.head;
  list_del(list, pfn);
  return pfn;
}

// Moves up to pcp_batch order-0 frames from the buddy lists to the CPU's list, in the
// order they came out, so the next allocations get ascending pfns.
unsigned PageAllocator::rmqueue_bulk(unsigned cpu) {
  unsigned moved = 0;
  for (; moved < config_.pcp_batch; ++moved) {
    auto pfn = rmqueue_smallest(0);
    if (!pfn) break;
    frames_[*pfn].state = FrameState::pcp;
    frames_[*pfn].cpu = static_cast<unsigned>(cpu % pcp_.size());
    list_add_tail(pcp(cpu), *pfn);
  }
  return moved;
}

// ---- freeing ----

void PageAllocator::free(uint64_t pfn, unsigned order, unsigned cpu) {
  check_free(pfn, order);
  if (order > 0) return free_one_block(pfn, order);
  // free_unref_page(): hot end of the CPU's list; trim the cold end past the high mark.
  frames_[pfn].state = FrameState::pcp;
  frames_[pfn].cpu = static_cast<unsigned>(cpu % pcp_.size());
  list_add(pcp(cpu), pfn);
  if (pcp(cpu).count > config_.pcp_high) free_pcppages_bulk(cpu, config_.pcp_batch);
}

void PageAllocator::check_free(uint64_t pfn, unsigned order) const {
  const auto fail = [&](std::string_view why) {
    throw std::logic_error(fmt::format("free of frame {} order {}: {}", pfn, order, why));
  };
  if (order > max_order) fail(fmt::format("order is above max_order {}", max_order));
  if (pfn >= total() || pages(order) > total() - pfn)
    fail(fmt::format("beyond the {} frames", total()));
  if (pfn % pages(order) != 0) fail("block is not naturally aligned");
  for (uint64_t p = pfn; p < pfn + pages(order); ++p) {
    if (frames_[p].state == FrameState::reserved) fail(fmt::format("frame {} is reserved", p));
    if (frames_[p].state != FrameState::in_use)
      fail(fmt::format("double free: frame {} is not in use", p));
  }
}

// __free_one_page(): merge upwards while the buddy is a whole free block of our order.
void PageAllocator::free_one_block(uint64_t pfn, unsigned order) {
  set_state(pfn, order, FrameState::free_tail);
  for (; order < max_order; ++order) {
    const uint64_t buddy = merge_partner(pfn, order);
    if (!buddy_mergeable(buddy, order)) break;
    del_from_free_area(buddy, order);
    frames_[buddy].state = FrameState::free_tail;
    pfn = std::min(pfn, buddy);
  }
  add_to_free_area(pfn, order, /*to_tail=*/false);
}

uint64_t PageAllocator::merge_partner(uint64_t pfn, unsigned order) const {
  return config_.merge_wrong_buddy ? pfn + pages(order) : pfn ^ pages(order);
}

// page_is_buddy(): a reserved frame is never a free head, so merging stops at reserved
// memory; a buddy past the end does not exist.
bool PageAllocator::buddy_mergeable(uint64_t buddy, unsigned order) const {
  return buddy < total() && frames_[buddy].state == FrameState::free_head &&
         frames_[buddy].order == order;
}

// Frees `count` frames from the cold end (tail) of the CPU's list to the buddy lists.
void PageAllocator::free_pcppages_bulk(unsigned cpu, uint64_t count) {
  PfnList& list = pcp(cpu);
  for (; count > 0 && list.count > 0; --count) {
    const uint64_t pfn = list.tail;
    list_del(list, pfn);
    free_one_block(pfn, 0);
  }
}

void PageAllocator::drain_pages(unsigned cpu) { free_pcppages_bulk(cpu, pcp(cpu).count); }

void PageAllocator::drain_all_pages() {
  for (unsigned cpu = 0; cpu < pcp_.size(); ++cpu) drain_pages(cpu);
}

// ---- introspection ----

uint64_t PageAllocator::free_frames() const {
  uint64_t n = nr_free_pages_;
  for (const PfnList& list : pcp_) n += list.count;
  return n;
}

bool PageAllocator::is_free_block(uint64_t pfn, unsigned order) const {
  return pfn < total() && frames_[pfn].state == FrameState::free_head &&
         frames_[pfn].order == order;
}

// ---- verify ----

namespace {

std::string link(uint64_t pfn) { return pfn == UINT64_MAX ? "nil" : std::to_string(pfn); }

}  // namespace

std::vector<std::string> PageAllocator::problems() const {
  std::vector<std::string> out = bad_pages_;
  std::vector<bool> seen(total(), false);
  uint64_t listed = 0;
  for (unsigned order = 0; order <= max_order; ++order) listed += check_free_area(order, seen, out);
  if (listed != nr_free_pages_)
    out.push_back(
        fmt::format("free lists hold {} frames but nr_free_pages is {}", listed, nr_free_pages_));
  for (unsigned cpu = 0; cpu < pcp_.size(); ++cpu) check_pcp(cpu, seen, out);
  check_frames(seen, out);
  check_merged(out);
  return out;
}

std::optional<std::string> PageAllocator::verify() const {
  auto all = problems();
  if (all.empty()) return std::nullopt;
  return all.front();
}

// Follows a list from its head checking back links, tail and count; returns the
// members. Stops at a link beyond memory or after more members than there are frames
// (a cycle), so a corrupt list cannot hang or crash the check.
std::vector<uint64_t> PageAllocator::walk(const PfnList& list, const std::string& name,
                                          std::vector<std::string>& out) const {
  std::vector<uint64_t> members;
  uint64_t prev = nil;
  for (uint64_t pfn = list.head; pfn != nil; prev = pfn, pfn = frames_[pfn].next) {
    if (pfn >= total()) {
      out.push_back(fmt::format("{}: link to frame {} beyond the {} frames", name, pfn, total()));
      return members;
    }
    if (members.size() == total()) {
      out.push_back(fmt::format("{}: the list does not end (a cycle through frame {})", name, pfn));
      return members;
    }
    if (frames_[pfn].prev != prev)
      out.push_back(fmt::format("{}: frame {} links back to {} instead of {}", name, pfn,
                                link(frames_[pfn].prev), link(prev)));
    members.push_back(pfn);
  }
  if (list.tail != prev)
    out.push_back(
        fmt::format("{}: tail is {} but the last frame is {}", name, link(list.tail), link(prev)));
  if (list.count != members.size())
    out.push_back(
        fmt::format("{}: count is {} but {} frames are on it", name, list.count, members.size()));
  return members;
}

// Returns the frames in the blocks on free_area[order].
uint64_t PageAllocator::check_free_area(unsigned order, std::vector<bool>& seen,
                                        std::vector<std::string>& out) const {
  uint64_t frames = 0;
  for (uint64_t pfn : walk(free_area_[order], fmt::format("free_area[{}]", order), out)) {
    const std::string block = fmt::format("free block at {} order {}", pfn, order);
    if (frames_[pfn].state != FrameState::free_head || frames_[pfn].order != order)
      out.push_back(fmt::format("{} is not marked as a free block of that order", block));
    if (pfn % pages(order) != 0) out.push_back(fmt::format("{} is not naturally aligned", block));
    if (pfn < config_.reserved || pages(order) > total() - pfn) {
      out.push_back(fmt::format("{} is outside the usable frames [{}, {})", block, config_.reserved,
                                total()));
      continue;
    }
    for (uint64_t p = pfn; p < pfn + pages(order); ++p) {
      if (seen[p]) out.push_back(fmt::format("frame {} of {} is also on another list", p, block));
      seen[p] = true;
      if (p != pfn && frames_[p].state != FrameState::free_tail)
        out.push_back(fmt::format("frame {} inside {} is not marked free", p, block));
    }
    frames += pages(order);
  }
  return frames;
}

void PageAllocator::check_pcp(unsigned cpu, std::vector<bool>& seen,
                              std::vector<std::string>& out) const {
  const std::string name = fmt::format("pcp list of cpu {}", cpu);
  if (pcp_[cpu].count > config_.pcp_high)
    out.push_back(fmt::format("{} holds {} frames, above pcp_high {}", name, pcp_[cpu].count,
                              config_.pcp_high));
  for (uint64_t pfn : walk(pcp_[cpu], name, out)) {
    if (seen[pfn])
      out.push_back(fmt::format("frame {} on the {} is also on another list", pfn, name));
    seen[pfn] = true;
    if (frames_[pfn].state != FrameState::pcp || frames_[pfn].cpu != cpu)
      out.push_back(fmt::format("frame {} on the {} is not marked as that CPU's", pfn, name));
  }
}

// Per-frame states against the lists, and conservation: free + in use + reserved == total.
void PageAllocator::check_frames(const std::vector<bool>& seen,
                                 std::vector<std::string>& out) const {
  uint64_t used = 0;
  uint64_t reserved = 0;
  for (uint64_t pfn = 0; pfn < total(); ++pfn) {
    const FrameState state = frames_[pfn].state;
    used += state == FrameState::in_use;
    reserved += state == FrameState::reserved;
    if ((state == FrameState::reserved) != (pfn < config_.reserved))
      out.push_back(fmt::format("frame {} is {}marked reserved but the reserved frames are [0, {})",
                                pfn, state == FrameState::reserved ? "" : "not ",
                                config_.reserved));
    if (state != FrameState::in_use && state != FrameState::reserved && !seen[pfn])
      out.push_back(fmt::format("frame {} is marked free but is on no list", pfn));
  }
  if (free_frames() + used + reserved != total())
    out.push_back(fmt::format("frames: {} free + {} in use + {} reserved != {} total",
                              free_frames(), used, reserved, total()));
}

// The buddy rule: two free buddies of the same order below max_order would have merged.
void PageAllocator::check_merged(std::vector<std::string>& out) const {
  for (uint64_t pfn = 0; pfn < total(); ++pfn) {
    const Frame& f = frames_[pfn];
    if (f.state != FrameState::free_head || f.order >= max_order) continue;
    const uint64_t buddy = pfn ^ pages(f.order);
    if (buddy > pfn && buddy_mergeable(buddy, f.order))
      out.push_back(
          fmt::format("free buddies at {} and {} of order {} are not merged", pfn, buddy, f.order));
  }
}

}  // namespace impl
