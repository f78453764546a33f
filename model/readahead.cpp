// Readahead and fault-around: what a real kernel maps and caches beyond the page a
// fault asks for. Both are off in the default limits; the kernel oracle turns them on
// with the machine's values, since there they are what the user sees.
//
// A fault that misses a file's page cache reads the pages around it too (mmap
// read-around: readahead_pages centred on the fault, within the file; in an executable
// mapping, from the fault on to the VMA's end only). A read fault of
// a file or shmem page then maps, besides that page, every page of its fault-around
// window that is in the page cache: the window is fault_around_pages long, starts at
// the aligned address below the fault or at the VMA's start if that is later, and
// stays inside the VMA, the page table and the file.

#include "model/state.hpp"

namespace model {

void read_around(State& s, Pid pid, Vpn vpn) {
  const uint64_t ra = s.limits.readahead_pages;
  if (ra == 0) return;
  const Attrs& a = s.procs.at(pid).pages.at(vpn).attrs;
  if (a.prot & ops::prot_exec) {
    // Executable mappings read ahead from the fault to the VMA's end, never before it.
    const Extent vma = *extent_at(s.procs.at(pid), vpn);
    read_into_cache(s, a.object, a.pgoff, a.pgoff + std::min(ra, vma.end - vpn));
    return;
  }
  const uint64_t start = a.pgoff >= ra / 2 ? a.pgoff - ra / 2 : 0;
  read_into_cache(s, a.object, start, start + ra);
}

void read_into_cache(State& s, unsigned file, uint64_t start, uint64_t end) {
  File& f = s.files[file];
  end = std::min(end, f.size);
  for (uint64_t p = start; p < end && s.free_frames() > 0; ++p) {
    if (f.cache.count(p)) continue;
    auto it = f.disk.find(p);
    f.cache[p] = s.alloc_frame(ops::FrameKind::file, it == f.disk.end() ? 0 : it->second);
  }
}

void fault_around(State& s, Pid pid, Vpn vpn) {
  const uint64_t n = s.limits.fault_around_pages;
  if (n <= 1) return;
  Process& proc = s.procs.at(pid);
  const Extent vma = *extent_at(proc, vpn);
  const Vpn table = vpn & ~(s.hpage() - 1);
  const Vpn from = std::max({vpn & ~(n - 1), vma.start, table});
  const Vpn to = std::min({from + n, vma.end, table + s.hpage()});
  const Attrs& first = proc.pages.at(from).attrs;
  const auto& cache = first.backing == Backing::file ? s.files[first.object].cache : s.shmem.at(first.object).cache;
  const uint64_t size = first.backing == Backing::file ? s.files[first.object].size : s.shmem.at(first.object).size;
  // With no page table there yet, a file's fault-around gives up when the first cached
  // page of its window is the file's last page (filemap_map_pages installs the table
  // only for a folio that ends before EOF; shmem is exempt). Seen on Linux 6.18.
  auto cached = cache.lower_bound(first.pgoff);
  if (first.backing == Backing::file && !proc.tables.count(table) && cached != cache.end() &&
      cached->first < first.pgoff + (to - from) && cached->first + 1 == size)
    return;
  for (Vpn v = from; v < to; ++v) {
    Page& page = proc.pages.at(v);
    auto it = cache.find(page.attrs.pgoff);
    if (!page.pte && page.attrs.pgoff < size && it != cache.end()) page.pte = Pte{Pte::Kind::present, it->second};
  }
}

}  // namespace model
