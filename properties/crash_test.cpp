// A crash of either side is a finding like any other: it names the op it happened in,
// carries the trace up to it and its seed, replays to itself, and shrinks with "crashes
// in the same kind of op" as what must hold. A signal (here a null dereference the bug
// zoo plants) kills only the child the ops ran in; an exception (the implementation's
// BUG()) is caught in-process.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "check/finding.hpp"
#include "check/forked_run.hpp"
#include "check/runner.hpp"
#include "check/shrink.hpp"
#include "impl/bugs.hpp"
#include "ops/limits_text.hpp"
#include "ops/trace.hpp"
#include "tools/replay.hpp"

namespace {

namespace fs = std::filesystem;

// After fork the child's write breaks COW: the old folio loses the child's mapping and
// keeps the parent's, which is where the planted crashes strike.
constexpr const char* cow_after_fork = R"(mmap 1 0x100 2 anon private rw
write 1 0x100 7
read 1 0x101
fork 1
write 2 0x100 9
read 1 0x100
)";

impl::Bugs null_dereference() {
  impl::Bugs bugs;
  bugs.remove_rmap_dereferences_null = true;
  return bugs;
}

impl::Bugs bug_on() {
  impl::Bugs bugs;
  bugs.remove_rmap_bugs_on_shared_anon = true;
  return bugs;
}

std::vector<ops::Op> cow_ops() { return ops::parse_trace(cow_after_fork).ops(); }

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int exit_status(int system_status) { return WIFEXITED(system_status) ? WEXITSTATUS(system_status) : -1; }

}  // namespace

TEST(CrashBySignal, ANullDereferenceInTheImplementation_IsACrashFindingAtTheOpItHappenedIn) {
  const auto result = check::run_sequence_forked(ops::Limits{}, cow_ops(), check::RunnerOptions{null_dereference()});
  ASSERT_TRUE(result.finding);
  EXPECT_EQ(result.finding->kind, "crash");
  EXPECT_EQ(result.finding->op_index, 4u);
  EXPECT_EQ(ops::print_op(result.finding->op), "write 2 0x100 9");
  EXPECT_EQ(result.finding->trace.size(), 5u);
  ASSERT_EQ(result.finding->details.size(), 1u);
  EXPECT_TRUE(result.finding->details[0].starts_with("the implementation ")) << result.finding->details[0];
  EXPECT_TRUE(result.finding->details[0].ends_with("applying the op to the implementation"))
      << result.finding->details[0];
}

TEST(CrashBySignal, WithCheckpoints_IsLocatedAtTheSameOpAsCheckingEveryOp) {
  const auto every_op = check::run_sequence_forked(ops::Limits{}, cow_ops(), check::RunnerOptions{null_dereference()});
  const auto checkpointed = check::run_sequence_forked(
      ops::Limits{}, cow_ops(), check::RunnerOptions{null_dereference(), check::campaign_full_check_every});
  ASSERT_TRUE(every_op.finding);
  ASSERT_TRUE(checkpointed.finding);
  EXPECT_EQ(*checkpointed.finding, *every_op.finding);
}

TEST(CrashBySignal, ACleanRunInAChild_GivesWhatTheSameRunInProcessGives) {
  std::vector<ops::Result> forked(cow_ops().size()), in_process(cow_ops().size());
  const auto a = check::run_sequence_forked(ops::Limits{}, cow_ops(), {}, forked);
  const auto b = check::run_sequence(ops::Limits{}, cow_ops(), {}, in_process);
  EXPECT_FALSE(a.finding);
  EXPECT_EQ(a.ops_run, b.ops_run);
  EXPECT_EQ(forked, in_process);
}

TEST(CrashBySignal, AFindingThatIsNoCrash_ComesBackFromTheChildWhole) {
  impl::Bugs bugs;
  bugs.skip_anon_vma_clone_on_split = true;
  const auto ops = ops::parse_trace("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 1\nmprotect 1 0x102 2 r\n").ops();
  const auto forked = check::run_sequence_forked(ops::Limits{}, ops, check::RunnerOptions{bugs});
  const auto in_process = check::run_sequence(ops::Limits{}, ops, check::RunnerOptions{bugs});
  ASSERT_TRUE(in_process.finding);
  ASSERT_TRUE(forked.finding);
  EXPECT_EQ(*forked.finding, *in_process.finding);
}

TEST(CrashBySignal, TheHarnesssOwnErrorInTheChild_IsThrownInTheCaller_NotTakenForACrash) {
  ops::Limits limits;
  limits.max_vmas = limits.max_pages - 1;  // the runner refuses these limits
  EXPECT_THROW(check::run_sequence_forked(limits, cow_ops()), std::invalid_argument);
}

TEST(CrashByException, TheImplementationsBug_IsACrashFindingInProcess) {
  const auto result = check::run_sequence(ops::Limits{}, cow_ops(), check::RunnerOptions{bug_on()});
  ASSERT_TRUE(result.finding);
  EXPECT_EQ(result.finding->kind, "crash");
  EXPECT_EQ(result.finding->op_index, 4u);
  ASSERT_EQ(result.finding->details.size(), 1u);
  EXPECT_NE(result.finding->details[0].find("threw std::logic_error (a BUG) applying the op to the implementation: "
                                            "VM_BUG_ON_FOLIO"),
            std::string::npos)
      << result.finding->details[0];
}

TEST(CrashSite, ADeathInTheModelsPhases_IsAModelCrash) {
  const auto ops = cow_ops();
  check::RunnerSite site;
  site.at(2, check::RunnerSite::Phase::model_apply);
  const check::Finding f = check::crash_finding(ops, site, "died of signal 11 (Segmentation fault)");
  EXPECT_EQ(f.kind, "model-crash");
  EXPECT_EQ(f.op_index, 2u);
  EXPECT_EQ(f.details, std::vector<std::string>{
                           "the model died of signal 11 (Segmentation fault) applying the op to the model"});
  site.in(check::RunnerSite::Phase::whole_state);
  EXPECT_EQ(check::crash_finding(ops, site, "exited with status 1").kind, "crash");
}

TEST(CrashReplay, ATraceThatCrashesTheImplementation_ReplaysToTheCrashFinding) {
  for (const impl::Bugs& bugs : {null_dereference(), bug_on()}) {
    const tools::ReplayResult result = tools::replay_text(cow_after_fork, ops::Limits{}, {}, bugs);
    ASSERT_TRUE(result.finding);
    EXPECT_EQ(result.finding->kind, "crash");
    EXPECT_EQ(result.finding->op_index, 4u);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.steps.size(), 4u) << "the model's steps end before the op that crashed";
  }
}

TEST(CrashShrink, ACrashShrinksToAShortTraceThatCrashesInTheSameKindOfOp) {
  // Noise before and around the crash: a second mapping, reads, a second process.
  const auto ops = ops::parse_trace(R"(mmap 1 0x10 3 anon private rw
write 1 0x10 1
read 1 0x11
mmap 1 0x100 2 anon private rw
write 1 0x100 7
fork 1
read 2 0x10
write 1 0x12 3
write 2 0x100 9
read 1 0x100
)")
                       .ops();
  for (const impl::Bugs& bugs : {null_dereference(), bug_on()}) {
    check::ShrinkOptions options;
    options.bugs = bugs;
    const check::ShrinkResult shrunk = check::shrink(ops::Limits{}, ops, options);
    ASSERT_FALSE(shrunk.error) << *shrunk.error;
    EXPECT_EQ(shrunk.finding.kind, "crash");
    EXPECT_TRUE(std::holds_alternative<ops::Write>(shrunk.finding.op));
    EXPECT_LE(shrunk.ops.size(), 4u) << check::finding_trace(shrunk.finding, ops::Limits{});
    const auto again = check::run_sequence_forked(ops::Limits{}, shrunk.ops, check::RunnerOptions{bugs});
    ASSERT_TRUE(again.finding);
    EXPECT_EQ(again.finding->kind, "crash");
  }
}

// Shrinking an ordinary finding may try a candidate that crashes: here dropping the
// first half (the guard fork, which uses up the two processes) lets the second `fork 1`
// share the page, and the COW of it meets the planted null dereference. That candidate
// is simply not the same finding; the shrinker goes on to the short trace.
TEST(CrashShrink, ACandidateThatCrashesWhileShrinkingAnOrdinaryFinding_IsRejectedNotFatal) {
  ops::Limits limits;
  limits.max_processes = 2;
  const auto ops = ops::parse_trace(R"(fork 1
read 1 0x0
read 1 0x1
read 1 0x2
read 1 0x3
mmap 1 0x100 1 anon private rw
write 1 0x100 7
fork 1
write 1 0x100 9
reclaim 1
)")
                       .ops();
  check::ShrinkOptions options;
  options.bugs = null_dereference();
  options.bugs.reclaim_gives_up = true;
  const check::ShrinkResult shrunk = check::shrink(limits, ops, options);
  ASSERT_FALSE(shrunk.error) << *shrunk.error;
  EXPECT_EQ(shrunk.finding.kind, "reclaim");
  EXPECT_LE(shrunk.ops.size(), 3u) << check::finding_trace(shrunk.finding, limits);
}

// The whole way, as a user meets it: `rmapcheck run` with the planted null dereference
// survives it, writes the finding's trace with its seed, and `rmapcheck replay` of that
// trace reports the same crash and fails.
TEST(CrashCampaign, RunWithANullDereference_LeavesATraceThatReplaysToTheSameCrash) {
  const fs::path dir = fs::temp_directory_path() / ("rmapcheck-crash-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string run = std::string(RMAPCHECK_BINARY) + " run --quiet --seed 1 --sequences 20 --bug " +
                          "remove_rmap_dereferences_null --findings " + dir.string() + " > " +
                          (dir.string() + ".out") + " 2>&1";
  EXPECT_EQ(exit_status(std::system(run.c_str())), 1) << read_text(dir.string() + ".out");
  std::vector<fs::path> traces;
  for (const auto& entry : fs::directory_iterator(dir)) traces.push_back(entry.path());
  ASSERT_EQ(traces.size(), 1u) << read_text(dir.string() + ".out");
  const std::string text = read_text(traces[0]);
  EXPECT_NE(text.find("# crash in op "), std::string::npos) << text;
  EXPECT_NE(text.find("# seed: " + traces[0].stem().string()), std::string::npos) << text;
  EXPECT_NE(text.find("# <- crash here"), std::string::npos) << text;
  const ops::Trace trace = ops::parse_trace(text);
  const tools::ReplayResult replayed = tools::replay_text(text, ops::Limits{}, {}, null_dereference());
  ASSERT_TRUE(replayed.finding);
  EXPECT_EQ(replayed.finding->kind, "crash");
  EXPECT_EQ(replayed.finding->op_index + 1, trace.ops().size()) << "the marked op, the last one";
  const std::string replay = std::string(RMAPCHECK_BINARY) + " replay --quiet " + traces[0].string() +
                             " --bug remove_rmap_dereferences_null > " + (dir.string() + ".out") + " 2>&1";
  EXPECT_EQ(exit_status(std::system(replay.c_str())), 1);
  EXPECT_NE(read_text(dir.string() + ".out").find("crash in op "), std::string::npos)
      << read_text(dir.string() + ".out");
  fs::remove_all(dir);
  fs::remove(dir.string() + ".out");
}
