#pragma once
// Putting one op to the kernel: the system call (or the nearest real request) that
// stands for it, made by the real process of its pid, and its answer in the op
// language. Ops the kernel cannot be asked for are skipped with the reason.

#include <optional>
#include <string>

#include "model/system.hpp"
#include "ops/limits.hpp"
#include "ops/op.hpp"
#include "oracle/capabilities.hpp"
#include "oracle/files.hpp"
#include "oracle/kernel_view.hpp"
#include "oracle/processes.hpp"
#include "oracle/region.hpp"

namespace oracle {

struct KernelAnswer {
  bool skipped = false;  // not put to the kernel, nor to the model
  std::string note;      // why skipped, or how the op was put to the kernel
  ops::Result result;
  // The kernel answered an errno the op language has no name for.
  std::optional<std::string> unnamed_errno;
};

// The reason `op` cannot be put to this kernel, or nothing.
std::optional<std::string> why_skipped(const ops::Op& op, const ops::Limits& limits, const Capabilities& caps,
                                       bool ksm_enabled);

class KernelOps {
 public:
  KernelOps(Processes& procs, const Region& region, const Files& files, const ops::Limits& limits)
      : procs_(procs), region_(region), files_(files), limits_(limits) {}

  // `model` is the model before the op (where an mremap without `to` goes, by the
  // model's rule, is asked of a copy); `layout` is the kernel's VMA layout before it.
  KernelAnswer apply(const ops::Op& op, const model::System& model, const KernelLayout& layout);

 private:
  KernelAnswer call(ops::Pid pid, const Request& request);
  KernelAnswer fork(ops::Pid pid);
  KernelAnswer mremap(const ops::Mremap& op, const model::System& model, const KernelLayout& layout);

  Processes& procs_;
  const Region& region_;
  const Files& files_;
  const ops::Limits& limits_;
};

}  // namespace oracle
