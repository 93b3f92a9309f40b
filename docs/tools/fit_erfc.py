#!/usr/bin/env python3
"""Fits the polynomial of mtlora-core's VectorErfc (float32 erfc on the JDK's vector API) and prints its coefficients.

For a >= 0 and t = 2 / (2 + a), erfc(a) = t * exp(P(u) - a^2), where u = (2t - (1 + tmin)) / (1 - tmin) maps
t in [tmin, 1] to [-1, 1] and tmin = 2 / (2 + 10) (erfc(10) is float32's smallest value; the kernel caps a at 10.5,
where erfc rounds to 0). P is the Chebyshev least-squares fit of ln(erfc(a) / t) + a^2 at 600 Chebyshev nodes, written out in powers of
u and rounded to float32. Prints the coefficients (u^0 first) and the largest error of P with those float32
coefficients on a fine grid, which is also the largest relative error it contributes to erfc.

Usage: python3 docs/tools/fit_erfc.py [degree]   (numpy; the kernel uses degree 10)
"""
import math
import sys

import numpy as np
from numpy.polynomial import chebyshev

A_MAX = 10.0
T_MIN = 2.0 / (2.0 + A_MAX)


def target(t):
    a = 2.0 / t - 2.0
    return math.log(math.erfc(a) / t) + a * a


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    n = 600
    nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    ts = (nodes + 1.0) / 2.0 * (1.0 - T_MIN) + T_MIN
    cheb = chebyshev.chebfit(nodes, np.array([target(t) for t in ts]), degree)
    power = np.float32(chebyshev.cheb2poly(cheb)).astype(np.float64)
    grid = np.linspace(T_MIN, 1.0, 20001)
    us = (2.0 * grid - (1.0 + T_MIN)) / (1.0 - T_MIN)
    err = np.max(np.abs(np.polyval(power[::-1], us) - np.array([target(t) for t in grid])))
    print("coefficients (u^0 first), float32:")
    for c in power:
        print(f"  {float(np.float32(c))!r}f,")
    print(f"largest error of P on [{T_MIN:.4f}, 1]: {err:.3g}")


if __name__ == "__main__":
    main()
