#pragma once
// Geometry and limits of one simulated machine. Every side (model, impl, decoder,
// oracle) reads the same struct, so a run is fully described by it plus the ops.

#include <algorithm>
#include <cstdint>

#include "ops/types.hpp"

namespace ops {

struct Limits {
  unsigned hpage_order = 3;          // a huge page covers 2^hpage_order pages
  unsigned max_processes = 8;        // live processes; fork past it: EAGAIN
  unsigned max_vmas = 256;           // per process (max_map_count); past it: ENOMEM
  uint64_t address_space = 0x1000;   // vpns lie in [0, address_space) (TASK_SIZE)
  uint64_t max_pages = 256;          // mapped pages per process (RLIMIT_AS); past it: ENOMEM
  unsigned frames = 512;             // memory frames (page cache, anon, shmem)
  unsigned swap_slots = 256;
  unsigned files = 4;                // files 0..files-1 exist from the start
  uint64_t initial_file_pages = 16;  // size of every file at start
  uint64_t max_file_pages = 64;      // file size limit; past it: EFBIG
  unsigned max_pins = 32;            // live long-term pins; past it: ENOMEM
  bool thp_always = false;           // THP "always": no hugepage advice needed
  // A read fault on a file or shmem page also maps the pages around it that are in the
  // page cache (the kernel's fault-around, 16 pages by default). 1: off.
  unsigned fault_around_pages = 1;
  // Every file page inside the file's size is in the page cache, always (the kernel
  // oracle keeps the kernel's so, so that no fault waits for I/O). Only fault-around
  // can tell; off: the cache holds what faults and writes brought in.
  bool file_pages_cached = false;
  // PROT_EXEC alone is execute-only: x86 with protection keys gives such a VMA the
  // execute-only pkey, so reads of it SIGSEGV and GUP (mlock, MAP_POPULATE) cannot
  // fault it in. Off: PROT_EXEC implies read, as on x86 without pkeys.
  bool exec_only = false;
  unsigned max_ops = 256;            // fuzz decoder: ops per input

  uint64_t hpage_pages() const { return uint64_t{1} << hpage_order; }
  // Whether a read of a VMA with protection `prot` faults its page in (the kernel's
  // vma_is_accessible() and, for execute-only memory, the pkey check).
  bool readable(Prot prot) const { return prot != prot_none && !(exec_only && prot == prot_exec); }
  bool operator==(const Limits&) const = default;
};

// The world of random campaigns (`rmapcheck run`) and of the fuzzers: denser than the
// defaults, which suit hand-written traces. With 256 pages of address space, random ops
// meet each other's mappings far more often; with 64 frames and 48 swap slots, memory
// runs short often enough that reclaim, swap and direct reclaim are exercised all the
// time. Fuzz bytes carry no limits, so a crash file decodes under exactly these.
inline Limits campaign_limits() {
  Limits limits;
  limits.address_space = 0x100;
  limits.max_pages = 0x100;
  limits.frames = 64;
  limits.swap_slots = 48;
  return limits;
}

// The campaign world grown to fit huge pages of 2^hpage_order pages, where 256 pages
// no longer do: at least eight huge ranges of address space, four per process, and
// memory for four huge pages (and as many VMAs as pages, which the implementation
// needs). Up to hpage_order 4 it is campaign_limits() itself; at 9 (x86-64) it is
// --address-space 0x1000 --max-pages 0x800 --max-vmas 0x800 --frames 2048.
inline Limits campaign_limits(unsigned hpage_order) {
  Limits limits = campaign_limits();
  limits.hpage_order = hpage_order;
  if (hpage_order >= 32) return limits;  // not a world at all: validate_limits says why
  const uint64_t huge = limits.hpage_pages();
  limits.address_space = std::max<uint64_t>(limits.address_space, 8 * huge);
  limits.max_pages = std::max<uint64_t>(limits.max_pages, 4 * huge);
  limits.max_vmas = unsigned(std::max<uint64_t>(limits.max_vmas, limits.max_pages));
  limits.frames = unsigned(std::max<uint64_t>(limits.frames, 4 * huge));
  return limits;
}

// The content page `pgoff` of file `file` has before anyone writes it. Readable in a
// trace: file 2 page 5 holds 3005.
inline uint64_t file_initial_value(unsigned file, uint64_t pgoff) {
  return (uint64_t{file} + 1) * 1000 + pgoff;
}

}  // namespace ops
