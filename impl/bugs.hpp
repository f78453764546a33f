#pragma once
// The bug zoo: named, injected bugs, each a runtime switch that is off by default. Tests
// turn one on to get a real finding (for the shrinker, for the checker's own tests); a
// bug here is one guarded line at the place the kernel would get it wrong.

#include <string_view>
#include <utility>
#include <vector>

namespace impl {

struct Bugs {
  // split_vma() gives the new VMA the old one's anon_vma but links it into no
  // anon_vma_chain, so rmap_walk can no longer reach the pages it maps.
  bool skip_anon_vma_clone_on_split = false;

  // VMA merging ignores anon_vma compatibility: two VMAs with different anon_vmas
  // merge, and the pages of the one that goes can no longer be found by rmap.
  bool merge_incompatible_anon_vmas = false;

  // anon_vma_clone() reuses an anon_vma for a forked VMA without counting the VMA in
  // num_active_vmas: the degree counters drift, the way the reuse rule's first
  // versions went wrong.
  bool anon_vma_reuse_uncounted = false;

  // Reclaim scans the unevictable list too and takes mlocked folios, which VM_LOCKED
  // promises stay in memory.
  bool reclaim_ignores_mlock = false;

  // The buddy allocator merges a freed block with the block after it instead of its
  // buddy (pfn ^ size), making misaligned or overlapping free blocks.
  bool buddy_merge_wrong_buddy = false;

  // A swap-in reads the slot into a new folio every time instead of looking in the
  // swap cache, so two processes that shared a swapped page no longer share it.
  bool swapin_skips_swap_cache = false;

  // rmap_walk_ksm skips the rmap items whose mm is not the first item's: a KSM page
  // merged across processes loses sight of every other process's mappings.
  bool ksm_rmap_walk_skips_other_processes = false;
  // Zapping a huge PMD (munmap, exit, MADV_DONTNEED of the whole range) drops the
  // mapping and its reference but leaves the folio's entire mapcount as it was: the
  // pages still count a PMD mapping that is gone.
  bool pmd_unmap_forgets_entire_mapcount = false;

  // folio_remove_rmap_pte() of a small anon folio that another mapping keeps (after
  // fork: a COW break, an unmap, an exit) follows a pointer a wrong mapcount let it
  // clear: a null dereference. The process dies of SIGSEGV (or a sanitizer's report),
  // the crash the checker must still turn into a finding with its trace.
  bool remove_rmap_dereferences_null = false;

  // The same place with a wrong VM_BUG_ON instead: it asserts that the folio is mapped
  // nowhere else, and fires (a std::logic_error, the implementation's BUG()).
  bool remove_rmap_bugs_on_shared_anon = false;

  // move_page_tables() does not take the rmap locks (i_mmap_rwsem, the anon_vma root's
  // rwsem) although copy_vma() said they are needed (need_rmap_locks: the new VMA may
  // come first in an rmap walk), so a concurrent rmap walk could miss the moving PTEs.
  // Sequentially nothing else goes wrong; lockdep_assert_held sees it.
  bool mremap_skips_rmap_locks = false;

  // Reclaim gives up at once: `reclaim N` and the direct reclaim of an allocation free
  // nothing, though reclaimable folios sit on the LRU. No state goes wrong; the checker
  // must see that an op ran out of memory, or reclaimed nothing, without cause.
  bool reclaim_gives_up = false;

  // ---- concurrency disciplines: each removes one, and only a group of ops run under
  // the interleaving scheduler can see it go (properties/interleave_discipline_test) ----

  // move_huge_pmd() does not take the rmap locks need_rmap_locks asks for: an rmap walk
  // (migration's remove_migration_ptes) may look at the destination before the huge PMD
  // arrives and at the source after it left, and leave a migration entry behind.
  bool pmd_move_skips_rmap_locks = false;

  // fork copies a VMA's page tables before anon_vma_fork() links the child's VMA into
  // the anon_vma's tree: for a moment the child maps pages (or holds migration entries
  // it copied) where no rmap walk can find them, and a migration finishing then leaves
  // the child's migration entry behind.
  bool fork_copies_page_tables_before_anon_vma_fork = false;

  // folio_lock_anon_vma_read() trusts the anon_vma it read locklessly once it got the
  // lock, without checking the folio is still mapped: a folio unmapped meanwhile may
  // name an anon_vma that was freed (or reused), and the walk uses it.
  bool anon_vma_read_lock_skips_recheck = false;

  // Migration takes no reference on the anon_vma between unmapping the folio and mapping
  // it back: a munmap or exit meanwhile frees it, and the walk that maps the folio back
  // uses a freed anon_vma (and leaves migration entries where it cannot look).
  bool migration_drops_anon_vma_reference = false;

  // Splitting a large folio does not freeze its refcount: a GUP pin taken during the
  // split is lost when the parts' refcounts are set from their mappings.
  bool split_skips_refcount_freeze = false;

  bool operator==(const Bugs&) const = default;
};

// The switches by name, for `--bug NAME` on the command line.
inline const std::vector<std::pair<std::string_view, bool Bugs::*>>& bug_names() {
  static const std::vector<std::pair<std::string_view, bool Bugs::*>> names = {
      {"skip_anon_vma_clone_on_split", &Bugs::skip_anon_vma_clone_on_split},
      {"merge_incompatible_anon_vmas", &Bugs::merge_incompatible_anon_vmas},
      {"anon_vma_reuse_uncounted", &Bugs::anon_vma_reuse_uncounted},
      {"reclaim_ignores_mlock", &Bugs::reclaim_ignores_mlock},
      {"buddy_merge_wrong_buddy", &Bugs::buddy_merge_wrong_buddy},
      {"swapin_skips_swap_cache", &Bugs::swapin_skips_swap_cache},
      {"ksm_rmap_walk_skips_other_processes", &Bugs::ksm_rmap_walk_skips_other_processes},
      {"pmd_unmap_forgets_entire_mapcount", &Bugs::pmd_unmap_forgets_entire_mapcount},
      {"remove_rmap_dereferences_null", &Bugs::remove_rmap_dereferences_null},
      {"remove_rmap_bugs_on_shared_anon", &Bugs::remove_rmap_bugs_on_shared_anon},
      {"mremap_skips_rmap_locks", &Bugs::mremap_skips_rmap_locks},
      {"reclaim_gives_up", &Bugs::reclaim_gives_up},
      {"pmd_move_skips_rmap_locks", &Bugs::pmd_move_skips_rmap_locks},
      {"fork_copies_page_tables_before_anon_vma_fork", &Bugs::fork_copies_page_tables_before_anon_vma_fork},
      {"anon_vma_read_lock_skips_recheck", &Bugs::anon_vma_read_lock_skips_recheck},
      {"migration_drops_anon_vma_reference", &Bugs::migration_drops_anon_vma_reference},
      {"split_skips_refcount_freeze", &Bugs::split_skips_refcount_freeze},
  };
  return names;
}

// What a bug that dereferences a null pointer does: a real load from address 0, through
// a volatile pointer so that no compiler can see it is null and drop or replace it.
inline void dereference_null() {
  static int* volatile null_pointer = nullptr;
  [[maybe_unused]] volatile int value = *null_pointer;
}

// Turns on the bug called `name`; false if there is none.
inline bool set_bug(Bugs& bugs, std::string_view name) {
  for (const auto& [n, field] : bug_names())
    if (n == name) return bugs.*field = true;
  return false;
}

}  // namespace impl
