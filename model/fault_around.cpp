// Fault-around: what a real kernel maps beyond the page a read fault asks for. Off in
// the default limits; the kernel oracle turns it on with the machine's value, since
// there it is what the user sees.
//
// A read fault of a file or shmem page also maps every page of its fault-around window
// that is in the page cache: the window is fault_around_pages long, starts at the
// aligned address below the fault or at the VMA's start if that is later, and stays
// inside the VMA, the page table and the file. With file_pages_cached every page of a
// file inside its size counts as cached (the oracle keeps the kernel's page cache full,
// so that no fault waits for I/O); otherwise the model's page cache decides.

#include "model/state.hpp"

namespace model {
namespace {

bool in_cache(const State& s, const Attrs& a) {
  if (a.backing == Backing::shmem) return s.shmem.at(a.object).cache.count(a.pgoff) > 0;
  const File& f = s.files[a.object];
  return a.pgoff < f.size && (s.limits.file_pages_cached || f.cache.count(a.pgoff));
}

uint64_t object_size(const State& s, const Attrs& a) {
  return a.backing == Backing::file ? s.files[a.object].size : s.shmem.at(a.object).size;
}

}  // namespace

FrameId file_cache_frame(State& s, unsigned file, uint64_t pgoff) {
  File& f = s.files[file];
  if (auto it = f.cache.find(pgoff); it != f.cache.end()) return it->second;
  auto disk = f.disk.find(pgoff);
  return f.cache[pgoff] = s.alloc_frame(ops::FrameKind::file, disk == f.disk.end() ? 0 : disk->second);
}

void fault_around(State& s, Pid pid, Vpn vpn) {
  const uint64_t n = s.limits.fault_around_pages;
  if (n <= 1) return;
  Process& proc = s.procs.at(pid);
  const Extent vma = *extent_at(proc, vpn);
  const Vpn table = vpn & ~(s.hpage() - 1);
  const Vpn from = std::max({vpn & ~(n - 1), vma.start, table});
  const Vpn to = std::min({from + n, vma.end, table + s.hpage()});
  // With no page table there yet, a file's fault-around gives up when the first cached
  // page of its window is the file's last page (filemap_map_pages installs the table
  // only for a folio that ends before EOF; shmem is exempt). Seen on Linux 6.18.
  if (!proc.tables.count(table) && proc.pages.at(from).attrs.backing == Backing::file) {
    Vpn first = from;
    while (first < to && !in_cache(s, proc.pages.at(first).attrs)) ++first;
    const Attrs& a = proc.pages.at(std::min(first, to - 1)).attrs;
    if (first < to && a.pgoff + 1 == object_size(s, a)) return;
  }
  for (Vpn v = from; v < to; ++v) {
    Page& page = proc.pages.at(v);
    if (page.pte || !in_cache(s, page.attrs) || page.attrs.pgoff >= object_size(s, page.attrs)) continue;
    const FrameId frame = page.attrs.backing == Backing::file ? file_cache_frame(s, page.attrs.object, page.attrs.pgoff)
                                                              : s.shmem.at(page.attrs.object).cache.at(page.attrs.pgoff);
    page.pte = Pte{Pte::Kind::present, frame};
  }
}

}  // namespace model
