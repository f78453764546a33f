// The kernel oracle: every regression trace, and random short sequences, run on this
// machine's kernel with real processes must look to the model exactly as the kernel
// shows them. Where the kernel's interfaces cannot be read, the tests are skipped and
// say why. Plus the oracle's own parts: the smaps parser, what is compared without
// root, which ops are skipped.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "check/finding.hpp"
#include "ops/decode.hpp"
#include "ops/limits_text.hpp"
#include "ops/trace.hpp"
#include "oracle/capabilities.hpp"
#include "oracle/files.hpp"
#include "oracle/kernel_ops.hpp"
#include "oracle/kernel_view.hpp"
#include "oracle/oracle.hpp"
#include "oracle/procfs.hpp"
#include "oracle/processes.hpp"
#include "tools/replay.hpp"

namespace {

namespace fs = std::filesystem;

// Why the oracle cannot run here, or nothing.
std::optional<std::string> oracle_unavailable() {
  std::ifstream pagemap("/proc/self/pagemap", std::ios::binary);
  if (!pagemap) return "/proc/self/pagemap is not readable";
  if (!fs::exists("/proc/self/smaps")) return "/proc/self/smaps does not exist";
  return std::nullopt;
}

std::string finding_text(const oracle::OracleRun& run) {
  return run.difference ? check::finding_text(*run.difference, "") : "";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

oracle::OracleRun run_trace_text(const std::string& text, const oracle::OracleOptions& options = {}) {
  const ops::Trace trace = ops::parse_trace(text);
  return oracle::run_oracle_confirmed(trace.ops(), tools::trace_limits(trace, ops::Limits{}), options);
}

// ---- the regression traces on the kernel ----

std::vector<fs::path> regression_traces() {
  std::vector<fs::path> paths;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(RMAPCHECK_SOURCE_DIR) / "corpus" / "regressions", ec))
    if (e.is_regular_file() && e.path().extension() == ".trace") paths.push_back(e.path());
  std::ranges::sort(paths);
  return paths;
}

std::string test_name(const testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  std::ranges::replace_if(name, [](char c) { return !std::isalnum((unsigned char)c); }, '_');
  return name;
}

class OracleTrace : public testing::TestWithParam<fs::path> {};

TEST_P(OracleTrace, KernelShowsWhatTheModelSays) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  const oracle::OracleRun run = run_trace_text(read_text(GetParam()));
  EXPECT_FALSE(run.difference) << finding_text(run);
  EXPECT_GT(run.run(), 0u);
}

TEST_P(OracleTrace, WithoutFramesToo) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  oracle::OracleOptions options;
  options.hide_frames = true;
  const oracle::OracleRun run = run_trace_text(read_text(GetParam()), options);
  EXPECT_FALSE(run.difference) << finding_text(run);
}

INSTANTIATE_TEST_SUITE_P(Corpus, OracleTrace, testing::ValuesIn(regression_traces()), test_name);

// ---- random sequences ----

RC_GTEST_PROP(OracleProperty, RandomSequencesOfKernelOps_LookTheSameToTheModel, ()) {
  if (oracle_unavailable()) RC_DISCARD("no kernel oracle here");
  const ops::Limits world = oracle::random_world();
  const auto bytes = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
  std::vector<ops::Op> ops = ops::decode(bytes, world);
  const oracle::Capabilities& caps = oracle::capabilities(oracle::files_dir(""));
  const ops::Limits limits = oracle::oracle_limits(world, caps);
  std::erase_if(ops, [&](const ops::Op& op) { return oracle::why_skipped(op, limits, caps, false).has_value(); });
  RC_TAG(ops.size() / 8 * 8);
  const oracle::OracleRun run = oracle::run_oracle_confirmed(ops, world, {});
  if (!run.flaky.empty()) RC_TAG("a difference that did not come back (background kernel work)");
  if (run.difference) {
    RC_LOG() << check::finding_trace(*run.difference, run.limits);
    RC_FAIL("the kernel and the model differ");
  }
}

// ---- differences that do not come back ----

namespace {

// A run of `ops_run` ops, with a difference after op `at` saying `what`, or none.
oracle::OracleRun scripted_run(size_t ops_run, std::optional<size_t> at = std::nullopt, const std::string& what = "") {
  oracle::OracleRun run;
  const ops::Op op = ops::parse_op("read 1 0x0");
  std::vector<ops::Op> trace;
  for (size_t i = 0; i < ops_run; ++i) {
    run.steps.push_back(oracle::OracleStep{op, false, "", {}, {}});
    trace.push_back(op);
    if (at && i == *at) {
      run.difference = check::Finding{i, op, "kernel", {what}, trace, std::nullopt};
      break;
    }
  }
  return run;
}

// The runs of `script`, one per call.
std::function<oracle::OracleRun()> runs(std::vector<oracle::OracleRun> script) {
  auto shared = std::make_shared<std::vector<oracle::OracleRun>>(std::move(script));
  auto next = std::make_shared<size_t>(0);
  return [shared, next] { return (*shared).at((*next)++); };
}

}  // namespace

TEST(OracleFlaky, ADifferenceThatDoesNotComeBack_IsFlakyAndTheNextRunComparesToTheEnd) {
  const auto run = oracle::confirm_differences(runs({scripted_run(10, 3, "a"), scripted_run(10)}), 4);
  EXPECT_FALSE(run.difference);
  ASSERT_EQ(run.flaky.size(), 1u);
  EXPECT_EQ(run.flaky[0].op_index, 3u);
  EXPECT_EQ(run.steps.size(), 10u) << "every op compared";
  EXPECT_FALSE(run.incomplete);
}

TEST(OracleFlaky, ADifferenceThatComesBack_IsTheDifference) {
  const auto run = oracle::confirm_differences(runs({scripted_run(10, 3, "a"), scripted_run(10, 3, "a")}), 4);
  ASSERT_TRUE(run.difference);
  EXPECT_EQ(run.difference->op_index, 3u);
  EXPECT_TRUE(run.flaky.empty());
}

TEST(OracleFlaky, AfterAFlakyDifference_ALaterOneThatComesBackIsStillFound) {
  const auto run = oracle::confirm_differences(
      runs({scripted_run(10, 3, "a"), scripted_run(10, 7, "b"), scripted_run(10, 7, "b")}), 4);
  ASSERT_TRUE(run.difference);
  EXPECT_EQ(run.difference->op_index, 7u);
  EXPECT_EQ(run.difference->details, std::vector<std::string>{"b"});
  EXPECT_EQ(run.flaky.size(), 1u);
}

TEST(OracleFlaky, ADifferentDifferenceAtTheSameOp_DoesNotConfirmIt) {
  const auto run = oracle::confirm_differences(runs({scripted_run(10, 3, "a"), scripted_run(10, 3, "b"), scripted_run(10)}), 4);
  EXPECT_FALSE(run.difference);
  EXPECT_EQ(run.flaky.size(), 2u);
}

TEST(OracleFlaky, RunsThatEachDifferElsewhere_StopAtTheBudgetAndSaySo) {
  const auto run = oracle::confirm_differences(
      runs({scripted_run(10, 1, "a"), scripted_run(10, 2, "b"), scripted_run(10, 3, "c")}), 3);
  EXPECT_FALSE(run.difference);
  EXPECT_EQ(run.flaky.size(), 3u);
  EXPECT_TRUE(run.incomplete);
}

// On the kernel: the model believes, on the first run only, that the file starts empty,
// so the first read differs (SIGBUS past EOF against the kernel's value) once.
TEST(OracleFlaky, OnTheKernel_AOnceOnlyDifferenceIsFlakyAndEveryOpIsStillCompared) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  oracle::OracleOptions options;
  auto first = std::make_shared<bool>(true);
  options.adjust_model = [first](ops::Limits& l) {
    if (std::exchange(*first, false)) l.initial_file_pages = 0;
  };
  const oracle::OracleRun run = run_trace_text(R"(mmap 1 0x0 2 file:0@0 private r
read 1 0x0
read 1 0x1
munmap 1 0x0 2
)",
                                               options);
  EXPECT_FALSE(run.difference) << finding_text(run);
  ASSERT_EQ(run.flaky.size(), 1u);
  EXPECT_EQ(ops::print_op(run.flaky[0].op), "read 1 0x0");
  EXPECT_EQ(run.run(), 4u) << "compared to the end";
}

// ---- the parts ----

TEST(OracleSmaps, ParsesVmasWithTheirFlagsAndPaths) {
  const std::string text =
      "7f0000000000-7f0000004000 rw-p 00000000 00:00 0 \n"
      "Size:                 16 kB\n"
      "VmFlags: rd wr mr mw me ac lo dc \n"
      "7f0000004000-7f0000006000 rw-s 00002000 00:01 1042                       /dev/zero (deleted)\n"
      "Rss:                   0 kB\n"
      "VmFlags: rd wr sh mr mw me ms hg\n";
  const auto vmas = oracle::parse_smaps(text);
  ASSERT_EQ(vmas.size(), 2u);
  EXPECT_EQ(vmas[0].start, 0x7f0000000000u);
  EXPECT_EQ(vmas[0].end, 0x7f0000004000u);
  EXPECT_TRUE(vmas[0].read && vmas[0].write && !vmas[0].exec && !vmas[0].shared);
  EXPECT_TRUE(vmas[0].has_flag("lo") && vmas[0].has_flag("dc") && !vmas[0].has_flag("hg"));
  EXPECT_EQ(vmas[1].offset, 0x2000u);
  EXPECT_EQ(vmas[1].inode, 1042u);
  EXPECT_EQ(vmas[1].path, "/dev/zero (deleted)");
  EXPECT_TRUE(vmas[1].shared && vmas[1].has_flag("hg"));
}

TEST(OracleSmaps, RejectsALineThatIsNeitherHeaderNorField) {
  EXPECT_THROW(oracle::parse_smaps("7f0000000000-7f0000004000 rw-p 0 00:00 0\nnonsense\n"), std::invalid_argument);
  EXPECT_THROW(oracle::parse_smaps("zz-7f00 rw-p 0 00:00 0\n"), std::invalid_argument);
}

TEST(OracleComparable, WithoutFrames_EachPresentPageIsItsOwnClassWithOnlyItsValue) {
  ops::Observation obs;
  obs.pages = {{1, 0, {}, ops::PteState::present}, {2, 0, {}, ops::PteState::present}, {1, 1, {}, ops::PteState::zero}};
  ops::FrameClass shared;
  shared.pages = {{1, 0}, {2, 0}};
  shared.value = 7;
  shared.mapcount = 2;
  shared.kind = ops::FrameKind::ksm;
  obs.frames = {shared};
  oracle::Capabilities caps;  // no PFNs, no kpage files, no PAGEMAP_SCAN
  const ops::Observation c = oracle::comparable(obs, caps);
  ASSERT_EQ(c.frames.size(), 3u);  // the zero page becomes a present page holding 0
  for (const ops::FrameClass& f : c.frames) {
    EXPECT_EQ(f.pages.size(), 1u);
    EXPECT_EQ(f.mapcount, 0u);
    EXPECT_EQ(f.kind, ops::FrameKind::anon);
  }
  EXPECT_EQ(c.pages[1].state, ops::PteState::present);
}

TEST(OracleComparable, WithFrames_ChangesNothing) {
  ops::Observation obs;
  obs.pages = {{1, 0, {}, ops::PteState::present}};
  ops::FrameClass c;
  c.pages = {{1, 0}};
  c.value = 3;
  c.mapcount = 1;
  obs.frames = {c};
  oracle::Capabilities caps;
  caps.pfns = caps.kpage = caps.pagemap_scan = true;
  EXPECT_EQ(oracle::comparable(obs, caps), obs);
}

TEST(OracleSkips, PinsSplitAndKsmUnlessAskedFor) {
  const ops::Limits l = oracle::random_world();
  oracle::Capabilities caps;
  caps.ksm = true;
  EXPECT_TRUE(oracle::why_skipped(ops::Pin{1, 0, false}, l, caps, false));
  EXPECT_TRUE(oracle::why_skipped(ops::Unpin{1}, l, caps, false));
  EXPECT_TRUE(oracle::why_skipped(ops::Split{1, 0}, l, caps, false));
  EXPECT_TRUE(oracle::why_skipped(ops::Ksm{}, l, caps, false));
  EXPECT_FALSE(oracle::why_skipped(ops::Ksm{}, l, caps, true));
  EXPECT_FALSE(oracle::why_skipped(ops::Read{1, 0x3ff}, l, caps, false));
}

TEST(OracleSkips, RangesPastTheRegion) {
  const ops::Limits l = oracle::random_world();
  EXPECT_TRUE(oracle::why_skipped(ops::Read{1, 0x400}, l, {}, false));
  EXPECT_TRUE(oracle::why_skipped(ops::Munmap{1, 0x3ff, 2}, l, {}, false));
  EXPECT_TRUE(oracle::why_skipped(ops::Mremap{1, 0, 1, 1, ops::Vpn{0x3ff + 1}, false}, l, {}, false));
  EXPECT_FALSE(oracle::why_skipped(ops::Munmap{1, 0x3ff, 1}, l, {}, false));
}

TEST(OracleRun, ShowsAFileReadMappingItsNeighbours) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  const oracle::OracleRun run = run_trace_text("mmap 1 0x0 16 file:0@0 private r\nread 1 0x3\n");
  ASSERT_FALSE(run.difference) << finding_text(run);
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_EQ(run.steps[1].kernel, ops::Result::of(1003));
  EXPECT_GT(run.limits.fault_around_pages, 1u) << "this kernel faults around; the model must be told";
}

TEST(OracleRun, FindsTheDifferenceOfAModelWithoutFaultAround) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  oracle::OracleOptions options;
  options.adjust_model = [](ops::Limits& l) { l.fault_around_pages = 1; };
  const oracle::OracleRun run = run_trace_text("mmap 1 0x0 16 file:0@0 private r\nread 1 0x3\n", options);
  ASSERT_TRUE(run.difference);
  EXPECT_EQ(run.difference->op_index, 1u);
  EXPECT_NE(finding_text(run).find("pages (1,0x0-0x2): model none  kernel present"), std::string::npos)
      << finding_text(run);
}

TEST(OracleRun, FindsAResultTheModelGetsWrong) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  oracle::OracleOptions options;
  options.adjust_model = [](ops::Limits& l) {  // the kernel's limit stays 64 pages
    l.max_file_pages = 1;
    l.initial_file_pages = 1;
  };
  const oracle::OracleRun run = run_trace_text("fwrite 0 5 1\n", options);
  ASSERT_TRUE(run.difference);
  EXPECT_NE(finding_text(run).find("result: model EFBIG  kernel ok"), std::string::npos) << finding_text(run);
}

}  // namespace

namespace {

void nothing(void*) {}

bool gone(pid_t pid) { return kill(pid, 0) == -1 && errno == ESRCH; }

TEST(OracleProcesses, EveryProcessIsGoneWhenTheRunEnds_OrphansIncluded) {
  if (auto why = oracle_unavailable()) GTEST_SKIP() << "no kernel oracle here: " << *why;
  std::vector<pid_t> real;
  {
    oracle::Processes procs({});
    procs.start(&nothing, nullptr);
    ASSERT_EQ(procs.fork(1, 2), 0);
    ASSERT_EQ(procs.fork(2, 3), 0);
    procs.exit(2);  // 3 is an orphan now
    for (const auto& [pid, r] : procs.real_pids()) real.push_back(r);
    ASSERT_EQ(real.size(), 2u);
  }
  for (pid_t pid : real) EXPECT_TRUE(gone(pid)) << "process " << pid << " is still there";
}

}  // namespace
