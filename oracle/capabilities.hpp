#pragma once
// What this machine's kernel lets the oracle see and do, found out once per program:
// whether pagemap shows frame numbers (root), whether /proc/kpagecount and
// /proc/kpageflags can be read, whether PAGEMAP_SCAN exists, and the settings the
// model must be told about (huge page size, THP mode, swap, fault-around).

#include <cstdint>
#include <string>
#include <vector>

#include "ops/limits.hpp"

namespace oracle {

struct Capabilities {
  std::string kernel;           // "Linux 6.18.44 x86_64"
  bool pfns = false;            // pagemap shows PFNs and swap entries (CAP_SYS_ADMIN)
  bool kpage = false;           // /proc/kpagecount and /proc/kpageflags are readable
  bool pagemap_scan = false;    // PAGEMAP_SCAN: zero page and PMD mapping per page
  unsigned hpage_order = 9;     // from transparent_hugepage/hpage_pmd_size
  std::string thp_enabled;      // "always", "madvise" or "never"
  std::vector<std::string> other_thp_sizes;  // mTHP sizes enabled besides the PMD size
  std::string shmem_thp;        // shmem_enabled: anything but "never" gives shmem large folios
  bool swap = false;            // an active swap area (/proc/swaps)
  bool ksm = false;             // /sys/kernel/mm/ksm exists
  unsigned fault_around_pages = 16;
  bool fault_around_assumed = true;  // debugfs not readable: the kernel's default
  bool files_on_tmpfs = false;
  bool exec_only = false;       // PROT_EXEC alone is execute-only (x86 protection keys)

  // Frames (partition by PFN, mapcounts, flags) can be compared.
  bool frames() const { return pfns && kpage; }
};

// Probes the machine; `files_dir` is where the oracle will keep its files.
Capabilities probe_capabilities(const std::string& files_dir);

// The limits the model runs with beside this kernel: the trace's, with the huge page
// size, THP mode, swap, fault-around and execute-only memory of the machine, and no
// limit the kernel does not enforce here (frames, pages and VMAs per process).
ops::Limits oracle_limits(const ops::Limits& trace_limits, const Capabilities& caps);

// Lines saying what is compared and what is not, for the command's output.
std::vector<std::string> describe(const Capabilities& caps, const ops::Limits& limits);

}  // namespace oracle
