#pragma once
// impl::Kernel: the optimized, kernel-shaped implementation. Its state is public in
// the way kernel state is global: the mm code in the other files of impl/ works on
// it directly. Users drive it through apply() and read it through the observe and
// check functions.

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "impl/bugs.hpp"
#include "impl/ksm_types.hpp"
#include "impl/lru.hpp"
#include "impl/mm_types.hpp"
#include "impl/page_alloc.hpp"
#include "impl/slab.hpp"
#include "impl/swap.hpp"
#include "ops/fact.hpp"
#include "ops/limits.hpp"
#include "ops/observation.hpp"
#include "ops/observation_writer.hpp"
#include "ops/op.hpp"

namespace impl {

struct PinRecord {
  Folio* folio = nullptr;
  pfn_t pfn = 0;
  bool write = false;
};

class Kernel {
 public:
  explicit Kernel(const ops::Limits& limits, const Bugs& bugs = {});
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel();

  // Whether this implementation handles the op under these limits: every op does,
  // except under the page-cache limits only the kernel oracle sets.
  static bool supports(const ops::Op& op, const ops::Limits& limits);

  ops::Result apply(const ops::Op& op);

  // The Observation twice: once read off the page tables, once by rmap_walk over
  // every in-use folio. Mapcounts are the implementation's own counters in both.
  ops::Observation observe_page_tables();
  ops::Observation observe_rmap();
  // The page-table observation into `out`, reusing its buffers; observed_pfns then
  // holds the frame behind each of its classes, in order.
  void observe_page_tables(ops::Observation& out);
  // The pages rmap_walk finds mapping frame `pfn`, sorted, into `out`; none for a
  // free frame.
  void rmap_mappers(pfn_t pfn, std::vector<ops::PageKey>& out);

  // Every invariant violation found now; empty when all hold.
  std::vector<std::string> check_invariants();

  // The frames reclaimed since the last call (by `reclaim N` or by direct reclaim in a
  // fault) by the ops of thread of control `thread` (0: the sequential one), in order:
  // the choices the model is told about.
  std::vector<ops::ReclaimFact> take_reclaim_facts(unsigned thread = 0);
  // Where a huge page could not be had though enough frames were free, since the last
  // call, by the ops of thread `thread`, in order.
  std::vector<ops::HugeFallbackFact> take_huge_fallback_facts(unsigned thread = 0);

  // The VMA extents of a process, [start, end) in address order.
  std::vector<std::pair<Vpn, Vpn>> vma_extents(Pid pid) const;
  // The same, appended to `out`.
  void vma_extents(Pid pid, std::vector<std::pair<Vpn, Vpn>>& out) const;

  // ---- state ----
  ops::Limits limits;
  PageAllocator frames;     // declared before mem_map, which is sized from it
  std::vector<Page> mem_map;  // one per pfn, reserved ones included
  Slab<Folio> folios;
  Slab<Vma> vmas;
  Slab<AnonVma> anon_vmas;
  Slab<AnonVmaChain> avcs;
  Slab<AddressSpace> spaces;
  Slab<MmStruct> mms;
  std::map<Pid, MmStruct*> tasks;
  std::vector<AddressSpace*> files;
  unsigned next_shmem = 0;
  std::map<ops::PinId, PinRecord> pins;
  ops::PinId next_pin = 1;
  LruVec lruvec;
  SwapInfo swap;
  Ksm ksm;  // KSM's mm slots, rmap items, stable nodes and trees (impl/ksm.hpp)
  // Anon large folios some of whose pages were unmapped while others stay mapped
  // (deferred_split_queue). Nothing splits them behind the user's back: the model keeps
  // a partly mapped folio whole until it is split, reclaimed or freed.
  std::vector<Folio*> deferred_split_queue;
  // The harness's buffers for observing (impl/observe.cpp); no kernel state.
  ops::ObservationScratch observe_scratch;
  std::vector<pfn_t> observed_pfns;
  // What belongs to the op a thread of control runs, as a task_struct and the CPU
  // it runs on would hold it: under a group every thread runs an op of its own.
  struct OpContext {
    uint64_t op_seq = 0;  // the current op's number (from ops_started)
    unsigned cpu = 0;     // the CPU it runs on: its pid's, or alternating
    std::vector<ops::ReclaimFact> reclaim_facts;
    std::vector<ops::HugeFallbackFact> huge_fallbacks;
    unsigned rcu_depth = 0;   // rcu_read_lock() nesting (impl/rcu.hpp)
    uint64_t rcu_since = 0;   // the RCU clock when its read-side section began
  };
  uint64_t ops_started = 0;  // kernel-wide: each op's number is distinct
  // Per thread of control (the lock hook's thread(); 0 when sequential). A deque, so
  // that one thread's context stays where it is when a higher-numbered one appears.
  std::deque<OpContext> contexts = std::deque<OpContext>(1);
  OpContext& ctx() {
    const unsigned t = locks.thread();
    if (t >= contexts.size()) [[unlikely]] contexts.resize(t + 1);
    return contexts[t];
  }
  LockTracker locks;
  // RCU (impl/rcu.hpp): a clock that read-side sections and frees are stamped with.
  uint64_t rcu_clock = 0;
  // SLAB_TYPESAFE_BY_RCU for anon_vmas: freed ones, with the RCU clock of their free,
  // that a later anon_vma_alloc may reuse once no reader from before the free is left.
  // Only under a lock hook: sequentially a freed object stays poisoned for good.
  std::vector<std::pair<AnonVma*, uint64_t>> anon_vma_cache;
  // Uses of a freed (poisoned) object that the code caught (impl/rcu.hpp,
  // use_after_free), reported by check_invariants() and check_quiescent().
  std::vector<std::string> poison_uses;
  // After a group of concurrent ops: everything check_invariants() checks, and that no
  // lock is held, no migration entry is left, no RCU reader is still inside, and no
  // freed object is reachable from the page tables, VMAs or folios.
  std::vector<std::string> check_quiescent();
  Bugs bugs;  // injected bugs (impl/bugs.hpp), all off unless a test turns one on

  uint64_t hpage() const { return limits.hpage_pages(); }
  Page& page(pfn_t pfn) { return mem_map.at(pfn); }
};

}  // namespace impl
