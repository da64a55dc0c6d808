#!/usr/bin/env python3
"""Independent reference values for tests/capacity.rs.

Nothing here shares code or method with src/capacity.rs:

* Erlang C is evaluated from the textbook closed form with exact factorials at 60 significant
  digits (mpmath), not with the Erlang B recursion the Rust code uses.
* Erlang A state probabilities come from the raw birth-death products at 60 digits (no
  rescaling, no Erlang B shortcut), cross-checked against the Garnett-Mandelbaum-Reiman (2002)
  formulas written with the lower incomplete gamma function.
* Erlang A waiting times: P(answered within t) by uniformization of the tagged customer's
  position chain, and the answered customers' mean wait by a convolution recursion; the Rust
  code uses the incomplete-beta identity and a harmonic-type sum instead.
* A discrete-event simulation of the FCFS M/M/c+M queue checks the definitions (what "service
  level" and "ASA" mean) within sampling error.

Run: python3 scripts/verify_capacity.py [--no-sim]   (needs mpmath; a few minutes with the
simulation, which is the slow part)
"""
import heapq
import math
import random
import sys

from mpmath import mp, mpf, factorial, exp, gammainc, fsum, e as E

mp.dps = 60


# ---------------------------------------------------------------------------------------------
# Erlang C, closed form with factorials.
def erlang_c(a, n):
    a = mpf(a)
    top = a**n / factorial(n) * n / (n - a)
    bottom = fsum(a**k / factorial(k) for k in range(n)) + top
    return top / bottom


def erlang_c_sl(lam, h, n, t):
    a = mpf(lam) * h
    return 1 - erlang_c(a, n) * exp(-(n - a) * mpf(t) / h)


def erlang_c_asa(lam, h, n):
    a = mpf(lam) * h
    return erlang_c(a, n) * h / (n - a)


def min_agents_c(lam, h, t, target):
    a = mpf(lam) * h
    n = int(math.floor(a)) + 1
    while erlang_c_sl(lam, h, n, t) < target:
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Erlang A, raw birth-death chain.
def erlang_a_chain(lam, h, patience, c, eps=mpf(10) ** -45):
    lam, mu, th = mpf(lam), 1 / mpf(h), 1 / mpf(patience)
    w = [mpf(1)]
    for n in range(1, c + 1):
        w.append(w[-1] * lam / (n * mu))
    j = 0
    while True:
        j += 1
        nxt = w[-1] * lam / (c * mu + j * th)
        w.append(nxt)
        if nxt < eps * max(w) and lam < c * mu + j * th:
            break
    z = fsum(w)
    pi = [x / z for x in w]
    return pi


def served_within_all(c, mu, th, jmax, t):
    """P(answered within t | j waiting ahead) for j = 0..jmax, by uniformization.

    The tagged customer's position (customers ahead) is a pure-death chain with killing: with k
    ahead it advances at rate c*mu + k*theta (a server frees up or someone ahead abandons; from
    k = 0 "advancing" means being answered) and abandons at rate theta. Uniformize at
    Lam = c*mu + (jmax + 1)*theta and iterate g_n(k) = P(answered within n jumps | k ahead);
    all terms are positive, so double precision would do; mpf keeps it comfortably exact.
    """
    lam_u = c * mu + (jmax + 1) * th
    t = mpf(t)
    g = [mpf(0)] * (jmax + 1)
    adv = [(c * mu + k * th) / lam_u for k in range(jmax + 1)]
    stay = [1 - (c * mu + (k + 1) * th) / lam_u for k in range(jmax + 1)]
    weight = exp(-lam_u * t)  # Poisson(lam_u * t) mass at n = 0
    mass = weight
    total = [mpf(0)] * (jmax + 1)  # sum_n Poisson(n) * g_n(k); g_0 = 0
    n = 0
    while 1 - mass > mpf(10) ** -30:
        n += 1
        g = [adv[k] * (g[k - 1] if k > 0 else 1) + stay[k] * g[k] for k in range(jmax + 1)]
        weight = weight * lam_u * t / n
        mass += weight
        total = [total[k] + weight * g[k] for k in range(jmax + 1)]
    return total


def hypo_served_within(c, mu, th, j, t):
    """Same quantity as served_within_all for one j, from the hypoexponential density.

    V has density sum_k C_k r_k e^{-r_k v} with C_k = prod_{m != k} r_m / (r_m - r_k), so
    P(V <= t, patience > V) = sum_k C_k r_k / (r_k + theta) (1 - e^{-(r_k + theta) t}). The
    partial fractions cancel catastrophically, so this is only used for short queues at high
    precision, as a cross-check of the uniformization.
    """
    old = mp.dps
    mp.dps = 60 + 3 * j
    rates = [c * mu + k * th for k in range(j + 1)]
    total = mpf(0)
    for k, rk in enumerate(rates):
        ck = mpf(1)
        for m, rm in enumerate(rates):
            if m != k:
                ck *= rm / (rm - rk)
        total += ck * rk / (rk + th) * (1 - exp(-(rk + th) * t))
    mp.dps = old
    return +total


def wait_answered_all(c, mu, th, jmax):
    """E[offered wait * 1{answered} | j ahead], j = 0..jmax, by convolution.

    V_j = X_j + V_{j-1} with X_j ~ Exp(r_j), r_j = c*mu + j*theta, independent; with
    L_j = E[exp(-theta V_j)] and m_j = E[V_j exp(-theta V_j)]:
    m_j = E[X e^{-theta X}] L_{j-1} + E[e^{-theta X}] m_{j-1}.
    """
    out = []
    big_l, m = mpf(1), mpf(0)
    for j in range(jmax + 1):
        r = c * mu + j * th
        m = r / (r + th) ** 2 * big_l + r / (r + th) * m
        big_l = big_l * r / (r + th)
        out.append(m)
    return out


def erlang_a(lam, h, patience, c, t):
    pi = erlang_a_chain(lam, h, patience, c)
    lam_, mu, th = mpf(lam), 1 / mpf(h), 1 / mpf(patience)
    tail = pi[c:]
    p_wait = fsum(tail)
    eq = fsum(j * p for j, p in enumerate(tail))
    p_ab = th * eq / lam_
    avg_wait = eq / lam_
    jmax = max([j for j, p in enumerate(tail) if p > mpf(10) ** -35] + [0])
    within = served_within_all(c, mu, th, jmax, t)
    waits = wait_answered_all(c, mu, th, jmax)
    served_fast = fsum(pi[:c]) + fsum(tail[j] * within[j] for j in range(jmax + 1))
    wait_served = fsum(tail[j] * waits[j] for j in range(jmax + 1))
    asa = wait_served / (1 - p_ab)
    return dict(p_wait=p_wait, p_ab=p_ab, sl=served_fast, sl_answered=served_fast / (1 - p_ab),
                avg_wait=avg_wait, asa=asa, occupancy=lam_ * (1 - p_ab) / (c * mu))


def gmr_p_wait_p_ab(lam, h, patience, c):
    """Garnett, Mandelbaum & Reiman (2002), section 3: A(x,y) = x e^y y^-x gamma(x,y)."""
    lam, mu, th = mpf(lam), 1 / mpf(h), 1 / mpf(patience)
    x, y = c * mu / th, lam / th
    a_xy = x * exp(y) * y ** (-x) * gammainc(x, 0, y)
    # Erlang B from its definition.
    load = lam / mu
    b = (load**c / factorial(c)) / fsum(load**k / factorial(k) for k in range(c + 1))
    p_wait = a_xy * b / (1 + (a_xy - 1) * b)
    rho = lam / (c * mu)
    p_ab_given_wait = 1 / (rho * a_xy) + 1 - 1 / rho
    return p_wait, p_wait * p_ab_given_wait


def simulate(lam, h, patience, c, t, customers, seed):
    """FCFS M/M/c+M discrete-event simulation; returns the same measures, roughly."""
    rnd = random.Random(seed)
    busy = []  # completion times
    queue = []  # (arrival, deadline), FCFS
    qhead = 0
    now = 0.0
    warm = customers // 10
    stats = []

    def record(idx, kind, wait):
        if idx >= warm:
            stats.append((kind, wait))

    for i in range(customers):
        now += rnd.expovariate(lam)
        while busy and busy[0] <= now:
            s = heapq.heappop(busy)
            while qhead < len(queue):
                arr, dl, idx = queue[qhead]
                qhead += 1
                if dl > s:
                    record(idx, "served", s - arr)
                    heapq.heappush(busy, s + rnd.expovariate(1 / h))
                    break
                record(idx, "abandoned", dl - arr)
        if len(busy) < c:
            record(i, "served", 0.0)
            heapq.heappush(busy, now + rnd.expovariate(1 / h))
        else:
            queue.append((now, now + rnd.expovariate(1 / patience), i))
    n = len(stats)
    p_wait = sum(1 for k, w in stats if not (k == "served" and w == 0.0)) / n
    p_ab = sum(1 for k, _ in stats if k == "abandoned") / n
    sl = sum(1 for k, w in stats if k == "served" and w <= t) / n
    served_waits = [w for k, w in stats if k == "served"]
    asa = sum(served_waits) / len(served_waits)
    avg_wait = sum(w for _, w in stats) / n
    return dict(p_wait=p_wait, p_ab=p_ab, sl=sl, asa=asa, avg_wait=avg_wait)


def erlang_b(a, n):
    a = mpf(a)
    return (a**n / factorial(n)) / fsum(a**k / factorial(k) for k in range(n + 1))


def min_agents(lam, h, k, t, target, patience=None):
    """Smallest agent count whose k*agents servers meet the target (linear scan upwards)."""
    def sl(agents):
        if agents == 0:
            return mpf(0)
        if patience is None:
            if agents * k <= mpf(lam) * h:
                return mpf(0)
            return erlang_c_sl(lam, h, agents * k, t)
        return erlang_a(lam, h, patience, agents * k, t)["sl"]

    # Bisection between a count that fails and one that meets; SL increases with servers.
    # Erlang C needs k*agents > A; Erlang A needs k*agents >= target*A (service level <=
    # answered share <= servers / A). Both neighbours of the answer are evaluated below.
    a = mpf(lam) * h
    lo = max(0, int(math.floor(target * a / k)) - 1)
    hi = lo + 1
    while sl(hi) < target:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sl(mid) < target:
            lo = mid
        else:
            hi = mid
    agents = hi
    return agents, sl(agents - 1), sl(agents)


def show(label, value):
    print(f"{label:<60} {mp.nstr(value, 15)}")


def main():
    print("== Erlang C, exact factorial form ==")
    show("C(A=10, N=11)  [Call Centre Helper worked example]", erlang_c(10, 11))
    show("C(A=2, N=3)    [= 4/9]", erlang_c(2, 3))
    # Call Centre Helper example: 100 calls / 30 min, AHT 180 s, 80% in 20 s.
    lam, h = mpf(100) / 1800, 180
    for n in range(11, 16):
        show(f"  CCH SL(N={n}, t=20)", erlang_c_sl(lam, h, n, 20))
        show(f"  CCH ASA(N={n})", erlang_c_asa(lam, h, n))
    print("  CCH min agents for 80% in 20 s:", min_agents_c(lam, h, 20, mpf("0.8")))
    # 360 calls / hour, AHT 240 s -> 24 E, 80% in 20 s.
    lam, h = mpf(360) / 3600, 240
    for n in range(25, 32):
        show(f"  24E SL(N={n}, t=20)", erlang_c_sl(lam, h, n, 20))
    print("  24E min agents for 80% in 20 s:", min_agents_c(lam, h, 20, mpf("0.8")))
    # Mitan / erlang.com example: 360 calls / 30 min, 4 min calls, 55 agents, 15 s.
    lam, h = mpf(360) / 1800, 240
    show("  48E C(N=55)", erlang_c(48, 55))
    show("  48E SL(N=55, t=15)", erlang_c_sl(lam, h, 55, 15))
    show("  48E ASA(N=55)", erlang_c_asa(lam, h, 55))
    show("  Erlang B(A=10, N=10)", erlang_b(10, 10))
    print("== Erlang C, large systems ==")
    for a, n in [(1000, 1030), (1000, 1050), (5000, 5100), (250.5, 260)]:
        show(f"  C(A={a}, N={n})", erlang_c(a, n))

    print("== Erlang A ==")
    cases = [
        # lam/s, AHT s, patience s, servers, t s
        (0.05, 240, 120, 12, 60),
        (0.05, 240, 120, 10, 60),
        (0.05, 240, 120, 14, 60),
        (1.0, 180, 60, 150, 20),  # 20% overloaded: rho = 1.2
        (0.5, 300, 300, 150, 60),
    ]
    for case in cases:
        r = erlang_a(*case)
        gw, ga = gmr_p_wait_p_ab(*case[:4])
        print(f" case lam={case[0]} h={case[1]} patience={case[2]} c={case[3]} t={case[4]}")
        for k, v in r.items():
            show(f"   {k}", v)
        show("   GMR p_wait (incomplete gamma)", gw)
        show("   GMR p_ab   (incomplete gamma)", ga)
        assert abs(gw - r["p_wait"]) < mpf(10) ** -30, "chain and GMR disagree on P(wait)"
        assert abs(ga - r["p_ab"]) < mpf(10) ** -30, "chain and GMR disagree on P(ab)"
        if case[3] <= 20:  # short queues: also check the uniformization per j
            lam, h, patience, c, t = case
            mu, th = 1 / mpf(h), 1 / mpf(patience)
            uni = served_within_all(c, mu, th, 30, t)
            worst = max(abs(uni[j] - hypo_served_within(c, mu, th, j, t)) for j in range(31))
            show("   max |uniformization - partial fractions|, j <= 30", worst)
            assert worst < mpf(10) ** -20

    print("== Erlang A with theta = mu is M/M/inf: N ~ Poisson(A) ==")
    lam, h, c = mpf(2) / 10, 50, 12  # A = 10
    a = lam * h
    r = erlang_a(lam, h, h, c, 30)
    pois_tail = 1 - fsum(exp(-a) * a**k / factorial(k) for k in range(c))
    mean_excess = fsum((k - c) * exp(-a) * a**k / factorial(k) for k in range(c, 400))
    show("  P(wait) chain", r["p_wait"])
    show("  P(Poisson(10) >= 12)", pois_tail)
    show("  P(ab) chain", r["p_ab"])
    show("  E[(N-12)+]/A", mean_excess / a)

    print("== Erlang A -> Erlang C as patience -> inf (A=10, N=12, t=20, h=100) ==")
    # Only the chain here: the partial fractions need thousands of digits once theta is tiny.
    for patience in [1e3, 1e5, 1e7]:
        pi = erlang_a_chain(0.1, 100, patience, 12)
        show(f"  patience {patience:g}: P(wait)", fsum(pi[12:]))
    show("  Erlang C P(wait)", erlang_c(10, 12))

    print("== Singles' Day style recommendations (concurrency 3) ==")
    configs = [
        ("VIP, Erlang C", (mpf("0.2"), 300, 3, 60, mpf("0.9"), None)),
        ("VIP, Erlang A", (mpf("0.2"), 300, 3, 60, mpf("0.9"), 120)),
        ("standard, Erlang C", (mpf(2), 360, 3, 180, mpf("0.8"), None)),
        ("standard, Erlang A", (mpf(2), 360, 3, 180, mpf("0.8"), 300)),
    ]
    for label, cfg in configs:
        agents, below, at = min_agents(*cfg)
        print(f"  {label}: {agents} agents; SL with one fewer {mp.nstr(below, 12)}, "
              f"with {agents} {mp.nstr(at, 12)}")

    if "--no-sim" in sys.argv:
        return
    print("== Simulation check of the definitions (sampling error ~ 1e-3) ==")
    for case, customers in [((0.05, 240, 120, 12, 60), 1_500_000), ((1.0, 180, 60, 150, 20), 400_000)]:
        sim = simulate(*case, customers=customers, seed=7)
        exact = erlang_a(*case)
        for k in sim:
            print(f"   {k:<10} sim {sim[k]:.5f}   exact {mp.nstr(exact[k], 8)}")


if __name__ == "__main__":
    main()
