#!/usr/bin/env python3
"""Reference results for neruba::domain::Decimal, computed with Python's decimal module.

Usage: decimal_oracle.py IN OUT

The differential test (tests/domain/decimal_oracle_test.cpp) writes one operation per line to IN;
this script writes one result per line to OUT, and the test compares them with its own results.
Standard library only.

Operations (fields separated by one space; operands are plain decimal text such as "-0.50"):
    add A B            sub A B            mul A B            cmp A B
    div A B SCALE MODE round A SCALE MODE
    parse TEXT         parse_plain TEXT   (TEXT may be empty or malformed: that is the point)
MODE is one of half_even, half_up, down, up.

cmp answers -1, 0 or 1 (value order, the scale ignored). Any other result is the value in plain
notation with exactly its scale's fraction digits and never "-0",
or "error:<name>" with name one of invalid_syntax, overflow, division_by_zero,
scale_out_of_range.

The semantics, identical on both sides (src/domain/decimal.hpp):
  * A value is an integer coefficient times 10^-scale, 0 <= scale <= 36; it is representable when
    the coefficient at that scale has at most 36 digits. A result that is not is "overflow".
  * add/sub: exact, at scale max(scale A, scale B).
  * mul: exact, at scale A + scale B; above 36, trailing zero digits are dropped down to scale 36,
    and if that would drop a non-zero digit the result is "scale_out_of_range".
  * div: the exact quotient rounded once to SCALE digits with MODE. Checked in this order:
    SCALE outside 0..36 -> scale_out_of_range, B == 0 -> division_by_zero, then overflow.
  * round: A rounded (or zero-padded) to SCALE digits with MODE; SCALE outside 0..36 ->
    scale_out_of_range.
  * parse: a JSON number literal; parse_plain: the same without an exponent. The scale is
    max(0, -exponent) of the number as written ("1.50" -> 2, "1e3" -> 0, "2.5E-4" -> 5). Checked in
    this order: syntax, scale above 36 -> scale_out_of_range, then overflow.
"""

import decimal
import re
import sys
from decimal import Decimal

MAX_DIGITS = 36
MAX_SCALE = 36

# 200 digits hold every exact sum and product of two operands (at most 73 digits), so only
# division ever rounds in this context; see divide() for why that rounding cannot leak through.
CONTEXT = decimal.Context(
    prec=200,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

MODES = {
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_up": decimal.ROUND_HALF_UP,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
}

MANTISSA = r"(?P<mantissa>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)"
JSON_NUMBER = re.compile(MANTISSA + r"(?:[eE](?P<exponent>[+-]?[0-9]+))?")
PLAIN_NUMBER = re.compile(MANTISSA)


class Failure(Exception):
    """An expected error result; its message is the error name."""


QUANTA = [Decimal(1).scaleb(-scale) for scale in range(MAX_SCALE + 1)]  # 10^-scale


def quantum(scale):
    return QUANTA[scale]


def checked_scale(text):
    scale = int(text)
    if not 0 <= scale <= MAX_SCALE:
        raise Failure("scale_out_of_range")
    return scale


def fit(value, scale):
    """`value`, already exact at `scale`, if its coefficient there has at most 36 digits."""
    exact = value.quantize(quantum(scale), context=CONTEXT)
    if exact != value:
        raise AssertionError(f"oracle bug: {value} is not exact at scale {scale}")
    if not exact.is_zero() and len(exact.as_tuple().digits) > MAX_DIGITS:
        raise Failure("overflow")
    return exact


def scale_of(value):
    return max(0, -value.as_tuple().exponent)


def multiply(a, b):
    product = CONTEXT.multiply(a, b)
    scale = scale_of(a) + scale_of(b)
    if scale > MAX_SCALE:
        if product.quantize(quantum(MAX_SCALE), context=CONTEXT) != product:
            raise Failure("scale_out_of_range")
        scale = MAX_SCALE
    return fit(product, scale)


def divide(a, b, scale, mode):
    if b.is_zero():
        raise Failure("division_by_zero")
    context = CONTEXT.copy()
    context.clear_flags()
    quotient = context.divide(a, b)
    # The 200-digit quotient is rounded once more by quantize below. That second rounding agrees
    # with one exact rounding unless the first one landed exactly on a value the second treats
    # specially: an exact multiple of 10^-scale or a tie halfway between two. A rational with a
    # denominator below 10^72 cannot have a run of 72 zeros or nines in its expansion, and 200 digits
    # leave more than that after the rounding position, so this never fires; it guards the argument.
    if context.flags[decimal.Inexact]:
        fraction = abs(quotient.scaleb(scale, context=CONTEXT)) % 1
        if fraction in (Decimal(0), Decimal("0.5")):
            raise AssertionError(f"oracle bug: double rounding risk for {a} / {b}")
    rounded = quotient.quantize(quantum(scale), rounding=MODES[mode], context=CONTEXT)
    return fit(rounded, scale)


def round_to(a, scale, mode):
    return fit(a.quantize(quantum(scale), rounding=MODES[mode], context=CONTEXT), scale)


def parse(text, grammar):
    match = grammar.fullmatch(text)
    if not match:
        raise Failure("invalid_syntax")
    # The exponent is kept apart as a Python int: JSON allows any number of exponent digits, more
    # than a Decimal's exponent range holds, and the range checks below must see its exact value.
    mantissa = Decimal(match["mantissa"])
    exponent = int(match.groupdict().get("exponent") or 0)
    scale = max(0, -(mantissa.as_tuple().exponent + exponent))
    if scale > MAX_SCALE:
        raise Failure("scale_out_of_range")
    if mantissa.is_zero():
        return fit(Decimal(0), scale)
    if mantissa.adjusted() + exponent + scale >= MAX_DIGITS:  # more than 36 digits at `scale`
        raise Failure("overflow")
    return fit(mantissa.scaleb(exponent), scale)


def evaluate(fields):
    operation, arguments = fields[0], fields[1:]
    if operation == "parse":
        return parse(arguments[0], JSON_NUMBER)
    if operation == "parse_plain":
        return parse(arguments[0], PLAIN_NUMBER)
    a = Decimal(arguments[0])
    if operation == "round":
        return round_to(a, checked_scale(arguments[1]), arguments[2])
    b = Decimal(arguments[1])
    if operation == "add":
        return fit(CONTEXT.add(a, b), max(scale_of(a), scale_of(b)))
    if operation == "sub":
        return fit(CONTEXT.subtract(a, b), max(scale_of(a), scale_of(b)))
    if operation == "mul":
        return multiply(a, b)
    if operation == "cmp":
        return (a > b) - (a < b)
    if operation == "div":
        return divide(a, b, checked_scale(arguments[2]), arguments[3])
    raise ValueError(f"unknown operation {operation!r}")


def format_plain(value):
    if isinstance(value, int):
        return str(value)  # cmp
    text = format(value, "f")
    return text[1:] if value.is_zero() and text.startswith("-") else text


def result_line(line):
    try:
        return format_plain(evaluate(line.split(" ")))
    except Failure as failure:
        return f"error:{failure}"


def main(argv):
    if len(argv) != 3:
        print("usage: decimal_oracle.py IN OUT", file=sys.stderr)
        return 2
    # Operators such as abs() and % round in the thread's context: make that one 200 digits too.
    decimal.setcontext(CONTEXT.copy())
    with open(argv[1], encoding="ascii") as source, open(argv[2], "w", encoding="ascii") as sink:
        for line in source:
            sink.write(result_line(line.rstrip("\n")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
