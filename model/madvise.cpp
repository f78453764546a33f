// madvise: flag advice edits VMA attributes; action advice works on the pages. Like
// the kernel, it goes VMA by VMA in address order, stops at the first VMA that rejects
// the advice (earlier VMAs keep their changes), and reports a hole in the range as
// ENOMEM only after doing the rest.

#include <span>

#include "model/state.hpp"

namespace model {
namespace {

using ops::Advice;
using ops::Errno;
using ops::Result;

std::vector<Extent> pieces(const Process& proc, Vpn start, Vpn end) {
  std::vector<Extent> out;
  for (const Extent& e : extents(proc))
    if (std::max(e.start, start) < std::min(e.end, end))
      out.push_back({std::max(e.start, start), std::min(e.end, end)});
  return out;
}

bool is_flag_advice(Advice a) {
  switch (a) {
    case Advice::dontfork: case Advice::dofork: case Advice::wipeonfork:
    case Advice::keeponfork: case Advice::mergeable: case Advice::unmergeable:
    case Advice::hugepage: case Advice::nohugepage:
      return true;
    default:
      return false;
  }
}

// Whether this VMA accepts the advice at all.
bool accepts(const Attrs& a, Advice advice) {
  bool private_anon = a.backing == Backing::anon && !a.shared;
  switch (advice) {
    case Advice::wipeonfork: return private_anon;
    case Advice::dontneed: case Advice::cold: case Advice::pageout: return !a.locked;
    case Advice::free: return !a.locked && private_anon;
    case Advice::collapse: return private_anon && !a.nohugepage;
    default: return true;
  }
}

void set_flag(Attrs& a, Advice advice) {
  switch (advice) {
    case Advice::dontfork: a.dontfork = true; break;
    case Advice::dofork: a.dontfork = false; break;
    case Advice::wipeonfork: a.wipeonfork = true; break;
    case Advice::keeponfork: a.wipeonfork = false; break;
    case Advice::mergeable: a.mergeable = !a.shared; break;  // KSM ignores shared VMAs
    case Advice::unmergeable: a.mergeable = false; break;
    case Advice::hugepage: a.hugepage = true; a.nohugepage = false; break;
    case Advice::nohugepage: a.nohugepage = true; a.hugepage = false; break;
    default: break;
  }
}

// MADV_FREE: clean exclusive anon pages become lazily freeable; swap entries go.
void lazyfree(State& s, Pid pid, Vpn start, Vpn end) {
  for (Vpn v = start; v < end; ++v) {
    Page& page = s.procs.at(pid).pages.at(v);
    if (!page.pte || page.pte->kind == Pte::Kind::zero) continue;
    if (page.pte->kind == Pte::Kind::swap) {
      page.pte.reset();
      continue;
    }
    FrameId id = page.pte->frame;
    if (s.frames.at(id).kind != ops::FrameKind::anon) continue;
    bool whole_folio_here = true;
    for (FrameId m : folio_frames(s, id)) {
      auto maps = mappers(s, m);
      whole_folio_here &= maps.size() == 1 && maps[0].first == pid &&
                          maps[0].second >= start && maps[0].second < end;
    }
    if (!whole_folio_here && s.frames.at(id).folio) {
      if (folio_pinned(s, id)) continue;
      split_folio(s, id);
      whole_folio_here = mappers(s, id).size() == 1;
    }
    Frame& f = s.frames.at(id);
    if (whole_folio_here && !(f.swapcache && slot_referenced_elsewhere(s, *f.swapcache, pid, v)))
      f.lazyfree = true;
  }
}

Result act(State& s, Pid pid, const Extent& piece, Advice advice) {
  switch (advice) {
    case Advice::dontneed:
      for (Vpn v = piece.start; v < piece.end; ++v) zap(s, pid, v);
      return Result::ok();
    case Advice::free: lazyfree(s, pid, piece.start, piece.end); return Result::ok();
    case Advice::pageout: return pageout_range(s, pid, piece.start, piece.end);
    case Advice::collapse: return collapse_range(s, pid, piece.start, piece.end);
    case Advice::unmergeable:
      if (!s.procs.at(pid).pages.at(piece.start).attrs.mergeable) return Result::ok();
      return unmerge_range(s, pid, piece.start, piece.end);
    default: return Result::ok();  // cold, willneed: nothing a user can observe
  }
}

bool becomes_mergeable(const Process& proc, std::span<const Extent> pieces) {
  for (const Extent& piece : pieces)
    for (Vpn v = piece.start; v < piece.end; ++v) {
      const Attrs& a = proc.pages.at(v).attrs;
      if (!a.mergeable && !a.shared) return true;
    }
  return false;
}

Result apply_flags(State& s, Pid pid, Vpn start, Vpn end, Advice advice) {
  auto todo = pieces(s.procs.at(pid), start, end);
  size_t accepted = 0;
  while (accepted < todo.size() && accepts(s.procs.at(pid).pages.at(todo[accepted].start).attrs, advice))
    ++accepted;
  for (size_t i = 0; i < accepted; ++i)
    if (act(s, pid, todo[i], advice).kind != Result::Kind::ok) return Result::fail(Errno::eagain);
  if (advice == Advice::mergeable && becomes_mergeable(s.procs.at(pid), std::span(todo).first(accepted)))
    ksm_enter(s, pid);
  Process next = s.procs.at(pid);
  for (size_t i = 0; i < accepted; ++i)
    modify_range(s, next, todo[i].start, todo[i].end, [&](Attrs& a) { set_flag(a, advice); });
  // Splitting VMAs past the map count limit: madvise answers EAGAIN.
  if (!fits_limits(s, next)) return Result::fail(Errno::eagain);
  s.procs.at(pid) = std::move(next);
  return accepted < todo.size() ? Result::fail(Errno::einval) : Result::ok();
}

}  // namespace

Result do_madvise(State& s, const ops::Madvise& op) {
  Process* proc = s.proc(op.pid);
  if (!proc) return Result::fail(Errno::esrch);
  if (op.pages == 0) return Result::ok();
  if (op.vpn > s.limits.address_space || op.pages > s.limits.address_space - op.vpn)
    return Result::fail(Errno::enomem);
  const Vpn end = op.vpn + op.pages;
  Result r = Result::ok();
  if (is_flag_advice(op.advice)) {
    r = apply_flags(s, op.pid, op.vpn, end, op.advice);
  } else {
    for (const Extent& piece : pieces(*proc, op.vpn, end)) {
      if (!accepts(proc->pages.at(piece.start).attrs, op.advice)) return Result::fail(Errno::einval);
      // The first VMA that fails ends the call, as madvise_walk_vmas() returns at once.
      if (Result a = act(s, op.pid, piece, op.advice); a.kind != Result::Kind::ok) return a;
    }
  }
  if (r.kind != Result::Kind::ok) return r;
  bool hole = std::distance(proc->pages.lower_bound(op.vpn), proc->pages.lower_bound(end)) <
              static_cast<std::ptrdiff_t>(op.pages);
  return hole ? Result::fail(Errno::enomem) : r;
}

}  // namespace model
