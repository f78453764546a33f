#include "check/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <typeinfo>

#include "check/compare.hpp"
#include "impl/kernel.hpp"
#include "ops/trace.hpp"

namespace check {
namespace {

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

// The page whose frame an op holds while it allocates (a fault's, a migration's
// source), which direct reclaim cannot take; none for the others.
std::optional<ops::PageKey> held_while_allocating(const ops::Op& op) {
  if (auto* r = std::get_if<ops::Read>(&op)) return ops::PageKey{r->pid, r->vpn};
  if (auto* w = std::get_if<ops::Write>(&op)) return ops::PageKey{w->pid, w->vpn};
  if (auto* p = std::get_if<ops::Pin>(&op)) return ops::PageKey{p->pid, p->vpn};
  if (auto* m = std::get_if<ops::Migrate>(&op)) return ops::PageKey{m->pid, m->vpn};
  return std::nullopt;
}

// The pages of the class whose frame is `pfn` in an observation whose classes' frames
// are `pfns`, in order; none if no page maps it.
std::span<const ops::PageKey> class_pages(const ops::Observation& obs, const std::vector<uint64_t>& pfns,
                                          uint64_t pfn) {
  auto it = std::find(pfns.begin(), pfns.end(), pfn);
  if (it == pfns.end()) return {};
  return obs.frames[size_t(it - pfns.begin())].pages;
}

using Phase = RunnerSite::Phase;

// How an exception names its type in a finding: the implementation's BUG() is a
// std::logic_error.
std::string_view exception_type(const std::exception& e) {
  if (dynamic_cast<const std::logic_error*>(&e)) return "std::logic_error (a BUG)";
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "std::bad_alloc";
  if (dynamic_cast<const std::out_of_range*>(&e)) return "std::out_of_range";
  if (dynamic_cast<const std::runtime_error*>(&e)) return "std::runtime_error";
  return "std::exception";
}

}  // namespace

bool model_phase(RunnerSite::Phase phase) { return phase == Phase::model_apply || phase == Phase::model_observe; }

std::string_view phase_text(RunnerSite::Phase phase) {
  switch (phase) {
    case Phase::idle: return "before the first op";
    case Phase::impl_apply: return "applying the op to the implementation";
    case Phase::model_apply: return "applying the op to the model";
    case Phase::model_observe: return "observing the model";
    case Phase::impl_observe: return "observing the implementation";
    case Phase::compare: return "comparing the two sides";
    case Phase::whole_state: return "checking the implementation's whole state";
  }
  return "?";
}

Runner::Runner(const ops::Limits& limits, const RunnerOptions& options)
    : limits_(supported(limits)),
      options_(options),
      site_(options.site ? options.site : &own_site_),
      model_(std::make_unique<model::System>(limits, differential())),
      impl_(std::make_unique<impl::Kernel>(limits, options.bugs)) {
  if (options_.full_check_every == 0) throw std::invalid_argument("full_check_every must be at least 1");
}

Runner::~Runner() = default;

bool Runner::supports(const ops::Op& op) const { return impl::Kernel::supports(op, limits_); }

// The frames an op may hand over as reclaimed: `reclaim N` at most N; an op that
// allocates nothing runs no direct reclaim and hands over none.
std::optional<std::string> facts_out_of_bounds(const ops::Op& op, size_t taken) {
  if (const auto* r = std::get_if<ops::Reclaim>(&op); r && taken > r->frames)
    return fmt::format("impl reclaimed {} frames in `reclaim {}`", taken, r->frames);
  const bool allocates_nothing = std::holds_alternative<ops::Exit>(op) || std::holds_alternative<ops::Munmap>(op) ||
                                 std::holds_alternative<ops::Munlock>(op) || std::holds_alternative<ops::Unpin>(op) ||
                                 std::holds_alternative<ops::Ftruncate>(op) || std::holds_alternative<ops::Split>(op);
  if (allocates_nothing && taken > 0)
    return fmt::format("impl reclaimed {} frame{} in an op that allocates nothing", taken, taken == 1 ? "" : "s");
  return std::nullopt;
}

std::optional<std::string> Runner::gave_up_too_early(const ops::Op& op) const {
  if (!model_->ran_out_of_frames()) return std::nullopt;
  if (auto frame = model_->direct_reclaim_candidate(held_while_allocating(op)))
    return fmt::format("ran out of frames, but direct reclaim could have taken {}", ops::frame_ref_text(*frame));
  return std::nullopt;
}

template <class Check>
std::optional<Finding> Runner::guarded(Check&& check) {
  try {
    return check();
  } catch (const std::exception& e) {
    return crashed(exception_type(e), e.what());
  } catch (...) {
    return crashed("an exception that is no std::exception", "");
  }
}

Finding Runner::crashed(std::string_view type, std::string_view what) const {
  const Phase phase = site_->phase.load(std::memory_order_relaxed);
  const bool model = model_phase(phase);
  Finding f{trace_.size() - 1, trace_.back(), model ? "model-crash" : "crash", {}, trace_, std::nullopt};
  f.details.push_back(fmt::format("the {} threw {} {}{}{}", model ? "model" : "implementation", type,
                                  phase_text(phase), what.empty() ? "" : ": ", what));
  return f;
}

std::optional<Finding> Runner::step(const ops::Op& op) {
  trace_.push_back(op);
  site_->at(trace_.size() - 1, Phase::impl_apply);
  std::optional<Finding> found = guarded([&] { return step_once(op); });
  if (found && options_.full_check_every > 1) return first_failing_op(std::move(*found));
  return found;
}

std::optional<Finding> Runner::finish() {
  if (unchecked_ == 0) return std::nullopt;
  site_->at(trace_.size() - 1, Phase::whole_state);
  std::optional<Finding> found = guarded([&] {
    Finding f{trace_.size() - 1, trace_.back(), "", {}, trace_, std::nullopt};
    return full_check(f);
  });
  if (found && options_.full_check_every > 1) return first_failing_op(std::move(*found));
  return found;
}

std::optional<Finding> Runner::step_once(const ops::Op& op) {
  Finding f{trace_.size() - 1, op, "", {}, {}, std::nullopt};
  auto fail = [&](std::string kind) {
    f.kind = std::move(kind);
    f.trace = trace_;
    return std::optional<Finding>(std::move(f));
  };
  const ops::Result impl_result = impl_->apply(op);
  std::vector<ops::FrameRef> reclaimed;
  for (const ops::ReclaimFact& fact : impl_->take_reclaim_facts()) reclaimed.push_back(fact.frame);
  site_->in(Phase::model_apply);
  // `reclaim N` must make progress where something can be reclaimed: asked before the op.
  const auto* reclaim = std::get_if<ops::Reclaim>(&op);
  const auto reclaimable = reclaim && reclaim->frames > 0 && reclaimed.empty()
                               ? model_->reclaim_candidate()
                               : std::nullopt;
  last_result_ = model_->apply(op, reclaimed, impl_->take_huge_fallback_facts());
  site_->in(Phase::compare);
  if (const auto& why = model_->reclaim_error()) {
    f.details.push_back(*why);
    return fail("reclaim");
  }
  if (auto why = facts_out_of_bounds(op, reclaimed.size())) {
    f.details.push_back(*why);
    return fail("reclaim");
  }
  if (reclaimable) {
    f.details.push_back(fmt::format("`reclaim {}` took nothing, but {} could have been reclaimed", reclaim->frames,
                                    ops::frame_ref_text(*reclaimable)));
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
  site_->in(Phase::model_observe);
  std::swap(prev_tables_, tables_);
  std::swap(prev_pfns_, impl_->observed_pfns);
  model_->observe(model_obs_);
  site_->in(Phase::impl_observe);
  impl_->observe_page_tables(tables_);
  site_->in(Phase::compare);
  if (model_obs_ != tables_)
    for (auto& d : diff(model_obs_, "model", tables_, "impl")) f.details.push_back(std::move(d));
  if (!f.details.empty()) return fail("observation");
  ++unchecked_;
  site_->in(Phase::impl_observe);
  if (unchecked_ >= options_.full_check_every || changed_classes_disagree()) return full_check(f);
  return std::nullopt;
}

std::optional<Finding> Runner::full_check(Finding& f) {
  site_->in(Phase::whole_state);
  unchecked_ = 0;
  const ops::Observation rmap_obs = impl_->observe_rmap();
  for (auto& d : diff(tables_, "impl", rmap_obs, "impl-rmap")) f.details.push_back(std::move(d));
  for (auto& d : impl_->check_invariants()) f.details.push_back("impl invariant: " + d);
  if (auto why = model_->check_vmas()) f.details.push_back("model VMAs: " + *why);
  if (f.details.empty()) return std::nullopt;
  f.kind = "rmap";
  f.trace = trace_;
  return std::move(f);
}

bool Runner::changed_classes_disagree() {
  const std::vector<ops::FrameClass>& now = tables_.frames;
  const std::vector<ops::FrameClass>& before = prev_tables_.frames;
  const std::vector<uint64_t>& pfns = impl_->observed_pfns;
  changed_pfns_.clear();
  // Both lists are sorted by their pages: walk them together.
  size_t i = 0, j = 0;
  while (i < now.size() || j < before.size()) {
    if (j == before.size() || (i < now.size() && now[i].pages < before[j].pages)) {
      changed_pfns_.push_back(pfns[i++]);
    } else if (i == now.size() || before[j].pages < now[i].pages) {
      changed_pfns_.push_back(prev_pfns_[j++]);
    } else {
      if (!(now[i] == before[j]) || pfns[i] != prev_pfns_[j]) {
        changed_pfns_.push_back(pfns[i]);
        changed_pfns_.push_back(prev_pfns_[j]);
      }
      ++i, ++j;
    }
  }
  for (uint64_t pfn : changed_pfns_) {
    impl_->rmap_mappers(pfn, rmap_found_);
    if (!std::ranges::equal(rmap_found_, class_pages(tables_, pfns, pfn))) return true;
  }
  return false;
}

Finding Runner::first_failing_op(Finding found) const {
  RunnerOptions every_op = options_;
  every_op.full_check_every = 1;
  Runner again(limits_, every_op);
  for (const ops::Op& op : trace_)
    if (auto first = again.step(op)) return std::move(*first);
  return found;
}

SequenceResult run_sequence(const ops::Limits& limits, std::span<const ops::Op> ops,
                            const RunnerOptions& options, std::span<ops::Result> results) {
  if (!results.empty() && results.size() < ops.size()) throw std::invalid_argument("run_sequence: results too short");
  SequenceResult out;
  Runner runner(limits, options);
  for (const ops::Op& op : ops) {
    if (!runner.supports(op)) {
      ++out.ops_skipped;
      continue;
    }
    out.finding = runner.step(op);
    if (!results.empty()) results[out.ops_run] = runner.last_result();
    ++out.ops_run;
    if (out.finding) return out;
  }
  out.finding = runner.finish();
  return out;
}

std::vector<ops::Op> supported_ops(const ops::Limits& limits, std::span<const ops::Op> ops) {
  std::vector<ops::Op> out;
  for (const ops::Op& op : ops)
    if (impl::Kernel::supports(op, limits)) out.push_back(op);
  return out;
}

}  // namespace check
