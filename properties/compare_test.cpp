// check/: printing observations, the readable diff of two observations, and findings.
// The exact strings asserted here are the user interface of a failing run.

#include "check/compare.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "check/observation_text.hpp"
#include "model/system.hpp"
#include "ops/limits_text.hpp"
#include "ops/observation.hpp"
#include "ops/trace.hpp"
#include "properties/op_gen.hpp"

namespace {

using namespace ops;
using check::diff;
using Lines = std::vector<std::string>;

// ---- building observations by hand ----

VmaAttrs anon_rw() { return {.prot = prot_read | prot_write}; }

VmaAttrs file_shared_r(unsigned file, uint64_t pgoff) {
  return {.prot = prot_read, .shared = true, .kind = MapKind::file, .file = file, .pgoff = pgoff};
}

PageObs page(Pid pid, Vpn vpn, PteState state, VmaAttrs vma = anon_rw()) {
  return {pid, vpn, vma, state};
}

// After `mmap 1 0x100 4 anon private rw`, a write to 0x101, a read of 0x102, a locked
// shared file page at 0x104, a fork (-> 2) and the reclaim of the child's 0x102.
Observation world() {
  Observation o;
  VmaAttrs file = file_shared_r(0, 4);
  file.locked = true;
  o.pages = {
      page(1, 0x100, PteState::present),       page(1, 0x101, PteState::present),
      page(1, 0x102, PteState::zero),          page(1, 0x103, PteState::none),
      page(1, 0x104, PteState::present, file), page(2, 0x100, PteState::none),
      page(2, 0x101, PteState::present),       page(2, 0x102, PteState::swapped),
      page(2, 0x103, PteState::none),
  };
  o.frames = {
      {.pages = {{1, 0x100}}, .value = 0, .mapcount = 1, .folio = 1, .mlocked = true, .pins = 1},
      {.pages = {{1, 0x101}, {2, 0x101}}, .value = 7, .mapcount = 2},
      {.pages = {{1, 0x104}},
       .kind = FrameKind::file,
       .value = 1004,
       .mapcount = 1,
       .mlocked = true},
  };
  o.swap = {{{{2, 0x102}}}};
  return o;
}

FrameClass& class_of(Observation& o, PageKey k) {
  for (FrameClass& c : o.frames) {
    for (const PageKey& p : c.pages)
      if (p == k) return c;
  }
  throw std::logic_error("no class");
}

PageObs& page_of(Observation& o, PageKey k) {
  for (PageObs& p : o.pages)
    if (p.pid == k.first && p.vpn == k.second) return p;
  throw std::logic_error("no page");
}

// Eight single-page anon classes of process 1 at 0x200..0x207, one large folio.
Observation thp_world() {
  Observation o;
  for (Vpn v = 0x200; v < 0x208; ++v) {
    o.pages.push_back(page(1, v, PteState::present));
    o.frames.push_back({.pages = {{1, v}}, .mapcount = 1, .pmd_mapped = true, .folio = 1});
  }
  return o;
}

// ---- equal observations ----

TEST(CompareObservations, EqualObservationsHaveNoDifferences) {
  EXPECT_EQ(diff(world(), "model", world(), "impl"), Lines{});
  EXPECT_EQ(diff(Observation{}, "model", Observation{}, "impl"), Lines{});
  EXPECT_EQ(check::first_difference(world(), "model", world(), "impl"), std::nullopt);
}

TEST(CompareObservations, SameContentInAnotherOrderSaysTheyAreNotCanonical) {
  Observation b = world();
  std::swap(b.pages[0], b.pages[1]);
  std::swap(b.frames[0], b.frames[2]);
  EXPECT_EQ(diff(world(), "model", b, "impl"),
            Lines{"model and impl differ only in order or folio labels (observations not "
                  "canonical)"});
}

// ---- pages ----

TEST(CompareObservations, DifferentPteStateIsOneLineNamingBothSides) {
  Observation b = world();
  page_of(b, {2, 0x101}).state = PteState::swapped;
  EXPECT_EQ(diff(world(), "model", b, "impl-rmap"),
            Lines{"page (2,0x101): model present  impl-rmap swapped"});
}

TEST(CompareObservations, PageAndClassOnOneSideOnlySayWhichSide) {
  Observation b = world();
  b.pages.erase(b.pages.begin() + 4);  // (1,0x104)
  b.frames.pop_back();                 // its class
  EXPECT_EQ(diff(world(), "model", b, "impl"),
            (Lines{"page (1,0x104): only in model", "class {(1,0x104)}: only in model"}));
}

TEST(CompareObservations, VmaAttributeDifferencesNameTheAttribute) {
  Observation b = world();
  page_of(b, {1, 0x100}).vma.prot = prot_read;
  page_of(b, {1, 0x104}).vma.pgoff = 5;
  page_of(b, {1, 0x104}).vma.locked = false;
  page_of(b, {1, 0x104}).vma.shared = false;
  page_of(b, {2, 0x103}).vma = file_shared_r(2, 3);
  EXPECT_EQ(diff(world(), "model", b, "impl"),
            (Lines{
                "page (1,0x100) prot: model rw  impl r",
                "page (1,0x104) sharing: model shared  impl private",
                "page (1,0x104) pgoff: model 4  impl 5",
                "page (1,0x104) locked: model yes  impl no",
                "page (2,0x103) prot: model rw  impl r",
                "page (2,0x103) sharing: model private  impl shared",
                "page (2,0x103) backing: model anon  impl file:2",
                "page (2,0x103) pgoff: model 0  impl 3",
            }));
}

TEST(CompareObservations, ConsecutivePagesThatDifferAlikeShareOneLine) {
  Observation b = world();
  for (Vpn v = 0x100; v < 0x104; ++v) page_of(b, {1, v}).vma.mergeable = true;
  page_of(b, {2, 0x100}).state = PteState::zero;
  page_of(b, {2, 0x103}).state = PteState::zero;  // not next to 0x100: a line of its own
  EXPECT_EQ(diff(world(), "model", b, "impl"),
            (Lines{
                "pages (1,0x100-0x103) mergeable: model no  impl yes",
                "page (2,0x100): model none  impl zero",
                "page (2,0x103): model none  impl zero",
            }));
}

TEST(CompareObservations, PageListedTwiceSaysHowOften) {
  Observation b = world();
  b.pages.insert(b.pages.begin(), b.pages.front());
  EXPECT_EQ(diff(world(), "model", b, "impl"), Lines{"page (1,0x100) entries: model 1  impl 2"});
}

// ---- sharing: the partition of present pages by frame ----

TEST(CompareObservations, ClassesMergedOnOneSideAreOneLine) {
  Observation model = world(), impl = world();
  class_of(model, {1, 0x101}).pages = {{1, 0x101}};
  model.frames.push_back({.pages = {{2, 0x101}}, .value = 7, .mapcount = 2});
  EXPECT_EQ(diff(model, "model", impl, "impl-rmap"),
            Lines{"class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}"});
}

TEST(CompareObservations, PageInNoClassOfTheOtherSideGetsItsOwnLine) {
  Observation impl = world();
  class_of(impl, {1, 0x101}).pages = {{1, 0x101}};
  EXPECT_EQ(diff(world(), "model", impl, "impl-rmap"),
            (Lines{"class of (1,0x101): model {(1,0x101),(2,0x101)}  impl-rmap {(1,0x101)}",
                   "class of (2,0x101): model {(1,0x101),(2,0x101)}  impl-rmap no frame"}));
}

TEST(CompareObservations, ClassTheOtherSideKnowsNothingOfIsOnlyInOneSide) {
  Observation impl = world();
  impl.frames.erase(impl.frames.begin() + 1);  // {(1,0x101),(2,0x101)}
  EXPECT_EQ(diff(world(), "model", impl, "impl-rmap"),
            Lines{"class {(1,0x101),(2,0x101)}: only in model"});
}

TEST(CompareObservations, RunOfSinglePageClassesOnOneSideIsOneLine) {
  Observation impl = thp_world();
  impl.frames.clear();
  EXPECT_EQ(diff(thp_world(), "model", impl, "impl-rmap"),
            Lines{"classes of (1,0x200-0x207): only in model, one page each"});
}

// ---- attributes of classes that agree on their pages ----

TEST(CompareObservations, ClassAttributeDifferencesNameTheAttribute) {
  Observation b = world();
  FrameClass& c = class_of(b, {1, 0x101});
  c.kind = FrameKind::ksm;
  c.value = 9;
  c.mapcount = 1;
  c.pmd_mapped = true;
  c.mlocked = true;
  c.pins = 2;
  EXPECT_EQ(diff(world(), "model", b, "impl"),
            (Lines{"class of (1,0x101) kind: model anon  impl ksm",
                   "class of (1,0x101) value: model 7  impl 9",
                   "class of (1,0x101) mapcount: model 2  impl 1",
                   "class of (1,0x101) pmd-mapped: model no  impl yes",
                   "class of (1,0x101) mlocked: model no  impl yes",
                   "class of (1,0x101) pins: model 0  impl 2"}));
}

TEST(CompareObservations, ConsecutiveClassesThatDifferAlikeShareOneLine) {
  Observation impl = thp_world();
  for (FrameClass& c : impl.frames) c.mapcount = 0;
  EXPECT_EQ(diff(thp_world(), "model", impl, "impl-rmap"),
            Lines{"classes of (1,0x200-0x207) mapcount: model 1  impl-rmap 0"});
}

// ---- large folios: a partition of the classes ----

TEST(CompareObservations, FolioSharingIsOneLinePerGroup) {
  Observation model = world();
  model.frames = {{.pages = {{1, 0x100}}, .mapcount = 1, .folio = 1},
                  {.pages = {{1, 0x101}}, .mapcount = 1, .folio = 1},
                  {.pages = {{1, 0x102}}, .mapcount = 1, .folio = 1}};
  Observation impl = model;
  for (FrameClass& c : impl.frames) c.folio = 0;
  EXPECT_EQ(diff(model, "model", impl, "impl"),
            Lines{"folio of (1,0x100): model shares with {(1,0x101),(1,0x102)}  impl small folio"});
}

TEST(CompareObservations, LongFolioListsAreWrittenAsRanges) {
  Observation impl = thp_world();
  impl.frames[3].folio = 0;  // (1,0x203) split off
  EXPECT_EQ(diff(thp_world(), "model", impl, "impl"),
            Lines{"folio of (1,0x200): model shares with {(1,0x201-0x207)}  impl shares with "
                  "{(1,0x201),(1,0x202),(1,0x204-0x207)}"});
}

TEST(CompareObservations, LargeFolioWithOneMappedClassIsNotASmallFolio) {
  Observation impl = world();
  class_of(impl, {1, 0x100}).folio = 0;
  EXPECT_EQ(diff(world(), "model", impl, "impl"),
            Lines{"folio of (1,0x100): model alone in a large folio  impl small folio"});
}

TEST(CompareObservations, RelabelledFoliosWithTheSameGroupingAreEqualOnceCanonical) {
  Observation a = thp_world(), b = thp_world();
  for (size_t i = 0; i < 8; ++i) {
    a.frames[i].folio = i < 4 ? 1 : 2;
    b.frames[i].folio = i < 4 ? 9 : 4;
  }
  Lines raw = diff(a, "model", b, "impl");
  EXPECT_EQ(raw, Lines{"model and impl differ only in order or folio labels (observations not "
                       "canonical)"});
  canonicalize(a);
  canonicalize(b);
  EXPECT_EQ(diff(a, "model", b, "impl"), Lines{});
}

TEST(CompareObservations, FolioGroupingIsComparedWhereLabelsDisagree) {
  // An extra class in impl shifts impl's canonical label of (1,0x108)'s folio from 2 to
  // 3; the grouping of the classes both sides have is still the same.
  Observation model, impl;
  model.frames = {{.pages = {{1, 0x100}}, .mapcount = 1, .folio = 1},
                  {.pages = {{1, 0x101}}, .mapcount = 1, .folio = 1},
                  {.pages = {{1, 0x108}}, .mapcount = 1, .folio = 2}};
  impl = model;
  impl.frames.insert(impl.frames.begin() + 2, {.pages = {{1, 0x104}}, .mapcount = 1, .folio = 7});
  impl.frames[3].folio = 8;
  EXPECT_EQ(diff(model, "model", impl, "impl"), Lines{"class {(1,0x104)}: only in impl"});
}

// ---- swap ----

TEST(CompareObservations, SwapSlotsAreComparedAsAPartition) {
  Observation model, impl;
  model.swap = {{{{2, 0x102}, {3, 0x102}}}, {{{1, 0x200}}}};
  impl.swap = {{{{2, 0x102}}}, {{{3, 0x102}}}};
  EXPECT_EQ(diff(model, "model", impl, "impl"),
            (Lines{"swap slot {(1,0x200)}: only in model",
                   "swap of (2,0x102): model {(2,0x102),(3,0x102)}  impl {(2,0x102)}"}));
}

// ---- how much is said ----

TEST(CompareObservations, LinesPastTheLimitAreCounted) {
  Observation b = world();
  for (PageObs& p : b.pages) p.vma.hugepage = p.pid == 1 && p.vpn % 2 == 0;  // 0x100, 0x102, 0x104
  for (FrameClass& c : b.frames) c.value += 1;                               // three classes
  Lines all = diff(world(), "model", b, "impl");
  ASSERT_EQ(all.size(), 6u);
  Lines three = diff(world(), "model", b, "impl", 3);
  EXPECT_EQ(three, (Lines{all[0], all[1], all[2], "… and 3 more differences"}));
  EXPECT_EQ(diff(world(), "model", b, "impl", 5).back(), "… and 1 more difference");
  EXPECT_EQ(diff(world(), "model", b, "impl", 6), all);
  EXPECT_EQ(check::first_difference(world(), "model", b, "impl"),
            "page (1,0x100) hugepage: model no  impl yes");
}

// ---- observation text ----

TEST(ObservationText, KeysAndClassesReadAsInFindings) {
  EXPECT_EQ(check::page_key_text({1, 0x101}), "(1,0x101)");
  EXPECT_EQ(check::class_text({{1, 0x101}, {2, 0x101}}), "{(1,0x101),(2,0x101)}");
  EXPECT_EQ(check::class_text({}), "{}");
}

TEST(ObservationText, SmallObservationPrintsPerProcessThenFramesThenSwap) {
  EXPECT_EQ(check::observation_text(world()),
            "process 1\n"
            "  0x100-0x103 anon private rw           present present zero none\n"
            "  0x104       file:0@4 shared r locked  present\n"
            "process 2\n"
            "  0x100-0x103 anon private rw           none present swapped none\n"
            "frames\n"
            "  {(1,0x100)}            anon value 0 mapcount 1 folio#1 mlocked pins 1\n"
            "  {(1,0x101),(2,0x101)}  anon value 7 mapcount 2\n"
            "  {(1,0x104)}            file value 1004 mapcount 1 mlocked\n"
            "swap\n"
            "  {(2,0x102)}\n");
}

TEST(ObservationText, RangesFollowFileOffsetsAndLongRunsOfStatesAreCounted) {
  Observation o;
  for (Vpn v = 0x10; v < 0x18; ++v) {
    o.pages.push_back(page(3, v,
                           v < 0x13    ? PteState::present
                           : v == 0x13 ? PteState::zero
                                       : PteState::none));
  }
  o.pages.push_back(page(3, 0x20, PteState::present, file_shared_r(1, 0)));
  o.pages.push_back(page(3, 0x21, PteState::present, file_shared_r(1, 1)));
  o.pages.push_back(page(3, 0x22, PteState::present, file_shared_r(1, 5)));  // offset jumps
  EXPECT_EQ(check::observation_text(o),
            "process 3\n"
            "  0x10-0x17 anon private rw    present×3 zero none×4\n"
            "  0x20-0x21 file:1@0 shared r  present\n"
            "  0x22      file:1@5 shared r  present\n");
}

TEST(ObservationText, NothingMappedSaysSo) {
  EXPECT_EQ(check::observation_text(Observation{}), "no mapped pages\n");
}

// ---- findings ----

// The finding of STYLE.md.
check::Finding style_finding() {
  check::Finding f;
  f.trace = {
      parse_op("mmap 1 0x100 4 anon private rw"),
      parse_op("write 1 0x101 7"),
      parse_op("fork 1"),
      parse_op("munmap 1 0x100 1"),
      parse_op("write 2 0x101 9"),
      parse_op("read 1 0x101"),
  };
  f.op_index = 4;
  f.op = f.trace[4];
  f.kind = "observation";
  f.details = {"class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}",
               "impl invariant: folio 0x1a mapcount 1 but 2 PTEs map it"};
  return f;
}

TEST(FindingText, ReadsAsInTheStyleGuide) {
  EXPECT_EQ(check::finding_text(style_finding(), "corpus/regressions/fork-partial-munmap.trace"),
            "divergence after op 5 (write 2 0x101 9)\n"
            "  class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}\n"
            "  impl invariant: folio 0x1a mapcount 1 but 2 PTEs map it\n"
            "replay: rmapcheck replay corpus/regressions/fork-partial-munmap.trace\n");
}

TEST(FindingText, InvariantFindingWithSeedAndMultiLineDetail) {
  check::Finding f = style_finding();
  f.kind = "rmap";
  f.details = {"impl invariant: anon_vma 0x3 num_children 2 but 1 child\n  child: anon_vma 0x5"};
  f.seed = 42;
  EXPECT_EQ(check::finding_text(f, ""),
            "divergence after op 5 (write 2 0x101 9)\n"
            "  impl invariant: anon_vma 0x3 num_children 2 but 1 child\n"
            "    child: anon_vma 0x5\n"
            "seed: 42\n");
}

TEST(FindingText, ACrashHappenedInItsOp_NotAfterIt) {
  check::Finding f = style_finding();
  f.kind = "crash";
  f.details = {"the implementation died of signal 11 (Segmentation fault) applying the op to the implementation"};
  EXPECT_EQ(check::finding_text(f, ""),
            "crash in op 5 (write 2 0x101 9)\n"
            "  the implementation died of signal 11 (Segmentation fault) applying the op to the implementation\n");
  f.kind = "model-crash";
  const std::string trace = check::finding_trace(f, Limits{});
  EXPECT_TRUE(trace.starts_with("# model crash in op 5 (write 2 0x101 9)\n")) << trace;
  EXPECT_TRUE(trace.ends_with("write 2 0x101 9  # <- model crash here\n")) << trace;
}

TEST(FindingTrace, IsACommentedTraceEndingAtTheMarkedOp) {
  check::Finding f = style_finding();
  f.seed = 42;
  Limits limits;
  limits.frames = 64;
  EXPECT_EQ(check::finding_trace(f, limits),
            "# divergence after op 5 (write 2 0x101 9)\n"
            "#   class of (1,0x101): model {(1,0x101)}  impl-rmap {(1,0x101),(2,0x101)}\n"
            "#   impl invariant: folio 0x1a mapcount 1 but 2 PTEs map it\n"
            "# limits: frames=64\n"
            "# seed: 42\n"
            "mmap 1 0x100 4 anon private rw\n"
            "write 1 0x101 7\n"
            "fork 1\n"
            "munmap 1 0x100 1\n"
            "write 2 0x101 9  # <- divergence here\n");
}

TEST(FindingTrace, DefaultLimitsAndNoSeedLeaveTheirLinesOut) {
  check::Finding f = style_finding();
  f.op_index = 0;
  f.op = f.trace[0];
  f.kind = "result";
  f.details = {"result: model ok  impl ENOMEM"};
  EXPECT_EQ(check::finding_trace(f, Limits{}),
            "# divergence after op 1 (mmap 1 0x100 4 anon private rw)\n"
            "#   result: model ok  impl ENOMEM\n"
            "mmap 1 0x100 4 anon private rw  # <- divergence here\n");
}

TEST(FindingTrace, ParsesBackToTheSameOpsAndLimits) {
  check::Finding f = style_finding();
  f.details.push_back("two\nlines");
  Limits limits;
  limits.hpage_order = 9;
  limits.address_space = 0x100000;
  limits.thp_always = true;
  Trace t = parse_trace(check::finding_trace(f, limits));
  std::vector<Op> expected(f.trace.begin(), f.trace.begin() + 5);
  EXPECT_EQ(t.ops(), expected);
  EXPECT_EQ(limits_from_trace(t, Limits{}), limits);
  EXPECT_EQ(print_trace(t), check::finding_trace(f, limits));
}

TEST(FindingTrace, FindingWhoseOpIsNotInItsTraceIsRejected) {
  check::Finding f = style_finding();
  f.op = parse_op("ksm");
  EXPECT_THROW(check::finding_trace(f, Limits{}), std::invalid_argument);
  f = style_finding();
  f.op_index = 6;
  EXPECT_THROW(check::finding_trace(f, Limits{}), std::invalid_argument);
}

// ---- properties ----

// One small change to an observation, of the kinds a buggy side makes.
Observation mutated(Observation o) {
  const int kind = *rc::gen::inRange(0, 9);
  auto pick = [](size_t n) { return *rc::gen::inRange<size_t>(0, n); };
  switch (kind) {
    case 0:
      if (!o.pages.empty())
        o.pages[pick(o.pages.size())].state =
            *rc::gen::element(PteState::none, PteState::zero, PteState::present, PteState::swapped);
      break;
    case 1:
      if (!o.pages.empty()) o.pages[pick(o.pages.size())].vma.prot = *gen::prot();
      break;
    case 2:
      if (!o.pages.empty()) o.pages.erase(o.pages.begin() + ptrdiff_t(pick(o.pages.size())));
      break;
    case 3:  // a page moves to another class, or to a class of its own
      if (!o.frames.empty()) {
        FrameClass& from = o.frames[pick(o.frames.size())];
        if (from.pages.empty()) break;
        PageKey p = from.pages.back();
        from.pages.pop_back();
        if (*rc::gen::arbitrary<bool>()) {
          o.frames.push_back({.pages = {p}});
        } else {
          o.frames[pick(o.frames.size())].pages.push_back(p);
        }
      }
      break;
    case 4:
      if (!o.frames.empty()) o.frames[pick(o.frames.size())].folio = *rc::gen::inRange(0u, 4u);
      break;
    case 5:
      if (!o.frames.empty()) o.frames[pick(o.frames.size())].mapcount += 1;
      break;
    case 6:
      if (!o.swap.empty()) o.swap.erase(o.swap.begin() + ptrdiff_t(pick(o.swap.size())));
      break;
    case 7:  // repeated entry
      if (!o.pages.empty()) o.pages.push_back(o.pages[pick(o.pages.size())]);
      break;
    case 8:  // another order
      if (o.frames.size() > 1) std::swap(o.frames.front(), o.frames.back());
      break;
  }
  return o;
}

RC_GTEST_PROP(CompareProperty, DiffIsEmptyExactlyWhenObservationsAreEqual,
              (const std::vector<Op>& ops)) {
  model::System system{Limits{}};
  std::vector<Observation> seen{system.observe()};
  for (const Op& op : ops) {
    system.apply(op);
    seen.push_back(system.observe());
  }
  const Observation& a = seen[*rc::gen::inRange<size_t>(0, seen.size())];
  const Observation b =
      *rc::gen::arbitrary<bool>() ? seen[*rc::gen::inRange<size_t>(0, seen.size())] : mutated(a);
  const size_t max_lines = *rc::gen::inRange<size_t>(0, 30);
  Lines lines = diff(a, "model", b, "impl", max_lines);
  RC_ASSERT(lines.empty() == (a == b));
  RC_ASSERT(lines.size() <= max_lines + 1);
  RC_ASSERT(diff(b, "impl", a, "model").empty() == lines.empty());
  RC_ASSERT(check::first_difference(a, "model", b, "impl").has_value() == !lines.empty());
}

RC_GTEST_PROP(CompareProperty, EveryObservationPrintsAndFindingTracesRoundTrip,
              (const std::vector<Op>& ops)) {
  model::System system{Limits{}};
  for (const Op& op : ops) system.apply(op);
  RC_ASSERT(!check::observation_text(system.observe()).empty());
  RC_PRE(!ops.empty());
  check::Finding f;
  f.trace = ops;
  f.op_index = *rc::gen::inRange<size_t>(0, ops.size());
  f.op = ops[f.op_index];
  f.kind = "observation";
  f.details = {"page (1,0x100): model present  impl none"};
  Trace t = parse_trace(check::finding_trace(f, Limits{}));
  RC_ASSERT(t.ops() == std::vector<Op>(ops.begin(), ops.begin() + ptrdiff_t(f.op_index) + 1));
}

}  // namespace
