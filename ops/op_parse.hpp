#pragma once
// Internal to ops/: reads one op from the tokens of a line (trace.cpp splits off the
// indentation and the comment first).

#include "ops/lexer.hpp"
#include "ops/op.hpp"

namespace ops::text {

// Consumes every token of `c`; throws ParseError on anything but one well-formed op.
Op parse_op_tokens(Cursor& c);

}  // namespace ops::text
