// Scenario tests: each replays one readable trace of corpus/regressions/ through the
// model, checks its `# = RESULT` lines, and then states what the observation must be at
// the trace's checkpoints (`# @NAME:` lines): which pages share a frame, of what kind and
// value, mapped how often, by PMD or not, in which folio, mlocked, pinned, and which PTEs
// are none, zero, present or swapped.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "properties/scenario_support.hpp"

namespace {

using namespace scenario;
using ops::FrameKind;
using ops::PteState;
using testing::AllOf;
using testing::HasSubstr;

Scenario replay_scenario(std::string_view name) {
  return Scenario::replay_file(std::string(RMAPCHECK_SOURCE_DIR "/corpus/regressions/") +
                               std::string(name) + ".trace");
}

// (pid, first), (pid, first + 1), ... n pages.
std::vector<PageKey> run(Pid pid, Vpn first, unsigned n) {
  std::vector<PageKey> out;
  for (unsigned i = 0; i < n; ++i) out.emplace_back(pid, first + i);
  return out;
}

// The same n pages in each of the processes.
std::vector<PageKey> run(std::initializer_list<Pid> pids, Vpn first, unsigned n) {
  std::vector<PageKey> out;
  for (Pid pid : pids)
    for (const PageKey& k : run(pid, first, n)) out.push_back(k);
  return out;
}

// ---- the helpers themselves ----

TEST(ScenarioSupport, FailingMatcher_SaysWhatDiffersAndShowsTheObservation) {
  const Scenario s = replay_scenario("anon-fork-cow-isolation");
  const World& w = s.at("shared");

  testing::StringMatchResultListener why;
  EXPECT_FALSE(
      IsFrame({.pages = {{1, 0x100}}, .value = 8}).MatchAndExplain(w.class_of(1, 0x100), &why));
  EXPECT_THAT(why.str(), HasSubstr("class is {(1,0x100),(2,0x100)} (expected {(1,0x100)})"));
  EXPECT_THAT(why.str(), HasSubstr("value is 7 (expected 8)"));
  EXPECT_THAT(why.str(), HasSubstr("mapcount is 2 (expected 1)"));
  EXPECT_THAT(why.str(), HasSubstr("observation anon-fork-cow-isolation.trace @shared"));
  EXPECT_THAT(why.str(), HasSubstr("    (2,0x101) anon private rw: none\n"));
  EXPECT_THAT(why.str(), HasSubstr("    {(1,0x100),(2,0x100)} anon value=7 mapcount=2\n"));

  testing::StringMatchResultListener state;
  EXPECT_FALSE(StateIs(PteState::zero).MatchAndExplain(w.page(2, 0x101), &state));
  EXPECT_THAT(state.str(), HasSubstr("its state is none"));
}

TEST(ScenarioSupport, UnknownCheckpoint_ThrowsNamingTheKnownOnes) {
  const Scenario s = replay_scenario("anon-fork-cow-isolation");
  try {
    s.at("nonesuch");
    ADD_FAILURE() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_THAT(e.what(), HasSubstr("(it has: @shared)"));
  }
}

// ---- anonymous memory and fork ----

TEST(ScenarioAnonFork, ExecdChild_LeavesParentsPagesItsOwnAgain) {
  const Scenario s = replay_scenario("anon-fork-exec-exclusive-again");

  const World& forked = s.at("forked");
  EXPECT_THAT(forked.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .value = 11}));
  EXPECT_THAT(forked.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}, {2, 0x101}}, .value = 12}));
  EXPECT_THAT(forked.page(2, 0x102), StateIs(PteState::none));

  const World& execd = s.at("execd");
  EXPECT_THAT(execd.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 11}));
  EXPECT_THAT(execd.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 12}));
  for (const PageKey& k : run(2, 0x100, 4))
    EXPECT_THAT(execd.page(k.first, k.second), StateIs(PteState::none));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 21}));
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 12}));
  EXPECT_THAT(w.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}}, .value = 99}));
  EXPECT_THAT(w.page(2, 0x100), StateIs(PteState::zero));
}

// A copy would split the PMD and leave the written page in a small folio; reuse in place
// keeps every page in the one PMD-mapped folio.
TEST(ScenarioAnonFork, ExecdChild_LetsParentWriteItsLargeFolioInPlace) {
  const Scenario s = replay_scenario("anon-fork-exec-thp-reused-in-place");

  const World& forked = s.at("forked");
  for (const PageKey& k : run(1, 0x100, 8)) {
    EXPECT_THAT(forked.class_of(k.first, k.second), IsFrame({.pages = {k, {2, k.second}},
                                                             .value = k.second == 0x100 ? 11u : 0u,
                                                             .pmd_mapped = true,
                                                             .large_folio = true}));
  }
  EXPECT_THAT(forked.folio_of(1, 0x100), FolioIs(run({1, 2}, 0x100, 8)));

  const World& w = s.final();
  for (const PageKey& k : run(1, 0x100, 8)) {
    const uint64_t value = k.second == 0x100 ? 11 : k.second == 0x101 ? 21 : 0;
    EXPECT_THAT(w.class_of(k.first, k.second),
                IsFrame({.pages = {k}, .value = value, .pmd_mapped = true, .large_folio = true}));
  }
  EXPECT_THAT(w.folio_of(1, 0x101), FolioIs(run(1, 0x100, 8)));
  EXPECT_THAT(w.page(2, 0x100), StateIs(PteState::none));
}

TEST(ScenarioAnonFork, ChildWrite_CopiesThePageAndLeavesTheParentsValue) {
  const Scenario s = replay_scenario("anon-fork-cow-isolation");

  const World& shared = s.at("shared");
  EXPECT_THAT(shared.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .value = 7}));
  EXPECT_THAT(shared.page(1, 0x101), StateIs(PteState::none));
  EXPECT_THAT(shared.page(2, 0x101), StateIs(PteState::none));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8}));
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 9}));
}

TEST(ScenarioAnonFork, ForkOfFork_KeepsEachGenerationsWritesPrivate) {
  const Scenario s = replay_scenario("anon-fork-of-fork-generations");

  const World& gen2 = s.at("gen2");
  for (Vpn v : {0x100, 0x101, 0x102})
    EXPECT_THAT(gen2.class_of(1, v), IsFrame({.pages = {{1, v}, {2, v}}, .value = 1}));

  const World& gen3 = s.at("gen3");
  EXPECT_THAT(gen3.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}, {2, 0x100}, {3, 0x100}}, .value = 1}));
  EXPECT_THAT(gen3.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 1}));
  EXPECT_THAT(gen3.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}, {3, 0x101}}, .value = 2}));
  EXPECT_THAT(gen3.class_of(1, 0x102),
              IsFrame({.pages = {{1, 0x102}, {2, 0x102}, {3, 0x102}}, .value = 1}));

  const World& written = s.at("written");
  EXPECT_THAT(written.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 10}));
  EXPECT_THAT(written.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 20}));
  EXPECT_THAT(written.class_of(3, 0x100), IsFrame({.pages = {{3, 0x100}}, .value = 1}));
  EXPECT_THAT(written.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 1}));
  EXPECT_THAT(written.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}, {3, 0x101}}, .value = 2}));
  EXPECT_THAT(written.class_of(1, 0x102), IsFrame({.pages = {{1, 0x102}, {2, 0x102}}, .value = 1}));
  EXPECT_THAT(written.class_of(3, 0x102), IsFrame({.pages = {{3, 0x102}}, .value = 3}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(3, 0x100), IsFrame({.pages = {{3, 0x100}}, .value = 30}));
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 10}));
}

// ---- files and shmem ----

TEST(ScenarioFile, PrivateMapping_SeesThePageCacheUntilItsFirstWriteCopiesThePage) {
  const Scenario s = replay_scenario("file-private-cow-and-fwrite");

  const World& cache = s.at("cache");
  EXPECT_THAT(cache.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}}, .kind = FrameKind::file, .value = 500}));
  EXPECT_THAT(cache.page(1, 0x100), VmaIs("file:0@0 private rw"));
  EXPECT_THAT(cache.page(2, 0x200), AllOf(StateIs(PteState::none), VmaIs("file:0@0 shared rw")));

  const World& w = s.at("end");
  EXPECT_THAT(w.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}}, .kind = FrameKind::anon, .value = 7}));
  EXPECT_THAT(w.class_of(2, 0x200),
              IsFrame({.pages = {{2, 0x200}}, .kind = FrameKind::file, .value = 600}));
  EXPECT_THAT(w.class_of(1, 0x101),
              IsFrame({.pages = {{1, 0x101}, {2, 0x201}}, .kind = FrameKind::file, .value = 77}));
  EXPECT_THAT(w.page(1, 0x102), StateIs(PteState::none));
}

TEST(ScenarioFile, Ftruncate_RemovesPagesPastTheEndFromEveryMappingCowedCopiesIncluded) {
  const Scenario s = replay_scenario("file-truncate-sigbus");

  const World& cowed = s.at("cowed");
  EXPECT_THAT(cowed.class_of(1, 0x102),
              IsFrame({.pages = {{1, 0x102}, {2, 0x102}}, .kind = FrameKind::file, .value = 2002}));
  EXPECT_THAT(cowed.class_of(2, 0x103), IsFrame({.pages = {{2, 0x103}}, .value = 9}));

  const World& w = s.at("truncated");
  for (Vpn v : {0x102, 0x103}) {
    EXPECT_THAT(w.page(1, v), AllOf(StateIs(PteState::none),
                                    VmaIs("file:1@" + std::to_string(v - 0x100) + " shared rw")));
    EXPECT_THAT(w.page(2, v), StateIs(PteState::none));
  }
  EXPECT_THAT(s.final().class_of(1, 0x102),
              IsFrame({.pages = {{1, 0x102}}, .kind = FrameKind::file, .value = 0}));
}

TEST(ScenarioShmem, SharedAnon_IsOneFramePerPageForParentAndChild) {
  const Scenario s = replay_scenario("shmem-shared-across-fork");

  const World& forked = s.at("forked");
  EXPECT_THAT(forked.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}}, .kind = FrameKind::shmem, .value = 5}));
  EXPECT_THAT(forked.page(2, 0x100), AllOf(StateIs(PteState::none), VmaIs("shmem@0 shared rw")));
  EXPECT_THAT(forked.page(2, 0x101), StateIs(PteState::none));

  const World& w = s.at("end");
  EXPECT_THAT(w.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .kind = FrameKind::shmem, .value = 8}));
  EXPECT_THAT(w.class_of(1, 0x101),
              IsFrame({.pages = {{1, 0x101}, {2, 0x101}}, .kind = FrameKind::shmem, .value = 6}));
}

// ---- fork advice ----

TEST(ScenarioForkAdvice, DontforkAndWipeonfork_HideTheRangeOrHandItOverEmpty) {
  const Scenario s = replay_scenario("fork-dontfork-wipeonfork");

  const World& forked = s.at("forked");
  EXPECT_THAT(forked.page(2, 0x100), Unmapped());
  EXPECT_THAT(forked.page(2, 0x101), Unmapped());
  EXPECT_THAT(forked.page(2, 0x200),
              AllOf(StateIs(PteState::none), VmaIs("anon private rw wipeonfork")));
  EXPECT_THAT(forked.page(2, 0x201), StateIs(PteState::none));
  EXPECT_THAT(forked.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 1}));
  EXPECT_THAT(forked.class_of(1, 0x200), IsFrame({.pages = {{1, 0x200}}, .value = 2}));
  EXPECT_THAT(forked.page(1, 0x100), VmaIs("anon private rw dontfork"));
}

TEST(ScenarioForkAdvice, DoforkAndKeeponfork_LetTheNextChildShareThePages) {
  const Scenario s = replay_scenario("fork-dontfork-wipeonfork");

  const World& w = s.at("end");
  EXPECT_THAT(w.page(1, 0x100), VmaIs("anon private rw"));
  EXPECT_THAT(w.page(1, 0x200), VmaIs("anon private rw"));
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}, {3, 0x100}}, .value = 1}));
  EXPECT_THAT(w.class_of(1, 0x200), IsFrame({.pages = {{1, 0x200}, {3, 0x200}}, .value = 2}));
  EXPECT_THAT(w.page(2, 0x200), StateIs(PteState::zero));
}

// ---- mremap ----

TEST(ScenarioMremap, MovedCowPages_StaySharedWithTheOtherProcessUntilAWrite) {
  const Scenario s = replay_scenario("mremap-move-cow-shared");

  const World& grown = s.at("grown");
  EXPECT_THAT(grown.page(1, 0x100), Unmapped());
  EXPECT_THAT(grown.class_of(1, 0xffc), IsFrame({.pages = {{1, 0xffc}, {2, 0x100}}, .value = 7}));
  EXPECT_THAT(grown.class_of(1, 0xffd), IsFrame({.pages = {{1, 0xffd}, {2, 0x101}}, .value = 8}));
  EXPECT_THAT(grown.page(1, 0xffe), AllOf(StateIs(PteState::none), VmaIs("anon private rw")));
  EXPECT_THAT(grown.page(1, 0xfff), StateIs(PteState::none));

  const World& moved = s.at("moved");
  EXPECT_THAT(moved.page(2, 0x100), Unmapped());
  EXPECT_THAT(moved.class_of(1, 0xffc), IsFrame({.pages = {{1, 0xffc}, {2, 0x400}}, .value = 7}));
  EXPECT_THAT(moved.class_of(1, 0xffd), IsFrame({.pages = {{1, 0xffd}, {2, 0x401}}, .value = 8}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0xffc), IsFrame({.pages = {{1, 0xffc}}, .value = 7}));
  EXPECT_THAT(w.class_of(2, 0x400), IsFrame({.pages = {{2, 0x400}}, .value = 9}));
  EXPECT_THAT(w.class_of(1, 0xffd), IsFrame({.pages = {{1, 0xffd}, {2, 0x401}}, .value = 8}));
}

// ---- mlock and reclaim ----

TEST(ScenarioMlock, Mlock_FaultsPagesInAndKeepsThemFromReclaim) {
  const Scenario s = replay_scenario("mlock-munlock-reclaim");

  const World& locked = s.at("locked");
  EXPECT_THAT(locked.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .mlocked = true}));
  EXPECT_THAT(locked.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .mlocked = true}));
  EXPECT_THAT(locked.page(1, 0x100), VmaIs("anon private rw locked"));
  EXPECT_THAT(locked.page(1, 0x102), AllOf(StateIs(PteState::none), VmaIs("anon private rw")));

  const World& reclaimed = s.at("reclaimed");
  EXPECT_THAT(reclaimed.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}}, .value = 1, .mlocked = true}));
  EXPECT_THAT(reclaimed.class_of(1, 0x101),
              IsFrame({.pages = {{1, 0x101}}, .value = 2, .mlocked = true}));
  EXPECT_THAT(reclaimed.swap_partition(), SwapPartitionIs({{{1, 0x102}}}));
}

TEST(ScenarioMlock, Munlock_LetsReclaimSwapThePagesOut) {
  const Scenario s = replay_scenario("mlock-munlock-reclaim");

  const World& unlocked = s.at("unlocked");
  EXPECT_THAT(unlocked.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 1}));
  EXPECT_THAT(unlocked.page(1, 0x100), VmaIs("anon private rw"));

  const World& again = s.at("reclaimed-again");
  for (Vpn v : {0x100, 0x101, 0x102}) EXPECT_THAT(again.page(1, v), StateIs(PteState::swapped));
  EXPECT_THAT(again.swap_partition(), SwapPartitionIs({{{1, 0x100}}, {{1, 0x101}}, {{1, 0x102}}}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 2}));
  EXPECT_THAT(w.swap_partition(), SwapPartitionIs({}));
}

// ---- pins ----

TEST(ScenarioPin, PinnedPages_AreCopiedToTheChildAtFork) {
  const Scenario s = replay_scenario("pin-then-fork-child-gets-copy");

  const World& forked = s.at("forked");
  EXPECT_THAT(forked.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 7, .pins = 1}));
  EXPECT_THAT(forked.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 7}));
  EXPECT_THAT(forked.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 5, .pins = 1}));
  EXPECT_THAT(forked.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}}, .value = 5}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8, .pins = 1}));
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 9}));
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 6, .pins = 1}));
  EXPECT_THAT(w.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}}, .value = 4}));
}

TEST(ScenarioPin, ReadOnlyPinOfCowSharedPage_UnsharesSoOnlyThePinnersWritesShowThrough) {
  const Scenario s = replay_scenario("pin-ro-after-fork-unshares");

  const World& pinned = s.at("pinned");
  EXPECT_THAT(pinned.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 7, .pins = 1}));
  EXPECT_THAT(pinned.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 7}));
  EXPECT_THAT(pinned.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}}, .value = 5, .pins = 1}));
  EXPECT_THAT(pinned.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 5}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8, .pins = 1}));
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 9}));
  EXPECT_THAT(w.class_of(2, 0x101), IsFrame({.pages = {{2, 0x101}}, .value = 4, .pins = 1}));
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 6}));
}

TEST(ScenarioPin, ReadOnlyPinAfterTheOtherSideWrote_PinsThePagesOwnFrame) {
  const Scenario s = replay_scenario("pin-ro-after-other-side-wrote");

  const World& pinned = s.at("pinned");
  EXPECT_THAT(pinned.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 7, .pins = 1}));
  EXPECT_THAT(pinned.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 9}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8, .pins = 1}));
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 10}));
}

// ---- swap ----

TEST(ScenarioSwap, SharedPage_GoesToOneSlotAndComesBackAsOneFrame) {
  const Scenario s = replay_scenario("swap-shared-after-fork");

  const World& swapped = s.at("swapped");
  EXPECT_THAT(swapped.page(1, 0x100), StateIs(PteState::swapped));
  EXPECT_THAT(swapped.page(2, 0x100), StateIs(PteState::swapped));
  EXPECT_THAT(swapped.swap_partition(), SwapPartitionIs({{{1, 0x100}, {2, 0x100}}}));

  const World& one_in = s.at("one-in");
  EXPECT_THAT(one_in.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 7}));
  EXPECT_THAT(one_in.swap_of(2, 0x100), SwapClassIs({{2, 0x100}}));

  const World& both_in = s.at("both-in");
  EXPECT_THAT(both_in.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .value = 7}));
  EXPECT_THAT(both_in.swap_partition(), SwapPartitionIs({}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 7}));
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 9}));
}

TEST(ScenarioSwap, WriteWhileTheOtherSideIsStillSwapped_Copies) {
  const Scenario s = replay_scenario("swap-write-while-other-still-swapped");

  const World& written = s.at("written");
  EXPECT_THAT(written.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8}));
  EXPECT_THAT(written.swap_partition(), SwapPartitionIs({{{2, 0x100}}}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 7}));
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8}));
}

TEST(ScenarioSwap, ForkOfASwappedPage_SharesTheSlotAndThenTheFrame) {
  const Scenario s = replay_scenario("swap-fork-of-swapped-page");

  const World& forked = s.at("forked");
  EXPECT_THAT(forked.swap_of(2, 0x100), SwapClassIs({{1, 0x100}, {2, 0x100}}));
  EXPECT_THAT(forked.page(2, 0x100), AllOf(StateIs(PteState::swapped), VmaIs("anon private rw")));

  const World& both_in = s.at("both-in");
  EXPECT_THAT(both_in.class_of(2, 0x100), IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .value = 7}));
  EXPECT_THAT(both_in.swap_partition(), SwapPartitionIs({}));

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8}));
  EXPECT_THAT(w.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 7}));
}

// ---- KSM ----

TEST(ScenarioKsm, EqualMergeablePages_ShareOneKsmFrameAndOthersStayAnon) {
  const Scenario s = replay_scenario("ksm-merge-and-break");

  const World& merged = s.at("merged");
  EXPECT_THAT(merged.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .kind = FrameKind::ksm, .value = 42}));
  EXPECT_THAT(merged.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 43}));
  EXPECT_THAT(merged.class_of(2, 0x200), IsFrame({.pages = {{2, 0x200}}, .value = 42}));
  EXPECT_THAT(merged.page(2, 0x200), VmaIs("anon private rw"));
  EXPECT_THAT(merged.page(2, 0x100), VmaIs("anon private rw mergeable"));
}

TEST(ScenarioKsm, Write_GivesTheWriterAnAnonCopyAndLeavesTheKsmFrame) {
  const Scenario s = replay_scenario("ksm-merge-and-break");

  const World& broken = s.at("broken");
  EXPECT_THAT(broken.class_of(2, 0x100), IsFrame({.pages = {{2, 0x100}}, .value = 50}));
  EXPECT_THAT(broken.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}}, .kind = FrameKind::ksm, .value = 42}));

  const World& remerged = s.at("remerged");
  EXPECT_THAT(remerged.class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x100}, {1, 0x101}}, .kind = FrameKind::ksm, .value = 42}));
  EXPECT_THAT(remerged.class_of(2, 0x200), IsFrame({.pages = {{2, 0x200}}, .value = 42}));
}

TEST(ScenarioKsm, Unmergeable_GivesEveryMergedPageItsOwnAnonCopy) {
  const Scenario s = replay_scenario("ksm-merge-and-break");

  const World& w = s.at("unmerged");
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 42}));
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 42}));
  EXPECT_THAT(w.page(1, 0x100), VmaIs("anon private rw"));
  EXPECT_THAT(w.page(1, 0x101), VmaIs("anon private rw"));
}

// ---- THP (hpage_order 3: a huge page is 8 pages) ----

TEST(ScenarioThp, WriteFault_MapsTheWholeAlignedRangeByOnePmd) {
  const Scenario s = replay_scenario("thp-fault-munmap-split");
  ASSERT_EQ(s.limits().hpage_pages(), 8u);

  const World& w = s.at("huge");
  for (const PageKey& k : run(1, 0x100, 8)) {
    EXPECT_THAT(w.page(k.first, k.second),
                AllOf(StateIs(PteState::present), VmaIs("anon private rw hugepage")));
    EXPECT_THAT(w.class_of(k.first, k.second), IsFrame({.pages = {k},
                                                        .value = k.second == 0x103 ? 5u : 0u,
                                                        .pmd_mapped = true,
                                                        .large_folio = true}));
  }
  EXPECT_THAT(w.folio_of(1, 0x100), FolioIs(run(1, 0x100, 8)));
}

TEST(ScenarioThp, PartialMunmap_KeepsTheRestInTheLargeFolioMappedByPtes) {
  const Scenario s = replay_scenario("thp-fault-munmap-split");

  const World& w = s.at("partial");
  EXPECT_THAT(w.page(1, 0x107), Unmapped());
  for (const PageKey& k : run(1, 0x100, 7)) {
    EXPECT_THAT(w.class_of(k.first, k.second),
                IsFrame({.pages = {k}, .value = k.second == 0x103 ? 5u : 0u, .large_folio = true}));
  }
  EXPECT_THAT(w.folio_of(1, 0x106), FolioIs(run(1, 0x100, 7)));
}

TEST(ScenarioThp, Split_LeavesSmallFoliesAndTheZeroPageForZeroFilledPages) {
  const Scenario s = replay_scenario("thp-fault-munmap-split");

  const World& w = s.at("split");
  EXPECT_THAT(w.class_of(1, 0x103), IsFrame({.pages = {{1, 0x103}}, .value = 5u}));
  for (const PageKey& k : run(1, 0x100, 7)) {
    if (k.second == 0x103) continue;
    EXPECT_THAT(w.page(k.first, k.second), StateIs(ops::PteState::zero));
  }
}

TEST(ScenarioThp, Fork_MapsTheLargeFolioByPmdInBothProcesses) {
  const Scenario s = replay_scenario("thp-fork-and-cow");

  const World& w = s.at("forked");
  for (const PageKey& k : run(1, 0x200, 8)) {
    const uint64_t value = k.second == 0x200 ? 1 : k.second == 0x201 ? 2 : 0;
    EXPECT_THAT(w.class_of(k.first, k.second), IsFrame({.pages = {k, {2, k.second}},
                                                        .value = value,
                                                        .pmd_mapped = true,
                                                        .large_folio = true}));
  }
  EXPECT_THAT(w.folio_of(2, 0x207), FolioIs(run({1, 2}, 0x200, 8)));
}

TEST(ScenarioThp, ChildWrite_SplitsOnlyTheChildsPmdAndCopiesOnePage) {
  const Scenario s = replay_scenario("thp-fork-and-cow");

  const World& w = s.at("child-wrote");
  EXPECT_THAT(w.class_of(2, 0x201), IsFrame({.pages = {{2, 0x201}}, .value = 9}));
  EXPECT_THAT(
      w.class_of(1, 0x201),
      IsFrame({.pages = {{1, 0x201}}, .value = 2, .pmd_mapped = true, .large_folio = true}));
  // The other pages: still one frame for both, still PMD-mapped by the parent.
  EXPECT_THAT(w.class_of(2, 0x200), IsFrame({.pages = {{1, 0x200}, {2, 0x200}},
                                             .value = 1,
                                             .pmd_mapped = true,
                                             .large_folio = true}));
  auto still = run(1, 0x200, 8);
  for (Vpn v : {0x200, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207}) still.emplace_back(2, v);
  EXPECT_THAT(w.folio_of(1, 0x200), FolioIs(still));
}

// Linux 6.13 and later (do_huge_zero_wp_pmd) replace the huge zero page with a
// PMD-mapped THP on a write fault, as a first write would have mapped.
TEST(ScenarioThp, WriteAfterReadOfHugeZeroPage_GetsAPmdMappedLargeFolio) {
  const Scenario s = replay_scenario("thp-read-then-write-gets-large-folio");

  const World& zero = s.at("zero");
  for (const PageKey& k : run(1, 0x100, 8))
    EXPECT_THAT(zero.page(k.first, k.second), StateIs(PteState::zero));

  const World& w = s.final();
  EXPECT_THAT(
      w.class_of(1, 0x102),
      IsFrame({.pages = {{1, 0x102}}, .value = 5, .pmd_mapped = true, .large_folio = true}));
  EXPECT_THAT(w.folio_of(1, 0x102), FolioIs(run(1, 0x100, 8)));
  EXPECT_THAT(
      w.class_of(1, 0x107),
      IsFrame({.pages = {{1, 0x107}}, .value = 0, .pmd_mapped = true, .large_folio = true}));
}

// do_huge_pmd_anonymous_page() prepares the anon_vma before it maps the huge zero page
// for a read, so vma_needs_copy() holds at fork; do_anonymous_page() does not for the
// small zero page.
TEST(ScenarioThp, HugeZeroPage_IsCopiedToTheChildButTheSmallZeroPageIsNot) {
  const Scenario s = replay_scenario("thp-huge-zero-read-then-fork");

  const World& w = s.at("forked");
  for (const PageKey& k : run(1, 0x100, 8))
    EXPECT_THAT(w.page(k.first, k.second), StateIs(PteState::zero));
  EXPECT_THAT(w.page(2, 0x100), StateIs(PteState::zero));
  EXPECT_THAT(w.page(2, 0x107), StateIs(PteState::zero));
  EXPECT_THAT(w.page(1, 0x200), StateIs(PteState::zero));
  EXPECT_THAT(w.page(2, 0x200), StateIs(PteState::none));
}

// A THP fault happens only where the PMD is none; the PTE table of an earlier small page
// stays while another VMA still covers part of it.
TEST(ScenarioThp, FaultOverALeftoverPageTable_GetsASmallPage) {
  const Scenario s = replay_scenario("thp-fault-needs-empty-page-table");

  const World& w = s.at("written");
  EXPECT_THAT(w.class_of(1, 0x103), IsFrame({.pages = {{1, 0x103}}, .value = 5}));
  EXPECT_THAT(w.page(1, 0x100), StateIs(PteState::none));
  EXPECT_THAT(w.page(1, 0x104), StateIs(PteState::none));
}

// ---- error paths ----

TEST(ScenarioErrors, DeadPid_AnswersEsrchAndChangesNothing) {
  const Scenario s = replay_scenario("errors-dead-pid-esrch");

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}, {2, 0x100}}, .value = 7}));
  EXPECT_THAT(w.page(5, 0x100), Unmapped());
}

TEST(ScenarioErrors, Pin_AnswersEfaultWhereGupWould) {
  const Scenario s = replay_scenario("errors-pin-efault");

  const World& w = s.final();
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .pins = 1}));
  // A read-only pin of a private file mapping pins an anon copy (the kernel unshares).
  EXPECT_THAT(w.class_of(1, 0x111), IsFrame({.pages = {{1, 0x111}}, .value = 2015, .pins = 1}));
  EXPECT_THAT(w.page(1, 0x100), StateIs(PteState::none));
  EXPECT_THAT(w.page(1, 0x102), StateIs(PteState::none));
  EXPECT_THAT(w.page(1, 0x112), StateIs(PteState::none));
}

TEST(ScenarioErrors, MprotectOverAHole_AnswersEnomemAfterChangingThePagesBeforeIt) {
  const Scenario s = replay_scenario("mprotect-hole-enomem");

  const World& w = s.at("after");
  EXPECT_THAT(w.page(1, 0x100), VmaIs("anon private r"));
  EXPECT_THAT(w.page(1, 0x101), VmaIs("anon private r"));
  EXPECT_THAT(w.page(1, 0x102), Unmapped());
  EXPECT_THAT(w.page(1, 0x103), VmaIs("anon private rw"));
  EXPECT_THAT(w.page(1, 0x104), VmaIs("anon private rw"));
  EXPECT_THAT(s.final().class_of(1, 0x103), IsFrame({.pages = {{1, 0x103}}, .value = 5}));
}

TEST(ScenarioErrors, ZeroLengthRanges_AreEinvalForMapAndUnmapAndNoOpsElsewhere) {
  const Scenario s = replay_scenario("errors-zero-length");

  const World& w = s.final();
  EXPECT_THAT(w.page(1, 0x100), VmaIs("anon private rw"));
  EXPECT_THAT(w.class_of(1, 0x100), IsFrame({.pages = {{1, 0x100}}, .value = 8}));
}

TEST(ScenarioErrors, ForkPastMaxProcesses_AnswersEagain) {
  const Scenario s = replay_scenario("fork-past-max-processes-eagain");
  EXPECT_EQ(s.limits().max_processes, 2u);
}

}  // namespace

TEST(ScenarioFaultAround, FileReadFault_MapsTheCachedPagesOfItsWindowAndShmemOnlyExistingOnes) {
  const Scenario s = replay_scenario("file-read-fault-around");

  const World& priv = s.at("private");
  for (Vpn v = 0x3; v < 0x13; ++v)
    EXPECT_THAT(priv.class_of(1, v), IsFrame({.pages = {{1, v}}, .kind = FrameKind::file, .value = 1000 + v - 3}));
  EXPECT_THAT(priv.page(1, 0x13), StateIs(PteState::none));

  const World& written = s.at("written");
  EXPECT_THAT(written.page(1, 0x41), StateIs(PteState::present));
  EXPECT_THAT(written.page(1, 0x40), StateIs(PteState::none));
  EXPECT_THAT(written.page(1, 0x42), StateIs(PteState::none));

  const World& shmem = s.at("shmem");
  for (Vpn v = 0x40; v < 0x48; ++v) EXPECT_THAT(shmem.page(1, v), StateIs(PteState::present));
  for (Vpn v : {0x80, 0x82, 0x84}) EXPECT_THAT(shmem.page(1, v), StateIs(PteState::present));
  for (Vpn v : {0x81, 0x83, 0x85}) EXPECT_THAT(shmem.page(1, v), StateIs(PteState::none));
}

TEST(ScenarioMigrate, ZeroPage_AnswersEfaultAsMovePagesDoes) {
  const Scenario s = replay_scenario("migrate-zero-page-efault");
  EXPECT_THAT(s.final().page(1, 0x1), StateIs(PteState::zero));
}

TEST(ScenarioMlock, ProtNone_AnswersEnomemKeepsTheRangeLockedAndStopsFaulting) {
  const Scenario s = replay_scenario("mlock-prot-none-enomem");
  const World& w = s.at("locked");
  for (Vpn v : {0x10, 0x11}) EXPECT_THAT(w.page(1, v), AllOf(StateIs(PteState::present), VmaIs("anon private rw locked")));
  EXPECT_THAT(w.page(1, 0x12), AllOf(StateIs(PteState::none), VmaIs("anon private - locked")));
  for (Vpn v : {0x13, 0x14}) EXPECT_THAT(w.page(1, v), AllOf(StateIs(PteState::none), VmaIs("anon private rw locked")));
}

TEST(ScenarioThp, Collapse_MakesOnePmdMappedFolioOnlyWhereTheVmaAllowsIt) {
  const Scenario s = replay_scenario("collapse-needs-a-huge-range-in-the-vma");
  const World& w = s.at("collapsed");
  EXPECT_THAT(w.class_of(1, 0x400), IsFrame({.pages = {{1, 0x400}}, .value = 6, .pmd_mapped = true, .large_folio = true}));
  EXPECT_THAT(w.folio_of(1, 0x400), FolioIs(run(1, 0x400, 512)));
}

TEST(ScenarioMremap, ShrinkInPlace_UnmapsTheTailWhateverIsThere) {
  const Scenario s = replay_scenario("mremap-shrink-needs-only-its-start-mapped");
  const World& w = s.at("shrunk");
  EXPECT_THAT(w.page(1, 0x0), VmaIs("anon private rw"));
  EXPECT_THAT(w.page(1, 0x3), VmaIs("anon private r"));
  EXPECT_THAT(w.page(1, 0x2), Unmapped());
}

TEST(ScenarioFaultAround, ReadPastTheEndOfTheFile_StillFaultsAroundFirst) {
  const Scenario s = replay_scenario("file-read-fault-around");
  const World& w = s.at("past-eof");
  for (Vpn v = 0x108; v < 0x110; ++v) EXPECT_THAT(w.page(1, v), StateIs(PteState::none));
  for (Vpn v = 0x110; v < 0x118; ++v) EXPECT_THAT(w.page(1, v), StateIs(PteState::present));
  for (Vpn v = 0x118; v < 0x11c; ++v) EXPECT_THAT(w.page(1, v), StateIs(PteState::none));
  for (Vpn v = 0x40a; v < 0x40d; ++v) EXPECT_THAT(s.at("no-table").page(1, v), StateIs(PteState::none));
}

TEST(ScenarioShmem, Reclaim_DropsCleanShmemPagesWithoutASwapSlot) {
  const Scenario s = replay_scenario("reclaim-drops-clean-shmem");
  const World& w = s.at("paged-out");
  for (Vpn v : {0x0, 0x1, 0x2, 0x3}) EXPECT_THAT(w.page(1, v), StateIs(PteState::none));
  EXPECT_THAT(s.final().class_of(1, 0x1), IsFrame({.pages = {{1, 0x1}}, .kind = FrameKind::shmem, .value = 11}));
}

TEST(ScenarioReclaim, Pageout_UnmapsDirtyPageCacheButKeepsAnonWithoutASlot) {
  const Scenario s = replay_scenario("pageout-unmaps-dirty-page-cache");
  const World& w = s.at("paged-out");
  for (Vpn v : {0x0, 0x1}) EXPECT_THAT(w.page(1, v), StateIs(PteState::none));
  EXPECT_THAT(w.class_of(1, 0x10), IsFrame({.pages = {{1, 0x10}}, .value = 5}));
}

TEST(ScenarioFork, CowFaultPastEof_StillGivesTheVmaAnAnonVmaSoForkCopiesItsPtes) {
  const Scenario s = replay_scenario("cow-fault-past-eof-keeps-anon-vma");
  EXPECT_THAT(s.at("forked").class_of(1, 0x2),
              IsFrame({.pages = {{1, 0x2}, {2, 0x2}}, .kind = FrameKind::file, .value = 1002}));
}

TEST(ScenarioMremap, ZeroOldPages_MapsTheSharedObjectASecondTime) {
  const Scenario s = replay_scenario("mremap-zero-old-pages-duplicates-shared");
  EXPECT_THAT(s.at("duplicated").class_of(1, 0x1),
              IsFrame({.pages = {{1, 0x1}}, .kind = FrameKind::shmem, .value = 7}));
  EXPECT_THAT(s.at("duplicated").page(1, 0xffe), AllOf(StateIs(PteState::none), VmaIs("shmem@1 shared rw")));
  EXPECT_THAT(s.final().class_of(1, 0x100),
              IsFrame({.pages = {{1, 0x2}, {1, 0x100}}, .kind = FrameKind::shmem, .value = 9}));
}

TEST(ScenarioMremap, DontunmapOfASharedFileMapping_MovesThePtesAndLeavesTheOldRangeEmpty) {
  const Scenario s = replay_scenario("mremap-dontunmap-shared-file");
  const World& w = s.at("moved");
  EXPECT_THAT(w.class_of(1, 0xffd), IsFrame({.pages = {{1, 0xffd}}, .kind = FrameKind::file, .value = 7}));
  EXPECT_THAT(w.page(1, 0x1), AllOf(StateIs(PteState::none), VmaIs("file:1@1 shared rw")));
  EXPECT_THAT(s.final().class_of(1, 0x1),
              IsFrame({.pages = {{1, 0x1}, {1, 0xffd}}, .kind = FrameKind::file, .value = 7}));
}

TEST(ScenarioMremap, FixedMoveOfTheSameSize_MovesEveryVmaAndKeepsTheHoles) {
  const Scenario s = replay_scenario("mremap-fixed-moves-several-vmas");
  const World& w = s.at("moved");
  EXPECT_THAT(w.class_of(1, 0x101), IsFrame({.pages = {{1, 0x101}}, .value = 5}));
  EXPECT_THAT(w.page(1, 0x102), Unmapped());
  EXPECT_THAT(w.page(1, 0x103), VmaIs("file:0@0 shared r"));
  for (Vpn v : {0x0, 0x1, 0x3, 0x4}) EXPECT_THAT(w.page(1, v), Unmapped());
}

TEST(ScenarioMremap, Dontunmap_UnlocksTheWholeOldVma) {
  const Scenario s = replay_scenario("mremap-dontunmap-shared-file");
  const World& w = s.at("unlocked");
  for (Vpn v = 0x20; v < 0x28; ++v) EXPECT_THAT(w.page(1, v), VmaIs("shmem@" + std::to_string(v - 0x20) + " shared rw"));
  EXPECT_THAT(w.page(1, 0x100), VmaIs("shmem@2 shared rw locked"));
  EXPECT_THAT(w.class_of(1, 0x20), IsFrame({.pages = {{1, 0x20}}, .kind = FrameKind::shmem}));
}

TEST(ScenarioThp, MmapOverTheOnlyVma_FreesItsPageTableSoAThpFaultGetsAPmd) {
  const Scenario s = replay_scenario("mmap-over-frees-page-table");
  EXPECT_THAT(s.at("huge").class_of(1, 0x5), IsFrame({.pages = {{1, 0x5}}, .value = 2, .pmd_mapped = true, .large_folio = true}));
}

TEST(ScenarioMremap, GrowInPlace_FaultsTheNewPartInAroundTheWholeVma) {
  const Scenario s = replay_scenario("mremap-grow-in-place-is-one-vma");
  const World& w = s.at("grown");
  for (Vpn v = 0x0; v < 0x6; ++v)
    EXPECT_THAT(w.class_of(2, v), IsFrame({.pages = {{2, v}}, .kind = FrameKind::file, .value = 2010 + v, .mlocked = true}));
  EXPECT_THAT(w.page(2, 0x6), StateIs(PteState::none));
}
