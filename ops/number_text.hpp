#pragma once
// Numbers in trace text: decimal or 0x-hex on input, decimal or 0x-hex on output.
// Shared by the trace, result and limits parsers so they all accept the same forms.

#include <cstdint>
#include <string>
#include <string_view>

namespace ops {

struct NumberParse {
  enum class Status : uint8_t { ok, not_a_number, overflow };
  Status status = Status::not_a_number;
  uint64_t value = 0;
  bool ok() const { return status == Status::ok; }
};

// Accepts "123" and "0x7b" / "0X7B"; no sign, no separators, no empty digits.
NumberParse parse_number(std::string_view s);

std::string hex_text(uint64_t v);  // "0x7b"

}  // namespace ops
