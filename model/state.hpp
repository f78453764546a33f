#pragma once
// The model's whole state: what a user could see, kept as plainly as possible. An
// address space is a map from vpn to Page (the page's VMA attributes and its PTE);
// there are no VMA objects, no reverse maps and no counters. Each page names its VMA
// by a number, so a VMA is the run of pages with one number; extents, mapcounts and
// sharing are recomputed by scanning whenever they are needed.

#include <cstdint>
#include <functional>
#include <deque>
#include <string>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "model/flat_map.hpp"
#include "model/system.hpp"
#include "ops/fact.hpp"
#include "ops/observation.hpp"

namespace model {

using ops::Pid;
using ops::Vpn;
using FrameId = uint64_t;
using SlotId = uint64_t;

enum class Backing : uint8_t { anon, file, shmem };

// The VMA attributes every page of a VMA shares, plus its linear page index.
struct Attrs {
  ops::Prot prot = ops::prot_none;
  bool shared = false;
  Backing backing = Backing::anon;
  unsigned object = 0;  // file id or shmem object id
  uint64_t pgoff = 0;   // vm_pgoff + offset: file offset, or anon linear index
  bool locked = false, dontfork = false, wipeonfork = false, mergeable = false,
       hugepage = false, nohugepage = false;
  // VM_ACCOUNT: a private mapping that was writable when mapped, or made writable since.
  bool account = false;
  // Which VMA the page is in: a number of the model's own, one per VMA (vma.cpp).
  uint64_t vma = 0;
  // The VMA's anon_vma, by identity (0: none yet). It decides whether fork copies the
  // VMA's page tables (vma_needs_copy) and which VMAs may merge.
  uint64_t anon_vma = 0;
  // The anon_vma came from fork: the VMA is linked to its parents' anon_vmas too
  // (vma_is_fork_child), which keeps it from merging with a VMA of another anon_vma.
  bool fork_child = false;

  // Whether `next` is the next page of the same VMA.
  bool continues_with(const Attrs& next) const;
  // Whether the two have the same vm_flags and file (is_mergeable_vma's test).
  bool same_flags(const Attrs& other) const;
};

struct Pte {
  enum class Kind : uint8_t { present, zero, swap };
  Kind kind = Kind::zero;
  FrameId frame = 0;  // present
  SlotId slot = 0;    // swap
  bool pmd = false;   // part of a PMD mapping: of a large folio, or of the huge zero page
};

struct Page {
  Attrs attrs;
  std::optional<Pte> pte;  // nullopt: pte_none
};

struct Process {
  FlatMap<Vpn, Page> pages;
  // Huge-page-aligned ranges that have a PTE table. A THP fault needs none there (the
  // kernel's pmd_none); a table goes away only when no VMA covers its range any more.
  FlatSet<Vpn> tables;
};

struct Frame {
  uint64_t value = 0;
  ops::FrameKind kind = ops::FrameKind::anon;
  uint64_t folio = 0;        // large folio id; 0 for a small folio
  uint64_t folio_index = 0;  // position inside its large folio
  bool exclusive = false;    // AnonExclusive: only one mapping can reach it
  bool lazyfree = false;     // MADV_FREE'd and not written since
  bool dirty = false;        // page cache: written since last writeback
  std::optional<SlotId> swapcache;
};

struct File {
  uint64_t size = 0;                     // pages
  std::map<uint64_t, uint64_t> disk;     // pgoff -> value; absent reads 0
  std::map<uint64_t, FrameId> cache;     // page cache
};

struct Shmem {
  uint64_t size = 0;
  std::map<uint64_t, FrameId> cache;
  std::map<uint64_t, SlotId> swapped;
};

struct PinRecord {
  FrameId frame = 0;
  bool write = false;
};

// A maximal range of pages forming one VMA.
struct Extent {
  Vpn start = 0, end = 0;
};

struct State {
  ops::Limits limits;
  System::Options options;

  std::map<Pid, Process> procs;
  FlatMap<FrameId, Frame> frames;
  std::vector<File> files;
  std::map<unsigned, Shmem> shmem;
  FlatMap<SlotId, uint64_t> slots;  // swap slot -> value written there
  std::set<SlotId> ksm_slots;        // slots a KSM frame was swapped out to
  // KSM scans processes in the order they first had a mergeable VMA (a fork child right
  // after, at the end then): the kernel's mm list, appended to by __ksm_enter.
  std::vector<Pid> ksm_scan_order;
  std::map<ops::PinId, PinRecord> pins;

  FrameId next_frame = 1;
  SlotId next_slot = 1;
  unsigned next_shmem = 0;
  ops::PinId next_pin = 1;
  uint64_t next_folio = 1;
  uint64_t next_vma = 1, next_anon_vma = 1;

  explicit State(const ops::Limits& l, System::Options o);

  Process* proc(Pid pid);
  Page* page(Pid pid, Vpn vpn);
  uint64_t free_frames() const { return limits.frames - frames.size(); }
  // The implementation's direct reclaim, handed in with the op (System::apply): the
  // model applies the next fact where it runs out of frames itself, which is where the
  // implementation did. The first illegal fact stops that, with the reason.
  std::deque<ops::FrameRef> pending_facts;
  std::optional<std::string> fact_error;
  // Set when an op fails because a fault or file write found no free frame: the
  // differential checker then asks whether the implementation could have reclaimed one.
  bool ran_out_of_frames = false;
  // What the current op has used: the frames it allocated (ids from op_first_frame on)
  // and the ones its faults found in place. They are the most recently referenced
  // memory there is, so direct reclaim in the same op passes them over (their PTEs are
  // young: folio_check_references activates them).
  FrameId op_first_frame = 1;
  std::set<FrameId> op_touched;
  void begin_op();
  void touch(FrameId id) { op_touched.insert(id); }
  bool touched_this_op(FrameId id) const { return id >= op_first_frame || op_touched.count(id); }
  // Whether fewer than n frames are free for a fault or file write, after taking
  // pending facts.
  bool no_free_frames(uint64_t n);
  bool no_free_frame() { return no_free_frames(1); }
  // Where the implementation found no huge page though enough frames were free (its
  // compaction blocked by pinned pages), handed in with the op like the reclaim facts:
  // the model takes the next one where it tries a huge page for the same (pid, vpn).
  std::deque<ops::HugeFallbackFact> pending_fallbacks;
  // Whether a huge page can be had now for (pid, vpn): H frames free (counting what the
  // op already left unreachable, as the kernel frees at once), unless the
  // implementation's next fallback fact is for this place and is legal.
  bool huge_page_available(Pid pid, Vpn vpn);
  uint64_t hpage() const { return limits.hpage_pages(); }
  FrameId alloc_frame(ops::FrameKind kind, uint64_t value);
};

// ---- scans (scan.cpp): every rmap question, answered by looking at everything ----
std::vector<ops::PageKey> mappers(const State& s, FrameId frame);
// The frame a fault at `at` holds while it allocates: the one mapped there, or, for a
// swapped page, the one caching its slot (a swap-in that must copy holds the swap
// cache's folio it found).
std::optional<FrameId> frame_held_by_fault(const State& s, ops::PageKey at);
bool slot_referenced_elsewhere(const State& s, SlotId slot, Pid pid, Vpn vpn);
bool frame_pinned(const State& s, FrameId frame);
bool folio_pinned(const State& s, FrameId frame);
std::vector<FrameId> folio_frames(const State& s, FrameId frame);
bool frame_mlocked(const State& s, FrameId frame);
// Whether any page of the frame's folio is mapped in a VM_LOCKED VMA.
bool folio_mlocked(const State& s, FrameId frame);
std::vector<Extent> extents(const Process& proc);
std::optional<Extent> extent_at(const Process& proc, Vpn vpn);
// Whether an address space stays within the VMA count and size limits.
bool fits_limits(const State& s, const Process& proc);

// ---- VMAs (vma.cpp): where boundaries are, by the kernel's 6.x merge rules ----
// A page of a new VMA gets new_vma()'s number; fresh ranges, edits and faults then go
// through the functions below, which merge and split as the kernel would.
uint64_t new_vma(State& s);
// split_vma: from `at` on, the VMA containing `at - 1` and `at` is another VMA.
void split_vma(State& s, Process& proc, Vpn at);
// Unmaps [start, end): splits the VMAs across its edges, then drops the pages.
void unmap_range(State& s, Process& proc, Vpn start, Vpn end);
// vma_merge_new_range: [start, end) holds fresh pages of one new VMA (mmap, mremap's
// copy_vma); merges them into the VMA before and/or after where the rules allow.
// `copied_from`: the attributes of the VMA mremap copies them from.
void merge_new_range(State& s, Process& proc, Vpn start, Vpn end, const Attrs* copied_from = nullptr);
// vma_modify: gives [start, end), which lies in one VMA, the flags `edit` sets on each
// page, merging with the VMA before or after where the rules allow, else splitting.
// Does nothing when `edit` changes no flag (mprotect_fixup, mlock_fixup and
// madvise_update_vma return early then, with no merge).
void modify_range(State& s, Process& proc, Vpn start, Vpn end, const std::function<void(Attrs&)>& edit);
// Applies modify_range to each VMA's part of [start, end), in address order, up to the
// first hole. Returns whether there was none.
bool modify_vmas(State& s, Process& proc, Vpn start, Vpn end, const std::function<void(Attrs&)>& edit);
// anon_vma_prepare: the VMA at (pid, vpn) gets an anon_vma if it has none, reusing a
// neighbour's where find_mergeable_anon_vma would.
void anon_vma_prepare(State& s, Pid pid, Vpn vpn);
// Each VMA is one run of pages with one number, uniform attributes and contiguous
// offsets; what breaks that, or nothing.
std::optional<std::string> check_vmas(const State& s);

// ---- housekeeping (tidy.cpp): run after every op ----
void tidy(State& s);
// The part of tidy() that frees what nobody can reach; ops that unmap and then
// allocate in one call run it in between, as the kernel frees zapped pages at once.
void free_unreachable(State& s);
void zap(State& s, Pid pid, Vpn vpn);  // drop the PTE (the page stays mapped)
// The page tables of huge-page ranges where the process maps no page go (free_pgtables).
// Unmapping runs it before a new mapping takes the range (MAP_FIXED, mremap's target).
void free_pgtables(const State& s, Process& proc);
void split_folio(State& s, FrameId frame);
void map_unused_to_zeropage(State& s, const std::vector<FrameId>& members);
void split_pmd(State& s, Pid pid, Vpn vpn);
// The kernel splits a huge PMD the moment a VMA boundary cuts it (vma_adjust_trans_huge);
// the model finds out in tidy(). A fault in the middle of an op (mprotect's COW break,
// mlock's populate) calls this first, to see what the kernel would.
void split_pmd_if_broken(State& s, Pid pid, Vpn vpn);

// ---- faults (fault.cpp) ----
enum class Access : uint8_t { read, write, unshare };
// Makes (pid, vpn) present for `access`. The result's kind is ok on success.
ops::Result fault(State& s, Pid pid, Vpn vpn, Access access);
ops::Result populate(State& s, Pid pid, Vpn start, Vpn end, bool stop_on_error);

// ---- fault-around (fault_around.cpp); off unless the limits say ----
// After a read fault of a file or shmem page: maps the cached pages of its window.
void fault_around(State& s, Pid pid, Vpn vpn);
// The page-cache frame of a file page, read in from disk if it is not cached yet.
FrameId file_cache_frame(State& s, unsigned file, uint64_t pgoff);

// ---- op handlers ----
ops::Result do_fork(State& s, const ops::Fork& op);
ops::Result do_exit(State& s, const ops::Exit& op);
ops::Result do_mmap(State& s, const ops::Mmap& op);
ops::Result do_munmap(State& s, const ops::Munmap& op);
ops::Result do_mprotect(State& s, const ops::Mprotect& op);
ops::Result do_mremap(State& s, const ops::Mremap& op);
ops::Result do_mlock(State& s, Pid pid, Vpn vpn, uint64_t pages, bool lock);
ops::Result do_madvise(State& s, const ops::Madvise& op);
ops::Result do_read(State& s, const ops::Read& op);
ops::Result do_write(State& s, const ops::Write& op);
ops::Result do_pin(State& s, const ops::Pin& op);
ops::Result do_readpin(State& s, const ops::ReadPin& op);
ops::Result do_writepin(State& s, const ops::WritePin& op);
ops::Result do_unpin(State& s, const ops::Unpin& op);
ops::Result do_fwrite(State& s, const ops::Fwrite& op);
ops::Result do_ftruncate(State& s, const ops::Ftruncate& op);
ops::Result do_reclaim(State& s, const ops::Reclaim& op);
std::optional<std::string> reclaim_frame(State& s, const ops::FrameRef& ref);
// Applies the pending facts that are left, in order; stops at an illegal one.
void apply_pending_facts(State& s);
// A frame that may legally be reclaimed now, named as a fact would name it, other than
// the one held at `held` and, for direct reclaim in the current op, the ones it used.
std::optional<ops::FrameRef> reclaim_candidate(const State& s, std::optional<ops::PageKey> held, bool direct);
ops::Result pageout_range(State& s, Pid pid, Vpn start, Vpn end);
ops::Result do_migrate(State& s, const ops::Migrate& op);
ops::Result do_ksm(State& s);
// Puts the process at the end of KSM's scan order, unless it is there already.
void ksm_enter(State& s, Pid pid);
ops::Result unmerge_range(State& s, Pid pid, Vpn start, Vpn end);
ops::Result do_split(State& s, const ops::Split& op);
ops::Result collapse_range(State& s, Pid pid, Vpn start, Vpn end);
void observe(const State& s, ops::Observation& out, ops::ObservationScratch& scratch);

}  // namespace model
