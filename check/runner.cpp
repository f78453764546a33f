#include "check/runner.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "check/compare.hpp"
#include "impl/kernel.hpp"
#include "model/system.hpp"
#include "ops/trace.hpp"

namespace check {
namespace {

model::System::Layout layout_of(impl::Kernel& k, const ops::Limits& limits) {
  model::System::Layout layout;
  for (ops::Pid pid = 1; pid <= limits.max_processes; ++pid)
    if (auto extents = k.vma_extents(pid); !extents.empty()) layout[pid] = std::move(extents);
  return layout;
}

model::System::Options differential() {
  model::System::Options o;
  o.own_reclaim_policy = false;
  return o;
}

// The implementation does not enforce the map count limit yet; with max_vmas at least
// max_pages the limit can never bind (every VMA holds a page), so both sides agree.
const ops::Limits& supported(const ops::Limits& limits) {
  if (limits.max_vmas < limits.max_pages)
    throw std::invalid_argument("limits: the implementation does not enforce max_vmas yet; use max_vmas >= max_pages");
  // The buddy allocator's largest block is order 10 (MAX_PAGE_ORDER), as on x86-64: a
  // larger huge page could never be allocated, where the model would map one.
  if (limits.hpage_order > impl::PageAllocator::max_order)
    throw std::invalid_argument("limits: the implementation's huge pages go up to hpage_order 10");
  return limits;
}

}  // namespace

Runner::Runner(const ops::Limits& limits, const RunnerOptions& options)
    : limits_(supported(limits)),
      model_(std::make_unique<model::System>(limits, differential())),
      impl_(std::make_unique<impl::Kernel>(limits, options.bugs)) {}

Runner::~Runner() = default;

bool Runner::supports(const ops::Op& op) const { return impl::Kernel::supports(op, limits_); }

namespace {

// The page an op faults on, for the ops whose allocation runs direct reclaim in the
// implementation (a fault on one page, a file write): their ENOMEM must mean that no
// frame could be reclaimed but the one the op itself holds.
std::optional<std::optional<ops::PageKey>> direct_reclaim_target(const ops::Op& op) {
  if (auto* r = std::get_if<ops::Read>(&op)) return ops::PageKey{r->pid, r->vpn};
  if (auto* w = std::get_if<ops::Write>(&op)) return ops::PageKey{w->pid, w->vpn};
  if (auto* p = std::get_if<ops::Pin>(&op)) return ops::PageKey{p->pid, p->vpn};
  if (std::holds_alternative<ops::Fwrite>(op)) return std::optional<ops::PageKey>{};
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Runner::gave_up_too_early(const ops::Op& op) const {
  const auto target = direct_reclaim_target(op);
  if (!target || !model_->ran_out_of_frames()) return std::nullopt;
  if (auto frame = model_->reclaim_candidate(*target))
    return fmt::format("ENOMEM for want of a frame, but {} could have been reclaimed", ops::frame_ref_text(*frame));
  return std::nullopt;
}

std::optional<Finding> Runner::step(const ops::Op& op) {
  trace_.push_back(op);
  Finding f{trace_.size() - 1, op, "", {}, trace_, std::nullopt};
  auto fail = [&](std::string kind) {
    f.kind = std::move(kind);
    f.trace = trace_;
    return std::optional<Finding>(f);
  };
  auto before = layout_of(*impl_, limits_);
  ops::Result impl_result;
  try {
    impl_result = impl_->apply(op);
  } catch (const std::exception& e) {
    f.details.push_back(fmt::format("impl failed: {}", e.what()));
    return fail("crash");
  }
  auto after = layout_of(*impl_, limits_);
  std::vector<ops::FrameRef> reclaimed;
  for (const ops::ReclaimFact& fact : impl_->take_reclaim_facts()) reclaimed.push_back(fact.frame);
  last_result_ = model_->apply(op, before, after, reclaimed, impl_->take_huge_fallback_facts());
  if (const auto& why = model_->reclaim_error()) {
    f.details.push_back(*why);
    return fail("reclaim");
  }
  if (!(last_result_ == impl_result)) {
    f.details.push_back(fmt::format("result: model {}  impl {}", ops::result_text(last_result_),
                                    ops::result_text(impl_result)));
    return fail("result");
  }
  if (auto why = gave_up_too_early(op)) {
    f.details.push_back(*why);
    return fail("reclaim");
  }
  if (auto why = model_->check_layout(after)) f.details.push_back("impl VMA layout: " + *why);
  auto model_obs = model_->observe();
  auto table_obs = impl_->observe_page_tables();
  for (auto& d : diff(model_obs, "model", table_obs, "impl")) f.details.push_back(std::move(d));
  if (!f.details.empty()) return fail("observation");
  auto rmap_obs = impl_->observe_rmap();
  for (auto& d : diff(table_obs, "impl", rmap_obs, "impl-rmap")) f.details.push_back(std::move(d));
  for (auto& d : impl_->check_invariants()) f.details.push_back("impl invariant: " + d);
  if (!f.details.empty()) return fail("rmap");
  return std::nullopt;
}

SequenceResult run_sequence(const ops::Limits& limits, std::span<const ops::Op> ops,
                            const RunnerOptions& options) {
  SequenceResult out;
  Runner runner(limits, options);
  for (const ops::Op& op : ops) {
    if (!runner.supports(op)) {
      ++out.ops_skipped;
      continue;
    }
    ++out.ops_run;
    if ((out.finding = runner.step(op))) break;
  }
  return out;
}

}  // namespace check
