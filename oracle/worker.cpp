// The worker side of the oracle: a loop of system calls made on the controller's
// behalf. Loads and stores go through the mapping itself, with SIGSEGV and SIGBUS
// caught and reported; peeks (the observation's values) read /proc/self/mem, which
// neither faults pages in nor cares about protection.

#include "oracle/worker.hpp"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "oracle/protocol.hpp"

namespace oracle {
namespace {

sigjmp_buf fault_jump;
volatile sig_atomic_t fault_armed = 0;

void on_fault(int sig) {
  if (fault_armed) siglongjmp(fault_jump, sig);
  signal(sig, SIG_DFL);  // a fault outside a guarded access is a real crash
  raise(sig);
}

void install_fault_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fault;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
  signal(SIGCHLD, SIG_IGN);  // exited children are reaped by the kernel
  signal(SIGPIPE, SIG_IGN);
}

Fault fault_of(int sig) { return sig == SIGBUS ? Fault::sigbus : Fault::segv; }

// Runs one load or store, catching the fault it may raise. The deliberate access is the
// point: sanitizers must not instrument it.
template <class Access>
__attribute__((no_sanitize("address", "undefined"))) Fault guarded(Access access) {
  fault_armed = 1;
  if (int sig = sigsetjmp(fault_jump, 1); sig != 0) {
    fault_armed = 0;
    return fault_of(sig);
  }
  access();
  fault_armed = 0;
  return Fault::none;
}

__attribute__((no_sanitize("address", "undefined"))) Fault guarded_load(uint64_t addr, uint64_t* value) {
  return guarded([&]() __attribute__((no_sanitize("address", "undefined"))) {
    *value = *reinterpret_cast<volatile uint64_t*>(addr);
  });
}

__attribute__((no_sanitize("address", "undefined"))) Fault guarded_store(uint64_t addr, uint64_t value) {
  return guarded([&]() __attribute__((no_sanitize("address", "undefined"))) {
    *reinterpret_cast<volatile uint64_t*>(addr) = value;
  });
}

// One request, and the descriptor that came with it (a fork's child socket), or -1.
bool receive(int sock, Request& req, int& passed_fd) {
  char control[CMSG_SPACE(sizeof(int))];
  iovec iov{&req, sizeof req};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof req)) return false;
  passed_fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&passed_fd, CMSG_DATA(c), sizeof(int));
  return true;
}

void answer(int sock, const Reply& reply) {
  ssize_t n;
  do n = send(sock, &reply, sizeof reply, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply)) _exit(2);
}

void set_result(Reply& r, long ret) {
  r.ret = ret;
  r.err = ret < 0 ? errno : 0;
}

struct Worker {
  int sock;
  int mem;  // /proc/self/mem of this process (a forked child opens its own)
  Reply reply;

  void serve(const Request& q, int passed_fd) {
    reply = Reply{};
    switch (q.command) {
      // Raw system calls: a sanitizer's interceptors would get in the way (ASan makes
      // mlock a no-op, for one).
      case Command::mmap: {
        const long p = syscall(SYS_mmap, q.a, q.b, q.c, q.d, q.fd, q.e);
        set_result(reply, p == -1 ? -1 : 0);
        break;
      }
      case Command::munmap: set_result(reply, syscall(SYS_munmap, q.a, q.b)); break;
      case Command::mprotect: set_result(reply, syscall(SYS_mprotect, q.a, q.b, q.c)); break;
      case Command::mremap: set_result(reply, syscall(SYS_mremap, q.a, q.b, q.c, q.d, q.e)); break;
      case Command::mlock: set_result(reply, syscall(SYS_mlock, q.a, q.b)); break;
      case Command::munlock: set_result(reply, syscall(SYS_munlock, q.a, q.b)); break;
      case Command::madvise: set_result(reply, syscall(SYS_madvise, q.a, q.b, q.c)); break;
      case Command::load: reply.fault = guarded_load(q.a, &reply.value); break;
      case Command::store: reply.fault = guarded_store(q.a, q.b); break;
      case Command::move_page: {
        void* pages[1] = {reinterpret_cast<void*>(q.a)};
        int node = int(q.b), status = 0;
        set_result(reply, syscall(SYS_move_pages, 0, 1, pages, &node, &status, 2 /* MPOL_MF_MOVE */));
        reply.value = static_cast<uint64_t>(static_cast<int64_t>(status));
        break;
      }
      case Command::peek:
        reply.n = q.n < peek_batch ? q.n : peek_batch;
        for (unsigned i = 0; i < reply.n; ++i)
          reply.ok[i] = pread(mem, &reply.batch[i], sizeof(uint64_t), off_t(q.batch[i])) == sizeof(uint64_t);
        break;
      case Command::fork: return fork_child(passed_fd);
      case Command::exit: _exit(0);
    }
    if (passed_fd >= 0) close(passed_fd);
    answer(sock, reply);
  }

  // The child answers its own pid on its new socket; the parent answers the child's.
  void fork_child(int child_sock) {
    pid_t pid = fork();
    if (pid == 0) {
      close(sock);
      close(mem);
      sock = child_sock;
      mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
      reply = Reply{};
      reply.ret = getpid();
      answer(sock, reply);
      return;
    }
    set_result(reply, pid);
    if (child_sock >= 0) close(child_sock);
    answer(sock, reply);
  }
};

}  // namespace

void worker_main(int sock) {
  install_fault_handlers();
  Worker w{sock, open("/proc/self/mem", O_RDONLY | O_CLOEXEC), {}};
  Request req;
  int passed_fd = -1;
  while (receive(w.sock, req, passed_fd)) w.serve(req, passed_fd);
  _exit(0);
}

}  // namespace oracle
