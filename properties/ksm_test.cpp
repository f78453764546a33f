// KSM in the implementation, as a specification: what a merge builds (one KSM folio, a
// stable node, an rmap item per PTE), the checksum rule, and how every way a mapping
// can go (unmergeable, exit, munmap, COW, fork, reclaim, swap-in, migration, mremap)
// moves mapcounts and leaves no stale rmap item or stable node. Each test drives the
// differential Runner through ops, so the model agrees at every step and every
// invariant holds, then reads the implementation's KSM state.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "impl/folio.hpp"
#include "impl/ksm.hpp"
#include "impl/pgtable.hpp"
#include "ops/trace.hpp"
#include "properties/impl_world.hpp"

namespace {

using impl::Folio;
using impl::KsmStableNode;
using ops::PageKey;

class KsmWorld {
 public:
  explicit KsmWorld(ops::Limits limits = {}, impl::Bugs bugs = {}) : runner_(limits, check::RunnerOptions{bugs}) {}

  // Steps every op of the trace through the Runner; a finding fails the test.
  void run(const std::string& trace) {
    for (const ops::Op& op : ops::parse_trace(trace).ops()) {
      if (auto finding = runner_.step(op)) {
        ADD_FAILURE() << check::finding_text(*finding, "(test)");
        return;
      }
    }
  }
  // The first finding of the trace's ops, if any.
  std::optional<check::Finding> finding_of(const std::string& trace) {
    for (const ops::Op& op : ops::parse_trace(trace).ops())
      if (auto finding = runner_.step(op)) return finding;
    return std::nullopt;
  }

  impl::Kernel& k() { return runner_.kernel(); }

  Folio* folio_at(ops::Pid pid, ops::Vpn vpn) {
    const impl::Pte* pte = impl::pte_offset(k().tasks.at(pid), vpn);
    if (!pte || pte->kind != impl::Pte::Kind::present) return nullptr;
    return impl::pfn_folio(k(), pte->pfn);
  }
  KsmStableNode* node_at(ops::Pid pid, ops::Vpn vpn) {
    Folio* f = folio_at(pid, vpn);
    return f ? f->stable_node : nullptr;
  }
  int mapcount_at(ops::Pid pid, ops::Vpn vpn) { return impl::folio_mapcount(k(), folio_at(pid, vpn)); }

  // The (pid, vpn) of each rmap item on the node, sorted.
  static std::vector<PageKey> items(const KsmStableNode* node) {
    std::vector<PageKey> out;
    for (const impl::KsmRmapItem* item : node->hlist) out.emplace_back(item->mm->pid, item->address);
    std::sort(out.begin(), out.end());
    return out;
  }
  // How many rmap items hang off stable nodes, over all of KSM.
  size_t stable_items() {
    size_t n = 0;
    k().ksm.stable_nodes.for_each_live([&](const KsmStableNode& node) { n += node.hlist.size(); });
    return n;
  }
  size_t stable_nodes() { return k().ksm.stable_nodes.live(); }

 private:
  check::Runner runner_;
};

// Two unrelated processes (forked before either maps anything), each with a mergeable
// page of value 7.
const char* two_processes_with_equal_pages =
    "fork 1\n"
    "mmap 1 0x100 1 anon private rw\nmadvise 1 0x100 1 mergeable\nwrite 1 0x100 7\n"
    "mmap 2 0x180 1 anon private rw\nmadvise 2 0x180 1 mergeable\nwrite 2 0x180 7\n";

// ---- merging ----

TEST(KsmMerge, TwoProcessesWithEqualPagesShareOneKsmFolioWithTwoRmapItems) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\n");
  Folio* f = w.folio_at(1, 0x100);
  ASSERT_TRUE(f && f->ksm());
  EXPECT_EQ(w.folio_at(2, 0x180), f);
  EXPECT_EQ(f->anon_vma, nullptr) << "a KSM folio's mapping is its stable node";
  EXPECT_EQ(f->stable_node->kpfn, f->pfn);
  EXPECT_EQ(KsmWorld::items(f->stable_node), (std::vector<PageKey>{{1, 0x100}, {2, 0x180}}));
  EXPECT_EQ(w.mapcount_at(1, 0x100), 2);
  EXPECT_EQ(f->refcount, 2) << "one reference per PTE, none for the stable node";
  EXPECT_FALSE(w.k().page(f->pfn).anon_exclusive);
  EXPECT_EQ(w.stable_nodes(), 1u);
  EXPECT_EQ(w.k().ksm.pages_merged, 2u);
}

TEST(KsmMerge, EveryPageOfAValueJoinsTheOneKsmPageAndOtherValuesStayApart) {
  KsmWorld w;
  w.run("mmap 1 0x100 4 anon private rw\nmadvise 1 0x100 4 mergeable\n"
        "write 1 0x100 7\nwrite 1 0x101 7\nwrite 1 0x102 7\nwrite 1 0x103 8\nksm\n");
  KsmStableNode* node = w.node_at(1, 0x100);
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(KsmWorld::items(node), (std::vector<PageKey>{{1, 0x100}, {1, 0x101}, {1, 0x102}}));
  EXPECT_EQ(w.mapcount_at(1, 0x100), 3);
  EXPECT_FALSE(w.folio_at(1, 0x103)->ksm()) << "no equal page: it stays anon";
}

TEST(KsmMerge, FreshEqualPagesMergeOnlyInTheSecondFullScan) {
  impl_world::World w;  // scans one at a time, so the Runner (whole ops only) stays out
  w.run("mmap 1 0x100 2 anon private rw\nmadvise 1 0x100 2 mergeable\nwrite 1 0x100 7\nwrite 1 0x101 7\n");
  impl::Kernel& k = w.kernel();
  EXPECT_TRUE(impl::ksm_full_scan(k)) << "the first scan records checksums";
  EXPECT_EQ(k.ksm.stable_nodes.live(), 0u) << "a page enters the unstable tree only once its checksum held";
  EXPECT_TRUE(impl::ksm_full_scan(k)) << "the second merges";
  EXPECT_EQ(k.ksm.stable_nodes.live(), 1u);
  EXPECT_FALSE(impl::ksm_full_scan(k)) << "the third changes nothing: the fixpoint";
  EXPECT_TRUE(k.ksm.root_unstable_tree.empty());
}

TEST(KsmMerge, APageRewrittenSinceTheLastScanWaitsOneScanBeforeItMerges) {
  impl_world::World w;
  w.run("mmap 1 0x100 2 anon private rw\nmadvise 1 0x100 2 mergeable\nwrite 1 0x100 7\nwrite 1 0x101 8\nksm\n");
  impl::Kernel& k = w.kernel();
  ASSERT_EQ(k.ksm.stable_nodes.live(), 0u);
  w.run("write 1 0x101 7\n");
  EXPECT_TRUE(impl::ksm_full_scan(k));
  EXPECT_EQ(k.ksm.stable_nodes.live(), 0u) << "0x101's checksum changed: it stays out of the unstable tree";
  EXPECT_TRUE(impl::ksm_full_scan(k));
  EXPECT_EQ(k.ksm.stable_nodes.live(), 1u);
}

TEST(KsmMerge, AnEqualPageMergesIntoAnExistingKsmPageInTheFirstScan) {
  impl_world::World w;
  w.run("mmap 1 0x100 3 anon private rw\nmadvise 1 0x100 3 mergeable\nwrite 1 0x100 7\nwrite 1 0x101 7\nksm\n"
        "write 1 0x102 7\n");
  impl::Kernel& k = w.kernel();
  EXPECT_TRUE(impl::ksm_full_scan(k)) << "the stable tree needs no checksum: it is write-protected";
  const impl::Pte* a = impl::pte_offset(k.tasks.at(1), 0x100);
  const impl::Pte* c = impl::pte_offset(k.tasks.at(1), 0x102);
  EXPECT_EQ(a->pfn, c->pfn);
}

TEST(KsmMerge, PinnedPagesAndPagesAlsoMappedOutsideMergeableVmasStayAnon) {
  KsmWorld w;
  // 0x100 is pinned; 0x101 is shared with a child whose VMA is not mergeable; 0x102 and
  // 0x103 are free to merge.
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 7\nwrite 1 0x101 7\nwrite 1 0x102 7\nwrite 1 0x103 7\n"
        "pin 1 0x100 rw\nfork 1\nmadvise 1 0x100 4 mergeable\nmunmap 2 0x100 1\nmunmap 2 0x102 2\nksm\n");
  EXPECT_FALSE(w.folio_at(1, 0x100)->ksm());
  EXPECT_FALSE(w.folio_at(1, 0x101)->ksm());
  EXPECT_EQ(w.folio_at(1, 0x101), w.folio_at(2, 0x101));
  ASSERT_TRUE(w.folio_at(1, 0x102)->ksm());
  EXPECT_EQ(w.folio_at(1, 0x102), w.folio_at(1, 0x103));
}

// ---- unmerging ----

TEST(KsmUnmerge, UnmergeableGivesEachProcessACopyAndLeavesNoRmapItemOrStableNode) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nmadvise 1 0x100 1 unmergeable\n");
  EXPECT_FALSE(w.folio_at(1, 0x100)->ksm());
  EXPECT_TRUE(w.k().page(w.folio_at(1, 0x100)->pfn).anon_exclusive);
  ASSERT_TRUE(w.folio_at(2, 0x180)->ksm()) << "the other process keeps the KSM page";
  EXPECT_EQ(KsmWorld::items(w.node_at(2, 0x180)), (std::vector<PageKey>{{2, 0x180}}));
  EXPECT_EQ(w.mapcount_at(2, 0x180), 1);
  w.run("madvise 2 0x180 1 unmergeable\n");
  EXPECT_EQ(w.stable_nodes(), 0u) << "its last mapping broken, the KSM page was freed and its node pruned";
  EXPECT_EQ(w.stable_items(), 0u);
}

TEST(KsmUnmerge, ExitOfBothProcessesFreesTheKsmPageTheStableNodeAndAllRmapItems) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nexit 2\n");
  EXPECT_EQ(KsmWorld::items(w.node_at(1, 0x100)), (std::vector<PageKey>{{1, 0x100}}));
  w.run("exit 1\n");
  EXPECT_EQ(w.stable_nodes(), 0u);
  EXPECT_EQ(w.k().ksm.rmap_items.live(), 0u);
  EXPECT_EQ(w.k().ksm.slots.live(), 0u);
}

TEST(KsmUnmerge, MunmapDropsThatMappingsRmapItemAndMapcountOnly) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nmunmap 1 0x100 1\n");
  EXPECT_EQ(KsmWorld::items(w.node_at(2, 0x180)), (std::vector<PageKey>{{2, 0x180}}));
  EXPECT_EQ(w.mapcount_at(2, 0x180), 1);
  EXPECT_EQ(w.folio_at(2, 0x180)->refcount, 1);
}

// ---- fork ----

TEST(KsmFork, AChildOfAMergedProcessHasNoRmapItemAndIsFoundThroughItsParentsAnonVma) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nfork 1\n");  // child 3
  Folio* f = w.folio_at(3, 0x100);
  ASSERT_EQ(f, w.folio_at(1, 0x100));
  EXPECT_EQ(KsmWorld::items(f->stable_node), (std::vector<PageKey>{{1, 0x100}, {2, 0x180}}));
  EXPECT_EQ(w.mapcount_at(1, 0x100), 3);
  auto found = impl::page_mappers_by_rmap(w.k(), f, f->pfn);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<PageKey>{{1, 0x100}, {2, 0x180}, {3, 0x100}}));
}

TEST(KsmFork, WhenTheParentsMappingGoesTheChildGetsAnRmapItemOfItsOwn) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nfork 1\nwrite 1 0x100 9\n");
  EXPECT_EQ(KsmWorld::items(w.node_at(3, 0x100)), (std::vector<PageKey>{{2, 0x180}, {3, 0x100}}));
  w.run("exit 1\nfork 3\nexit 3\n");  // a grandchild outlives its parent too
  EXPECT_EQ(KsmWorld::items(w.node_at(1, 0x100)), (std::vector<PageKey>{{1, 0x100}, {2, 0x180}}));
  EXPECT_EQ(w.mapcount_at(1, 0x100), 2);
}

TEST(KsmFork, TheNextKsmRunGivesForkedMappingsTheirOwnRmapItems) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nfork 2\nksm\n");  // child 3 of pid 2
  EXPECT_EQ(KsmWorld::items(w.node_at(3, 0x180)), (std::vector<PageKey>{{1, 0x100}, {2, 0x180}, {3, 0x180}}));
}

TEST(KsmFork, PagesSharedByParentAndChildBeforeTheMergeAllMoveOntoTheKsmPage) {
  KsmWorld w;
  w.run("mmap 1 0x100 2 anon private rw\nmadvise 1 0x100 2 mergeable\nwrite 1 0x100 7\nwrite 1 0x101 7\n"
        "fork 1\nksm\n");
  Folio* f = w.folio_at(1, 0x100);
  ASSERT_TRUE(f->ksm());
  for (auto [pid, vpn] : std::vector<PageKey>{{1, 0x101}, {2, 0x100}, {2, 0x101}}) EXPECT_EQ(w.folio_at(pid, vpn), f);
  EXPECT_EQ(w.mapcount_at(1, 0x100), 4);
}

// ---- copy on write ----

TEST(KsmCow, AWriteGivesTheWriterAnExclusiveCopyAndTheOthersKeepTheKsmPage) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nwrite 2 0x180 8\n");
  EXPECT_FALSE(w.folio_at(2, 0x180)->ksm());
  EXPECT_TRUE(w.k().page(w.folio_at(2, 0x180)->pfn).anon_exclusive);
  EXPECT_EQ(w.mapcount_at(1, 0x100), 1);
  EXPECT_EQ(KsmWorld::items(w.node_at(1, 0x100)), (std::vector<PageKey>{{1, 0x100}}));
}

TEST(KsmCow, EvenTheLastMappingOfAKsmPageIsCopiedOnWrite) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nexit 2\n");
  Folio* ksm_folio = w.folio_at(1, 0x100);
  w.run("write 1 0x100 8\n");
  EXPECT_NE(w.folio_at(1, 0x100), ksm_folio) << "a KSM page is never reused in place";
  EXPECT_TRUE(ksm_folio->freed);
  EXPECT_EQ(w.stable_nodes(), 0u);
}

TEST(KsmCow, ALongTermPinUnsharesTheKsmPageFirst) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\npin 1 0x100 ro\n");
  Folio* pinned = w.folio_at(1, 0x100);
  EXPECT_FALSE(pinned->ksm());
  EXPECT_EQ(pinned->pincount, 1u);
  EXPECT_TRUE(w.folio_at(2, 0x180)->ksm());
}

// ---- reclaim, swap-in, migration, mremap, mlock ----

TEST(KsmReclaim, AKsmPageGoesToOneSwapSlotForAllItsPtesAndItsStableNodeIsPruned) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nreclaim 1\n");
  const impl::Pte* a = impl::pte_offset(w.k().tasks.at(1), 0x100);
  const impl::Pte* b = impl::pte_offset(w.k().tasks.at(2), 0x180);
  ASSERT_EQ(a->kind, impl::Pte::Kind::swap);
  ASSERT_EQ(b->kind, impl::Pte::Kind::swap);
  EXPECT_EQ(a->slot, b->slot);
  EXPECT_EQ(w.k().swap.swap_map[a->slot], 2u);
  EXPECT_TRUE(w.k().swap.from_ksm[a->slot]);
  EXPECT_EQ(w.stable_nodes(), 0u);
  EXPECT_EQ(w.stable_items(), 0u);
}

TEST(KsmReclaim, SwapInGivesTheFirstProcessTheSwapCachePageAndTheOtherACopy) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nreclaim 1\nread 1 0x100\n");
  Folio* first = w.folio_at(1, 0x100);
  EXPECT_FALSE(first->ksm()) << "the KSM flag does not survive swap-out";
  EXPECT_TRUE(first->swap.has_value());
  w.run("read 2 0x180\n");
  Folio* second = w.folio_at(2, 0x180);
  EXPECT_NE(second, first);
  EXPECT_TRUE(w.k().page(second->pfn).anon_exclusive);
  EXPECT_EQ(w.k().swap.inuse, 0u);
  w.run("ksm\n");
  EXPECT_TRUE(w.folio_at(1, 0x100)->ksm()) << "equal again, they merge again";
  EXPECT_EQ(w.folio_at(1, 0x100), w.folio_at(2, 0x180));
}

TEST(KsmMigrate, AMigratedKsmPageStaysKsmAndItsStableNodeFollowsIt) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\n");
  Folio* before = w.folio_at(1, 0x100);
  KsmStableNode* node = before->stable_node;
  w.run("migrate 2 0x180\n");
  Folio* after = w.folio_at(1, 0x100);
  EXPECT_NE(after, before);
  EXPECT_TRUE(before->freed);
  EXPECT_EQ(after->stable_node, node);
  EXPECT_EQ(node->kpfn, after->pfn);
  EXPECT_EQ(w.folio_at(2, 0x180), after);
  EXPECT_EQ(KsmWorld::items(node), (std::vector<PageKey>{{1, 0x100}, {2, 0x180}}));
}

TEST(KsmMremap, MovingARangeBreaksItsKsmPagesFirst) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("ksm\nmremap 1 0x100 1 1 to 0x1c0\n");
  EXPECT_FALSE(w.folio_at(1, 0x1c0)->ksm());
  EXPECT_EQ(KsmWorld::items(w.node_at(2, 0x180)), (std::vector<PageKey>{{2, 0x180}}));
}

TEST(KsmMlock, AKsmPageMappedByALockedVmaIsUnevictableUntilThatMappingGoes) {
  KsmWorld w;
  w.run(two_processes_with_equal_pages);
  w.run("mprotect 1 0x100 1 r\nmlock 1 0x100 1\nksm\n");
  Folio* f = w.folio_at(2, 0x180);
  ASSERT_TRUE(f->ksm());
  EXPECT_EQ(f->mlock_count, 1u);
  EXPECT_EQ(f->lru, impl::LruList::unevictable);
  w.run("munmap 1 0x100 1\n");
  EXPECT_EQ(f->mlock_count, 0u);
  EXPECT_NE(f->lru, impl::LruList::unevictable);
}

// ---- the bug zoo ----

TEST(KsmBugZoo, ARmapWalkSkippingOtherProcessesItemsIsCaught) {
  impl::Bugs bugs;
  bugs.ksm_rmap_walk_skips_other_processes = true;
  KsmWorld w({}, bugs);
  w.run(two_processes_with_equal_pages);
  auto finding = w.finding_of("ksm\n");
  ASSERT_TRUE(finding.has_value());
  EXPECT_EQ(finding->kind, "rmap");
}

}  // namespace
