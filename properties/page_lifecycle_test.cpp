// The implementation's page lifecycle as a specification: which LRU list a folio is on
// as it is faulted, referenced, aged, mlocked and munlocked; what reclaim takes and
// what it leaves; swap counts and the swap cache; migration. Each test drives
// impl::Kernel through ops and reads its state; World::run also checks every invariant.

#include <gtest/gtest.h>

#include "impl/folio.hpp"
#include "impl/lru.hpp"
#include "impl/pgtable.hpp"
#include "impl/vmscan.hpp"
#include "properties/impl_world.hpp"

namespace {

using impl::Folio;
using impl::LruList;
using impl_world::World;

Folio* folio_at(World& w, ops::Pid pid, ops::Vpn vpn) {
  impl::Kernel& k = w.kernel();
  const impl::Pte* pte = impl::pte_offset(k.tasks.at(pid), vpn);
  if (!pte || pte->kind != impl::Pte::Kind::present) return nullptr;
  return impl::pfn_folio(k, pte->pfn);
}

impl::Pte::Kind pte_kind(World& w, ops::Pid pid, ops::Vpn vpn) {
  const impl::Pte* pte = impl::pte_offset(w.kernel().tasks.at(pid), vpn);
  return pte ? pte->kind : impl::Pte::Kind::none;
}

uint64_t on_list(World& w, LruList l) { return w.kernel().lruvec.nr[static_cast<unsigned>(l)]; }

TEST(Lru, NewAnonAndFilePagesStartInactive) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 1\nmmap 1 0x200 1 file:0@0 private r\nread 1 0x200\n");
  EXPECT_EQ(folio_at(w, 1, 0x100)->lru, LruList::inactive_anon);
  EXPECT_EQ(folio_at(w, 1, 0x200)->lru, LruList::inactive_file);
}

TEST(Lru, AReferencedAnonPageIsActivatedNotReclaimed) {
  World w;
  w.run("mmap 1 0x100 2 anon private rw\nwrite 1 0x100 1\nwrite 1 0x101 2\n");
  impl::folio_referenced(w.kernel(), folio_at(w, 1, 0x101));  // 0x101 was looked at since
  w.run("read 1 0x100\nreclaim 1\n");  // 0x100 is young again, 0x101 is not
  EXPECT_EQ(folio_at(w, 1, 0x100)->lru, LruList::active_anon);
  EXPECT_EQ(pte_kind(w, 1, 0x101), impl::Pte::Kind::swap);
}

TEST(Lru, AFilePageSeenUsedOnceGetsASecondLookNotActivation) {
  World w;
  w.run("mmap 1 0x100 1 file:0@0 private r\nread 1 0x100\n");
  EXPECT_EQ(impl::shrink_node(w.kernel(), 1), 1u) << "young once: PG_referenced, then taken on the next pass";
  EXPECT_EQ(pte_kind(w, 1, 0x100), impl::Pte::Kind::none);
  EXPECT_EQ(on_list(w, LruList::active_file), 0u);
}

TEST(Lru, AgingMovesActivePagesToTheInactiveListWhenInactiveRunsShort) {
  World w;
  w.run("mmap 1 0x100 2 anon private rw\nwrite 1 0x100 1\nwrite 1 0x101 2\n");
  impl::Kernel& k = w.kernel();
  impl::folio_activate(k, folio_at(w, 1, 0x100));
  impl::folio_activate(k, folio_at(w, 1, 0x101));
  impl::folio_referenced(k, folio_at(w, 1, 0x100));
  impl::folio_referenced(k, folio_at(w, 1, 0x101));
  ASSERT_EQ(on_list(w, LruList::active_anon), 2u);
  EXPECT_EQ(impl::shrink_node(k, 2), 2u);  // nothing inactive: age the active list, then reclaim
  EXPECT_EQ(on_list(w, LruList::active_anon), 0u);
  EXPECT_EQ(pte_kind(w, 1, 0x100), impl::Pte::Kind::swap);
}

TEST(Mlock, MlockMovesMappedPagesToUnevictableAndMunlockBringsThemBack) {
  World w;
  w.run("mmap 1 0x100 2 anon private rw\nwrite 1 0x100 1\nwrite 1 0x101 2\nmlock 1 0x100 1\n");
  EXPECT_EQ(folio_at(w, 1, 0x100)->lru, LruList::unevictable);
  EXPECT_EQ(folio_at(w, 1, 0x100)->mlock_count, 1u);
  EXPECT_EQ(folio_at(w, 1, 0x101)->lru, LruList::inactive_anon);
  w.run("munlock 1 0x100 1\n");
  EXPECT_EQ(folio_at(w, 1, 0x100)->lru, LruList::inactive_anon);
  EXPECT_EQ(folio_at(w, 1, 0x100)->mlock_count, 0u);
}

TEST(Mlock, APageFaultedIntoALockedVmaIsUnevictableAtOnce) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw locked\n");
  EXPECT_EQ(folio_at(w, 1, 0x100)->lru, LruList::unevictable);
}

TEST(Mlock, MunlockKeepsAPageUnevictableWhileAnotherLockedVmaMapsIt) {
  World w;
  w.run("fork 1\nmmap 1 0x100 1 file:0@0 shared rw\nmmap 2 0x100 1 file:0@0 shared rw\n"
        "mlock 1 0x100 1\nmlock 2 0x100 1\nmunlock 1 0x100 1\n");
  Folio* f = folio_at(w, 2, 0x100);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f, folio_at(w, 1, 0x100));
  EXPECT_EQ(f->mlock_count, 1u);
  EXPECT_EQ(f->lru, LruList::unevictable);
  w.run("munmap 2 0x100 1\n");
  EXPECT_EQ(f->lru, LruList::inactive_file) << "the last locked mapping went";
}

TEST(Mlock, ReclaimNeverTakesMlockedPages) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw locked\nreclaim 16\n");
  for (ops::Vpn v = 0x100; v < 0x104; ++v) EXPECT_EQ(pte_kind(w, 1, v), impl::Pte::Kind::present);
  EXPECT_TRUE(w.kernel().take_reclaim_facts().empty());
}

TEST(Swap, ASharedPageGoesToOneSlotCountedOncePerPte) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\nfork 1\nreclaim 1\n");
  const impl::Pte* p1 = impl::pte_offset(w.kernel().tasks.at(1), 0x100);
  const impl::Pte* p2 = impl::pte_offset(w.kernel().tasks.at(2), 0x100);
  ASSERT_EQ(p1->kind, impl::Pte::Kind::swap);
  ASSERT_EQ(p2->kind, impl::Pte::Kind::swap);
  EXPECT_EQ(p1->slot, p2->slot);
  EXPECT_EQ(w.kernel().swap.swap_map[p1->slot], 2u);
  EXPECT_EQ(w.kernel().swap.inuse, 1u);
}

TEST(Swap, SwapInGoesThroughTheSwapCacheUntilTheLastPteFaults) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\nfork 1\nreclaim 1\nread 1 0x100\n");
  Folio* f = folio_at(w, 1, 0x100);
  ASSERT_TRUE(f->swap.has_value()) << "the child still names the slot";
  EXPECT_FALSE(w.kernel().page(f->pfn).anon_exclusive);
  w.run("read 2 0x100\n");
  EXPECT_EQ(folio_at(w, 2, 0x100), f) << "the second fault maps the swap-cache folio";
  EXPECT_FALSE(f->swap.has_value()) << "the last swap PTE is gone, and with it slot and cache entry";
  EXPECT_EQ(w.kernel().swap.inuse, 0u);
}

TEST(Swap, UnmappingTheLastSwapPteFreesTheSlot) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\nreclaim 1\nmunmap 1 0x100 1\n");
  EXPECT_EQ(w.kernel().swap.inuse, 0u);
}

TEST(Reclaim, DirtyFilePagesAreWrittenBackAndReadAgain) {
  World w;
  w.run("mmap 1 0x100 1 file:0@0 shared rw\nwrite 1 0x100 42\nreclaim 4\nreclaim 4\n");
  EXPECT_EQ(pte_kind(w, 1, 0x100), impl::Pte::Kind::none);
  EXPECT_EQ(w.kernel().files[0]->disk.at(0), 42u);
  EXPECT_EQ(w.kernel().apply(ops::Read{1, 0x100}), ops::Result::of(42));
}

TEST(Reclaim, PinnedPagesStay) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\npin 1 0x100 rw\nreclaim 4\nreclaim 4\n");
  EXPECT_EQ(pte_kind(w, 1, 0x100), impl::Pte::Kind::present);
}

TEST(Reclaim, WithNoSwapSlotAnonPagesStay) {
  ops::Limits l;
  l.swap_slots = 0;
  World w(l);
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\nreclaim 4\nreclaim 4\n");
  EXPECT_EQ(pte_kind(w, 1, 0x100), impl::Pte::Kind::present);
}

TEST(Reclaim, DirectReclaimMakesRoomForAFaultAndRecordsWhatItTook) {
  ops::Limits l;
  l.frames = 4;
  World w(l);
  w.run("mmap 1 0x100 5 anon private rw\nwrite 1 0x100 1\nwrite 1 0x101 2\nwrite 1 0x102 3\nwrite 1 0x103 4\n");
  w.kernel().take_reclaim_facts();
  w.run("write 1 0x104 5\n");
  const auto facts = w.kernel().take_reclaim_facts();
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].frame.kind, ops::FrameRef::Kind::mapped);
  EXPECT_EQ(pte_kind(w, 1, facts[0].frame.vpn), impl::Pte::Kind::swap);
}

TEST(Migrate, MovesTheFolioKeepingContentSharingAndLists) {
  World w;
  // Read-only in the child, so that mlock does not break COW: the page stays shared.
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\nfork 1\nmprotect 2 0x100 1 r\nmlock 2 0x100 1\n");
  Folio* before = folio_at(w, 1, 0x100);
  const uint64_t old_pfn = before->pfn;
  w.run("migrate 1 0x100\n");
  Folio* after = folio_at(w, 1, 0x100);
  EXPECT_NE(after->pfn, old_pfn);
  EXPECT_EQ(after, folio_at(w, 2, 0x100));
  EXPECT_EQ(w.kernel().page(after->pfn).value, 7u);
  EXPECT_EQ(after->lru, LruList::unevictable);
  EXPECT_TRUE(before->freed);
}

TEST(Migrate, APinnedPageIsBusy) {
  World w;
  w.run("mmap 1 0x100 1 anon private rw\nwrite 1 0x100 7\npin 1 0x100 ro\n");
  EXPECT_EQ(w.kernel().apply(ops::Migrate{1, 0x100}), ops::Result::fail(ops::Errno::ebusy));
}

}  // namespace
