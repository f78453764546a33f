#pragma once
// The command loop each real process of an oracle run executes. It answers one Request
// at a time on its socket and never allocates: it runs in a fork of the controller
// (or of another worker) and touches only the oracle's region and its own stack.

namespace oracle {

// Serves requests on `sock` until told to exit or the controller goes away (the
// socket reads end-of-file), then _exit()s. Never returns.
[[noreturn]] void worker_main(int sock);

}  // namespace oracle
