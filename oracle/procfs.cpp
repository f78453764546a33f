#include "oracle/procfs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "oracle/processes.hpp"

namespace oracle {
namespace {

// The uapi of PAGEMAP_SCAN (linux/fs.h since 6.7; older headers lack it).
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long pagemap_scan = _IOWR('f', 16, PmScanArg);

std::string read_all(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw OracleError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  const int err = errno;
  close(fd);
  if (n < 0) throw OracleError(fmt::format("cannot read {}: {}", path, std::strerror(err)));
  return text;
}

uint64_t hex(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) throw std::invalid_argument("bad hex number " + std::string(s));
  return v;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// "start-end perms offset maj:min inode [path]"
KernelVma parse_header(std::string_view line) {
  auto w = words(line);
  if (w.size() < 5) throw std::invalid_argument("bad maps line: " + std::string(line));
  KernelVma v;
  const size_t dash = w[0].find('-');
  if (dash == std::string_view::npos || w[1].size() != 4) throw std::invalid_argument("bad maps line: " + std::string(line));
  v.start = hex(w[0].substr(0, dash));
  v.end = hex(w[0].substr(dash + 1));
  v.read = w[1][0] == 'r';
  v.write = w[1][1] == 'w';
  v.exec = w[1][2] == 'x';
  v.shared = w[1][3] == 's';
  v.offset = hex(w[2]);
  const size_t colon = w[3].find(':');
  if (colon == std::string_view::npos) throw std::invalid_argument("bad device in maps line: " + std::string(line));
  v.dev = makedev(unsigned(hex(w[3].substr(0, colon))), unsigned(hex(w[3].substr(colon + 1))));
  uint64_t inode = 0;
  std::from_chars(w[4].data(), w[4].data() + w[4].size(), inode);
  v.inode = ino_t(inode);
  // The path is the rest of the line after the inode, spaces included ("(deleted)").
  const size_t at = line.find(w[4]) + w[4].size();
  std::string_view rest = line.substr(at);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  v.path = std::string(rest);
  return v;
}

bool is_header(std::string_view line) {
  const size_t space = line.find(' ');
  const std::string_view first = line.substr(0, space);
  return first.find('-') != std::string_view::npos && first.back() != ':';
}

}  // namespace

bool KernelVma::has_flag(std::string_view f) const {
  for (const std::string& x : vm_flags)
    if (x == f) return true;
  return false;
}

std::vector<KernelVma> parse_smaps(std::string_view text) {
  std::vector<KernelVma> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    if (is_header(line)) {
      out.push_back(parse_header(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || out.empty()) throw std::invalid_argument("bad smaps line: " + std::string(line));
    if (line.substr(0, colon) == "VmFlags")
      for (std::string_view f : words(line.substr(colon + 1))) out.back().vm_flags.emplace_back(f);
  }
  return out;
}

std::vector<KernelVma> read_vmas(pid_t pid, uint64_t lo, uint64_t hi) {
  std::vector<KernelVma> all;
  const std::string path = fmt::format("/proc/{}/smaps", pid);
  try {
    all = parse_smaps(read_all(path));
  } catch (const std::invalid_argument& e) {
    throw OracleError(fmt::format("{}: {}", path, e.what()));
  }
  std::vector<KernelVma> out;
  for (KernelVma& v : all)
    if (v.end > lo && v.start < hi) out.push_back(std::move(v));
  return out;
}

std::vector<PagemapEntry> read_pagemap(pid_t pid, uint64_t addr, uint64_t n) {
  const std::string path = fmt::format("/proc/{}/pagemap", pid);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw OracleError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::vector<PagemapEntry> out(n);
  const ssize_t want = ssize_t(n * sizeof(uint64_t));
  const ssize_t got = pread(fd, out.data(), size_t(want), off_t(addr / 4096 * sizeof(uint64_t)));
  const int err = errno;
  close(fd);
  if (got != want) throw OracleError(fmt::format("cannot read {}: {}", path, got < 0 ? std::strerror(err) : "short read"));
  return out;
}

std::optional<std::vector<uint64_t>> scan_categories(pid_t pid, uint64_t addr, uint64_t n) {
  const std::string path = fmt::format("/proc/{}/pagemap", pid);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw OracleError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::vector<uint64_t> out(n, 0);
  std::vector<PageRegion> regions(n);
  PmScanArg arg{};
  arg.size = sizeof arg;
  arg.start = addr;
  arg.end = addr + n * 4096;
  arg.vec = reinterpret_cast<uint64_t>(regions.data());
  arg.vec_len = regions.size();
  arg.category_anyof_mask = category_present | category_swapped;
  arg.return_mask = category_present | category_swapped | category_pfnzero | category_huge;
  const long got = ioctl(fd, pagemap_scan, &arg);
  close(fd);
  if (got < 0) return std::nullopt;
  for (long i = 0; i < got; ++i)
    for (uint64_t a = regions[i].start; a < regions[i].end; a += 4096) out[(a - addr) / 4096] = regions[i].categories;
  return out;
}

KpageFiles::KpageFiles()
    : count_(open("/proc/kpagecount", O_RDONLY | O_CLOEXEC)), flags_(open("/proc/kpageflags", O_RDONLY | O_CLOEXEC)) {}

KpageFiles::~KpageFiles() {
  if (count_ >= 0) close(count_);
  if (flags_ >= 0) close(flags_);
}

uint64_t KpageFiles::count(uint64_t pfn) const {
  uint64_t v = 0;
  if (pread(count_, &v, sizeof v, off_t(pfn * sizeof v)) != sizeof v)
    throw OracleError(fmt::format("cannot read /proc/kpagecount at pfn {:#x}", pfn));
  return v;
}

uint64_t KpageFiles::flags(uint64_t pfn) const {
  uint64_t v = 0;
  if (pread(flags_, &v, sizeof v, off_t(pfn * sizeof v)) != sizeof v)
    throw OracleError(fmt::format("cannot read /proc/kpageflags at pfn {:#x}", pfn));
  return v;
}

uint64_t KpageFiles::head(uint64_t pfn) const {
  // A compound page is at most 2^18 pages on any kernel we meet (1 GiB).
  for (uint64_t p = pfn, steps = 0; steps <= (uint64_t{1} << 18) && p > 0; --p, ++steps) {
    const uint64_t f = flags(p);
    if (has(f, kpf_compound_head)) return p;
    if (!has(f, kpf_compound_tail)) return pfn;
  }
  return pfn;
}

}  // namespace oracle
