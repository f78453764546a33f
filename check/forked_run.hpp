#pragma once
// Running ops where a crash cannot take the harness down: in a forked child process.
//
// Exceptions need none of this: the Runner turns them into findings in-process. A signal
// (a null dereference, an abort from a failed assertion) or a sanitizer's report ends the
// process, so whatever must survive one runs in a child: the child keeps its runner's
// site (which op, which side, RunnerSite) in memory it shares with the parent, and when
// it dies the parent makes a finding of kind "crash" or "model-crash" at that op, with
// the trace up to it, as for any other finding. The normal path costs one fork per call
// (per campaign, per replayed trace, per shrink candidate of a crash), never one per op.

#include <sys/mman.h>

#include <cstddef>
#include <functional>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "ops/limits.hpp"
#include "ops/op.hpp"
#include "ops/types.hpp"

namespace check {

// `n` objects of T in memory shared with every child forked after it was made (an
// anonymous MAP_SHARED mapping): what a child wrote there is still there after it died.
template <class T>
class Shared {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  explicit Shared(size_t n = 1) : n_(n ? n : 1) {
    void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap of shared memory");
    p_ = static_cast<T*>(p);
    for (size_t i = 0; i < n_; ++i) new (p_ + i) T{};
  }
  ~Shared() { munmap(p_, bytes()); }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  std::span<T> span() const { return {p_, n_}; }

 private:
  size_t bytes() const { return n_ * sizeof(T); }
  size_t n_;
  T* p_;
};

// How a child ended.
struct ChildEnd {
  bool returned = false;  // its body returned, and the child exited with that code
  int code = 0;           // the body's return value, when it returned
  std::string how;        // otherwise: "died of signal 11 (Segmentation fault)", "exited with status 1"
};

// Forks; the child runs `body(fd)` and exits with its return value (0 to 63), which
// may write to `fd`, a pipe whose every byte the parent collects into `output`. stdio
// is flushed before the fork and in the child before it exits. Throws
// std::system_error when no child can be made.
ChildEnd run_in_child(const std::function<int(int fd)>& body, std::string* output = nullptr);

// Writes all of `bytes` to `fd`; false on an error.
bool write_all(int fd, std::string_view bytes);

// The finding for a runner over `ran` (the ops it supported, in order) that died in
// `site`, ended as `how` says.
Finding crash_finding(std::span<const ops::Op> ran, const RunnerSite& site, std::string_view how);

// run_sequence() in a forked child: the same result, except that a crash by signal comes
// back as a "crash" or "model-crash" finding instead of ending the caller. As Runner::step()
// does for any finding, a crash with checkpoints (full_check_every > 1) is located again
// with every check after every op, which may find an earlier finding. `results` as for
// run_sequence(); after a crash it holds the results of the ops before the crashing one.
// The harness's own errors are thrown again in the caller: std::invalid_argument for
// limits the runner cannot run (as run_sequence() throws it), std::runtime_error for
// others; std::system_error when no child can be made.
SequenceResult run_sequence_forked(const ops::Limits& limits, std::span<const ops::Op> ops,
                                   const RunnerOptions& options = {}, std::span<ops::Result> results = {});

}  // namespace check
