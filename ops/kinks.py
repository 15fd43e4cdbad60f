"""Numeric slopes and kinks of a function of one variable, found by measurement.

Everything here works on a *batched* function ``f(t) -> values``: a 1-D float64 tensor
of points in, one value per point out, ``nan`` where the function has no value. Every
step evaluates ``f`` once for a whole batch of points, so the cost in Python calls does
not grow with the number of samples.

Kinks and jumps are not looked up in a table of known breakpoints: candidates are the
sample intervals whose measured slopes behave unlike a smooth function's, each is
narrowed by bisection on one-sided slopes (16 parts a round, all candidates together
in one batch),
snapped to the simplest decimal inside the final bracket (so ``abs`` gives exactly
``0.0`` and ``floor`` exactly ``1.0``), and kept only if the one-sided differences there
still disagree when the step shrinks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gradtui.ops import timebound
from gradtui.ops.results import Kink

Batched = Callable[[torch.Tensor], torch.Tensor]

EPS = torch.finfo(torch.float64).eps
#: Relative step of the central difference: eps**(1/3) balances truncation against roundoff.
H_REL = EPS ** (1.0 / 3.0)
#: How far a measured slope may stray from a smooth prediction before it is a candidate.
CANDIDATE_RTOL = 1e-3
#: ... or from what its neighbours' change in slope predicts, relative to that change.
CURVATURE_RTOL = 0.1
#: Candidates beyond this many (the most anomalous kept) would only repeat the story.
MAX_CANDIDATES = 512
#: Bisection stops when a bracket is this narrow relative to ``max(1, |x|)``.
BRACKET_RTOL = 1e-11
MAX_ROUNDS = 24
#: Parts a bracket is cut into each round (16: about 10 rounds from a sample step to 1e-11).
SECTIONS = 16


def steps(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The points ``x - h`` and ``x + h`` for central differences.

    ``h`` is relative (``eps**(1/3) * max(1, |x|)``); callers divide by the differences
    of the returned points, not by ``h``, so rounding of ``x ± h`` cancels.
    """
    h = H_REL * x.abs().clamp(min=1.0)
    return x - h, x + h


def one_sided(
    x: torch.Tensor,
    xm: torch.Tensor,
    xp: torch.Tensor,
    fx: torch.Tensor,
    fm: torch.Tensor,
    fp: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left slope, right slope and central difference from ``f`` at ``x-h, x, x+h``.

    Any slope built from a non-finite value is ``nan``: the check skips gaps.
    """
    left = (fx - fm) / (x - xm)
    right = (fp - fx) / (xp - x)
    central = (fp - fm) / (xp - xm)
    nan = torch.tensor(float("nan"), dtype=x.dtype)
    ok_l = torch.isfinite(fx) & torch.isfinite(fm)
    ok_r = torch.isfinite(fx) & torch.isfinite(fp)
    left = torch.where(ok_l & torch.isfinite(left), left, nan)
    right = torch.where(ok_r & torch.isfinite(right), right, nan)
    central = torch.where(
        torch.isfinite(fm) & torch.isfinite(fp) & torch.isfinite(central), central, nan
    )
    return left, right, central


def _neighbour_prediction(d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each interval, ``d`` predicted from its neighbours, and their size.

    Inside: the mean of the two neighbours (first-order errors cancel). At an end, or
    next to a gap: linear extrapolation from the two intervals on the finite side.
    The size (``|prev| + |next|``) is the local scale of the change itself.
    """
    nan = torch.full((2,), float("nan"), dtype=d.dtype)
    padded = torch.cat([nan, d, nan])
    prev2, prev, nxt, nxt2 = padded[:-4], padded[1:-3], padded[3:-1], padded[4:]
    fin = torch.isfinite
    zero = torch.zeros((), dtype=d.dtype)
    pred = torch.where(fin(nxt), nxt, torch.where(fin(prev), prev, zero))
    pred = torch.where(fin(prev) & fin(prev2), 2 * prev - prev2, pred)
    pred = torch.where(fin(nxt) & fin(nxt2), 2 * nxt - nxt2, pred)
    pred = torch.where(fin(prev) & fin(nxt), 0.5 * (prev + nxt), pred)
    size = prev.abs().nan_to_num(nan=0.0) + nxt.abs().nan_to_num(nan=0.0)
    return pred, size


def candidates(
    x: torch.Tensor,
    fx: torch.Tensor,
    left: torch.Tensor,
    right: torch.Tensor,
) -> torch.Tensor:
    """Indices ``i`` of sample intervals ``[x[i], x[i+1]]`` that may hold a kink or a jump.

    Two measured tests, each cheap and vectorised; false alarms are weeded out later.

    * Derivative change: the outside slopes ``right[i+1] - left[i]`` of a smooth function
      change like their neighbours do (about ``f'' * dx``); a kink adds its jump in slope
      to one interval only (or to two, when it sits on a sample).
    * Trapezoid: a smooth function's secant over the interval is close to the mean of
      the end slopes; a jump in value (or a kink off-centre) pulls it away.
    """
    if x.numel() < 2:
        return torch.zeros(0, dtype=torch.long)
    a, b = x[:-1], x[1:]
    fa, fb = fx[:-1], fx[1:]
    g_left, g_right = left[:-1], right[1:]
    secant = (fb - fa) / (b - a)
    change = g_right - g_left
    predicted, curvature = _neighbour_prediction(change)
    anomaly = (change - predicted).abs()
    trapezoid = (secant - 0.5 * (g_left + g_right)).abs()
    slope_scale = torch.stack([left.abs(), right.abs()]).nan_to_num(nan=0.0).max()
    # roundoff in a one-sided slope is about eps*|f|/h; allow a generous multiple of it
    h = H_REL * a.abs().clamp(min=1.0)
    noise = 64 * EPS * (fa.abs() + fb.abs() + 1.0) / h
    tol = (
        CANDIDATE_RTOL * (g_left.abs() + g_right.abs() + secant.abs())
        + CURVATURE_RTOL * curvature
        + 1e-6 * (1.0 + slope_scale)
        + noise
    )
    finite = (
        torch.isfinite(fa) & torch.isfinite(fb) & torch.isfinite(g_left) & torch.isfinite(g_right)
    )
    score = torch.maximum(anomaly, trapezoid) / tol
    score = torch.where(finite, score, torch.zeros((), dtype=x.dtype))
    idx = torch.nonzero(score > 1.0).flatten()
    if idx.numel() > MAX_CANDIDATES:
        keep = torch.topk(score[idx], MAX_CANDIDATES).indices
        idx = idx[keep].sort().values
    return idx


def _narrow(
    f: Batched,
    a: torch.Tensor,
    b: torch.Tensor,
    fa: torch.Tensor,
    fb: torch.Tensor,
    g_left: torch.Tensor,
    g_right: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Narrow every bracket ``[a, b]`` around its kink, all brackets in one batch a round.

    Bisection generalised to :data:`SECTIONS` parts a round (fewer rounds, same idea).
    Each round measures ``f`` at the inner cut points ``p`` and at ``p ± h``, ``p ± 2h``
    (``h`` a small fraction of a part), scores every part by how unlike a smooth piece it
    looks (the change between the slopes just outside its ends, plus the trapezoid test:
    its secant against the mean of those slopes) and keeps the worst part, widened by
    ``h`` at each inner end: a jump just beside a cut point spoils the slope measured
    across it, which can point at the neighbouring part, and the margin keeps it inside.

    Invariant: ``g_left`` is the slope just left of ``a`` and ``g_right`` just right of
    ``b`` (outside the bracket), so a kink sitting on an end of the bracket still shows.
    """
    k = SECTIONS
    frac = torch.arange(k + 1, dtype=a.dtype) / k
    rows = torch.arange(a.shape[0])
    for _ in range(MAX_ROUNDS):
        width = b - a
        active = width > BRACKET_RTOL * torch.maximum(a.abs(), b.abs()).clamp(min=1.0)
        if not bool(active.any()):
            break
        p = a[:, None] + width[:, None] * frac
        p[:, 0], p[:, -1] = a, b
        inner = p[:, 1:-1]
        h = (width / (16 * k))[:, None]
        offsets = (inner, inner - h, inner + h, inner - 2 * h, inner + 2 * h)
        vals = f(torch.cat([o.flatten() for o in offsets])).reshape(5, *inner.shape)
        f_in, f_m1, f_p1, f_m2, f_p2 = vals
        _, p_m1, p_p1, p_m2, p_p2 = offsets
        s_left = (f_in - f_m1) / (inner - p_m1)  # slope just left of each cut point
        s_right = (f_p1 - f_in) / (p_p1 - inner)  # ... and just right of it
        fp = torch.cat([fa[:, None], f_in, fb[:, None]], 1)
        out_left = torch.cat([g_left[:, None], s_left], 1)  # slope just left of each part
        out_right = torch.cat([s_right, g_right[:, None]], 1)  # slope just right of it
        secant = (fp[:, 1:] - fp[:, :-1]) / (p[:, 1:] - p[:, :-1])
        score = (out_right - out_left).abs() + (secant - 0.5 * (out_left + out_right)).abs()
        j = score.nan_to_num(nan=-1.0).argmax(1)
        # the chosen part, widened by h at inner ends, with slopes just outside the margin
        lo_i = (j - 1).clamp(min=0)
        hi_i = j.clamp(max=k - 2)
        first, last = j == 0, j == k - 1
        new_a = torch.where(first, a, p_m1[rows, lo_i])
        new_fa = torch.where(first, fa, f_m1[rows, lo_i])
        new_gl = torch.where(first, g_left, (f_m1 - f_m2)[rows, lo_i] / (p_m1 - p_m2)[rows, lo_i])
        new_b = torch.where(last, b, p_p1[rows, hi_i])
        new_fb = torch.where(last, fb, f_p1[rows, hi_i])
        new_gr = torch.where(last, g_right, (f_p2 - f_p1)[rows, hi_i] / (p_p2 - p_p1)[rows, hi_i])
        a = torch.where(active, new_a, a)
        b = torch.where(active, new_b, b)
        fa = torch.where(active, new_fa, fa)
        fb = torch.where(active, new_fb, fb)
        g_left = torch.where(active, new_gl, g_left)
        g_right = torch.where(active, new_gr, g_right)
    return a, b


def simplest_in(lo: float, hi: float) -> float:
    """The number with the fewest decimal digits in ``[lo, hi]`` (its midpoint if none).

    Breakpoints people type (``0``, ``1``, ``-0.5``, a clamp bound of ``0.3``) are short
    decimals; bisection lands within ~1e-11 of them, and this puts the kink exactly there,
    where torch's own convention for the derivative applies.
    """
    if lo <= 0.0 <= hi:
        return 0.0
    mid = 0.5 * (lo + hi)
    for digits in range(-20, 18):
        c = round(mid, digits)
        if lo <= c <= hi:
            return float(c)
    return mid


def find_kinks(
    f: Batched,
    df_at: Callable[[torch.Tensor], torch.Tensor] | None,
    x: torch.Tensor,
    fx: torch.Tensor,
    left: torch.Tensor,
    right: torch.Tensor,
) -> tuple[Kink, ...]:
    """Kinks and jumps of ``f`` over the sampled range, each with torch's derivative there.

    Args:
        f: The batched function (no grad needed), ``nan`` where it has no value.
        df_at: The autograd derivative at a batch of points (one backward for all);
            ``None`` when the output has no ``grad_fn``.
        x, fx: The samples and ``f`` there.
        left, right: One-sided slopes at the samples (see :func:`one_sided`).

    Returns:
        Corners, cusps and jumps sorted by ``x``, within ``[x[0], x[-1]]``, as
        :func:`classify` tells them apart.
    """
    idx = candidates(x, fx, left, right)
    if idx.numel() == 0:
        return ()
    a, b = _narrow(f, x[idx], x[idx + 1], fx[idx], fx[idx + 1], left[idx], right[idx + 1])
    lo, hi = float(x[0]), float(x[-1])
    found: list[float] = []
    for ai, bi in zip(a.tolist(), b.tolist(), strict=True):
        slack = max(bi - ai, 1e-12 * max(1.0, abs(ai), abs(bi)))
        c = simplest_in(ai - slack, bi + slack)
        if lo <= c <= hi:
            found.append(c)
    if not found:
        return ()
    xs = torch.tensor(sorted(set(found)), dtype=torch.float64)
    finite = fx[torch.isfinite(fx)]
    bounds = None
    if finite.numel():
        lo_f, hi_f = float(finite.min()), float(finite.max())
        margin = 10.0 * (hi_f - lo_f + max(abs(lo_f), abs(hi_f))) + 1.0
        bounds = (lo_f - margin, hi_f + margin)
    return classify(f, df_at, xs, bounds)


def _each(f: Batched, *points: torch.Tensor) -> list[torch.Tensor]:
    """``f`` at each batch of points, one call a batch (each the length of the first).

    One call a batch rather than one call for all of them: a front that hands in an
    elementwise op on a tensor of fixed shape (the grad report's notes) can only take
    batches of that length.
    """
    out = []
    for p in points:
        timebound.check()  # a step boundary: an abandoned computation stops here
        out.append(f(p))
    return out


def screen(
    f: Batched, xs: torch.Tensor, f0: torch.Tensor, bounds: tuple[float, float] | None = None
) -> torch.Tensor:
    """Which points betray a kink, a cusp or a jump in their one-sided differences.

    At such a point the left/right disagreement stays (or grows) when the step shrinks
    16-fold, and at a jump a one-sided difference grows like ``1/h``; for a smooth but
    steep function both shrink or stay put. Near a pole (``1/x``) the values run far
    outside what the samples showed (``bounds``); that is no kink, and it is dropped.
    """
    xm1, xp1 = steps(xs)
    h2 = H_REL / 16 * xs.abs().clamp(min=1.0)
    xm2, xp2 = xs - h2, xs + h2
    fm1, fp1, fm2, fp2 = _each(f, xm1, xp1, xm2, xp2)
    l1, r1, _ = one_sided(xs, xm1, xp1, f0, fm1, fp1)
    l2, r2, _ = one_sided(xs, xm2, xp2, f0, fm2, fp2)
    d1 = (r1 - l1).abs()
    d2 = (r2 - l2).abs()
    noise = 256 * EPS * (f0.abs() + 1.0) / (xp2 - xs)
    tol = 1e-6 * (1.0 + l1.abs() + r1.abs()) + noise
    kink = (d2 > 0.5 * d1) & (d2 > tol)
    # a jump where both sides step the same way (sign at 0) has equal one-sided
    # differences, but they grow like 1/h as the step shrinks
    # (and a vertical tangent, sign(x) * sqrt(|x|), grows 4x on both sides)
    jump = ((l2.abs() > 2 * l1.abs()) & (l2.abs() > tol)) | (
        (r2.abs() > 2 * r1.abs()) & (r2.abs() > tol)
    )
    finite = torch.isfinite(d1) & torch.isfinite(d2)
    if bounds is not None:
        near = torch.stack([f0, fm1, fp1, fm2, fp2])
        finite &= ((near >= bounds[0]) & (near <= bounds[1])).all(0)
    return finite & (kink | jump)


#: Most halvings of a bracket in the continuity test (from ~6e-6 wide to float64's
#: spacing near 1 takes about 35).
CONTINUITY_ROUNDS = 60
#: How many halvings back the change across the bracket is compared with (2**20: a
#: Lipschitz function's change shrinks a million-fold over them, sqrt's a thousand-fold,
#: a jump's not at all).
CONTINUITY_LOOKBACK = 20


def _continuity(f: Batched, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Settle, by bisection in float64, whether ``f`` jumps at each point.

    Each point starts in a bracket ``[x - h, x + h]``. Every round halves every bracket
    and keeps the half across which ``f`` changes more, until the bracket is as narrow as
    float64 allows near it (or :data:`CONTINUITY_ROUNDS` are spent). A continuous ``f``
    changes less and less across a shrinking bracket (``tanh(50 x)`` by about
    ``50 * width``, ``sqrt(|x|)`` by ``sqrt(width)``); across a jump the change stays the
    jump's size. So ``f`` jumps where the change across the final bracket is at least
    half the change :data:`CONTINUITY_LOOKBACK` halvings earlier, and above float64's
    rounding of the values. No plotting grid is involved.

    Returns:
        ``(jumps, steep, lo, hi)``: which points jump, which have a change that shrank
        slower than any finite slope allows (jumps and cusps; ``tanh(1e7 x)`` is not
        one), and the final brackets' ends (around the jump, or the cusp, where f
        changes fastest).
    """
    h = H_REL * xs.abs().clamp(min=1.0)
    a, b = xs - h, xs + h
    fa, fb = _each(f, a, b)
    gaps = [(fb - fa).abs()]
    wide = gaps[0]
    live = torch.ones(xs.shape, dtype=torch.bool)
    for r in range(1, CONTINUITY_ROUNDS + 1):
        m = 0.5 * (a + b)
        live &= (m > a) & (m < b) & ((b - a) > EPS * torch.maximum(a.abs(), b.abs()).clamp(min=1))
        if not bool(live.any()):
            break
        (fm,) = _each(f, m)
        go_left = ((fm - fa).abs() >= (fb - fm).abs()) | ~torch.isfinite(fb - fm)
        a = torch.where(live & ~go_left, m, a)
        b = torch.where(live & go_left, m, b)
        fa = torch.where(live & ~go_left, fm, fa)
        fb = torch.where(live & go_left, fm, fb)
        gaps.append(torch.where(live, (fb - fa).abs(), gaps[-1]))
        # compared where each bracket stopped, not at a fixed round
        wide = torch.where(live, gaps[max(0, r - CONTINUITY_LOOKBACK)], wide)
    final = (fb - fa).abs()
    smooth = final < 0.5 * wide
    rounding = 64 * EPS * torch.maximum(fa.abs(), fb.abs())
    above = torch.isfinite(final) & (final > rounding) & (final > 0)
    jumps = ~smooth & above
    # a change that shrank less than a Lipschitz function's would (2**-20 over the
    # lookback; sqrt's is 2**-10): f is steeper than any finite slope there
    steep = above & (final > wide * 2.0**-19)
    return jumps, steep, a, b


def _tidy(values: torch.Tensor) -> torch.Tensor:
    """Round measured values to 12 significant digits (so ``-1 + 4e-16`` reads ``-1``)."""
    out = values.clone()
    finite = torch.isfinite(out) & (out != 0)
    mags = torch.floor(torch.log10(out[finite].abs()))
    scale = torch.pow(10.0, 11 - mags)
    out[finite] = torch.round(out[finite] * scale) / scale
    return out


def _to_multiple(values: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``values`` rounded to the power of ten just above ``noise`` (their last true digit)."""
    q = torch.pow(10.0, torch.ceil(torch.log10(noise.clamp(min=1e-300))))
    return torch.where(torch.isfinite(values), torch.round(values / q) * q, values)


def _limits(f: Batched, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``f``'s one-sided limits at each point, or a signed infinity where f runs away.

    ``f`` is measured at ``x -/+ d`` for ``d`` about 1e-6, 1e-9 and 1e-12 (relative).
    Where the values settle (each change under half the one before, up to float64
    rounding), the limit is the closest value extrapolated linearly to ``d = 0`` and
    rounded to the size of the last change, so ``x + (x > 0)`` gives ``0`` and ``1``,
    not ``1e-12``. Where they grow in size by as much or more each time (``log`` at 0:
    by ``log(1000)``), f has no finite limit on that side: ``-inf`` or ``+inf``.
    Anything else is ``nan``: not settled, and not stated.
    """
    scale = xs.abs().clamp(min=1.0)
    ds = [2.0**-20 * scale, 2.0**-30 * scale, 2.0**-40 * scale]
    out = []
    for side in (-1.0, 1.0):
        v1, v2, v3 = _each(f, *(xs + side * d for d in ds))
        step1, step2 = v2 - v1, v3 - v2
        noise = 64 * EPS * (v2.abs() + v3.abs())
        runs = (step2.abs() > 0.5 * step1.abs()) & (step2.abs() > noise)
        nan = torch.tensor(float("nan"), dtype=xs.dtype)
        # runs away only if it grows in size, the same way each time (log at 0); a side
        # that changes as much but shrinks (|x|**0.01 at 0) has a limit we cannot settle
        away = (
            (torch.sign(step1) == torch.sign(step2))
            & (v3.abs() > v2.abs())
            & (v2.abs() > v1.abs())
            & (step2.abs() >= step1.abs())
        )
        heading = torch.where(away, torch.sign(step2) * float("inf"), nan)
        settled = v3 + step2 * (ds[2] / (ds[1] - ds[2]))
        # the limit is known to about the last change (sqrt's side leaves 1e-6 at
        # d = 1e-12): the digits below that are the step's, not f's
        settled = _tidy(_to_multiple(settled, 10 * step2.abs() + noise))
        out.append(torch.where(runs, heading, settled))
    return out[0], out[1]


def _slopes(f: Batched, xs: torch.Tensor, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The one-sided slopes at each point: finite (extrapolated), or a signed infinity.

    The one-sided difference quotient is measured at steps ``h``, ``h/16`` and ``h/256``.
    Where it grows in size at every step, faster each time (``sqrt(|x|)`` at 0 by 4x a
    step), the slope on that side is infinite, with the sign it grows with. Otherwise it
    converges, and Richardson's extrapolation of the two larger steps (error ``O(h^2)``)
    is the slope, so ``abs`` reads exactly ``-1`` and ``+1`` and a curved side of a
    corner is not biased by the step; it must agree with the extrapolation of the two
    smaller steps, or the slope is ``nan`` (not measured). A slope that depends on the
    step size is never returned as a number.
    """
    h1 = H_REL * xs.abs().clamp(min=1.0)
    hs = (h1, h1 / 16, h1 / 256)
    out = []
    for side in (-1.0, 1.0):
        pts = [xs + side * h for h in hs]
        vals = _each(f, *pts)
        r = [(v - f0) / (p - xs) for v, p in zip(vals, pts, strict=True)]
        grow = (r[1].abs() > r[0].abs()) & (r[2].abs() > r[1].abs())
        faster = (r[2] - r[1]).abs() > (r[1] - r[0]).abs()
        big = (r[2] - r[1]).abs() > 1e-3 * (1.0 + r[1].abs())
        infinite = grow & faster & big & (torch.sign(r[2]) == torch.sign(r[1]))
        # float64 rounding of f blurs a quotient over h/16 by about eps*|f|/(h/16):
        # digits below that are noise, and are not printed as if they were measured
        noise = 64 * EPS * (f0.abs() + vals[1].abs() + 1.0) / hs[1]
        coarse = (16 * r[1] - r[0]) / 15
        fine = (16 * r[2] - r[1]) / 15
        # the two extrapolations agree only where the quotient has converged; where they
        # do not (1 / log(h) heads to 0 too slowly, a corner 1e-9 away spoils the steps)
        # the slope is not known, and nothing is said (nan)
        # (a corner at an irrational place, pi for abs(sin(x)), is located to ~1e-11, which
        # moves the finest quotient by ~1e-3; 1 / log(h) moves it by 1e-2)
        disagree = (fine - coarse).abs()
        settled = disagree <= 3e-3 * (1.0 + fine.abs()) + 16 * noise
        # known to about their disagreement: digits below it are the step's, not f's
        finite = _tidy(_to_multiple(coarse, disagree + noise))
        finite = torch.where(settled, finite, torch.tensor(float("nan"), dtype=xs.dtype))
        inf = torch.sign(r[2]) * float("inf")
        out.append(torch.where(infinite, inf, finite))
    return out[0], out[1]


def classify(
    f: Batched,
    df_at: Callable[[torch.Tensor], torch.Tensor] | None,
    xs: torch.Tensor,
    bounds: tuple[float, float] | None = None,
    *,
    fixed: bool = False,
) -> tuple[Kink, ...]:
    """The one detector: which points are corners, cusps or jumps, measured in float64.

    Every front (the plot's marks and title, the status line, ``gradtui plot``, the
    ``grad`` report's notes, the demo's captions) gets its points from here.

    * **jump**: ``f`` itself is discontinuous, settled by bisection (:func:`_continuity`),
      never by a plotting grid; ``left``/``right`` are ``None`` (a slope measured across
      a jump is an artefact of the step) and ``before``/``after`` are ``f``'s one-sided
      limits.
    * **cusp**: ``f`` is continuous and a one-sided slope is infinite (``sqrt(|x|)`` at 0).
    * **corner**: ``f`` is continuous and the finite one-sided slopes differ (``abs``).

    Args:
        f: A batched function of one variable (``nan`` where it has no value). It is
            always called with batches of ``len(xs)`` points.
        df_at: The derivative torch returns at a batch of points; ``None`` when the
            output has no ``grad_fn`` (then every ``df`` is ``None``).
        xs: The points to test (1-D float64).
        bounds: Values outside these are a pole's, not a kink's (see :func:`screen`).
        fixed: The points are where they are (a tensor's own elements): a jump found
            beside a point, not at it, is dropped instead of moved there.

    Returns:
        The points that are a corner, cusp or jump, in the order of ``xs``.
    """
    if xs.numel() == 0:
        return ()
    (f0,) = _each(f, xs)
    keep = screen(f, xs, f0, bounds)
    if not bool(keep.any()):
        return ()
    jumps, steep, lo, hi = _continuity(f, xs)
    # The continuity bisection keeps the half across which f changes more, so it closes
    # in on a jump or a cusp (where f changes fastest) wherever the stencil found it: it
    # puts them at their place (``sqrt(relu(x))`` at 0, not at 1e-9). A corner's place
    # is the one the caller found (the bisection may follow the steeper side away).
    inside = (torch.minimum(lo, hi) <= xs) & (xs <= torch.maximum(lo, hi))
    nan = torch.tensor(float("nan"), dtype=xs.dtype)

    def measured(slope: torch.Tensor) -> torch.Tensor:
        """An infinite slope only where the bisection saw f steeper than any slope."""
        return torch.where(slope.isinf() & ~steep, nan, slope)

    left, right = (measured(v) for v in _slopes(f, xs, f0))
    cusp = (~torch.isfinite(left) | ~torch.isfinite(right)) & ~(left.isnan() | right.isnan())
    moves = (jumps | cusp) & ~inside
    if fixed:
        keep &= ~moves  # the jump or cusp is beside this element, not at it
        where = xs
    else:
        where = _snap(xs, jumps | cusp, lo, hi)
    if not bool(keep.any()):
        return ()
    # A cusp found a little off its place (the stencil's finest step is h/256) is put
    # at the simplest number within that step if f has a cusp there too
    # (``sqrt(relu(x))``: at 0, not at 1e-9); an element beside it has a derivative.
    h_fine = H_REL / 256 * where.abs().clamp(min=1.0)
    unsettled = left.isnan() | right.isnan()
    near = _snap(where, (cusp | unsettled) & ~jumps & keep, where - h_fine, where + h_fine)
    try_near = (cusp | unsettled) & ~jumps & (near != where) & keep
    if bool(try_near.any()):
        probe = torch.where(try_near, near, where)
        (fn,) = _each(f, probe)
        _, steep_near, _, _ = _continuity(f, probe)
        ln, rn = (torch.where(v.isinf() & ~steep_near, nan, v) for v in _slopes(f, probe, fn))
        there = try_near & (~ln.isfinite() | ~rn.isfinite()) & ~(ln.isnan() | rn.isnan())
        if fixed:
            keep &= ~there
        else:
            where = torch.where(there, near, where)
            steep = torch.where(there, steep_near, steep)
            moves |= there
    (fw,) = _each(f, where)
    if bool(moves.any()) and not fixed:
        left2, right2 = (measured(v) for v in _slopes(f, where, fw))
        left = torch.where(moves, left2, left)
        right = torch.where(moves, right2, right)
    before, after = _limits(f, where)
    # where f is continuous, both one-sided limits are f's value there
    before = torch.where(jumps, before, fw)
    after = torch.where(jumps, after, fw)
    corner = torch.isfinite(left) & torch.isfinite(right)
    differ = (left - right).abs() > 1e-6 * (1.0 + left.abs() + right.abs())
    if fixed and bool((corner & differ & keep).any()):
        # An element 1e-12 from a corner (relu at 1e-12) has a derivative, but the
        # stencil's steps straddle the corner. At a step of ~4e-13 the two sides of
        # such an element agree; at the corner itself they still differ by its size.
        ht = H_REL * 2.0**-24 * xs.abs().clamp(min=1.0)
        ht = torch.where(xs != 0, torch.minimum(ht, xs.abs() / 4), ht)  # 1e-14 from 0
        fl, fr = _each(f, xs - ht, xs + ht)
        tiny_left, tiny_right = (fw - fl) / ht, (fr - fw) / ht
        at_it = (tiny_right - tiny_left).abs() > 0.5 * (right - left).abs()
        keep &= ~(corner & differ) | at_it
    cusp = ~torch.isfinite(left) | ~torch.isfinite(right)
    keep &= jumps | cusp | (corner & differ)
    keep &= ~(torch.isnan(left) | torch.isnan(right)) | jumps
    # a jump is stated with both limits, measured, and they differ (or f's value does)
    known = ~(before.isnan() | after.isnan())
    keep &= ~jumps | (known & ((before != after) | (fw != before)))
    if not bool(keep.any()):
        return ()
    idx = torch.nonzero(keep).flatten()
    if not fixed:
        idx = idx[torch.argsort(where[idx], stable=True)]
    df = df_at(where) if df_at is not None else None
    # plain lists first: indexing a tensor one element at a time costs microseconds each
    cols = [
        t[idx].tolist()
        for t in (where, left, right, before, after, fw, jumps, cusp)
        + ((df,) if df is not None else ())
    ]
    rows = zip(idx.tolist(), *cols, strict=True)
    kinks: list[Kink] = []
    last = None
    for i, xv, lv, rv, bv, av, fv, is_jump, is_cusp, *dv in rows:
        if not fixed and last is not None and abs(xv - last) <= 1e-9 * max(1.0, abs(xv)):
            continue
        kind = "jump" if is_jump else ("cusp" if is_cusp else "corner")
        kinks.append(
            Kink(
                x=xv,
                kind=kind,
                df=dv[0] if dv else None,
                left=None if is_jump else lv,
                right=None if is_jump else rv,
                before=bv,
                after=av,
                value=fv,
                index=i,
            )
        )
        last = xv
    return tuple(kinks)


def _snap(
    xs: torch.Tensor, which: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor
) -> torch.Tensor:
    """``xs`` with the chosen points moved to the simplest number in their ``[lo, hi]``."""
    out = xs.clone()
    idx = torch.nonzero(which).flatten()
    a, b = torch.minimum(lo, hi)[idx].tolist(), torch.maximum(lo, hi)[idx].tolist()
    out[idx] = torch.tensor([simplest_in(u, v) for u, v in zip(a, b, strict=True)], dtype=xs.dtype)
    return out
