// model::System: dispatches each op to its handler, then tidies (closure rules and
// freeing). Handlers live in files named after what they do.

#include <type_traits>

#include <fmt/format.h>

#include "model/state.hpp"
#include "ops/overloaded.hpp"

namespace model {
namespace {

using ops::overloaded;

ops::Result dispatch(State& s, const ops::Op& op) {
  return std::visit(
      overloaded{
          [&](const ops::Fork& o) { return do_fork(s, o); },
          [&](const ops::Exit& o) { return do_exit(s, o); },
          [&](const ops::Mmap& o) { return do_mmap(s, o); },
          [&](const ops::Munmap& o) { return do_munmap(s, o); },
          [&](const ops::Mprotect& o) { return do_mprotect(s, o); },
          [&](const ops::Mremap& o) { return do_mremap(s, o); },
          [&](const ops::Mlock& o) { return do_mlock(s, o.pid, o.vpn, o.pages, true); },
          [&](const ops::Munlock& o) { return do_mlock(s, o.pid, o.vpn, o.pages, false); },
          [&](const ops::Madvise& o) { return do_madvise(s, o); },
          [&](const ops::Read& o) { return do_read(s, o); },
          [&](const ops::Write& o) { return do_write(s, o); },
          [&](const ops::Pin& o) { return do_pin(s, o); },
          [&](const ops::ReadPin& o) { return do_readpin(s, o); },
          [&](const ops::WritePin& o) { return do_writepin(s, o); },
          [&](const ops::Unpin& o) { return do_unpin(s, o); },
          [&](const ops::Fwrite& o) { return do_fwrite(s, o); },
          [&](const ops::Ftruncate& o) { return do_ftruncate(s, o); },
          [&](const ops::Reclaim& o) { return do_reclaim(s, o); },
          [&](const ops::Migrate& o) { return do_migrate(s, o); },
          [&](const ops::Ksm&) { return do_ksm(s); },
          [&](const ops::Split& o) { return do_split(s, o); },
      },
      op);
}

}  // namespace

System::System(const ops::Limits& limits) : System(limits, Options{}) {}
System::System(const ops::Limits& limits, Options options)
    : state_(std::make_unique<State>(limits, options)) {}
System::System(const System& other) : state_(std::make_unique<State>(*other.state_)) {}
System& System::operator=(const System& other) {
  state_ = std::make_unique<State>(*other.state_);
  return *this;
}
System::~System() = default;

ops::Result System::apply(const ops::Op& op) {
  state_->begin_op();
  ops::Result r = dispatch(*state_, op);
  tidy(*state_);
  return r;
}

ops::Result System::apply(const ops::Op& op, const std::vector<ops::FrameRef>& reclaimed,
                          const std::vector<ops::HugeFallbackFact>& huge_fallbacks) {
  State& s = *state_;
  s.begin_op();
  s.fact_error.reset();
  s.pending_facts.assign(reclaimed.begin(), reclaimed.end());
  s.pending_fallbacks.assign(huge_fallbacks.begin(), huge_fallbacks.end());
  ops::Result r = dispatch(s, op);
  apply_pending_facts(s);  // `reclaim N`'s choices, and any the op did not run into
  if (!s.pending_fallbacks.empty() && !s.fact_error)
    s.fact_error = fmt::format("impl reported {}, but the model never tried a huge page there",
                               ops::huge_fallback_text(s.pending_fallbacks.front()));
  s.pending_fallbacks.clear();
  tidy(s);
  return r;
}

const std::optional<std::string>& System::reclaim_error() const { return state_->fact_error; }

std::optional<std::string> System::check_vmas() const { return model::check_vmas(*state_); }

ops::Observation System::observe() const {
  ops::Observation out;
  observe(out);
  return out;
}

void System::observe(ops::Observation& out) const { model::observe(*state_, out, observe_scratch_); }

bool System::ran_out_of_frames() const { return state_->ran_out_of_frames; }

std::optional<ops::FrameRef> System::direct_reclaim_candidate(std::optional<ops::PageKey> held) const {
  return model::reclaim_candidate(*state_, held, true);
}

std::optional<ops::FrameRef> System::reclaim_candidate() const {
  return model::reclaim_candidate(*state_, std::nullopt, false);
}

std::optional<std::string> System::reclaim(const ops::FrameRef& frame) {
  auto why = reclaim_frame(*state_, frame);
  tidy(*state_);
  return why;
}

const ops::Limits& System::limits() const { return state_->limits; }

}  // namespace model
