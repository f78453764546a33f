#pragma once
// One Op per operation of SEMANTICS.md. Each struct is a plain value; Op is the
// variant of all of them. The text form of each op is documented beside its struct
// and implemented in trace.cpp.

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "ops/types.hpp"

namespace ops {

// fork P                          -> new pid
struct Fork { Pid pid = 1; bool operator==(const Fork&) const = default; };
// exit P
struct Exit { Pid pid = 1; bool operator==(const Exit&) const = default; };

enum class Backing : uint8_t { anon, file };

// mmap P VPN N anon|file:F@PGOFF private|shared PROT [populate] [locked]
// MAP_FIXED. "anon shared" is a fresh shmem object.
struct Mmap {
  Pid pid = 1;
  Vpn vpn = 0;
  uint64_t pages = 1;
  Backing backing = Backing::anon;
  unsigned file = 0;      // file backing only
  uint64_t pgoff = 0;     // file backing only
  bool shared = false;
  Prot prot = prot_read | prot_write;
  bool populate = false;  // MAP_POPULATE
  bool locked = false;    // MAP_LOCKED
  bool operator==(const Mmap&) const = default;
};

// munmap P VPN N
struct Munmap { Pid pid = 1; Vpn vpn = 0; uint64_t pages = 1; bool operator==(const Munmap&) const = default; };

// mprotect P VPN N PROT
struct Mprotect {
  Pid pid = 1; Vpn vpn = 0; uint64_t pages = 1; Prot prot = prot_read;
  bool operator==(const Mprotect&) const = default;
};

// mremap P VPN OLDN NEWN [to VPN2] [dontunmap]      (always MREMAP_MAYMOVE)
struct Mremap {
  Pid pid = 1; Vpn vpn = 0; uint64_t old_pages = 1; uint64_t new_pages = 1;
  std::optional<Vpn> to;  // MREMAP_FIXED
  bool dontunmap = false; // MREMAP_DONTUNMAP
  bool operator==(const Mremap&) const = default;
};

// mlock P VPN N / munlock P VPN N
struct Mlock { Pid pid = 1; Vpn vpn = 0; uint64_t pages = 1; bool operator==(const Mlock&) const = default; };
struct Munlock { Pid pid = 1; Vpn vpn = 0; uint64_t pages = 1; bool operator==(const Munlock&) const = default; };

enum class Advice : uint8_t {
  dontfork, dofork, wipeonfork, keeponfork, dontneed, free, mergeable, unmergeable,
  hugepage, nohugepage, cold, pageout, willneed, collapse,
};
inline constexpr unsigned advice_count = 14;
std::string_view advice_name(Advice a);
std::optional<Advice> parse_advice(std::string_view s);

// madvise P VPN N ADV
struct Madvise {
  Pid pid = 1; Vpn vpn = 0; uint64_t pages = 1; Advice advice = Advice::dontneed;
  bool operator==(const Madvise&) const = default;
};

// read P VPN                      -> value | segv | sigbus
struct Read { Pid pid = 1; Vpn vpn = 0; bool operator==(const Read&) const = default; };
// write P VPN V
struct Write { Pid pid = 1; Vpn vpn = 0; uint64_t value = 0; bool operator==(const Write&) const = default; };

// pin P VPN ro|rw                 -> pin id (FOLL_PIN|FOLL_LONGTERM)
struct Pin { Pid pid = 1; Vpn vpn = 0; bool write = false; bool operator==(const Pin&) const = default; };
// readpin ID                      -> value
struct ReadPin { PinId id = 1; bool operator==(const ReadPin&) const = default; };
// writepin ID V
struct WritePin { PinId id = 1; uint64_t value = 0; bool operator==(const WritePin&) const = default; };
// unpin ID
struct Unpin { PinId id = 1; bool operator==(const Unpin&) const = default; };

// fwrite F PGOFF V                (write(2) of one page into the page cache)
struct Fwrite { unsigned file = 0; uint64_t pgoff = 0; uint64_t value = 0; bool operator==(const Fwrite&) const = default; };
// ftruncate F N
struct Ftruncate { unsigned file = 0; uint64_t pages = 0; bool operator==(const Ftruncate&) const = default; };

// reclaim N                       (kswapd-style; which frames is the implementation's choice)
struct Reclaim { uint64_t frames = 1; bool operator==(const Reclaim&) const = default; };
// migrate P VPN
struct Migrate { Pid pid = 1; Vpn vpn = 0; bool operator==(const Migrate&) const = default; };
// ksm                             (scan until nothing more merges)
struct Ksm { bool operator==(const Ksm&) const = default; };
// split P VPN                     (split the large folio mapped there)
struct Split { Pid pid = 1; Vpn vpn = 0; bool operator==(const Split&) const = default; };

using Op = std::variant<Fork, Exit, Mmap, Munmap, Mprotect, Mremap, Mlock, Munlock, Madvise,
                        Read, Write, Pin, ReadPin, WritePin, Unpin, Fwrite, Ftruncate, Reclaim,
                        Migrate, Ksm, Split>;
inline constexpr unsigned op_kind_count = std::variant_size_v<Op>;

// The op's keyword as written in a trace: "fork", "mmap", "readpin", ...
std::string_view op_name(const Op& op);
std::string_view op_kind_name(unsigned kind_index);

}  // namespace ops
