#pragma once
// Small vocabulary types shared by every part of rmapcheck.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ops {

using Pid = unsigned;
using Vpn = uint64_t;    // virtual page number
using PinId = unsigned;

// Protection bits, a subset of rwx. Printed as "rw", "r", "rwx", "-".
enum Prot : uint8_t { prot_none = 0, prot_read = 1, prot_write = 2, prot_exec = 4 };
inline Prot operator|(Prot a, Prot b) { return Prot(uint8_t(a) | uint8_t(b)); }

std::string prot_name(Prot p);
std::optional<Prot> parse_prot(std::string_view s);

// The errno values a simulated syscall or fault can answer with.
enum class Errno : uint8_t { eagain, enomem, einval, efault, ebusy, enoent, efbig, esrch, ebadf };

std::string_view errno_name(Errno e);  // "EAGAIN", ...
std::optional<Errno> parse_errno(std::string_view s);

// What an op answers. `value` holds the value read, the new pid of a fork or the id
// of a new pin; the op kind says which.
struct Result {
  enum class Kind : uint8_t { ok, value, error, segv, sigbus };
  Kind kind = Kind::ok;
  uint64_t value = 0;
  Errno err = Errno::einval;

  static Result ok() { return {}; }
  static Result of(uint64_t v) { return {Kind::value, v, Errno::einval}; }
  static Result fail(Errno e) { return {Kind::error, 0, e}; }
  static Result segv() { return {Kind::segv, 0, Errno::einval}; }
  static Result sigbus() { return {Kind::sigbus, 0, Errno::einval}; }

  bool operator==(const Result& o) const {
    return kind == o.kind && (kind != Kind::value || value == o.value) &&
           (kind != Kind::error || err == o.err);
  }
};

// "ok", "7", "ENOMEM", "segv", "sigbus".
std::string result_text(const Result& r);
std::optional<Result> parse_result(std::string_view s);

}  // namespace ops
