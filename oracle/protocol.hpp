#pragma once
// The messages between the oracle's controller and the real processes it drives. One
// Request, one Reply, over a SOCK_SEQPACKET socketpair per process; both are plain
// fixed-size structs, so a worker never allocates to read or answer one.

#include <cstdint>

namespace oracle {

enum class Command : uint32_t {
  mmap,       // a = addr, b = len, c = prot, d = flags, e = offset, fd
  munmap,     // a = addr, b = len
  mprotect,   // a = addr, b = len, c = prot
  mremap,     // a = old addr, b = old len, c = new len, d = flags, e = new addr
  mlock,      // a = addr, b = len
  munlock,    // a = addr, b = len
  madvise,    // a = addr, b = len, c = advice
  load,       // a = addr: read the 64-bit value there through the mapping
  store,      // a = addr, b = value
  fork,       // the child's socket comes with the request (SCM_RIGHTS)
  exit,       // the process exits; no reply
  move_page,  // a = addr, b = target node: move_pages(2) of one page
  peek,       // batch[0..n): read values through /proc/self/mem (no fault, any prot)
};

inline constexpr unsigned peek_batch = 256;

struct Request {
  Command command = Command::exit;
  int32_t fd = -1;
  uint64_t a = 0, b = 0, c = 0, d = 0, e = 0;
  uint32_t n = 0;
  uint64_t batch[peek_batch] = {};
};

// How a load or store ended.
enum class Fault : int32_t { none, segv, sigbus };

struct Reply {
  int64_t ret = 0;  // the call's return value; -1 with err set on failure
  int32_t err = 0;  // errno
  Fault fault = Fault::none;
  uint64_t value = 0;  // load: the value; move_page: the page's status
  uint32_t n = 0;
  uint64_t batch[peek_batch] = {};
  uint8_t ok[peek_batch] = {};  // peek: whether batch[i] could be read
};

}  // namespace oracle
