#include "oracle/kernel_ops.hpp"

#include <fmt/format.h>
#include <sys/mman.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <map>
#include <type_traits>

#include "oracle/ksm_sysfs.hpp"
#include "ops/overloaded.hpp"

namespace oracle {
namespace {

using ops::Errno;
using ops::Result;

using ops::overloaded;

constexpr uint64_t mremap_maymove = 1, mremap_fixed = 2, mremap_dontunmap = 4;
constexpr int madv_collapse = 25;  // Linux 6.1; older C headers lack it

int prot_bits(ops::Prot p) {
  return (p & ops::prot_read ? PROT_READ : 0) | (p & ops::prot_write ? PROT_WRITE : 0) |
         (p & ops::prot_exec ? PROT_EXEC : 0);
}

int advice_bits(ops::Advice a) {
  using A = ops::Advice;
  switch (a) {
    case A::dontfork: return MADV_DONTFORK;
    case A::dofork: return MADV_DOFORK;
    case A::wipeonfork: return MADV_WIPEONFORK;
    case A::keeponfork: return MADV_KEEPONFORK;
    case A::dontneed: return MADV_DONTNEED;
    case A::free: return MADV_FREE;
    case A::mergeable: return MADV_MERGEABLE;
    case A::unmergeable: return MADV_UNMERGEABLE;
    case A::hugepage: return MADV_HUGEPAGE;
    case A::nohugepage: return MADV_NOHUGEPAGE;
    case A::cold: return MADV_COLD;
    case A::pageout: return MADV_PAGEOUT;
    case A::willneed: return MADV_WILLNEED;
    case A::collapse: return madv_collapse;
  }
  return -1;
}

std::optional<Errno> errno_of(int err) {
  switch (err) {
    case EAGAIN: return Errno::eagain;
    case ENOMEM: return Errno::enomem;
    case EINVAL: return Errno::einval;
    case EFAULT: return Errno::efault;
    case EBUSY: return Errno::ebusy;
    case ENOENT: return Errno::enoent;
    case EFBIG: return Errno::efbig;
    case ESRCH: return Errno::esrch;
    case EBADF: return Errno::ebadf;
    default: return std::nullopt;
  }
}

KernelAnswer failed(int err) {
  KernelAnswer a;
  if (auto e = errno_of(err)) a.result = Result::fail(*e);
  else a.unnamed_errno = fmt::format("{} ({})", strerrorname_np(err) ? strerrorname_np(err) : "?", std::strerror(err));
  return a;
}

KernelAnswer answered(Result r, std::string note = "") {
  KernelAnswer a;
  a.result = r;
  a.note = std::move(note);
  return a;
}

KernelAnswer skipped(std::string why) {
  KernelAnswer a;
  a.skipped = true;
  a.note = std::move(why);
  return a;
}

// The pid an op names, if any.
std::optional<ops::Pid> pid_of(const ops::Op& op) {
  return std::visit([](const auto& o) -> std::optional<ops::Pid> {
    if constexpr (requires { o.pid; }) return o.pid;
    else return std::nullopt;
  }, op);
}

// The page range an op works on, if it has one.
std::optional<std::pair<ops::Vpn, uint64_t>> range_of(const ops::Op& op) {
  return std::visit(overloaded{
      [](const ops::Mremap& o) -> std::optional<std::pair<ops::Vpn, uint64_t>> { return std::pair{o.vpn, o.old_pages}; },
      [](const auto& o) -> std::optional<std::pair<ops::Vpn, uint64_t>> {
        if constexpr (requires { o.pages; o.vpn; }) return std::pair{o.vpn, o.pages};
        else if constexpr (requires { o.vpn; }) return std::pair{o.vpn, uint64_t{1}};
        else return std::nullopt;
      }}, op);
}

// Whether any page of the range lies in a mapping of that kind, by the model's view.
bool covers(const model::System& model, const ops::Madvise& o, ops::MapKind kind) {
  for (const ops::PageObs& p : model.observe().pages)
    if (p.pid == o.pid && p.vpn >= o.vpn && p.vpn - o.vpn < o.pages && p.vma.kind == kind) return true;
  return false;
}

// Whether an anon page is mapped both in a mergeable VMA and in one that is not: the
// kernel may then merge it or not depending on its scan order, which the model does not
// follow (model/RULES.md: it leaves such pages alone).
bool ksm_outcome_depends_on_scan_order(const model::System& model) {
  const ops::Observation obs = model.observe();
  std::map<ops::PageKey, bool> mergeable;
  for (const ops::PageObs& p : obs.pages) mergeable[{p.pid, p.vpn}] = p.vma.mergeable;
  for (const ops::FrameClass& c : obs.frames) {
    if (c.kind != ops::FrameKind::anon && c.kind != ops::FrameKind::ksm) continue;
    bool some = false, all = true;
    for (const ops::PageKey& k : c.pages) {
      some |= mergeable[k];
      all &= mergeable[k];
    }
    if (some && !all) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> why_skipped(const ops::Op& op, const ops::Limits& limits, const Capabilities& caps,
                                       bool ksm_enabled) {
  if (std::holds_alternative<ops::Pin>(op) || std::holds_alternative<ops::ReadPin>(op) ||
      std::holds_alternative<ops::WritePin>(op) || std::holds_alternative<ops::Unpin>(op))
    return "long-term pins (FOLL_LONGTERM) cannot be asked for from user space here";
  if (std::holds_alternative<ops::Reclaim>(op))
    return "kswapd's choice of N frames cannot be asked for (MADV_PAGEOUT, the real request, is compared as madvise pageout)";
  if (std::holds_alternative<ops::Split>(op))
    return "no user interface splits one folio (debugfs split_huge_pages is root- and debugfs-only)";
  if (std::holds_alternative<ops::Ksm>(op) && !(ksm_enabled && caps.ksm))
    return caps.ksm ? "KSM changes a system setting: run with --ksm to put it to the kernel" : "no KSM in this kernel";
  if (auto r = range_of(op); r && (r->first > limits.address_space || r->second > limits.address_space - r->first))
    return "reaches past the oracle's region (the model's address space)";
  if (auto* m = std::get_if<ops::Mremap>(&op)) {
    if (m->to && (*m->to > limits.address_space || m->new_pages > limits.address_space - *m->to))
      return "moves past the oracle's region";
    if (m->new_pages > limits.address_space) return "grows past the oracle's region";
  }
  if (auto* m = std::get_if<ops::Mmap>(&op); m && m->pgoff > (uint64_t{1} << 40))
    return "file offset too large to put to mmap(2)";
  return std::nullopt;
}

KernelAnswer KernelOps::call(ops::Pid pid, const Request& request) {
  const Reply reply = procs_.call(pid, request);
  if (reply.ret < 0) return failed(reply.err);
  return answered(Result::ok());
}

KernelAnswer KernelOps::fork(ops::Pid pid) {
  ops::Pid child = 1;
  while (child <= limits_.max_processes && procs_.alive(child)) ++child;
  if (child > limits_.max_processes)
    return answered(Result::fail(Errno::eagain), "past max_processes: answered by the oracle");
  if (int err = procs_.fork(pid, child)) return failed(err);
  return answered(Result::of(child));
}

// The highest free range of `pages` in the region, away from [avoid, avoid_end), by
// the kernel's layout of `pid`: a destination for MREMAP_FIXED where the model has none.
std::optional<ops::Vpn> free_range(const KernelLayout& layout, ops::Pid pid, uint64_t pages,
                                   uint64_t space, ops::Vpn avoid, ops::Vpn avoid_end) {
  std::vector<bool> busy(space, false);
  auto mark = [&](ops::Vpn from, ops::Vpn to) {
    for (ops::Vpn v = from; v < std::min<ops::Vpn>(to, space); ++v) busy[v] = true;
  };
  mark(avoid, avoid_end);
  if (auto it = layout.find(pid); it != layout.end())
    for (const auto& [start, end] : it->second) mark(start, end);
  uint64_t run = 0;
  for (ops::Vpn v = space; v-- > 0;) {
    run = busy[v] ? 0 : run + 1;
    if (run >= pages) return v;
  }
  return std::nullopt;
}

KernelAnswer KernelOps::mremap(const ops::Mremap& o, const model::System& model,
                               const KernelLayout& layout) {
  Request q;
  q.command = Command::mremap;
  q.a = region_.addr(o.vpn);
  q.b = o.old_pages * page_size;
  q.c = o.new_pages * page_size;
  auto moved_to = [&](ops::Vpn to, uint64_t flags, std::string note) {
    q.d = flags | mremap_maymove | mremap_fixed;
    q.e = region_.addr(to);
    const Reply r = procs_.call(o.pid, q);
    if (r.ret < 0) return failed(r.err);
    return answered(Result::of(region_.vpn(uint64_t(r.ret))), std::move(note));
  };
  if (o.to) return moved_to(*o.to, o.dontunmap ? mremap_dontunmap : 0, "");
  // Where it goes without `to` is the model's rule (the highest free range); the
  // kernel's own choice could lie outside the region. Where the model moves it nowhere,
  // any free range of the region stands in, so that the kernel still says why not.
  model::System probe = model;
  const Result where = probe.apply(ops::Op{o});
  const bool moves = where.kind == Result::Kind::value && where.value != o.vpn;
  const auto stand_in = free_range(layout, o.pid, o.new_pages, limits_.address_space, o.vpn, o.vpn + o.old_pages);
  const std::optional<ops::Vpn> dest = moves ? std::optional(ops::Vpn(where.value)) : stand_in;
  const std::string note = moves ? "MREMAP_FIXED to where the model moves it" : "MREMAP_FIXED to a free range";
  if (o.dontunmap) {
    if (moves) return moved_to(*dest, mremap_dontunmap, note);
    // No room in the region: the kernel would find some outside it.
    if (where == Result::fail(Errno::enomem))
      return skipped("MREMAP_DONTUNMAP with no free range in the region to move to");
    // The model refuses it otherwise. With MREMAP_FIXED the kernel would take it for a
    // plain move (several VMAs allowed), so it is asked as given, and it refuses (or not)
    // before it maps anything.
    q.d = mremap_maymove | mremap_dontunmap;
    const Reply r = procs_.call(o.pid, q);
    if (r.ret < 0) return failed(r.err);
    return answered(Result::of(region_.vpn(uint64_t(r.ret))), "the kernel chose where to move it");
  }
  if (o.new_pages <= limits_.address_space - o.vpn) {
    q.d = 0;  // in place first, as MREMAP_MAYMOVE does
    const Reply r = procs_.call(o.pid, q);
    if (r.ret >= 0) return answered(Result::of(region_.vpn(uint64_t(r.ret))));
    if (r.err != ENOMEM) return failed(r.err);
  }
  if (!dest) return skipped("cannot grow in place within the region, and there is no free range to move to");
  return moved_to(*dest, 0, "no room in place: " + note);
}

KernelAnswer KernelOps::apply(const ops::Op& op, const model::System& model, const KernelLayout& layout) {
  if (auto pid = pid_of(op); pid && !procs_.alive(*pid))
    return answered(Result::fail(Errno::esrch), "no such process: answered by the oracle");
  auto req = [](Command c, uint64_t a, uint64_t b = 0, uint64_t cc = 0) {
    Request q;
    q.command = c;
    q.a = a;
    q.b = b;
    q.c = cc;
    return q;
  };
  const Region& R = region_;
  return std::visit(overloaded{
      [&](const ops::Fork& o) { return fork(o.pid); },
      [&](const ops::Exit& o) {
        procs_.exit(o.pid);
        return answered(Result::ok());
      },
      [&](const ops::Mmap& o) {
        Request q = req(Command::mmap, R.addr(o.vpn), o.pages * page_size, uint64_t(prot_bits(o.prot)));
        q.d = MAP_FIXED | (o.shared ? MAP_SHARED : MAP_PRIVATE) | (o.populate ? MAP_POPULATE : 0) |
              (o.locked ? MAP_LOCKED : 0) | (o.backing == ops::Backing::anon ? MAP_ANONYMOUS : 0);
        q.fd = o.backing == ops::Backing::anon ? -1 : files_.fd(o.file);
        q.e = o.backing == ops::Backing::anon ? 0 : o.pgoff * page_size;
        return call(o.pid, q);
      },
      [&](const ops::Munmap& o) { return call(o.pid, req(Command::munmap, R.addr(o.vpn), o.pages * page_size)); },
      [&](const ops::Mprotect& o) {
        return call(o.pid, req(Command::mprotect, R.addr(o.vpn), o.pages * page_size, uint64_t(prot_bits(o.prot))));
      },
      [&](const ops::Mremap& o) { return mremap(o, model, layout); },
      [&](const ops::Mlock& o) { return call(o.pid, req(Command::mlock, R.addr(o.vpn), o.pages * page_size)); },
      [&](const ops::Munlock& o) { return call(o.pid, req(Command::munlock, R.addr(o.vpn), o.pages * page_size)); },
      [&](const ops::Madvise& o) {
        if (o.advice == ops::Advice::hugepage && covers(model, o, ops::MapKind::file))
          return skipped("hugepage advice on a file mapping: the kernel may read such a file into large "
                         "folios (ext4 since 6.16), which the model does not have");
        if (o.advice == ops::Advice::collapse && covers(model, o, ops::MapKind::shmem))
          return skipped("collapse of a shmem mapping: the kernel makes a large shmem folio, which the "
                         "model does not have");
        return call(o.pid, req(Command::madvise, R.addr(o.vpn), o.pages * page_size, uint64_t(advice_bits(o.advice))));
      },
      [&](const ops::Read& o) {
        const Reply r = procs_.call(o.pid, req(Command::load, R.addr(o.vpn)));
        if (r.fault == Fault::segv) return answered(Result::segv());
        if (r.fault == Fault::sigbus) return answered(Result::sigbus());
        return answered(Result::of(r.value));
      },
      [&](const ops::Write& o) {
        const Reply r = procs_.call(o.pid, req(Command::store, R.addr(o.vpn), o.value));
        if (r.fault == Fault::segv) return answered(Result::segv());
        if (r.fault == Fault::sigbus) return answered(Result::sigbus());
        return answered(Result::ok());
      },
      [&](const ops::Fwrite& o) {
        const int err = files_.write_page(o.file, o.pgoff, o.value);
        return err ? failed(err) : answered(Result::ok());
      },
      [&](const ops::Ftruncate& o) {
        const int err = files_.truncate(o.file, o.pages);
        return err ? failed(err) : answered(Result::ok());
      },
      [&](const ops::Migrate& o) {
        const Reply r = procs_.call(o.pid, req(Command::move_page, R.addr(o.vpn), 0));
        if (r.ret < 0) return failed(r.err);
        const int status = int(int64_t(r.value));
        KernelAnswer a = status >= 0 ? answered(Result::ok()) : failed(-status);
        a.note = "move_pages(2) to its own node: on one node nothing moves, only the answer is compared";
        return a;
      },
      [&](const ops::Ksm&) {
        if (ksm_outcome_depends_on_scan_order(model))
          return skipped("a page is mapped in a mergeable VMA and in one that is not: what the kernel merges "
                         "then depends on its scan order, which the model does not follow");
        return answered(run_ksm(), "ksmd through /sys/kernel/mm/ksm until nothing more merges");
      },
      [&](const auto&) -> KernelAnswer { throw OracleError("an op that should have been skipped reached the kernel"); },
  }, op);
}

}  // namespace oracle
