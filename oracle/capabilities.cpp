#include "oracle/capabilities.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "oracle/procfs.hpp"
#include "oracle/region.hpp"

namespace oracle {
namespace {

constexpr long tmpfs_magic = 0x01021994;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The word in [brackets] of a sysfs choice file: "always [madvise] never" -> "madvise".
std::string chosen(const std::string& text) {
  const size_t open = text.find('['), close = text.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return text.substr(open + 1, close - open - 1);
}

// Maps one page of our own, writes it, and asks pagemap and PAGEMAP_SCAN about it.
void probe_pagemap(Capabilities& caps) {
  void* p = mmap(nullptr, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  *static_cast<volatile uint64_t*>(p) = 1;
  const uint64_t addr = reinterpret_cast<uint64_t>(p);
  try {
    caps.pfns = read_pagemap(getpid(), addr, 1).at(0).pfn() != 0;
    caps.pagemap_scan = scan_categories(getpid(), addr, 1).has_value();
  } catch (const std::exception&) {
    // An unreadable pagemap leaves both false.
  }
  munmap(p, page_size);
}

void probe_thp(Capabilities& caps) {
  const std::string dir = "/sys/kernel/mm/transparent_hugepage";
  if (uint64_t bytes = std::strtoull(slurp(dir + "/hpage_pmd_size").c_str(), nullptr, 10); bytes >= 2 * page_size) {
    unsigned order = 0;
    while ((page_size << order) < bytes) ++order;
    caps.hpage_order = order;
  }
  caps.thp_enabled = chosen(slurp(dir + "/enabled"));
  caps.shmem_thp = chosen(slurp(dir + "/shmem_enabled"));
  for (unsigned order = 1; order < caps.hpage_order; ++order) {
    const uint64_t kb = (page_size << order) / 1024;
    const std::string mode = chosen(slurp(fmt::format("{}/hugepages-{}kB/enabled", dir, kb)));
    if (mode == "always" || mode == "madvise" || (mode == "inherit" && caps.thp_enabled != "never"))
      caps.other_thp_sizes.push_back(fmt::format("{}kB ({})", kb, mode));
  }
}

void probe_files_dir(Capabilities& caps, const std::string& dir) {
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) == 0) caps.files_on_tmpfs = fs.f_type == tmpfs_magic;
}

void probe_fault_around(Capabilities& caps) {
  const std::string bytes = slurp("/sys/kernel/debug/fault_around_bytes");
  if (bytes.empty()) return;  // not mounted or not readable: the kernel's default, 64 KiB
  uint64_t pages = std::strtoull(bytes.c_str(), nullptr, 10) / page_size;
  unsigned pow2 = 1;
  while (pow2 * 2 <= pages && pow2 < 512) pow2 *= 2;
  caps.fault_around_pages = pages == 0 ? 1 : pow2;
  caps.fault_around_assumed = false;
}

// x86 with protection keys gives a PROT_EXEC-only VMA the execute-only pkey, which GUP
// honours: mlock cannot fault the page in and fails with ENOMEM; without pkeys it reads
// the page in. The raw syscall, because ASan's mlock does nothing.
void probe_exec_only(Capabilities& caps) {
  void* p = mmap(nullptr, page_size, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  const long locked = syscall(SYS_mlock, p, page_size);
  caps.exec_only = locked != 0 && errno == ENOMEM;
  munmap(p, page_size);
}

}  // namespace

Capabilities probe_capabilities(const std::string& files_dir) {
  Capabilities caps;
  utsname u{};
  if (uname(&u) == 0) caps.kernel = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  probe_pagemap(caps);
  caps.kpage = KpageFiles().readable();
  probe_thp(caps);
  std::istringstream swaps(slurp("/proc/swaps"));
  std::string line;
  std::getline(swaps, line);  // the header
  caps.swap = static_cast<bool>(std::getline(swaps, line)) && !line.empty();
  caps.ksm = access("/sys/kernel/mm/ksm/run", F_OK) == 0;
  probe_fault_around(caps);
  probe_exec_only(caps);
  probe_files_dir(caps, files_dir);
  return caps;
}

ops::Limits oracle_limits(const ops::Limits& trace, const Capabilities& caps) {
  ops::Limits l = trace;
  l.hpage_order = caps.hpage_order;
  const uint64_t h = l.hpage_pages();
  l.address_space = std::max(h, (trace.address_space + h - 1) / h * h);
  l.max_pages = l.address_space;
  l.max_vmas = 65536;
  l.frames = 1u << 20;
  l.swap_slots = caps.swap ? 1u << 20 : 0;
  l.thp_always = caps.thp_enabled == "always";
  l.fault_around_pages = caps.fault_around_pages;
  l.exec_only = caps.exec_only;
  l.file_pages_cached = true;  // Files::fill_page_cache() keeps it so
  return l;
}

std::vector<std::string> describe(const Capabilities& caps, const ops::Limits& limits) {
  std::vector<std::string> out;
  out.push_back(fmt::format("kernel: {}", caps.kernel));
  if (caps.frames())
    out.push_back("compared: results, VMAs, PTE states, values, sharing by PFN, mapcounts (/proc/kpagecount), "
                  "kind, large folios and mlock (/proc/kpageflags), swap slots");
  else
    out.push_back(fmt::format(
        "compared: results, VMAs, PTE states and values only ({}); not compared: sharing, mapcounts, "
        "kinds, large folios, mlock, swap slots",
        !caps.pfns ? "pagemap shows no PFNs without CAP_SYS_ADMIN" : "/proc/kpagecount or /proc/kpageflags unreadable"));
  if (!caps.pagemap_scan)
    out.push_back("not compared: zero page and PMD mapping (no PAGEMAP_SCAN: Linux older than 6.7)");
  out.push_back(fmt::format(
      "model: hpage_order={} thp_always={} swap_slots={}{} fault_around_pages={}{} file_pages_cached={} "
      "exec_only={}; frames, pages and VMAs per process unlimited",
      limits.hpage_order, int(limits.thp_always), limits.swap_slots, caps.swap ? "" : " (no swap)",
      limits.fault_around_pages, caps.fault_around_assumed ? " (assumed: the kernel default)" : "",
      int(limits.file_pages_cached), int(limits.exec_only)));
  if (caps.thp_enabled == "never") out.push_back("warning: THP is off (never); hugepage advice will differ");
  for (const std::string& size : caps.other_thp_sizes)
    out.push_back("warning: mTHP size " + size + " is enabled; the model has only PMD-sized large folios");
  if (caps.files_on_tmpfs) out.push_back("warning: files are on tmpfs, where they behave like shmem");
  if (!caps.shmem_thp.empty() && caps.shmem_thp != "never" && caps.shmem_thp != "deny")
    out.push_back("warning: shmem THP is " + caps.shmem_thp + "; the model has no large shmem folios");
  return out;
}

}  // namespace oracle
