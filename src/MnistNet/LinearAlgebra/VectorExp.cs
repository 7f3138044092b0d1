using System.Numerics;
using System.Runtime.CompilerServices;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// eˣ one vector at a time, with the same operations on every path (so the same bits on the scalar, 256- and 512-bit
/// paths, and for a value whatever its position in a span): x = n·ln 2 + r with n = round(x·log₂e) and |r| ≤ ½ ln 2
/// (ln 2 in two parts, Cody and Waite), e^r by its Taylor polynomial (degree 7 for float, 13 for double: the next term is
/// below half an ulp), then times 2ⁿ in two exact halves so that results below the normal range round once, as
/// subnormals. x is first clamped to [−104, 89] (float) or [−746, 710] (double), beyond which eˣ rounds to 0 or
/// overflows to ∞ anyway; NaN stays NaN. Within two ulps of the exact value (<c>SimdMathTests</c>).
/// </summary>
internal static class VectorExp
{
    private const double Log2E = 1.4426950408889634;

    // ln 2 = hi + lo: hi with few significant bits so that n·hi is exact (Cephes for float, fdlibm for double).
    private const double SingleLn2High = 0.693359375;
    private const double SingleLn2Low = -2.12194440e-4;
    private const double DoubleLn2High = 6.93147180369123816490e-01;
    private const double DoubleLn2Low = 1.90821492927058770002e-10;

    /// <summary>eˣ for every lane of <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Exp<T, TVec, TOps>(TVec x)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        bool single = typeof(T) == typeof(float);
        x = TOps.Min(TOps.Max(x, TOps.Broadcast(T.CreateTruncating(single ? -104.0 : -746.0))), TOps.Broadcast(T.CreateTruncating(single ? 89.0 : 710.0)));
        TVec n = TOps.Round(TOps.Multiply(x, TOps.Broadcast(T.CreateTruncating(Log2E))));
        TVec r = TOps.FusedMultiplyAdd(n, TOps.Broadcast(T.CreateTruncating(single ? -SingleLn2High : -DoubleLn2High)), x);
        r = TOps.FusedMultiplyAdd(n, TOps.Broadcast(T.CreateTruncating(single ? -SingleLn2Low : -DoubleLn2Low)), r);

        // Horner from the highest term, 1/k! for k = degree … 0 (written out: the constants fold into the code).
        TVec p;
        if (single)
        {
            p = TOps.Broadcast(T.CreateTruncating(1.0 / 5040));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 720)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 120)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 24)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 6)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(0.5)));
        }
        else
        {
            p = TOps.Broadcast(T.CreateTruncating(1.0 / 6227020800));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 479001600)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 39916800)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 3628800)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 362880)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 40320)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 5040)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 720)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 120)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 24)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(1.0 / 6)));
            p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.CreateTruncating(0.5)));
        }

        p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.One));
        p = TOps.FusedMultiplyAdd(p, r, TOps.Broadcast(T.One));

        // 2ⁿ = 2^half · 2^(n − half): both halves are normal numbers for every n the clamp allows.
        TVec half = TOps.Round(TOps.Multiply(n, TOps.Broadcast(T.CreateTruncating(0.5))));
        return TOps.Multiply(TOps.Multiply(p, TOps.PowerOfTwo(half)), TOps.PowerOfTwo(TOps.Subtract(n, half)));
    }

    /// <summary>destination[i] = e^x[i] as a loop for <see cref="Simd.Cascade"/>.</summary>
    internal readonly ref struct Loop<T>(ReadOnlySpan<T> x, Span<T> destination) : IVectorLoop<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<T> _x = x;
        private readonly Span<T> _destination = destination;

        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            ref T source = ref Unsafe.AsRef(in _x.GetPinnableReference());
            ref T target = ref _destination.GetPinnableReference();
            for (; i + TOps.Count <= end; i += TOps.Count)
            {
                TOps.Store(Exp<T, TVec, TOps>(TOps.Load(in Unsafe.Add(ref source, i))), ref Unsafe.Add(ref target, i));
            }

            return i;
        }
    }
}
