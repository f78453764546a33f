#pragma once
// Internal to ops/: the order in which each op's operands appear in fuzz bytes. One
// walk per op hands every operand to an `io` together with its role; the decoder's io
// fills operands in, the encoder's writes them out, the limits check checks them.
// Defining the order once keeps the three in step.
//
// An io provides:
//   template <class T> void number(T& field, Role role, std::string_view name);
//   void mmap_flags(Mmap&);  void mremap_flags(Mremap&);  void pin_mode(bool& write);
//   void prot(Prot&);        void advice(Advice&);

#include <string_view>

#include "ops/byte_format.hpp"
#include "ops/op.hpp"

namespace ops::bytes {

template <class IO>
void walk_range(IO& io, Pid& pid, Vpn& vpn, uint64_t& pages) {
  io.number(pid, Role::pid, "pid");
  io.number(vpn, Role::vpn_mapped, "vpn");
  io.number(pages, Role::pages, "pages");
}

template <class IO>
void walk_page(IO& io, Pid& pid, Vpn& vpn) {
  io.number(pid, Role::pid, "pid");
  io.number(vpn, Role::vpn_mapped, "vpn");
}

template <class IO>
void walk(IO& io, Fork& o) {
  io.number(o.pid, Role::pid, "pid");
}
template <class IO>
void walk(IO& io, Exit& o) {
  io.number(o.pid, Role::exit_pid, "pid");
}

template <class IO>
void walk(IO& io, Mmap& o) {
  io.number(o.pid, Role::pid, "pid");
  io.number(o.vpn, Role::vpn_fresh, "vpn");
  io.number(o.pages, Role::pages, "pages");
  io.mmap_flags(o);
  if (o.backing == Backing::file) {
    io.number(o.file, Role::file, "file");
    io.number(o.pgoff, Role::pgoff, "pgoff");
  }
  io.prot(o.prot);
}

template <class IO>
void walk(IO& io, Munmap& o) {
  walk_range(io, o.pid, o.vpn, o.pages);
}

template <class IO>
void walk(IO& io, Mprotect& o) {
  walk_range(io, o.pid, o.vpn, o.pages);
  io.prot(o.prot);
}

template <class IO>
void walk(IO& io, Mremap& o) {
  walk_range(io, o.pid, o.vpn, o.old_pages);
  io.number(o.new_pages, Role::pages, "new_pages");
  io.mremap_flags(o);
  if (o.to) io.number(*o.to, Role::vpn_fresh, "to");
}

template <class IO>
void walk(IO& io, Mlock& o) {
  walk_range(io, o.pid, o.vpn, o.pages);
}
template <class IO>
void walk(IO& io, Munlock& o) {
  walk_range(io, o.pid, o.vpn, o.pages);
}

template <class IO>
void walk(IO& io, Madvise& o) {
  walk_range(io, o.pid, o.vpn, o.pages);
  io.advice(o.advice);
}

template <class IO>
void walk(IO& io, Read& o) {
  walk_page(io, o.pid, o.vpn);
}

template <class IO>
void walk(IO& io, Write& o) {
  walk_page(io, o.pid, o.vpn);
  io.number(o.value, Role::value, "value");
}

template <class IO>
void walk(IO& io, Pin& o) {
  walk_page(io, o.pid, o.vpn);
  io.pin_mode(o.write);
}

template <class IO>
void walk(IO& io, ReadPin& o) {
  io.number(o.id, Role::pin_id, "id");
}

template <class IO>
void walk(IO& io, WritePin& o) {
  io.number(o.id, Role::pin_id, "id");
  io.number(o.value, Role::value, "value");
}

template <class IO>
void walk(IO& io, Unpin& o) {
  io.number(o.id, Role::pin_id, "id");
}

template <class IO>
void walk(IO& io, Fwrite& o) {
  io.number(o.file, Role::file, "file");
  io.number(o.pgoff, Role::pgoff, "pgoff");
  io.number(o.value, Role::value, "value");
}

template <class IO>
void walk(IO& io, Ftruncate& o) {
  io.number(o.file, Role::file, "file");
  io.number(o.pages, Role::truncate_pages, "pages");
}

template <class IO>
void walk(IO& io, Reclaim& o) {
  io.number(o.frames, Role::frames, "frames");
}
template <class IO>
void walk(IO& io, Migrate& o) {
  walk_page(io, o.pid, o.vpn);
}
template <class IO>
void walk(IO&, Ksm&) {}
template <class IO>
void walk(IO& io, Split& o) {
  walk_page(io, o.pid, o.vpn);
}

template <class IO>
void walk_op(IO& io, Op& op) {
  std::visit([&](auto& o) { walk(io, o); }, op);
}

}  // namespace ops::bytes
