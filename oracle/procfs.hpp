#pragma once
// Reading what the kernel shows of a process's memory: its VMAs (/proc/PID/smaps), its
// page table entries (/proc/PID/pagemap and the PAGEMAP_SCAN ioctl on it) and, for a
// frame, its mapcount and flags (/proc/kpagecount, /proc/kpageflags). The formats are
// the kernel's documented ABI (Documentation/admin-guide/mm/pagemap.rst, proc.rst).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oracle {

// One line of /proc/PID/maps with the VmFlags of its smaps entry.
struct KernelVma {
  uint64_t start = 0, end = 0;  // addresses
  bool read = false, write = false, exec = false, shared = false;
  uint64_t offset = 0;  // bytes
  dev_t dev = 0;
  ino_t inode = 0;
  std::string path;
  std::vector<std::string> vm_flags;  // "rd", "lo", "dc", "wf", "mg", "hg", ...

  bool has_flag(std::string_view f) const;
};

// Parses the text of /proc/PID/smaps (or maps: VmFlags then stay empty). Throws
// std::invalid_argument on a line that is neither a VMA header nor "Key: value".
std::vector<KernelVma> parse_smaps(std::string_view text);

// /proc/PID/smaps, only the VMAs that overlap [lo, hi).
std::vector<KernelVma> read_vmas(pid_t pid, uint64_t lo, uint64_t hi);

// One pagemap entry.
struct PagemapEntry {
  uint64_t raw = 0;
  bool present() const { return raw >> 63 & 1; }
  bool swapped() const { return raw >> 62 & 1; }
  bool file_or_shared() const { return raw >> 61 & 1; }
  bool exclusive() const { return raw >> 56 & 1; }
  uint64_t pfn() const { return raw & ((uint64_t{1} << 55) - 1); }         // present
  uint64_t swap_entry() const { return raw & ((uint64_t{1} << 55) - 1); }  // swapped: type | offset << 5
};

// Entries for the pages [addr, addr + n * 4096).
std::vector<PagemapEntry> read_pagemap(pid_t pid, uint64_t addr, uint64_t n);

// PAGEMAP_SCAN (Linux 6.7+) categories per page, or nothing if the ioctl is missing.
inline constexpr uint64_t category_present = 1u << 3, category_swapped = 1u << 4,
                          category_pfnzero = 1u << 5, category_huge = 1u << 6;
std::optional<std::vector<uint64_t>> scan_categories(pid_t pid, uint64_t addr, uint64_t n);

// /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h).
enum KpageFlag : unsigned {
  kpf_compound_head = 15, kpf_compound_tail = 16, kpf_anon = 12, kpf_huge = 17,
  kpf_unevictable = 18, kpf_ksm = 21, kpf_thp = 22, kpf_zero_page = 24, kpf_mlocked = 33,
};

class KpageFiles {
 public:
  KpageFiles();  // opens both; readable() says whether that worked
  ~KpageFiles();
  KpageFiles(const KpageFiles&) = delete;
  KpageFiles& operator=(const KpageFiles&) = delete;
  bool readable() const { return count_ >= 0 && flags_ >= 0; }
  uint64_t count(uint64_t pfn) const;
  uint64_t flags(uint64_t pfn) const;
  // The head pfn of the compound page holding `pfn` (itself if not compound).
  uint64_t head(uint64_t pfn) const;

 private:
  int count_ = -1, flags_ = -1;
};

inline bool has(uint64_t flags, KpageFlag f) { return flags >> f & 1; }

}  // namespace oracle
