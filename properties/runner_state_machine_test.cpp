// The main property as RapidCheck's users know it: a state machine (rc::state) whose
// commands are ops, drawn by the same biased op chooser the fuzzers use (so that they
// land on live pids and mapped ranges). The RapidCheck model is the reference model
// itself, the set of live pids and the chooser's shadow; a command's precondition reads
// it (the op's process is alive and the implementation supports the op); running a
// command steps the differential Runner, and any finding fails the case. RapidCheck then
// shrinks the command sequence itself, dropping commands whose preconditions no longer
// hold.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <set>
#include <variant>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "model/system.hpp"
#include "op_gen.hpp"
#include "ops/limits.hpp"

namespace {

const ops::Limits& world() {
  static const ops::Limits limits = ops::campaign_limits();
  return limits;
}

struct MachineModel {
  model::System system{world()};
  std::set<ops::Pid> alive{1};
  ops::OpChooser chooser{world()};
};

ops::Pid pid_of(const ops::Op& op) {
  return std::visit([](const auto& o) -> ops::Pid {
    if constexpr (requires { o.pid; }) return o.pid;
    else return 0;  // ops of no process (reclaim, ksm)
  }, op);
}

// One op, chosen for what the ops so far have made.
struct OpCommand : rc::state::Command<MachineModel, check::Runner> {
  ops::Op op;

  explicit OpCommand(const MachineModel& m) : op(*ops::gen::chosen_op(m.chooser)) {}

  void checkPreconditions(const MachineModel& m) const override {
    RC_PRE(pid_of(op) == 0 || m.alive.count(pid_of(op)) == 1);
  }

  void apply(MachineModel& m) const override {
    m.chooser.note(op);
    const ops::Result r = m.system.apply(op);
    if (std::holds_alternative<ops::Fork>(op) && r.kind == ops::Result::Kind::value) m.alive.insert(ops::Pid(r.value));
    if (std::holds_alternative<ops::Exit>(op) && r.kind == ops::Result::Kind::ok) m.alive.erase(pid_of(op));
  }

  void run(const MachineModel&, check::Runner& runner) const override {
    RC_PRE(runner.supports(op));
    if (auto finding = runner.step(op)) RC_FAIL(check::finding_text(*finding, ""));
  }

  void show(std::ostream& os) const override { os << ops::print_op(op); }
};

RC_GTEST_PROP(RunnerStateMachine, AnySequenceOfOps_LeavesBothSidesAgreeing, ()) {
  check::Runner runner(world(), {});
  rc::state::check(MachineModel{}, runner, rc::state::gen::execOneOfWithArgs<OpCommand>());
  if (auto finding = runner.finish()) RC_FAIL(check::finding_text(*finding, ""));
}

// The machine finds what the Runner finds: with a bug switched on, some sequence fails.
TEST(RunnerStateMachine, WithAZooBugOn_FailsAndShrinks) {
  impl::Bugs bugs;
  bugs.skip_anon_vma_clone_on_split = true;
  // A fixed seed and room to search: the test must not depend on the run's luck.
  rc::detail::TestParams params;
  params.seed = 1;
  params.maxSuccess = 1000;
  const auto result = rc::detail::checkTestable(
      [&] {
        check::Runner runner(world(), check::RunnerOptions{bugs});
        rc::state::check(MachineModel{}, runner,
                         rc::state::gen::execOneOfWithArgs<OpCommand>());
        if (auto finding = runner.finish()) RC_FAIL(check::finding_text(*finding, ""));
      },
      rc::detail::TestMetadata{}, params);
  rc::detail::FailureResult failure;
  EXPECT_TRUE(result.match(failure)) << "no sequence found skip_anon_vma_clone_on_split";
}

}  // namespace
