#pragma once
// What the kernel shows of the trace's processes after an op, in the model's terms:
// the Observation (SEMANTICS.md) built from /proc/PID/smaps, pagemap, PAGEMAP_SCAN,
// /proc/kpagecount and /proc/kpageflags, with values read through the mapping by each
// process itself, and the kernel's VMA extents (for the oracle's own use: where a
// MREMAP_FIXED stand-in can go; the model never sees them).

#include <map>

#include "model/system.hpp"
#include "ops/observation.hpp"
#include "oracle/capabilities.hpp"
#include "oracle/files.hpp"
#include "oracle/processes.hpp"
#include "oracle/region.hpp"

namespace oracle {

// VMA extents [start, end) per process.
using KernelLayout = std::map<ops::Pid, std::vector<std::pair<ops::Vpn, ops::Vpn>>>;

struct KernelView {
  ops::Observation obs;  // canonical
  KernelLayout layout;
};

KernelView observe_kernel(Processes& procs, const Region& region, const Files& files, const Capabilities& caps);

// What can be compared on this machine: the observation with what the kernel does not
// show taken out, applied alike to the model's and the kernel's. Without frames, each
// present page is a class of its own with its value (kind, mapcount, folio, mlock
// cleared) and each swapped page a swap class of its own; without PAGEMAP_SCAN, zero
// pages count as present pages holding 0 and nothing is PMD-mapped.
ops::Observation comparable(const ops::Observation& obs, const Capabilities& caps);

}  // namespace oracle
