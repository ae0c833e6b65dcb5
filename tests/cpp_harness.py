"""Test-only harness: evaluate fixed-point cases with Xilinx ``ap_fixed`` and with hlsforge's
own ``hlsforge_fixed.h`` in one compiled program, and read back raw integers.

Why one program per batch: ``ap_fixed.h`` is slow to compile (~50 ms per instantiated type on
top of ~2.5 s of parsing), so a test builds one translation unit holding a table of template
instantiations — one entry per type or type pair — and feeds it thousands of cases on stdin.
Both libraries live in the same TU (hlsforge's header is entirely inside namespace
``hlsforge``), so every case is answered by both in the same run. Builds are cached by content
hash through ``hlsforge.cpp_toolchain``.

Compiled with ``-DNDEBUG``: ap_private asserts on bit reads beyond the MSB that
``ap_fixed``'s conversion code performs (and then ignores) for 1-bit sources.

Protocol: each input line is ``<kind> <index> <hex args...>``; each output line is
``<ap tokens> | <hlsforge tokens>``; a raw value is printed as ``hi:lo`` (hex of the low
``W`` bits, up to 128) and read back here with the sign of its type.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hlsforge.cpp_toolchain import compile_executable, find_ap_types_include, hlsforge_include
from hlsforge.ir.types import FixedType, IntType, Overflow, Rounding

# ---------------------------------------------------------------------------------------------
# C++ spellings


def ap_name(t: FixedType | IntType) -> str:
    """The Xilinx spelling of a type."""
    if isinstance(t, IntType):
        return f"ap_{'' if t.signed else 'u'}int<{t.width}>"
    base = "ap_fixed" if t.signed else "ap_ufixed"
    return f"{base}<{t.width},{t.integer},AP_{t.rounding.value},AP_{t.overflow.value}>"


def hf_name(t: FixedType | IntType) -> str:
    """The hlsforge spelling of a type (namespace-qualified, usable next to ap_fixed.h)."""
    if isinstance(t, IntType):
        return f"hf::int_base<{t.width},{'true' if t.signed else 'false'}>"
    return (
        f"hf::fixed_base<{t.width},{t.integer},{'true' if t.signed else 'false'},"
        f"hf::AP_{t.rounding.value},hf::AP_{t.overflow.value}>"
    )


def sign_extend(bits: int, width: int, signed: bool) -> int:
    bits &= (1 << width) - 1
    if signed and bits >> (width - 1):
        bits -= 1 << width
    return bits


def raw_hex(raw: int, width: int) -> str:
    """The low ``width`` bits of ``raw`` as hex (the program reads 64-bit values)."""
    return format(raw & ((1 << min(width, 64)) - 1), "x")


def double_hex(v: float) -> str:
    return format(struct.unpack("<Q", struct.pack("<d", v))[0], "x")


def parse_raw(token: str, width: int, signed: bool) -> int:
    hi, lo = token.split(":")
    return sign_extend((int(hi, 16) << 64) | int(lo, 16), width, signed)


# ---------------------------------------------------------------------------------------------
# the program

_PRELUDE = r"""
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <ap_fixed.h>
#include <ap_int.h>
#include "hlsforge_fixed.h"
namespace hf = hlsforge;
typedef unsigned long long u64;
typedef unsigned __int128 u128;

static u64 rd() { u64 v = 0; if (scanf("%llx", &v) != 1) v = 0; return v; }
static void put128(u128 v) { printf(" %llx:%llx", (u64)(v >> 64), (u64)v); }
static void bar() { printf(" |"); }

// Raw bits of a Xilinx value (low W bits).
template <int W, class T> void ap_put(const T& x0) {
  T& x = const_cast<T&>(x0);
  if constexpr (W <= 64) {
    ap_uint<W> u = x.range(W - 1, 0);
    put128((u128)u.to_uint64());
  } else {
    ap_uint<64> lo = x.range(63, 0);
    ap_uint<W - 64> hi = x.range(W - 1, 64);
    put128(((u128)hi.to_uint64() << 64) | (u128)lo.to_uint64());
  }
}
// Raw bits of a hlsforge value (low W bits).
template <class T> void hf_put(const T& x) {
  const int W = T::width;
  u128 v = (u128)x.raw();
  if (W < 128) v &= (((u128)1) << (W % 128)) - 1;
  put128(v);
}
// A Xilinx / hlsforge value from its raw bits (W <= 64).
template <int W, class T> T ap_from(u64 bits) {
  T x; ap_uint<W> u = bits; x.range(W - 1, 0) = u; return x;
}
template <class T> T hf_from(u64 bits) { return T::from_raw((typename T::storage_t)bits); }
static double as_double(u64 b) { double d; memcpy(&d, &b, 8); return d; }
static u64 bits_of(double d) { u64 b; memcpy(&b, &d, 8); return b; }
static unsigned bits_of(float f) { unsigned b; memcpy(&b, &f, 4); return b; }

// d: construct from a double
template <class A, class H, int W> void k_double() {
  const double v = as_double(rd());
  A a = v; H h = v;
  ap_put<W>(a); bar(); hf_put(h);
}
// c: cast a raw value of one type into another
template <class SA, class SH, int SW, class DA, class DH, int DW> void k_cast() {
  const u64 r = rd();
  SA sa = ap_from<SW, SA>(r); SH sh = hf_from<SH>(r);
  DA da = sa; DH dh = sh;
  ap_put<DW>(da); bar(); hf_put(dh);
}
// integer bits of a result type (ap_int results have no iwidth: I = W)
template <class T, class = void> struct iw { static const int value = T::width; };
template <class T> struct iw<T, std::void_t<decltype(T::iwidth)> > { static const int value = T::iwidth; };
template <class A, class H> constexpr bool same_shape() {
  return A::width == H::width && iw<A>::value == iw<H>::value;
}
// a: exact arithmetic and comparisons
template <class AA, class AH, int AW, class BA, class BH, int BW> void k_arith() {
  const u64 ra = rd(), rb = rd();
  AA aa = ap_from<AW, AA>(ra); BA ba = ap_from<BW, BA>(rb);
  AH ah = hf_from<AH>(ra); BH bh = hf_from<BH>(rb);
  auto pa = aa * ba; auto sa = aa + ba; auto da = aa - ba;
  auto ph = ah * bh; auto sh = ah + bh; auto dh = ah - bh;
  static_assert(same_shape<decltype(pa), decltype(ph)>(), "mult type differs from ap_fixed's");
  static_assert(same_shape<decltype(sa), decltype(sh)>(), "plus type differs from ap_fixed's");
  static_assert(same_shape<decltype(da), decltype(dh)>(), "minus type differs from ap_fixed's");
  ap_put<decltype(pa)::width>(pa); ap_put<decltype(sa)::width>(sa); ap_put<decltype(da)::width>(da);
  printf(" %d%d%d%d%d%d", aa < ba, aa <= ba, aa > ba, aa >= ba, aa == ba, aa != ba);
  bar();
  hf_put(ph); hf_put(sh); hf_put(dh);
  printf(" %d%d%d%d%d%d", ah < bh, ah <= bh, ah > bh, ah >= bh, ah == bh, ah != bh);
}
// m: multiply-accumulate into a declared type: acc = acc + a*b (and acc2 += a*b), n steps
template <class AA, class AH, int AW, class BA, class BH, int BW, class CA, class CH, int CW> void k_mac() {
  const u64 init = rd(); const int n = (int)rd();
  CA ca = ap_from<CW, CA>(init), ca2 = ca; CH ch = hf_from<CH>(init), ch2 = ch;
  for (int i = 0; i < n; ++i) {
    const u64 ra = rd(), rb = rd();
    AA aa = ap_from<AW, AA>(ra); BA ba = ap_from<BW, BA>(rb);
    AH ah = hf_from<AH>(ra); BH bh = hf_from<BH>(rb);
    ca = ca + aa * ba; ca2 += aa * ba;
    ch = ch + ah * bh; ch2 += ah * bh;
  }
  ap_put<CW>(ca); ap_put<CW>(ca2); bar(); hf_put(ch); hf_put(ch2);
}
// u: unary minus, shifts, conversions to C types, comparisons with C constants
template <class A, class H, int W> void k_unary() {
  const u64 r = rd();
  A a = ap_from<W, A>(r); H h = hf_from<H>(r);
  const int k1 = W > 1 ? 1 : 0, k3 = W > 3 ? 3 : k1;
  auto na = -a; auto nh = -h;
  ap_put<W + 1>(na); ap_put<W>(a << k1); ap_put<W>(a << k3); ap_put<W>(a >> k1); ap_put<W>(a >> k3);
  printf(" %llx %x %llx %x", bits_of(a.to_double()), bits_of(a.to_float()), (u64)a.to_int64(), (unsigned)a.to_int());
  printf(" %d%d%d%d", a > 0, a == 0, a < 1, a >= -1);
  bar();
  hf_put(nh); hf_put(h << k1); hf_put(h << k3); hf_put(h >> k1); hf_put(h >> k3);
  printf(" %llx %x %llx %x", bits_of(h.to_double()), bits_of(h.to_float()), (u64)h.to_int64(), (unsigned)h.to_int());
  printf(" %d%d%d%d", h > 0, h == 0, h < 1, h >= -1);
}
"""

_KINDS = {"d": "k_double", "c": "k_cast", "a": "k_arith", "m": "k_mac", "u": "k_unary"}


def _targs(t: FixedType | IntType) -> str:
    return f"{ap_name(t)}, {hf_name(t)}, {t.width}"


@dataclass
class CaseProgram:
    """A C++ program answering cases for a fixed set of types (see module docstring)."""

    name: str
    entries: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in _KINDS})
    index: dict[tuple, int] = field(default_factory=dict)

    def _add(self, kind: str, key: tuple, targs: str) -> int:
        full = (kind, *key)
        if full not in self.index:
            self.index[full] = len(self.entries[kind])
            self.entries[kind].append(f"&{_KINDS[kind]}<{targs} >")
        return self.index[full]

    def from_double(self, t: FixedType | IntType) -> int:
        return self._add("d", (t,), _targs(t))

    def cast(self, src: FixedType | IntType, dst: FixedType | IntType) -> int:
        return self._add("c", (src, dst), f"{_targs(src)}, {_targs(dst)}")

    def arith(self, a: FixedType | IntType, b: FixedType | IntType) -> int:
        return self._add("a", (a, b), f"{_targs(a)}, {_targs(b)}")

    def mac(self, a: FixedType, b: FixedType, acc: FixedType) -> int:
        return self._add("m", (a, b, acc), f"{_targs(a)}, {_targs(b)}, {_targs(acc)}")

    def unary(self, t: FixedType | IntType) -> int:
        return self._add("u", (t,), _targs(t))

    def source(self) -> str:
        parts = [_PRELUDE, "typedef void (*kernel)();"]
        for kind, entries in self.entries.items():
            body = ",\n  ".join(entries) if entries else "nullptr"
            parts.append(f"static kernel table_{kind}[] = {{\n  {body}\n}};")
        parts.append(
            "int main() {\n"
            "  char kind; int idx;\n"
            "  while (scanf(\" %c %d\", &kind, &idx) == 2) {\n"
            "    switch (kind) {\n"
            + "".join(f"      case '{k}': table_{k}[idx](); break;\n" for k in _KINDS)
            + "      default: return 2;\n"
            "    }\n"
            "    printf(\"\\n\");\n"
            "  }\n"
            "  return 0;\n"
            "}\n"
        )
        return "\n".join(parts)

    def build(self) -> Path:
        return compile_executable(
            {f"{self.name}.cpp": self.source()},
            name=self.name,
            include_dirs=[find_ap_types_include(), hlsforge_include()],
            flags=["-O0", "-std=c++17", "-w", "-DNDEBUG"],
        )

    def run(self, lines: Sequence[str]) -> list[tuple[list[str], list[str]]]:
        """Feed case lines; return (ap tokens, hlsforge tokens) per case."""
        exe = self.build()
        proc = subprocess.run(
            [str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True,
            timeout=600, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{exe} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        out = proc.stdout.splitlines()
        if len(out) != len(lines):
            raise RuntimeError(f"{exe}: {len(lines)} cases in, {len(out)} lines out")
        result = []
        for line in out:
            ap, hf = line.split("|")
            result.append((ap.split(), hf.split()))
        return result


def build_all(programs: Sequence[CaseProgram], workers: int = 2) -> None:
    """Compile several programs in parallel (two cores: ap_fixed.h TUs are slow)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: p.build(), programs))


ALL_MODES = [(q, o) for q in Rounding for o in Overflow]
"""Every (rounding, overflow) pair: 7 x 4 = 28."""
