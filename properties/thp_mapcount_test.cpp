// Large folios in the implementation, counter by counter: after each transition a
// huge page goes through (PMD map, fork, PTE remap by a partial munmap or mprotect,
// partial unmap, COW, split), the folio's entire mapcount, large mapcount, per-page
// _mapcount, nr_pages_mapped and AnonExclusive are what the kernel would have. Each
// test builds its world through ops; World::run also checks every invariant, which
// recompute the same counters from the page tables.

#include <gtest/gtest.h>

#include "check/runner.hpp"
#include "impl/folio.hpp"
#include "impl/pgtable.hpp"
#include "impl/rmap.hpp"
#include "model/system.hpp"
#include "ops/number_text.hpp"
#include "ops/trace.hpp"
#include "properties/impl_world.hpp"

namespace {

using impl::Folio;
using impl_world::World;

// hugepage advice over one aligned huge page (8 pages at the default hpage_order 3).
constexpr const char* huge_write = "mmap 1 0x100 8 anon private rw\nmadvise 1 0x100 8 hugepage\nwrite 1 0x103 5\n";

impl::PageView view(World& w, ops::Pid pid, ops::Vpn vpn) {
  return impl::follow_page(w.kernel().tasks.at(pid), vpn);
}

Folio* folio_at(World& w, ops::Pid pid, ops::Vpn vpn) {
  const impl::PageView v = view(w, pid, vpn);
  return v.pte.kind == impl::Pte::Kind::present ? impl::pfn_folio(w.kernel(), v.pte.pfn) : nullptr;
}

const impl::Page& page_at(World& w, ops::Pid pid, ops::Vpn vpn) { return w.kernel().page(view(w, pid, vpn).pte.pfn); }

int pte_mapcount(const impl::Page& page) { return page.mapcount + 1; }

TEST(ThpMapcount, PmdMap_CountsOneEntireMappingAndNoPageMappings) {
  World w;
  w.run(huge_write);
  Folio* f = folio_at(w, 1, 0x100);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->order, 3u);
  EXPECT_TRUE(view(w, 1, 0x107).pmd);
  EXPECT_EQ(folio_at(w, 1, 0x107), f);
  EXPECT_EQ(impl::folio_entire_mapcount(f), 1);
  EXPECT_EQ(impl::folio_mapcount(w.kernel(), f), 1) << "a PMD counts once in the large mapcount";
  EXPECT_EQ(f->nr_pages_mapped, 0u) << "no PTE maps any page";
  EXPECT_EQ(f->refcount, 1) << "the PMD holds one reference for the whole folio";
  for (ops::Vpn v = 0x100; v < 0x108; ++v) {
    EXPECT_EQ(pte_mapcount(page_at(w, 1, v)), 0);
    EXPECT_EQ(impl::page_mapcount(page_at(w, 1, v)), 1);
  }
  EXPECT_TRUE(page_at(w, 1, 0x100).anon_exclusive) << "the head's AnonExclusive speaks for the PMD";
  EXPECT_EQ(page_at(w, 1, 0x103).value, 5u);
}

TEST(ThpMapcount, ForkOfPmdMapping_CountsTwoEntireMappingsAndSharesTheFolio) {
  World w;
  w.run(std::string(huge_write) + "fork 1\n");
  Folio* f = folio_at(w, 1, 0x100);
  EXPECT_EQ(folio_at(w, 2, 0x105), f);
  EXPECT_TRUE(view(w, 2, 0x100).pmd);
  EXPECT_EQ(impl::folio_entire_mapcount(f), 2);
  EXPECT_EQ(impl::folio_mapcount(w.kernel(), f), 2);
  EXPECT_EQ(f->refcount, 2);
  EXPECT_EQ(impl::page_mapcount(page_at(w, 1, 0x104)), 2);
  EXPECT_FALSE(page_at(w, 1, 0x100).anon_exclusive) << "COW-shared now";
  EXPECT_EQ(impl::folio_mm_mapcount(f, w.kernel().tasks.at(2)), 1);
}

TEST(ThpMapcount, PartialMunmap_RemapsThePmdByPtesAndKeepsTheFolioLarge) {
  World w;
  w.run(std::string(huge_write) + "munmap 1 0x107 1\n");
  Folio* f = folio_at(w, 1, 0x100);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(view(w, 1, 0x100).pmd);
  EXPECT_EQ(f->order, 3u) << "splitting the PMD leaves the folio large";
  EXPECT_EQ(impl::folio_entire_mapcount(f), 0);
  EXPECT_EQ(impl::folio_mapcount(w.kernel(), f), 7);
  EXPECT_EQ(f->nr_pages_mapped, 7u);
  EXPECT_EQ(f->refcount, 7);
  EXPECT_EQ(pte_mapcount(w.kernel().page(f->pfn + 7)), 0) << "the unmapped page stays in the folio";
  EXPECT_TRUE(page_at(w, 1, 0x106).anon_exclusive) << "the split PMD handed its AnonExclusive to every page";
  EXPECT_TRUE(f->partially_mapped);
  ASSERT_EQ(w.kernel().deferred_split_queue.size(), 1u);
  EXPECT_EQ(w.kernel().deferred_split_queue[0], f);
}

TEST(ThpMapcount, PartialMprotect_RemapsByPtesWithEveryPageStillMapped) {
  World w;
  w.run(std::string(huge_write) + "mprotect 1 0x100 2 r\n");
  Folio* f = folio_at(w, 1, 0x100);
  EXPECT_EQ(w.layout(1), "[0x100,0x102) [0x102,0x108)");
  EXPECT_FALSE(view(w, 1, 0x105).pmd);
  EXPECT_EQ(impl::folio_entire_mapcount(f), 0);
  EXPECT_EQ(impl::folio_mapcount(w.kernel(), f), 8);
  EXPECT_EQ(f->nr_pages_mapped, 8u);
  EXPECT_FALSE(f->partially_mapped) << "every page is mapped: nothing to split later";
  for (ops::Vpn v = 0x100; v < 0x108; ++v) EXPECT_EQ(pte_mapcount(page_at(w, 1, v)), 1);
}

TEST(ThpMapcount, WholeRangeMprotect_KeepsThePmd) {
  World w;
  w.run(std::string(huge_write) + "mprotect 1 0x100 8 r\n");
  EXPECT_TRUE(view(w, 1, 0x100).pmd);
  EXPECT_EQ(impl::folio_entire_mapcount(folio_at(w, 1, 0x100)), 1);
}

TEST(ThpMapcount, PartialUnmapInTheChild_LeavesTheParentsPmdAndCountsBoth) {
  World w;
  w.run(std::string(huge_write) + "fork 1\nmunmap 2 0x100 3\n");
  Folio* f = folio_at(w, 1, 0x100);
  EXPECT_TRUE(view(w, 1, 0x100).pmd);
  EXPECT_EQ(folio_at(w, 2, 0x104), f);
  EXPECT_EQ(impl::folio_entire_mapcount(f), 1);
  EXPECT_EQ(impl::folio_mapcount(w.kernel(), f), 1 + 5);
  EXPECT_EQ(f->nr_pages_mapped, 5u);
  EXPECT_EQ(impl::page_mapcount(page_at(w, 1, 0x100)), 1);
  EXPECT_EQ(impl::page_mapcount(page_at(w, 1, 0x104)), 2);
  EXPECT_FALSE(f->partially_mapped) << "the parent's PMD still maps every page";
  w.run("munmap 1 0x100 8\n");
  EXPECT_EQ(impl::folio_entire_mapcount(f), 0);
  EXPECT_TRUE(f->partially_mapped) << "now three pages are mapped by nobody";
}

TEST(ThpMapcount, CowOfPmdMappedFolio_SplitsTheWritersPmdAndCopiesOnePage) {
  World w;
  w.run(std::string(huge_write) + "fork 1\nwrite 2 0x101 9\n");
  Folio* f = folio_at(w, 1, 0x100);
  Folio* copy = folio_at(w, 2, 0x101);
  EXPECT_TRUE(view(w, 1, 0x100).pmd);
  EXPECT_FALSE(view(w, 2, 0x100).pmd);
  EXPECT_NE(copy, f);
  EXPECT_EQ(copy->order, 0u);
  EXPECT_EQ(folio_at(w, 2, 0x100), f) << "the child's other pages still map the large folio, by PTEs";
  EXPECT_EQ(impl::folio_entire_mapcount(f), 1);
  EXPECT_EQ(impl::folio_mapcount(w.kernel(), f), 1 + 7);
  EXPECT_EQ(impl::page_mapcount(w.kernel().page(f->pfn + 1)), 1) << "only the parent's PMD maps page 1 now";
  EXPECT_EQ(impl::page_mapcount(w.kernel().page(f->pfn + 2)), 2);
  EXPECT_EQ(f->refcount, 8);
}

TEST(ThpMapcount, WriteAfterTheChildExits_ReusesThePmdMappedFolioInPlace) {
  World w;
  w.run(std::string(huge_write) + "fork 1\nexit 2\nwrite 1 0x102 7\n");
  Folio* f = folio_at(w, 1, 0x100);
  EXPECT_TRUE(view(w, 1, 0x102).pmd);
  EXPECT_EQ(impl::folio_entire_mapcount(f), 1);
  EXPECT_TRUE(page_at(w, 1, 0x100).anon_exclusive) << "reuse makes the whole PMD exclusive again";
}

TEST(ThpMapcount, Split_GivesEveryPageAFolioOfItsOwnAndFreesUnmappedOnes) {
  World w;
  // Every page holds data: a split maps pages that hold only zeros to the zero page.
  std::string fill;
  for (ops::Vpn v = 0x100; v < 0x108; ++v) fill += fmt::format("write 1 {:#x} {}\n", v, v - 0xff);
  w.run(std::string(huge_write) + fill + "fork 1\nmunmap 1 0x106 2\nsplit 1 0x100\n");
  Folio* head = folio_at(w, 1, 0x100);
  EXPECT_EQ(head->order, 0u);
  EXPECT_FALSE(view(w, 2, 0x100).pmd) << "the child's PMD was split too";
  for (ops::Vpn v = 0x100; v < 0x108; ++v) {
    Folio* f = folio_at(w, 2, v);
    EXPECT_EQ(f->order, 0u);
    EXPECT_EQ(f->refcount, v < 0x106 ? 2 : 1);
    EXPECT_EQ(pte_mapcount(w.kernel().page(f->pfn)), v < 0x106 ? 2 : 1);
  }
  EXPECT_NE(folio_at(w, 1, 0x101), head);
  EXPECT_TRUE(w.kernel().deferred_split_queue.empty());
}

TEST(ThpMapcount, SplitOfAPinnedFolio_IsBusyAndChangesNothing) {
  World w;
  w.run(std::string(huge_write) + "pin 1 0x102 ro\n");
  EXPECT_EQ(w.kernel().apply(ops::Split{1, 0x101}), ops::Result::fail(ops::Errno::ebusy));
  EXPECT_TRUE(view(w, 1, 0x100).pmd);
  EXPECT_EQ(folio_at(w, 1, 0x100)->pincount, 1u);
}

TEST(ThpFault, ReadMapsTheHugeZeroPageWithoutAFrame) {
  World w;
  const uint64_t free_before = w.kernel().frames.free_frames();
  w.run("mmap 1 0x100 8 anon private rw\nmadvise 1 0x100 8 hugepage\nread 1 0x104\n");
  EXPECT_EQ(view(w, 1, 0x100).pte.kind, impl::Pte::Kind::zero);
  EXPECT_TRUE(view(w, 1, 0x107).pmd);
  EXPECT_EQ(w.kernel().frames.free_frames(), free_before);
}

TEST(ThpFault, WithoutAnAlignedBlockButMovablePages_CompactionMakesOne) {
  ops::Limits l;
  l.frames = 16;  // two huge pages' worth
  World w(l);
  // Small pages in both blocks, half of each free: only compaction can make a huge page.
  w.run("mmap 1 0x200 16 anon private rw\n");
  for (ops::Vpn v = 0x200; v < 0x210; ++v) w.run("write 1 " + ops::hex_text(v) + " 1\n");
  w.run("munmap 1 0x200 8\n");
  ASSERT_EQ(w.kernel().frames.free_frames(), 8u);
  w.run(huge_write);
  EXPECT_TRUE(view(w, 1, 0x100).pmd);
  EXPECT_TRUE(w.kernel().take_huge_fallback_facts().empty());
}

TEST(ThpFault, WhenPinsKeepEveryBlockApart_FallsBackToASmallPageAndSaysSo) {
  ops::Limits l;
  l.frames = 16;
  World w(l);
  w.run("mmap 1 0x200 2 anon private rw\n");
  // One pinned page in each block, the rest of memory free but never in one block.
  w.run("write 1 0x200 1\nmmap 1 0x300 8 anon private rw populate\nwrite 1 0x201 2\n"
        "pin 1 0x200 rw\npin 1 0x201 rw\nmunmap 1 0x300 8\n");
  ASSERT_GE(w.kernel().frames.free_frames(), 8u);
  w.run(huge_write);
  EXPECT_FALSE(view(w, 1, 0x100).pmd);
  EXPECT_EQ(folio_at(w, 1, 0x103)->order, 0u);
  const auto facts = w.kernel().take_huge_fallback_facts();
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0], (ops::HugeFallbackFact{1, 0x100}));
}

TEST(ThpBugZoo, PmdUnmapForgettingTheEntireMapcount_IsCaughtAtTheUnmap) {
  const std::string trace = std::string(huge_write) + "fork 1\nmunmap 2 0x100 8\n";
  check::RunnerOptions options;
  options.bugs.pmd_unmap_forgets_entire_mapcount = true;
  auto result = check::run_sequence(ops::Limits{}, ops::parse_trace(trace).ops(), options);
  ASSERT_TRUE(result.finding.has_value());
  EXPECT_EQ(result.finding->op_index, 4u);
  EXPECT_TRUE(check::run_sequence(ops::Limits{}, ops::parse_trace(trace).ops()).finding == std::nullopt);
}

}  // namespace

namespace {

// The model's side of a huge-page fallback fact: where it tries a huge page for the
// same place, it takes the fact if pinned pages can explain it.
std::optional<std::string> fallback_error(const std::string& setup, ops::HugeFallbackFact fact) {
  ops::Limits l;
  l.frames = 16;
  model::System m(l, model::System::Options{.own_reclaim_policy = false});
  const auto ops = ops::parse_trace(setup).ops();
  for (size_t i = 0; i + 1 < ops.size(); ++i) m.apply(ops[i], {}, {});
  m.apply(ops.back(), {}, {fact});
  return m.reclaim_error();
}

TEST(ThpFallbackFact, WithNoPinnedPage_IsRefused) {
  auto why = fallback_error(huge_write, {1, 0x100});
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("only 0 pinned pages"), std::string::npos) << *why;
}

TEST(ThpFallbackFact, WhereNoHugePageWasTried_IsRefused) {
  auto why = fallback_error("mmap 1 0x100 8 anon private rw\nwrite 1 0x103 5\n", {1, 0x100});
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("never tried a huge page there"), std::string::npos) << *why;
}

TEST(ThpFallbackFact, WithAPinInEachBlock_IsTakenAndTheFaultGetsASmallPage) {
  const std::string setup =
      "mmap 1 0x200 2 anon private rw\nwrite 1 0x200 1\nmmap 1 0x300 8 anon private rw populate\n"
      "write 1 0x201 2\npin 1 0x200 rw\npin 1 0x201 rw\nmunmap 1 0x300 8\n";
  EXPECT_EQ(fallback_error(setup + huge_write, {1, 0x100}), std::nullopt);
}

}  // namespace
