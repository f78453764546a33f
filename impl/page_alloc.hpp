#pragma once
// The page allocator: a binary buddy allocator (mm/page_alloc.c's free_area[] lists)
// with per-CPU lists of order-0 pages in front of it.
//
// Memory is pfns [0, total()). The lowest reserved() pfns stand for firmware-reserved
// memory: never handed out, never merged into. The rest is split at boot into the
// largest naturally aligned blocks (order <= max_order) and put on the free lists.
//
// alloc(order) takes the smallest free block of at least that order and splits it, the
// upper halves going back one order down (expand). Freeing merges a block with its
// buddy (pfn ^ 2^order) for as long as the buddy is a whole free block of the same
// order. Order-0 pages go through the CPU's per_cpu_pages list instead: refilled
// pcp_batch pages at a time from the buddy lists (rmqueue_bulk) when empty, and trimmed
// by pcp_batch pages from its cold end back to the buddy lists (free_pcppages_bulk)
// when it holds more than pcp_high. Pages on per-CPU lists are free and count in
// free_frames(); an allocation that finds nothing drains every CPU's list
// (drain_all_pages) and tries once more before it fails.
//
// The lists are intrusive and live in a per-pfn array (our struct page), because these
// lists are part of what the checker checks; verify() walks them. Every choice is
// deterministic (list heads, fixed split halves), so a run replays exactly.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace impl {

// At namespace scope so that `Config config = {}` can default it inside the class.
struct PageAllocConfig {
  uint64_t reserved = 0;   // pfns [0, reserved) are firmware-reserved
  unsigned cpus = 2;       // number of per-CPU lists; a cpu argument is taken modulo this
  unsigned pcp_high = 8;   // a per-CPU list longer than this is trimmed ...
  unsigned pcp_batch = 4;  // ... by this many pages; also the refill size
  // Bug zoo: merge with the block just above (pfn + 2^order) instead of the buddy
  // (pfn ^ 2^order). Whenever the two differ the merged block is misaligned, which
  // verify() reports.
  bool merge_wrong_buddy = false;
};

class PageAllocator {
 public:
  using Config = PageAllocConfig;
  static constexpr unsigned max_order = 10;  // free_area[0..max_order]

  // Throws std::invalid_argument for cpus == 0, pcp_batch == 0 or pcp_batch > pcp_high + 1
  // (a refill or a trim would leave a list above pcp_high).
  explicit PageAllocator(uint64_t usable_frames, Config config = {});

  // A naturally aligned block of 2^order frames, or nullopt when none is free even after
  // draining the per-CPU lists (or order > max_order, as in the kernel).
  std::optional<uint64_t> alloc(unsigned order, unsigned cpu = 0);
  // Compaction's free page scanner (isolate_freepages): one free frame outside
  // [lo, hi), cut from the smallest free block that lies wholly outside it, after
  // draining the per-CPU lists so that every free frame is on a buddy list. nullopt
  // when there is none.
  std::optional<uint64_t> alloc_outside(uint64_t lo, uint64_t hi);
  // Gives back a block alloc() returned (or a naturally aligned part of one). Throws
  // std::logic_error for a frame that is not in use (double free, reserved) or a
  // misaligned or out-of-range block: callers must not do that.
  void free(uint64_t pfn, unsigned order, unsigned cpu = 0);
  void drain_pages(unsigned cpu);  // the CPU's per-CPU list back to the buddy lists
  void drain_all_pages();

  uint64_t free_frames() const;  // on buddy lists plus on per-CPU lists
  uint64_t total() const { return frames_.size(); }
  uint64_t reserved() const { return config_.reserved; }
  uint64_t nr_free(unsigned order) const { return free_area_.at(order).count; }  // blocks
  uint64_t pcp_count(unsigned cpu) const { return pcp(cpu).count; }
  bool in_use(uint64_t pfn) const { return frames_.at(pfn).state == FrameState::in_use; }
  bool is_reserved(uint64_t pfn) const { return frames_.at(pfn).state == FrameState::reserved; }
  bool is_free_block(uint64_t pfn, unsigned order) const;  // a head on free_area[order]

  // Every broken invariant, in a fixed order; verify() is the first one.
  std::vector<std::string> problems() const;
  std::optional<std::string> verify() const;

 private:
  static constexpr uint64_t nil = UINT64_MAX;

  enum class FrameState : uint8_t { reserved, in_use, free_head, free_tail, pcp };
  // Our struct page: a free_head starts a free block of `order` and carries the links of
  // the free list it is on; a pcp frame carries the links of its CPU's list.
  struct Frame {
    FrameState state = FrameState::in_use;
    uint8_t order = 0;
    unsigned cpu = 0;  // whose per-CPU list, for a pcp frame
    uint64_t prev = nil;
    uint64_t next = nil;
  };
  // A doubly linked list threaded through frames_ (free_area::free_list with nr_free,
  // per_cpu_pages::lists with count).
  struct PfnList {
    uint64_t head = nil;
    uint64_t tail = nil;
    uint64_t count = 0;
  };

  void list_add(PfnList& list, uint64_t pfn);
  void list_add_tail(PfnList& list, uint64_t pfn);
  void list_del(PfnList& list, uint64_t pfn);
  PfnList& pcp(unsigned cpu) { return pcp_[cpu % pcp_.size()]; }
  const PfnList& pcp(unsigned cpu) const { return pcp_[cpu % pcp_.size()]; }

  void add_to_free_area(uint64_t pfn, unsigned order, bool to_tail);
  void del_from_free_area(uint64_t pfn, unsigned order);
  void free_boot_memory();
  std::optional<uint64_t> rmqueue(unsigned order, unsigned cpu);
  std::optional<uint64_t> rmqueue_smallest(unsigned order);
  void expand(uint64_t pfn, unsigned low, unsigned high);
  std::optional<uint64_t> rmqueue_pcplist(unsigned cpu);
  unsigned rmqueue_bulk(unsigned cpu);
  void free_one_block(uint64_t pfn, unsigned order);
  uint64_t merge_partner(uint64_t pfn, unsigned order) const;
  bool buddy_mergeable(uint64_t buddy, unsigned order) const;
  void free_pcppages_bulk(unsigned cpu, uint64_t count);
  void check_free(uint64_t pfn, unsigned order) const;
  void set_state(uint64_t pfn, unsigned order, FrameState state);

  // verify() helpers; `seen` marks frames already found on some list.
  std::vector<uint64_t> walk(const PfnList& list, const std::string& name,
                             std::vector<std::string>& out) const;
  uint64_t check_free_area(unsigned order, std::vector<bool>& seen,
                           std::vector<std::string>& out) const;
  void check_pcp(unsigned cpu, std::vector<bool>& seen, std::vector<std::string>& out) const;
  void check_frames(const std::vector<bool>& seen, std::vector<std::string>& out) const;
  void check_merged(std::vector<std::string>& out) const;

  Config config_;
  std::vector<Frame> frames_;
  std::vector<PfnList> free_area_;  // [order]
  std::vector<PfnList> pcp_;        // [cpu]
  uint64_t nr_free_pages_ = 0;      // frames in blocks on free_area_ lists
  // Like the kernel's bad_page() reports: a block that was wrong when alloc() handed it
  // out is gone from the lists by the time verify() runs, so it is recorded here.
  std::vector<std::string> bad_pages_;
};

// The name the rest of impl/ grew up with.
using FrameAllocator = PageAllocator;

}  // namespace impl
