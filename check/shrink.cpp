#include "check/shrink.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <type_traits>
#include <utility>
#include <variant>

#include "check/forked_run.hpp"
#include "impl/kernel.hpp"
#include "ops/types.hpp"

namespace check {
namespace {

using Clock = std::chrono::steady_clock;
using ops::Op;
using Ops = std::vector<Op>;

// ---- reaching into ops: which fields an op has ----

template <class T> concept HasPid = requires(T& t) { t.pid; };
template <class T> concept HasPages = requires(T& t) { t.pages; };
template <class T> concept HasValue = requires(T& t) { t.value; };
template <class T> concept HasPinId = requires(T& t) { t.id; };

template <class T> using Bare = std::remove_cvref_t<T>;

// Calls f(pid&) for the op's pid operand, if it has one.
template <class F> void visit_pid(Op& op, F&& f) {
  std::visit([&](auto& o) { if constexpr (HasPid<Bare<decltype(o)>>) f(o.pid); }, op);
}

std::optional<ops::Pid> pid_of(const Op& op) {
  std::optional<ops::Pid> pid;
  Op copy = op;
  visit_pid(copy, [&](ops::Pid& p) { pid = p; });
  return pid;
}

// Calls f(vpn&, pages) for every address range the op names: the vpn operands with how
// many pages from there the op touches (at least 1).
template <class F> void visit_ranges(Op& op, F&& f) {
  std::visit(
      [&](auto& o) {
        using T = Bare<decltype(o)>;
        if constexpr (std::is_same_v<T, ops::Mremap>) {
          const uint64_t n = std::max<uint64_t>({o.old_pages, o.new_pages, 1});
          f(o.vpn, n);
          if (o.to) f(*o.to, std::max<uint64_t>(o.new_pages, 1));
        } else if constexpr (requires { o.vpn; }) {
          uint64_t n = 1;
          if constexpr (HasPages<T>) n = std::max<uint64_t>(o.pages, 1);
          f(o.vpn, n);
        }
      },
      op);
}

// The file an op names (file-backed mmap, fwrite, ftruncate).
unsigned* file_of(Op& op) {
  if (auto* m = std::get_if<ops::Mmap>(&op)) return m->backing == ops::Backing::file ? &m->file : nullptr;
  if (auto* w = std::get_if<ops::Fwrite>(&op)) return &w->file;
  if (auto* t = std::get_if<ops::Ftruncate>(&op)) return &t->file;
  return nullptr;
}

// Smaller numbers to try in place of n, best first: `toward` upward to n (at most `steps`
// of them), then n/2 and n-1.
std::vector<uint64_t> lower_values(uint64_t n, uint64_t toward, uint64_t steps) {
  std::vector<uint64_t> out;
  for (uint64_t c = toward; c < n && c < toward + steps; ++c) out.push_back(c);
  for (uint64_t c : {n / 2, n - 1})
    if (n > toward && c >= toward && c < n && std::find(out.begin(), out.end(), c) == out.end())
      out.push_back(c);
  return out;
}

// Every simpler form of one op, best first. Each lowers a number or clears a flag, so
// accepting them can never cycle.
std::vector<Op> simpler_forms(const Op& op) {
  std::vector<Op> out;
  auto with = [&](auto change) {
    Op c = op;
    change(c);
    if (!(c == op)) out.push_back(std::move(c));
  };
  std::visit(
      [&](const auto& o) {
        using T = Bare<decltype(o)>;
        if constexpr (HasValue<T>)
          for (uint64_t v : lower_values(o.value, 0, 10))
            with([&](Op& c) { std::get<T>(c).value = v; });
        if constexpr (HasPages<T>) {
          const uint64_t toward = std::is_same_v<T, ops::Ftruncate> ? 0 : 1;
          for (uint64_t v : lower_values(o.pages, toward, 1))
            with([&](Op& c) { std::get<T>(c).pages = v; });
        }
        if constexpr (HasPinId<T>)
          for (uint64_t v : lower_values(o.id, 1, 4))
            with([&](Op& c) { std::get<T>(c).id = ops::PinId(v); });
        if constexpr (std::is_same_v<T, ops::Mremap>) {
          with([](Op& c) { std::get<T>(c).to.reset(); });
          with([](Op& c) { std::get<T>(c).dontunmap = false; });
          for (uint64_t v : lower_values(o.old_pages, 1, 1)) with([&](Op& c) { std::get<T>(c).old_pages = v; });
          for (uint64_t v : lower_values(o.new_pages, 1, 1)) with([&](Op& c) { std::get<T>(c).new_pages = v; });
        }
        if constexpr (std::is_same_v<T, ops::Mmap>) {
          with([](Op& c) { std::get<T>(c).populate = false; });
          with([](Op& c) { std::get<T>(c).locked = false; });
          with([](Op& c) { std::get<T>(c).prot = ops::prot_read | ops::prot_write; });
          with([](Op& c) { std::get<T>(c).shared = false; });
          if (o.backing == ops::Backing::file) {
            for (uint64_t v : lower_values(o.pgoff, 0, 1)) with([&](Op& c) { std::get<T>(c).pgoff = v; });
            for (uint64_t v : lower_values(o.file, 0, 4)) with([&](Op& c) { std::get<T>(c).file = unsigned(v); });
          }
        }
        if constexpr (std::is_same_v<T, ops::Mprotect>)
          with([](Op& c) { std::get<T>(c).prot = ops::prot_read | ops::prot_write; });
        if constexpr (std::is_same_v<T, ops::Fwrite>) {
          for (uint64_t v : lower_values(o.pgoff, 0, 1)) with([&](Op& c) { std::get<T>(c).pgoff = v; });
          for (uint64_t v : lower_values(o.file, 0, 4)) with([&](Op& c) { std::get<T>(c).file = unsigned(v); });
        }
        if constexpr (std::is_same_v<T, ops::Ftruncate>)
          for (uint64_t v : lower_values(o.file, 0, 4)) with([&](Op& c) { std::get<T>(c).file = unsigned(v); });
      },
      op);
  return out;
}

// ---- address layouts ----

// The distinct address ranges of `ops`, merged where they overlap or touch.
std::vector<std::pair<ops::Vpn, ops::Vpn>> address_clusters(Ops ops) {
  std::vector<std::pair<ops::Vpn, ops::Vpn>> ranges;
  for (Op& op : ops) visit_ranges(op, [&](ops::Vpn& v, uint64_t n) { ranges.emplace_back(v, v + n); });
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<ops::Vpn, ops::Vpn>> merged;
  for (auto [s, e] : ranges) {
    if (!merged.empty() && s <= merged.back().second) merged.back().second = std::max(merged.back().second, e);
    else merged.emplace_back(s, e);
  }
  return merged;
}

Ops map_addresses(Ops ops, const std::function<ops::Vpn(ops::Vpn)>& map) {
  for (Op& op : ops) visit_ranges(op, [&](ops::Vpn& v, uint64_t) { v = map(v); });
  return ops;
}

// The clusters laid out from 0 in the same order, a gap of at least one page between
// two, each starting at the same offset within a huge page as before.
Ops canonical_addresses(const Ops& ops, uint64_t hpage) {
  const auto clusters = address_clusters(ops);
  std::vector<std::pair<ops::Vpn, ops::Vpn>> moved;  // old start -> new start
  ops::Vpn lowest = 0;
  for (auto [s, e] : clusters) {
    const ops::Vpn base = lowest + ((s % hpage) + hpage - lowest % hpage) % hpage;
    moved.emplace_back(s, base);
    lowest = base + (e - s) + 1;
  }
  return map_addresses(ops, [&](ops::Vpn v) {
    auto it = std::upper_bound(clusters.begin(), clusters.end(), std::make_pair(v, ~ops::Vpn{0}));
    const size_t i = size_t(it - clusters.begin()) - 1;  // every vpn lies in a cluster
    return v - moved[i].first + moved[i].second;
  });
}

// ---- the search ----

class Shrinker {
 public:
  Shrinker(const ops::Limits& limits, const ShrinkOptions& options)
      : limits_(limits), options_(options), start_(Clock::now()) {}

  // Runs the input; false if it has no finding. The input and every candidate run in a
  // child, so that one that crashes by signal cannot end the shrinker: a candidate of an
  // ordinary finding may well crash (dropping an op can leave a state the implementation
  // never meets otherwise), and is then just not the same finding. A crash finding keeps
  // "crashes in the same kind of op" as what must hold.
  bool start(const Ops& ops) {
    Outcome first = run(ops);
    if (!first.finding) return false;
    kind_ = first.finding->kind;
    op_kind_ = first.finding->op.index();
    adopt(std::move(first));
    return true;
  }

  void shrink() {
    bool progress = true;
    while (progress && !out_of_budget()) {
      progress = false;
      progress |= remove_chunks();
      progress |= remove_dead_processes();
      progress |= remove_dead_pins();
      progress |= renumber_pids();
      progress |= renumber_files();
      progress |= lower_addresses();
      progress |= simplify_ops();
    }
  }

  const Ops& best() const { return best_; }
  const Finding& finding() const { return finding_; }
  size_t runs() const { return runs_; }
  bool budget_exhausted() const { return exhausted_; }

 private:
  struct Outcome {
    std::optional<Finding> finding;
    std::map<size_t, ops::Pid> children;  // fork at index i -> the child's pid
    std::map<size_t, ops::PinId> pins;    // pin at index i -> the pin's id
  };

  // run_sequence() (forked or not), also noting what forks and pins answered. Indices
  // count the ops that ran, which are the ops of the finding's trace.
  Outcome run(const Ops& ops) {
    ++runs_;
    Outcome out;
    results_.assign(ops.size(), ops::Result{});
    const RunnerOptions runner_options{options_.bugs, campaign_full_check_every};
    SequenceResult r = run_sequence_forked(limits_, ops, runner_options, results_);
    out.finding = std::move(r.finding);
    // The results of the ops that completed: a crashing op has none.
    size_t completed = r.ops_run;
    if (out.finding) completed = std::min(completed, out.finding->op_index + (is_crash(*out.finding) ? 0 : 1));
    size_t i = 0;
    for (const Op& op : ops) {
      if (i == completed) break;
      if (!impl::Kernel::supports(op, limits_)) continue;
      const ops::Result& result = results_[i];
      if (result.kind == ops::Result::Kind::value) {
        if (std::holds_alternative<ops::Fork>(op)) out.children[i] = ops::Pid(result.value);
        if (std::holds_alternative<ops::Pin>(op)) out.pins[i] = ops::PinId(result.value);
      }
      ++i;
    }
    return out;
  }

  bool out_of_budget() {
    if (runs_ >= options_.max_runs ||
        std::chrono::duration<double>(Clock::now() - start_).count() >= options_.max_seconds)
      exhausted_ = true;
    return exhausted_;
  }

  void adopt(Outcome outcome) {
    finding_ = std::move(*outcome.finding);
    best_ = finding_.trace;  // cuts everything after the failing op, and skipped ops
    children_ = std::move(outcome.children);
    pins_ = std::move(outcome.pins);
    // A finding may name an op before the one the run stopped at (runner.hpp).
    children_.erase(children_.lower_bound(best_.size()), children_.end());
    pins_.erase(pins_.lower_bound(best_.size()), pins_.end());
  }

  // Adopts `candidate` if it still fails the same way.
  bool attempt(const Ops& candidate) {
    if (candidate.empty() || candidate == best_ || out_of_budget()) return false;
    Outcome outcome = run(candidate);
    if (!outcome.finding || outcome.finding->kind != kind_ || outcome.finding->op.index() != op_kind_)
      return false;
    adopt(std::move(outcome));
    return true;
  }

  // ddmin: chunks of half the ops, then quarters, ... then single ops.
  bool remove_chunks() {
    bool progress = false;
    size_t chunk = best_.size();
    while (chunk > 1 && !out_of_budget()) {
      chunk = (chunk + 1) / 2;
      for (size_t i = 0; i < best_.size() && !out_of_budget();) {
        Ops candidate = best_;
        candidate.erase(candidate.begin() + long(i), candidate.begin() + long(std::min(i + chunk, candidate.size())));
        if (attempt(candidate)) progress = true;
        else i += chunk;
      }
    }
    return progress;
  }

  // Pids in `ops` mapped to 1, 2, 3, ... in ascending order: how a run without the removed
  // forks would have numbered the rest, as long as no process exited.
  static Ops compact_pids(Ops ops) {
    std::set<ops::Pid> used;
    for (const Op& op : ops)
      if (auto p = pid_of(op)) used.insert(*p);
    std::map<ops::Pid, ops::Pid> rank;
    for (ops::Pid p : used) rank.emplace(p, ops::Pid(rank.size() + 1));
    for (Op& op : ops) visit_pid(op, [&](ops::Pid& p) { p = rank.at(p); });
    return ops;
  }

  // A process with its descendants, and every op naming one of them, including the forks
  // that made them; then the same with pids compacted.
  bool remove_dead_processes() {
    std::set<ops::Pid> used;
    for (const Op& op : best_)
      if (auto p = pid_of(op)) used.insert(*p);
    for (auto it = used.rbegin(); it != used.rend() && !out_of_budget(); ++it) {
      std::set<ops::Pid> dead{*it};
      std::set<size_t> drop;
      for (size_t i = 0; i < best_.size(); ++i) {
        const auto pid = pid_of(best_[i]);
        auto child = children_.find(i);
        if (child != children_.end() && dead.count(child->second)) drop.insert(i);
        if (pid && dead.count(*pid)) {
          drop.insert(i);
          if (child != children_.end()) dead.insert(child->second);
        }
      }
      Ops candidate;
      for (size_t i = 0; i < best_.size(); ++i)
        if (!drop.count(i)) candidate.push_back(best_[i]);
      if (attempt(candidate) || attempt(compact_pids(candidate))) return true;
    }
    return false;
  }

  // A pin and every use of its id; later pin ids move down by one, as they would be
  // handed out without it.
  bool remove_dead_pins() {
    for (auto it = pins_.rbegin(); it != pins_.rend() && !out_of_budget(); ++it) {
      const size_t index = it->first;  // not a structured binding: clang 14 cannot capture one
      const ops::PinId id = it->second;
      Ops candidate;
      for (size_t i = 0; i < best_.size(); ++i) {
        if (i == index) continue;
        Op op = best_[i];
        bool uses = false;
        std::visit([&](auto& o) {
          if constexpr (HasPinId<Bare<decltype(o)>>) {
            if (o.id == id) uses = true;
            else if (o.id > id && i > index) --o.id;
          }
        }, op);
        if (!uses || i < index) candidate.push_back(std::move(op));
      }
      if (attempt(candidate)) return true;
    }
    return false;
  }

  // Each pid, from the largest, replaced by every smaller one.
  bool renumber_pids() {
    bool progress = false;
    std::set<ops::Pid> used;
    for (const Op& op : best_)
      if (auto p = pid_of(op)) used.insert(*p);
    for (auto it = used.rbegin(); it != used.rend() && !out_of_budget(); ++it)
      for (ops::Pid q = 1; q < *it; ++q) {
        Ops candidate = best_;
        for (Op& op : candidate) visit_pid(op, [&](ops::Pid& p) { if (p == *it) p = q; });
        if (attempt(candidate)) { progress = true; break; }
      }
    return progress;
  }

  // Each file id replaced by every smaller one, in every op that names it.
  bool renumber_files() {
    bool progress = false;
    std::set<unsigned> used;
    for (Op op : best_)
      if (unsigned* f = file_of(op)) used.insert(*f);
    for (auto it = used.rbegin(); it != used.rend() && !out_of_budget(); ++it)
      for (unsigned g = 0; g < *it; ++g) {
        Ops candidate = best_;
        for (Op& op : candidate)
          if (unsigned* f = file_of(op); f && *f == *it) *f = g;
        if (attempt(candidate)) { progress = true; break; }
      }
    return progress;
  }

  // The canonical layout; failing that, everything moved down together, by whole huge
  // pages and then all the way to 0.
  bool lower_addresses() {
    if (attempt(canonical_addresses(best_, limits_.hpage_pages()))) return true;
    ops::Vpn lowest = ~ops::Vpn{0};
    for (Op op : best_) visit_ranges(op, [&](ops::Vpn& v, uint64_t) { lowest = std::min(lowest, v); });
    if (lowest == ~ops::Vpn{0} || lowest == 0) return false;
    for (ops::Vpn shift : {lowest - lowest % limits_.hpage_pages(), lowest})
      if (shift > 0 && attempt(map_addresses(best_, [&](ops::Vpn v) { return v - shift; }))) return true;
    return false;
  }

  // Each op in turn, its simpler forms tried until none is accepted.
  bool simplify_ops() {
    bool progress = false;
    for (size_t i = 0; i < best_.size() && !out_of_budget(); ++i) {
      bool changed = true;
      while (changed && i < best_.size() && !out_of_budget()) {
        changed = false;
        for (const Op& form : simpler_forms(best_[i])) {
          Ops candidate = best_;
          candidate[i] = form;
          if (attempt(candidate)) { changed = progress = true; break; }
        }
      }
    }
    return progress;
  }

  ops::Limits limits_;
  ShrinkOptions options_;
  Clock::time_point start_;
  size_t runs_ = 0;
  bool exhausted_ = false;
  std::string kind_;
  size_t op_kind_ = 0;
  std::vector<ops::Result> results_;  // of the last run, reused
  Ops best_;
  Finding finding_;
  std::map<size_t, ops::Pid> children_;
  std::map<size_t, ops::PinId> pins_;
};

}  // namespace

ShrinkResult shrink(const ops::Limits& limits, std::vector<ops::Op> ops, const ShrinkOptions& options) {
  ShrinkResult result;
  result.before = ops.size();
  Shrinker shrinker(limits, options);
  if (!shrinker.start(ops)) {
    result.error = fmt::format("the ops produce no finding: the implementation agrees with the model on all {} ops",
                               ops.size());
    result.ops = std::move(ops);
    result.after = result.before;
    result.runs = shrinker.runs();
    return result;
  }
  shrinker.shrink();
  result.ops = shrinker.best();
  result.finding = shrinker.finding();
  result.runs = shrinker.runs();
  result.after = result.ops.size();
  result.budget_exhausted = shrinker.budget_exhausted();
  return result;
}

}  // namespace check
