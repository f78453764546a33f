#pragma once
// The implementation's core structures, shaped like the kernel's mm_types.h: folios and
// pages, page tables, VMAs, anon_vma and anon_vma_chain, address_space and mm. Every
// object the implementation frees is poisoned, not released, so that a stale pointer
// (a folio whose mapping names a freed anon_vma, say) is reported rather than followed.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "impl/interval_tree.hpp"
#include "impl/locks.hpp"
#include "ops/types.hpp"

namespace impl {

using ops::Pid;
using ops::Vpn;
using pfn_t = uint64_t;

// vm_flags
enum VmFlags : uint32_t {
  VM_READ = 1u << 0,
  VM_WRITE = 1u << 1,
  VM_EXEC = 1u << 2,
  VM_SHARED = 1u << 3,
  VM_MAYWRITE = 1u << 4,
  VM_LOCKED = 1u << 5,
  VM_DONTCOPY = 1u << 6,
  VM_WIPEONFORK = 1u << 7,
  VM_MERGEABLE = 1u << 8,
  VM_HUGEPAGE = 1u << 9,
  VM_NOHUGEPAGE = 1u << 10,
  VM_ACCOUNT = 1u << 11,  // private writable memory, charged (and kept apart by merging)
};
inline constexpr uint32_t VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

// Base of every object the implementation allocates: an id for messages, and the
// poison mark set when it is freed.
struct Object {
  uint64_t id = 0;
  bool freed = false;
};

struct AddressSpace;
struct AnonVma;
struct KsmStableNode;
struct MmStruct;
struct Vma;

// The LRU list a folio is on (enum lru_list, plus "none" while it is on no list).
enum class LruList : uint8_t { none, inactive_anon, active_anon, inactive_file, active_file, unevictable };
inline constexpr unsigned nr_lru_lists = 6;  // indexable by LruList; "none" is never used

struct Folio : Object {
  pfn_t pfn = 0;        // of the head page
  unsigned order = 0;
  // folio->mapping: an anon_vma for anon folios, an address_space for file and shmem,
  // the stable node for KSM folios (which count as anon, as PageAnon does).
  AnonVma* anon_vma = nullptr;
  AddressSpace* mapping = nullptr;
  KsmStableNode* stable_node = nullptr;
  uint64_t index = 0;   // anon: linear page index at first map; file: page offset
  int refcount = 0;     // _refcount
  unsigned pincount = 0;
  bool dirty = false;
  Lock lock{LockClass::folio_lock};

  // Large folios (order > 0) count their mappings as current kernels do. A PMD maps
  // the whole folio and counts once in entire_mapcount; each PTE counts in its page's
  // _mapcount; large_mapcount counts both (a PMD once). Like the kernel's, the counts
  // start at -1. nr_pages_mapped is how many pages at least one PTE maps (the kernel's
  // _nr_pages_mapped without the ENTIRELY_MAPPED bit).
  int entire_mapcount = -1;
  int large_mapcount = -1;
  unsigned nr_pages_mapped = 0;
  // Mappings per MM, so that "only this MM maps the folio" is a lookup (the kernel's
  // _mm_id slots; it keeps two and a shared bit, which stays set in some cases after a
  // third MM mapped the folio; here every MM has its count, so the answer is exact).
  std::vector<std::pair<const MmStruct*, int>> mm_mapcount;
  // On the deferred split queue: some pages got unmapped while others stay mapped.
  bool partially_mapped = false;

  // LRU: the list, its links, and PG_referenced (one earlier look found it used).
  LruList lru = LruList::none;
  Folio* lru_prev = nullptr;
  Folio* lru_next = nullptr;
  bool referenced = false;
  // Mappings of this folio from VM_LOCKED VMAs; PG_mlocked while it is not 0.
  unsigned mlock_count = 0;
  // PG_swapcache: the swap slot this folio caches (it holds one reference per page).
  std::optional<uint64_t> swap;
  // The op that last touched it (faulted, allocated): direct reclaim in that op leaves
  // it alone, as the kernel's fault path holds the folio it works on.
  uint64_t touched = 0;

  unsigned nr_pages() const { return 1u << order; }
  bool anon() const { return anon_vma != nullptr || stable_node != nullptr; }
  bool ksm() const { return stable_node != nullptr; }
  bool large() const { return order > 0; }
  bool mlocked() const { return mlock_count > 0; }
  // Anon and shmem memory goes to swap; file memory is written back.
  bool swapbacked() const;
};

// struct page: one per frame.
struct Page {
  Folio* folio = nullptr;  // null while the frame is free
  int mapcount = -1;       // _mapcount: PTE mappings minus one
  // PG_anon_exclusive. For a PMD mapping the head page's flag speaks for the whole
  // folio, as in the kernel; splitting the PMD hands it to every page.
  bool anon_exclusive = false;
  // MADV_FREE'd and not written since. The kernel tells by the folio's cleared
  // PG_swapbacked and the PTE's dirty bit; kept per page here, so that a large folio
  // split later leaves each page what a write did to it.
  bool lazyfree = false;
  uint64_t value = 0;      // the page's content
};

struct Pte {
  enum class Kind : uint8_t { none, present, zero, swap, migration };
  Kind kind = Kind::none;
  pfn_t pfn = 0;        // present, migration
  uint64_t slot = 0;    // swap
  bool write = false, dirty = false, young = false;
};

struct PteTable {
  std::vector<Pte> ptes;
  Lock ptl{LockClass::ptl};
};

// One PMD entry: none, a PTE table, or a huge mapping of a whole aligned range: a
// large folio from `pfn` (pmd_trans_huge), the huge zero page, or a migration entry
// while the folio it named moves.
struct Pmd {
  enum class Kind : uint8_t { none, table, huge, zero, migration };
  Kind kind = Kind::none;
  std::unique_ptr<PteTable> table;  // kind table
  pfn_t pfn = 0;                    // huge, migration: the folio's first page
  bool write = false, dirty = false, young = false;
  Lock ptl{LockClass::ptl};         // pmd_lock: guards a huge entry
};

// anon_vma_chain: links one VMA to one anon_vma; lives on the VMA's chain list and in
// the anon_vma's interval tree, keyed by the VMA's page offset range.
struct AnonVmaChain : Object {
  Vma* vma = nullptr;
  AnonVma* anon_vma = nullptr;
  IntervalNode rb;
};

struct AvcRange {
  static uint64_t start(const AnonVmaChain& avc);
  static uint64_t last(const AnonVmaChain& avc);
};
using AvcTree = IntervalTree<AnonVmaChain, &AnonVmaChain::rb, AvcRange>;

struct AnonVma : Object {
  AnonVma* root = nullptr;
  AnonVma* parent = nullptr;
  int refcount = 0;
  unsigned num_children = 0;
  unsigned num_active_vmas = 0;
  AvcTree rb_root;
  Lock rwsem{LockClass::anon_vma_rwsem};  // only the root's is taken
};

struct Vma : Object {
  MmStruct* mm = nullptr;
  Vpn start = 0, end = 0;
  uint64_t pgoff = 0;
  uint32_t flags = 0;
  AddressSpace* file = nullptr;  // file or shmem object
  AnonVma* anon_vma = nullptr;
  std::vector<AnonVmaChain*> anon_vma_chain;  // oldest first
  IntervalNode shared_rb;                     // in file->i_mmap

  uint64_t pages() const { return end - start; }
  uint64_t last_pgoff() const { return pgoff + pages() - 1; }
  uint64_t pgoff_of(Vpn vpn) const { return pgoff + (vpn - start); }
  Vpn vpn_of(uint64_t page_offset) const { return start + (page_offset - pgoff); }
};

struct VmaRange {
  static uint64_t start(const Vma& v) { return v.pgoff; }
  static uint64_t last(const Vma& v) { return v.last_pgoff(); }
};
using VmaTree = IntervalTree<Vma, &Vma::shared_rb, VmaRange>;

inline uint64_t AvcRange::start(const AnonVmaChain& avc) { return avc.vma->pgoff; }
inline uint64_t AvcRange::last(const AnonVmaChain& avc) { return avc.vma->last_pgoff(); }

struct AddressSpace : Object {
  unsigned object = 0;  // file id, or shmem object number
  bool shmem = false;
  uint64_t size = 0;    // pages
  VmaTree i_mmap;
  std::map<uint64_t, Folio*> i_pages;  // the page cache
  std::map<uint64_t, uint64_t> disk;   // file content not in the cache; absent reads 0
  std::map<uint64_t, uint64_t> swapped;  // shmem: page offset -> swap slot of a reclaimed page
  Lock i_mmap_rwsem{LockClass::i_mmap_rwsem};
};

inline bool Folio::swapbacked() const { return anon() || (mapping && mapping->shmem); }

struct MmStruct : Object {
  Pid pid = 0;
  std::map<Vpn, Vma*> mm_mt;  // VMAs by start
  std::vector<Pmd> pgd;       // one PMD entry per huge-page-sized range
  uint64_t pmd_pages = 1;     // pages one PMD entry covers (the huge page size)
  Lock mmap_lock{LockClass::mmap_lock};
};

}  // namespace impl
