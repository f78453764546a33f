#include "oracle/oracle.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>
#include <stdexcept>

#include "check/compare.hpp"
#include "check/random_sequence.hpp"
#include "model/system.hpp"
#include "ops/limits_text.hpp"
#include "oracle/files.hpp"
#include "oracle/kernel_ops.hpp"
#include "oracle/kernel_view.hpp"
#include "oracle/processes.hpp"
#include "oracle/region.hpp"

namespace oracle {
namespace {

// Memory stays bounded: no process maps more than this (256 MiB).
constexpr uint64_t max_region_pages = uint64_t{1} << 16;

model::System::Options differential() {
  model::System::Options o;
  o.own_reclaim_policy = false;  // which frames reclaim takes is the kernel's choice
  return o;
}

class Run {
 public:
  Run(const ops::Limits& trace_limits, const OracleOptions& options)
      : options_(options), dir_(files_dir(options.files_dir)) {
    out_.caps = capabilities(dir_);
    if (options.hide_frames) out_.caps.pfns = false;
    out_.limits = oracle_limits(trace_limits, out_.caps);
    kernel_limits_ = out_.limits;
    if (options.adjust_model) options.adjust_model(out_.limits);
    ops::validate_limits(out_.limits);
    if (out_.limits.address_space > max_region_pages)
      throw std::invalid_argument(fmt::format("limits: the oracle maps at most {:#x} pages per process (address_space={:#x})",
                                              max_region_pages, out_.limits.address_space));
  }

  OracleRun go(const std::vector<ops::Op>& ops) {
    Region region(kernel_limits_.address_space, kernel_limits_.hpage_pages());
    Files files(kernel_limits_, dir_);
    Processes procs(files.fds());
    procs.start(&Region::empty_in_child, &region);
    files.fill_page_cache();
    model::System model(out_.limits, differential());
    KernelOps kernel(procs, region, files, kernel_limits_);
    KernelView before = observe_kernel(procs, region, files, out_.caps);
    for (const ops::Op& op : ops) {
      OracleStep step{op, false, "", {}, {}};
      if (auto why = why_skipped(op, kernel_limits_, out_.caps, options_.ksm)) {
        step.skipped = true;
        step.note = *why;
        out_.steps.push_back(step);
        continue;
      }
      KernelAnswer answer = kernel.apply(op, model, before.layout);
      step.note = answer.note;
      step.kernel = answer.result;
      if (answer.skipped) {
        step.skipped = true;
        out_.steps.push_back(step);
        continue;
      }
      ran_.push_back(op);
      files.fill_page_cache();
      KernelView after = observe_kernel(procs, region, files, out_.caps);
      step.model = model.apply(op, {}, {});  // the model decides its own VMA layout
      out_.steps.push_back(step);
      if (auto details = differences(model, step, answer, after); !details.empty()) {
        out_.difference = check::Finding{ran_.size() - 1, op, "kernel", std::move(details), ran_, std::nullopt};
        break;
      }
      before = std::move(after);
    }
    return std::move(out_);
  }

 private:
  std::vector<std::string> differences(const model::System& model, const OracleStep& step,
                                       const KernelAnswer& answer, const KernelView& after) {
    std::vector<std::string> out;
    if (answer.unnamed_errno)
      out.push_back(fmt::format("result: model {}  kernel {}", ops::result_text(step.model), *answer.unnamed_errno));
    else if (!(step.model == step.kernel))
      out.push_back(fmt::format("result: model {}  kernel {}", ops::result_text(step.model), ops::result_text(step.kernel)));
    for (std::string& d : check::diff(comparable(model.observe(), out_.caps), "model", comparable(after.obs, out_.caps), "kernel"))
      out.push_back(std::move(d));
    return out;
  }

  const OracleOptions& options_;
  std::string dir_;
  OracleRun out_;
  ops::Limits kernel_limits_;  // what the kernel side is set up with
  std::vector<ops::Op> ran_;
};

}  // namespace

size_t OracleRun::run() const {
  size_t n = 0;
  for (const OracleStep& s : steps) n += !s.skipped;
  return n;
}

size_t OracleRun::skipped() const { return steps.size() - run(); }

const Capabilities& capabilities(const std::string& files_dir) {
  static std::map<std::string, Capabilities> probed;
  auto it = probed.find(files_dir);
  if (it == probed.end()) it = probed.emplace(files_dir, probe_capabilities(files_dir)).first;
  return it->second;
}

ops::Limits random_world() {
  ops::Limits l;
  l.hpage_order = 9;
  l.address_space = 0x400;
  l.max_pages = 0x400;
  l.max_processes = 4;
  l.files = 2;
  l.max_file_pages = 32;
  l.max_ops = 24;
  return l;
}

std::vector<ops::Op> random_kernel_ops(uint64_t seed, const ops::Limits& world, const OracleOptions& options) {
  const Capabilities& caps = capabilities(files_dir(options.files_dir));
  const ops::Limits limits = oracle_limits(world, caps);
  std::vector<ops::Op> ops = check::random_sequence(seed, world);
  std::erase_if(ops, [&](const ops::Op& op) { return why_skipped(op, limits, caps, options.ksm).has_value(); });
  return ops;
}

OracleRun run_oracle(const std::vector<ops::Op>& ops, const ops::Limits& trace_limits, const OracleOptions& options) {
  return Run(trace_limits, options).go(ops);
}

OracleRun confirm_differences(const std::function<OracleRun()>& run_once, unsigned max_runs) {
  OracleRun run = run_once();
  std::vector<check::Finding> flaky;
  for (unsigned runs = 1; run.difference; ++runs) {
    if (runs >= max_runs) {
      flaky.push_back(std::move(*std::exchange(run.difference, std::nullopt)));
      run.incomplete = true;
      break;
    }
    OracleRun again = run_once();
    if (again.difference && again.difference->op_index == run.difference->op_index &&
        again.difference->details == run.difference->details)
      break;  // it came back: the ops cause it
    flaky.push_back(std::move(*run.difference));
    run = std::move(again);
  }
  run.flaky.insert(run.flaky.begin(), std::make_move_iterator(flaky.begin()), std::make_move_iterator(flaky.end()));
  return run;
}

OracleRun run_oracle_confirmed(const std::vector<ops::Op>& ops, const ops::Limits& trace_limits,
                               const OracleOptions& options, unsigned max_runs) {
  return confirm_differences([&] { return run_oracle(ops, trace_limits, options); }, max_runs);
}

}  // namespace oracle
