using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// The two big products of a training step with a sparse input X (<see cref="SparseColumns{T}"/>), doing work only
/// for X's non-zero entries:
/// <list type="bullet">
/// <item><c>Z = W·X</c> as, for each example j, <c>Zᵀ[j] = Σ_{k: x_kj ≠ 0} x_kj · Wᵀ[k]</c> (Wᵀ is inputs × hp, one
/// padded row per input, small enough for L1/L2);</item>
/// <item><c>dW += dZ·Xᵀ</c> as, for each input row k present in a block of columns,
/// <c>dWᵀ[k] += Σ_{j in block: x_kj ≠ 0} x_kj · dZᵀ[j]</c>, each sum kept in registers and stored once per block.</item>
/// </list>
/// Rows of the transposed operands are <c>hp</c> elements: the hidden size rounded up to the vector width, with
/// zero padding. X's dense rows (<see cref="SparseColumns{T}.DenseRows"/>, kept as bytes) take the same two products
/// with dense kernels instead, the columns in the vector lanes (<see cref="DenseRowsForward"/>,
/// <see cref="DenseRowsGradient"/>). The reference twins of the whole products are <c>ReferenceKernels.Multiply</c> and
/// <c>ReferenceKernels.MultiplyByTranspose</c> on the dense matrix, against <c>SparseProducts</c>, which runs these
/// kernels block by block (tests/MnistNet.TestSupport).
/// </summary>
[SkipLocalsInit]
internal static class SparseKernels
{
    /// <summary>The padded row width the sparse kernels use for <paramref name="hidden"/> units on <paramref name="path"/>.</summary>
    public static int PaddedWidth<T>(int hidden, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = path switch
        {
            SimdPath.Vector512 => Vector512<T>.Count,
            SimdPath.Vector256 => Vector256<T>.Count,
            _ => 1,
        };
        // Stryker disable once Arithmetic : more padding lanes change no value (each lane is its own chain; padding is never read back)
        return (hidden + w - 1) / w * w;
    }

    /// <summary>
    /// zt[(j − block start)·hp + h] = Σ_k x[k, j]·wt[k·hp + h] for every column j of <paramref name="block"/> and every lane h
    /// of the padded row, walking each column's non-zeros (by-column layout, its slots in order of length) with the sums
    /// in registers.
    /// </summary>
    public static void Forward<T>(SparseColumns<T> x, int block, ReadOnlySpan<T> wt, int hp, Span<T> zt, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kernel = new BlockKernel<T>(x, block, ref Unsafe.AsRef(in wt[0]), hp, ref zt[0], gradient: false);
        Simd.Dispatch<T, BlockKernel<T>>(path, ref kernel);
    }

    /// <summary>dwt[k·hp + h] += Σ_{j in block} x[k, j]·dzt[(j − block start)·hp + h] for every row k present in <paramref name="block"/>.</summary>
    public static void AccumulateWeightGradient<T>(SparseColumns<T> x, int block, ReadOnlySpan<T> dzt, int hp, Span<T> dwt, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kernel = new BlockKernel<T>(x, block, ref Unsafe.AsRef(in dzt[0]), hp, ref dwt[0], gradient: true);
        Simd.Dispatch<T, BlockKernel<T>>(path, ref kernel);
    }

    /// <summary>One block of <see cref="Forward"/> (source Wᵀ, target Zᵀ) or <see cref="AccumulateWeightGradient"/> (source dZᵀ, target dWᵀ) for <see cref="Simd.Dispatch"/>.</summary>
    private readonly ref struct BlockKernel<T>(SparseColumns<T> x, int block, ref T source, int hp, ref T target, bool gradient) : IVectorKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ref T _source = ref source;
        private readonly ref T _target = ref target;

        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            if (gradient)
            {
                GradientBlock<T, TVec, TOps>(x, block, ref _source, hp, ref _target);
            }
            else
            {
                ForwardBlock<T, TVec, TOps>(x, block, ref _source, hp, ref _target);
            }
        }
    }

    /// <summary>m[h, c0 + j] = t[j·hp + h] for h &lt; m.Rows and j in [0, c1 − c0): a block from the padded transposed layout back to rows.</summary>
    public static void FromTransposedBlock<T>(ReadOnlySpan<T> t, int hp, Matrix<T> m, int c0, int c1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (c1 <= c0 || m.Rows == 0)
        {
            return;
        }

        if (t.Length < (c1 - c0) * hp)
        {
            throw new ArgumentException("The transposed block is too short.", nameof(t));
        }

        // Rows of t (one per column j) become columns of m.
        // Stryker disable once Boolean : the factor is 1: scaled or not, the same values
        BlockTranspose.Run(ref Unsafe.AsRef(in t[0]), hp, c1 - c0, m.Rows, ref Unsafe.Add(ref m.UnsafeStart, c0), m.Stride, T.One, scale: false, MnistNetRuntime.EffectiveSimdPath);
    }

    /// <summary>t[j·hp + h] = m[h, c0 + j] for h &lt; m.Rows and j in [0, c1 − c0): a block of rows into the padded transposed layout.</summary>
    public static void ToTransposedBlock<T>(Matrix<T> m, int c0, int c1, Span<T> t, int hp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (c1 <= c0 || m.Rows == 0)
        {
            return;
        }

        if (t.Length < (c1 - c0) * hp)
        {
            throw new ArgumentException("The transposed block is too short.", nameof(t));
        }

        // Columns c0..c1 of m become rows of t.
        // Stryker disable once Boolean : the factor is 1: scaled or not, the same values
        BlockTranspose.Run(ref Unsafe.Add(ref m.UnsafeStart, c0), m.Stride, m.Rows, c1 - c0, ref t[0], hp, T.One, scale: false, MnistNetRuntime.EffectiveSimdPath);
    }

    /// <summary>Returns mᵀ with each row padded to <paramref name="hp"/> elements (zeros beyond m.Rows).</summary>
    public static T[] Transpose<T>(Matrix<T> m, int hp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] result = new T[Math.Max(1, m.Columns * hp)];
        TransposeInto(m, result, hp);
        return result;
    }

    /// <summary>destination[k·hp + h] = m[h, k]; the padding lanes are left as they are.</summary>
    public static void TransposeInto<T>(Matrix<T> m, Span<T> destination, int hp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m.Rows == 0 || m.Columns == 0)
        {
            return;
        }

        if (destination.Length < ((m.Columns - 1) * hp) + m.Rows)
        {
            throw new ArgumentException("The destination is too short for the transposed matrix.", nameof(destination));
        }

        // Stryker disable once Boolean : the factor is 1: scaled or not, the same values
        BlockTranspose.Run(ref m.UnsafeStart, m.Stride, m.Rows, m.Columns, ref destination[0], hp, T.One, scale: false, MnistNetRuntime.EffectiveSimdPath);
    }

    /// <summary>The lanes each (dense row, hidden unit) pair of <see cref="DenseRowsGradient"/> sums into: column j goes to lane j mod 16.</summary>
    public const int DenseRowLanes = 16;

    /// <summary>destination[q·hidden + h] = w[h, denseRows[q]] / 255: the weights <see cref="DenseRowsForward"/> takes, for the rows' bytes.</summary>
    public static void ScaleDenseRowWeights<T>(Matrix<T> w, int[] denseRows, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hidden = w.Rows;
        T scale = T.CreateTruncating(255);
        for (int q = 0; q < denseRows.Length; q++)
        {
            for (int h = 0; h < hidden; h++)
            {
                destination[(q * hidden) + h] = w[h, denseRows[q]] / scale;
            }
        }
    }

    /// <summary>
    /// sums[i] = the 16 lanes lanes[i·16 …] added up by halves: a_k = l_k + l_(k+8), b_k = a_k + a_(k+4),
    /// c_k = b_k + b_(k+2), sum = c_0 + c_1 — a fixed order whose adds are independent eight, four and two at a time
    /// (a chain of fifteen dependent adds per pair was 2.5 % of the seed's step).
    /// </summary>
    public static void SumDenseRowLanes<T>(ReadOnlySpan<T> lanes, Span<T> sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < sums.Length; i++)
        {
            ReadOnlySpan<T> l = lanes.Slice(i * DenseRowLanes, DenseRowLanes);
            T a0 = l[0] + l[8], a1 = l[1] + l[9], a2 = l[2] + l[10], a3 = l[3] + l[11];
            T a4 = l[4] + l[12], a5 = l[5] + l[13], a6 = l[6] + l[14], a7 = l[7] + l[15];
            T b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
            sums[i] = (b0 + b2) + (b1 + b3);
        }
    }

    /// <summary>
    /// dw[h, denseRows[q]] = sums[q·hidden + h] / 255: the dense rows' columns of dW from their summed lanes
    /// (<see cref="SumDenseRowLanes"/>; the bytes were 255 times the values). Those columns have no sparse entries.
    /// </summary>
    public static void StoreDenseRowGradient<T>(ReadOnlySpan<T> sums, int[] denseRows, Matrix<T> dw)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hidden = dw.Rows;
        T scale = T.CreateTruncating(255);
        for (int q = 0; q < denseRows.Length; q++)
        {
            for (int h = 0; h < hidden; h++)
            {
                dw[h, denseRows[q]] = sums[(q * hidden) + h] / scale;
            }
        }
    }

    /// <summary>
    /// z[h, c0 + j] += Σ_q w[q·hidden + h]·k[q, j] for every row h of <paramref name="z"/> and j in [0, c1 − c0), where
    /// k[q, j] is dense row q's byte for column c0 + j (<see cref="SparseColumns{T}.Panel"/>, block <paramref name="block"/>):
    /// each element one multiply-add chain over q in increasing order, starting from the value already in z, so every
    /// path gives the same bits. <paramref name="w"/> holds the weights of the dense rows divided by 255, row q's
    /// <c>hidden</c> values together.
    /// </summary>
    public static void DenseRowsForward<T>(SparseColumns<T> x, int block, ReadOnlySpan<T> w, Matrix<T> z, int c0, int c1, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBlockRange(x, block, z, c0, c1);
        int count = x.DenseRows.Length;
        if (count == 0 || c1 <= c0 || z.Rows == 0)
        {
            return;
        }

        if (w.Length < count * z.Rows)
        {
            throw new ArgumentException("The dense rows' weights are too short.", nameof(w));
        }

        var kernel = new DenseRowsKernel<T>(x, block, ref Unsafe.AsRef(in w[0]), z, c0, c1, gradient: false, accumulate: true);
        Simd.Dispatch<T, DenseRowsKernel<T>>(path, ref kernel);
    }

    /// <summary>
    /// lanes[(q·hidden + h)·16 + (j mod 16)] += dz[h, c0 + j]·k[q, j] for every dense row q, row h of <paramref name="dz"/>
    /// and j in [0, c1 − c0) (k as in <see cref="DenseRowsForward"/>): each lane one multiply-add chain over its columns
    /// in increasing order, so every path gives the same bits. Σ over a pair's 16 lanes, divided by 255, is its share of
    /// dW[h, DenseRows[q]]. Without <paramref name="accumulate"/> the lanes start from 0 instead of their contents (=
    /// instead of +=), which spares the caller clearing them.
    /// </summary>
    public static void DenseRowsGradient<T>(SparseColumns<T> x, int block, Matrix<T> dz, int c0, int c1, Span<T> lanes, SimdPath path, bool accumulate = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBlockRange(x, block, dz, c0, c1);
        int count = x.DenseRows.Length;
        if (count == 0 || dz.Rows == 0)
        {
            return;
        }

        int size = count * dz.Rows * DenseRowLanes;
        if (lanes.Length < size)
        {
            throw new ArgumentException("The lane sums are too short.", nameof(lanes));
        }

        if (c1 <= c0)
        {
            if (!accumulate)
            {
                lanes[..size].Clear();
            }

            return;
        }

        var kernel = new DenseRowsKernel<T>(x, block, ref lanes[0], dz, c0, c1, gradient: true, accumulate);
        Simd.Dispatch<T, DenseRowsKernel<T>>(path, ref kernel);
    }

    /// <summary>The dense-row kernels work on one whole block: [c0, c1) must be block <paramref name="block"/>'s columns of x, inside <paramref name="m"/>.</summary>
    private static void CheckBlockRange<T>(SparseColumns<T> x, int block, Matrix<T> m, int c0, int c1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int first = block * SparseColumns<T>.BlockColumns;
        int end = Math.Min(first + SparseColumns<T>.BlockColumns, x.Columns);
        if (block < 0 || c0 != first || c1 != end || c1 > m.Columns)
        {
            throw new ArgumentOutOfRangeException(nameof(c0), $"Expected block {block}'s columns [{first}, {end}) of a matrix with at least {end} columns; got [{c0}, {c1}) of {Matrix<T>.Shape(m)}.");
        }
    }

    /// <summary><see cref="DenseRowsForward"/> (table: the scaled weights) or <see cref="DenseRowsGradient"/> (table: the lane sums) for <see cref="Simd.Dispatch"/>.</summary>
    private readonly ref struct DenseRowsKernel<T>(SparseColumns<T> x, int block, ref T table, Matrix<T> m, int c0, int c1, bool gradient, bool accumulate) : IVectorKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ref T _table = ref table;

        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            int count = x.DenseRows.Length;
            ref byte panel = ref x.Panel[block * SparseColumns<T>.BlockColumns * count];
            if (gradient)
            {
                DenseRowsGradientBlock<T, TVec, TOps>(ref panel, count, ref m.UnsafeStart, m.Stride, m.Rows, c0, c1 - c0, ref _table, accumulate);
            }
            else
            {
                DenseRowsForwardBlock<T, TVec, TOps>(ref panel, count, ref _table, ref m.UnsafeStart, m.Stride, m.Rows, c0, c1 - c0);
            }
        }
    }

    /// <summary>
    /// The body of <see cref="DenseRowsForward"/>: groups of ten rows of z × one vector of columns (ten accumulators)
    /// while q walks the dense rows, so that each byte vector is widened once for ten multiply-adds (the widening competes
    /// with the multiply-adds for the same units); the rows left over in tiles of five rows × two vectors, single vectors
    /// and single columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DenseRowsForwardBlock<T, TVec, TOps>(ref byte panel, int count, ref T w, ref T z, nint ldz, int hidden, int c0, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        const int Tile = SparseColumns<T>.PanelTileColumns;
        int width = TOps.Count;
        nint hn = hidden;
        int first = 0;
        for (; first + 10 <= hidden; first += 10)
        {
            for (int v = 0; v + width <= n; v += width)
            {
                // width divides the tile width, so the vector lies in one tile.
                DenseRowsForwardTen<T, TVec, TOps>(ref Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, 0, v)), count, ref Unsafe.Add(ref w, first), hn, ref Unsafe.Add(ref z, (first * ldz) + c0 + v), ldz);
            }
        }

        int j = 0;
        // Stryker disable once Equality : a last pair of vectors left to the single-vector loop gives the same bits
        for (; j + (2 * width) <= n; j += 2 * width)
        {
            // 2·width divides the tile width, so both vectors lie in one tile.
            ref byte tile = ref Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, 0, j));
            ref T zj = ref Unsafe.Add(ref z, c0 + j);
            int h = first;
            for (; h + 5 <= hidden; h += 5)
            {
                ref T r0 = ref Unsafe.Add(ref zj, h * ldz);
                ref T r1 = ref Unsafe.Add(ref r0, ldz);
                ref T r2 = ref Unsafe.Add(ref r1, ldz);
                ref T r3 = ref Unsafe.Add(ref r2, ldz);
                ref T r4 = ref Unsafe.Add(ref r3, ldz);
                TVec a00 = TOps.Load(in r0), a01 = TOps.Load(in Unsafe.Add(ref r0, width));
                TVec a10 = TOps.Load(in r1), a11 = TOps.Load(in Unsafe.Add(ref r1, width));
                TVec a20 = TOps.Load(in r2), a21 = TOps.Load(in Unsafe.Add(ref r2, width));
                TVec a30 = TOps.Load(in r3), a31 = TOps.Load(in Unsafe.Add(ref r3, width));
                TVec a40 = TOps.Load(in r4), a41 = TOps.Load(in Unsafe.Add(ref r4, width));
                ref byte k = ref tile;
                ref T wq = ref Unsafe.Add(ref w, h);
                for (int q = 0; q < count; q++)
                {
                    TVec x0 = TOps.LoadBytes(in k);
                    TVec x1 = TOps.LoadBytes(in Unsafe.Add(ref k, width));
                    TVec s = TOps.Broadcast(wq);
                    a00 = TOps.FusedMultiplyAdd(s, x0, a00);
                    a01 = TOps.FusedMultiplyAdd(s, x1, a01);
                    s = TOps.Broadcast(Unsafe.Add(ref wq, 1));
                    a10 = TOps.FusedMultiplyAdd(s, x0, a10);
                    a11 = TOps.FusedMultiplyAdd(s, x1, a11);
                    s = TOps.Broadcast(Unsafe.Add(ref wq, 2));
                    a20 = TOps.FusedMultiplyAdd(s, x0, a20);
                    a21 = TOps.FusedMultiplyAdd(s, x1, a21);
                    s = TOps.Broadcast(Unsafe.Add(ref wq, 3));
                    a30 = TOps.FusedMultiplyAdd(s, x0, a30);
                    a31 = TOps.FusedMultiplyAdd(s, x1, a31);
                    s = TOps.Broadcast(Unsafe.Add(ref wq, 4));
                    a40 = TOps.FusedMultiplyAdd(s, x0, a40);
                    a41 = TOps.FusedMultiplyAdd(s, x1, a41);
                    k = ref Unsafe.Add(ref k, Tile);
                    wq = ref Unsafe.Add(ref wq, hn);
                }

                TOps.Store(a00, ref r0);
                TOps.Store(a01, ref Unsafe.Add(ref r0, width));
                TOps.Store(a10, ref r1);
                TOps.Store(a11, ref Unsafe.Add(ref r1, width));
                TOps.Store(a20, ref r2);
                TOps.Store(a21, ref Unsafe.Add(ref r2, width));
                TOps.Store(a30, ref r3);
                TOps.Store(a31, ref Unsafe.Add(ref r3, width));
                TOps.Store(a40, ref r4);
                TOps.Store(a41, ref Unsafe.Add(ref r4, width));
            }

            for (; h < hidden; h++)
            {
                DenseRowsForwardVector<T, TVec, TOps>(ref tile, count, ref Unsafe.Add(ref w, h), hn, ref Unsafe.Add(ref zj, h * ldz));
                DenseRowsForwardVector<T, TVec, TOps>(ref Unsafe.Add(ref tile, width), count, ref Unsafe.Add(ref w, h), hn, ref Unsafe.Add(ref zj, (h * ldz) + width));
            }
        }

        for (; j + width <= n; j += width)
        {
            ref byte tile = ref Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, 0, j));
            for (int h = first; h < hidden; h++)
            {
                DenseRowsForwardVector<T, TVec, TOps>(ref tile, count, ref Unsafe.Add(ref w, h), hn, ref Unsafe.Add(ref z, (h * ldz) + c0 + j));
            }
        }

        // The last columns (fewer than a vector), every row: the ten-row groups above stop at the last whole vector.
        for (j = n - (n % width); j < n; j++)
        {
            ref byte tile = ref Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, 0, j));
            for (int h = 0; h < hidden; h++)
            {
                DenseRowsForwardVector<T, T, SimdScalar<T>>(ref tile, count, ref Unsafe.Add(ref w, h), hn, ref Unsafe.Add(ref z, (h * ldz) + c0 + j));
            }
        }
    }

    /// <summary>One vector of ten rows of z (<paramref name="ldz"/> apart): z[r] += Σ_q w[q·stride + r]·k[q] (k 32 bytes apart), q ascending.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DenseRowsForwardTen<T, TVec, TOps>(ref byte k, int count, ref T w, nint stride, ref T z, nint ldz)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        ref T z5 = ref Unsafe.Add(ref z, 5 * ldz);
        TVec a0 = TOps.Load(in z), a1 = TOps.Load(in Unsafe.Add(ref z, ldz)), a2 = TOps.Load(in Unsafe.Add(ref z, 2 * ldz));
        TVec a3 = TOps.Load(in Unsafe.Add(ref z, 3 * ldz)), a4 = TOps.Load(in Unsafe.Add(ref z, 4 * ldz));
        TVec a5 = TOps.Load(in z5), a6 = TOps.Load(in Unsafe.Add(ref z5, ldz)), a7 = TOps.Load(in Unsafe.Add(ref z5, 2 * ldz));
        TVec a8 = TOps.Load(in Unsafe.Add(ref z5, 3 * ldz)), a9 = TOps.Load(in Unsafe.Add(ref z5, 4 * ldz));
        for (int q = 0; q < count; q++)
        {
            TVec x = TOps.LoadBytes(in k);
            a0 = TOps.FusedMultiplyAdd(TOps.Broadcast(w), x, a0);
            a1 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 1)), x, a1);
            a2 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 2)), x, a2);
            a3 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 3)), x, a3);
            a4 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 4)), x, a4);
            a5 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 5)), x, a5);
            a6 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 6)), x, a6);
            a7 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 7)), x, a7);
            a8 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 8)), x, a8);
            a9 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, 9)), x, a9);
            k = ref Unsafe.Add(ref k, SparseColumns<T>.PanelTileColumns);
            w = ref Unsafe.Add(ref w, stride);
        }

        TOps.Store(a0, ref z);
        TOps.Store(a1, ref Unsafe.Add(ref z, ldz));
        TOps.Store(a2, ref Unsafe.Add(ref z, 2 * ldz));
        TOps.Store(a3, ref Unsafe.Add(ref z, 3 * ldz));
        TOps.Store(a4, ref Unsafe.Add(ref z, 4 * ldz));
        TOps.Store(a5, ref z5);
        TOps.Store(a6, ref Unsafe.Add(ref z5, ldz));
        TOps.Store(a7, ref Unsafe.Add(ref z5, 2 * ldz));
        TOps.Store(a8, ref Unsafe.Add(ref z5, 3 * ldz));
        TOps.Store(a9, ref Unsafe.Add(ref z5, 4 * ldz));
    }

    /// <summary>One vector of one row of z: z += Σ_q w[q·stride]·k[q] (k 32 bytes apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DenseRowsForwardVector<T, TVec, TOps>(ref byte k, int count, ref T w, nint stride, ref T z)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec a = TOps.Load(in z);
        for (int q = 0; q < count; q++)
        {
            a = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w, q * stride)), TOps.LoadBytes(in Unsafe.Add(ref k, q * SparseColumns<T>.PanelTileColumns)), a);
        }

        TOps.Store(a, ref z);
    }

    /// <summary>
    /// The body of <see cref="DenseRowsGradient"/>: for each pair of dense rows and five rows of dz, and each slice of
    /// <c>width</c> lanes, ten accumulators walk the columns of that slice (every 16th vector) in increasing order, two
    /// vectors of a tile per step; a last partial vector's columns follow one by one, so each lane's chain stays in column
    /// order on every path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DenseRowsGradientBlock<T, TVec, TOps>(ref byte panel, int count, ref T dz, nint ldz, int hidden, int c0, int n, ref T lanes, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        const int L = DenseRowLanes;
        int width = TOps.Count;
        ref T d = ref Unsafe.Add(ref dz, c0);
        nint tileStride = (nint)count * SparseColumns<T>.PanelTileColumns;
        int q = 0;
        for (; q + 2 <= count; q += 2)
        {
            int h = 0;
            for (; h + 5 <= hidden; h += 5)
            {
                ref T g0 = ref Unsafe.Add(ref lanes, ((q * hidden) + h) * L);
                ref T g1 = ref Unsafe.Add(ref g0, hidden * L);
                ref T d0 = ref Unsafe.Add(ref d, h * ldz);
                for (int slice = 0; slice < L; slice += width)
                {
                    ref T p0 = ref Unsafe.Add(ref g0, slice);
                    ref T p1 = ref Unsafe.Add(ref g1, slice);
                    TVec a0 = LaneStart<T, TVec, TOps>(in p0, accumulate), a1 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p0, L), accumulate);
                    TVec a2 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p0, 2 * L), accumulate), a3 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p0, 3 * L), accumulate);
                    TVec a4 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p0, 4 * L), accumulate), b0 = LaneStart<T, TVec, TOps>(in p1, accumulate);
                    TVec b1 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p1, L), accumulate), b2 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p1, 2 * L), accumulate);
                    TVec b3 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p1, 3 * L), accumulate), b4 = LaneStart<T, TVec, TOps>(in Unsafe.Add(ref p1, 4 * L), accumulate);
                    // Columns j and j + 16 (the same lanes, in that order) lie in one tile: whole pairs first, the tile and
                    // dz walked by pointer (no offset arithmetic per vector); then a last single vector; then single columns.
                    int j = slice;
                    ref byte k = ref Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, q, j));
                    ref T dj = ref Unsafe.Add(ref d0, j);
                    // Stryker disable once Equality : a pair left to the single-vector loop gives the same bits (each lane's chain is unchanged)
                    for (; j + L + width <= n; j += 2 * L)
                    {
                        TVec x0 = TOps.LoadBytes(in k);
                        TVec x1 = TOps.LoadBytes(in Unsafe.Add(ref k, SparseColumns<T>.PanelTileColumns));
                        GradientTileStep<T, TVec, TOps>(in dj, ldz, x0, x1, ref a0, ref a1, ref a2, ref a3, ref a4, ref b0, ref b1, ref b2, ref b3, ref b4);
                        x0 = TOps.LoadBytes(in Unsafe.Add(ref k, L));
                        x1 = TOps.LoadBytes(in Unsafe.Add(ref k, SparseColumns<T>.PanelTileColumns + L));
                        GradientTileStep<T, TVec, TOps>(in Unsafe.Add(ref dj, L), ldz, x0, x1, ref a0, ref a1, ref a2, ref a3, ref a4, ref b0, ref b1, ref b2, ref b3, ref b4);
                        k = ref Unsafe.Add(ref k, tileStride);
                        dj = ref Unsafe.Add(ref dj, 2 * L);
                    }

                    for (; j + width <= n; j += L)
                    {
                        k = ref Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, q, j));
                        TVec x0 = TOps.LoadBytes(in k);
                        TVec x1 = TOps.LoadBytes(in Unsafe.Add(ref k, SparseColumns<T>.PanelTileColumns));
                        dj = ref Unsafe.Add(ref d0, j);
                        GradientTileStep<T, TVec, TOps>(in dj, ldz, x0, x1, ref a0, ref a1, ref a2, ref a3, ref a4, ref b0, ref b1, ref b2, ref b3, ref b4);
                    }

                    TOps.Store(a0, ref p0);
                    TOps.Store(a1, ref Unsafe.Add(ref p0, L));
                    TOps.Store(a2, ref Unsafe.Add(ref p0, 2 * L));
                    TOps.Store(a3, ref Unsafe.Add(ref p0, 3 * L));
                    TOps.Store(a4, ref Unsafe.Add(ref p0, 4 * L));
                    TOps.Store(b0, ref p1);
                    TOps.Store(b1, ref Unsafe.Add(ref p1, L));
                    TOps.Store(b2, ref Unsafe.Add(ref p1, 2 * L));
                    TOps.Store(b3, ref Unsafe.Add(ref p1, 3 * L));
                    TOps.Store(b4, ref Unsafe.Add(ref p1, 4 * L));
                    for (int e = j; e < n; e++)
                    {
                        for (int r = 0; r < 5; r++)
                        {
                            DenseRowsGradientColumn(ref panel, count, q, e, Unsafe.Add(ref d0, (r * ldz) + e), ref Unsafe.Add(ref g0, (r * L) + (e % L)));
                            DenseRowsGradientColumn(ref panel, count, q + 1, e, Unsafe.Add(ref d0, (r * ldz) + e), ref Unsafe.Add(ref g1, (r * L) + (e % L)));
                        }
                    }
                }
            }

            for (; h < hidden; h++)
            {
                DenseRowsGradientRow<T, TVec, TOps>(ref panel, count, q, ref Unsafe.Add(ref d, h * ldz), n, ref Unsafe.Add(ref lanes, ((q * hidden) + h) * L), accumulate);
                DenseRowsGradientRow<T, TVec, TOps>(ref panel, count, q + 1, ref Unsafe.Add(ref d, h * ldz), n, ref Unsafe.Add(ref lanes, (((q + 1) * hidden) + h) * L), accumulate);
            }
        }

        for (; q < count; q++)
        {
            for (int h = 0; h < hidden; h++)
            {
                DenseRowsGradientRow<T, TVec, TOps>(ref panel, count, q, ref Unsafe.Add(ref d, h * ldz), n, ref Unsafe.Add(ref lanes, ((q * hidden) + h) * L), accumulate);
            }
        }
    }

    /// <summary>
    /// One vector step of <see cref="DenseRowsGradientBlock"/>'s tile: a[r] += dz[r]·x0 and b[r] += dz[r]·x1 for the five
    /// rows of dz (<paramref name="ldz"/> apart) from <paramref name="d"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientTileStep<T, TVec, TOps>(ref readonly T d, nint ldz, TVec x0, TVec x1, ref TVec a0, ref TVec a1, ref TVec a2, ref TVec a3, ref TVec a4, ref TVec b0, ref TVec b1, ref TVec b2, ref TVec b3, ref TVec b4)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec s = TOps.Load(in d);
        a0 = TOps.FusedMultiplyAdd(s, x0, a0);
        b0 = TOps.FusedMultiplyAdd(s, x1, b0);
        s = TOps.Load(in Unsafe.Add(ref Unsafe.AsRef(in d), ldz));
        a1 = TOps.FusedMultiplyAdd(s, x0, a1);
        b1 = TOps.FusedMultiplyAdd(s, x1, b1);
        s = TOps.Load(in Unsafe.Add(ref Unsafe.AsRef(in d), 2 * ldz));
        a2 = TOps.FusedMultiplyAdd(s, x0, a2);
        b2 = TOps.FusedMultiplyAdd(s, x1, b2);
        s = TOps.Load(in Unsafe.Add(ref Unsafe.AsRef(in d), 3 * ldz));
        a3 = TOps.FusedMultiplyAdd(s, x0, a3);
        b3 = TOps.FusedMultiplyAdd(s, x1, b3);
        s = TOps.Load(in Unsafe.Add(ref Unsafe.AsRef(in d), 4 * ldz));
        a4 = TOps.FusedMultiplyAdd(s, x0, a4);
        b4 = TOps.FusedMultiplyAdd(s, x1, b4);
    }

    /// <summary>One (dense row, dz row) pair of <see cref="DenseRowsGradientBlock"/>: its 16 lanes, slice by slice.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DenseRowsGradientRow<T, TVec, TOps>(ref byte panel, int count, int q, ref T d, int n, ref T lanes, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        const int L = DenseRowLanes;
        int width = TOps.Count;
        for (int slice = 0; slice < L; slice += width)
        {
            ref T p = ref Unsafe.Add(ref lanes, slice);
            TVec a = LaneStart<T, TVec, TOps>(in p, accumulate);
            int j = slice;
            for (; j + width <= n; j += L)
            {
                a = TOps.FusedMultiplyAdd(TOps.Load(in Unsafe.Add(ref d, j)), TOps.LoadBytes(in Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, q, j))), a);
            }

            TOps.Store(a, ref p);
            for (int e = j; e < n; e++)
            {
                DenseRowsGradientColumn(ref panel, count, q, e, Unsafe.Add(ref d, e), ref Unsafe.Add(ref lanes, e % L));
            }
        }
    }

    /// <summary>A slice of lanes to add to: its contents, or 0 when the block's sums replace them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec LaneStart<T, TVec, TOps>(ref readonly T lanes, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec> =>
        accumulate ? TOps.Load(in lanes) : TOps.Zero;

    /// <summary>One column of a partial last vector: lane += dz·k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DenseRowsGradientColumn<T>(ref byte panel, int count, int q, int column, T dz, ref T lane)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        lane = T.FusedMultiplyAdd(dz, T.CreateTruncating(Unsafe.Add(ref panel, SparseColumns<T>.PanelOffset(count, q, column))), lane);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardBlock<T, TVec, TOps>(SparseColumns<T> x, int block, ref T wt, int hp, ref T zt)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int j0 = block * SparseColumns<T>.BlockColumns;
        int j1 = Math.Min(j0 + SparseColumns<T>.BlockColumns, x.Columns);
        int[] start = x.ColumnStart;
        byte[] position = x.ColumnPosition;
        ref ushort rows = ref x.RowIndex.Length == 0 ? ref Unsafe.NullRef<ushort>() : ref x.RowIndex[0];
        ref T values = ref x.Values.Length == 0 ? ref Unsafe.NullRef<T>() : ref x.Values[0];
        int w = TOps.Count;
        if (hp == w)
        {
            // One vector per row of Wᵀ: each column's sum stays in registers, eight accumulators hide the FMA latency.
            // Offsets use w (a JIT-time constant) rather than hp (equal here), so they compile to shifts.
            TVec p0 = TOps.LanePattern(0), p1 = TOps.LanePattern(1), p2 = TOps.LanePattern(2), p3 = TOps.LanePattern(3);
            TVec p4 = TOps.LanePattern(4), p5 = TOps.LanePattern(5), p6 = TOps.LanePattern(6), p7 = TOps.LanePattern(7);
            nint last = x.Values.Length - 1;
            for (int j = j0; j < j1; j++)
            {
                // nint offsets: no sign extension per entry.
                nint e = start[j];
                nint end = start[j + 1];
                TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                TVec a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
                for (; e + 8 <= end; e += 8)
                {
                    PrefetchAhead(ref rows, ref values, e, last);
                    TVec v = TOps.LoadUpToEight(in Unsafe.Add(ref values, e));
                    a0 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p0, ref values, e), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e) * w)), a0);
                    a1 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p1, ref values, e + 1), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 1) * w)), a1);
                    a2 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p2, ref values, e + 2), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 2) * w)), a2);
                    a3 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p3, ref values, e + 3), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 3) * w)), a3);
                    a4 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p4, ref values, e + 4), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 4) * w)), a4);
                    a5 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p5, ref values, e + 5), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 5) * w)), a5);
                    a6 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p6, ref values, e + 6), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 6) * w)), a6);
                    a7 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p7, ref values, e + 7), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e + 7) * w)), a7);
                }

                for (; e < end; e++)
                {
                    a0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e)), TOps.Load(in Unsafe.Add(ref wt, (nint)Unsafe.Add(ref rows, e) * w)), a0);
                }

                a0 = TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3));
                a4 = TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7));
                TOps.Store(TOps.Add(a0, a4), ref Unsafe.Add(ref zt, position[j] * w));
            }

            return;
        }

        if (hp == 2 * w)
        {
            // Two vectors per row (hidden 10 on the Vector256 path, 17–32 on Vector512): eight register accumulators.
            for (int j = j0; j < j1; j++)
            {
                SumTwoVectorRows<T, TVec, TOps, ushort>(ref rows, ref values, start[j], start[j + 1], x.Values.Length - 1, ref wt, out TVec lower, out TVec upper);
                ref T z = ref Unsafe.Add(ref zt, (nint)position[j] * (2 * w));
                TOps.Store(lower, ref z);
                TOps.Store(upper, ref Unsafe.Add(ref z, w));
            }

            return;
        }

        // Wider rows: accumulate into the output row, which stays in L1.
        nint width = hp;
        for (int j = j0; j < j1; j++)
        {
            ref T z = ref Unsafe.Add(ref zt, position[j] * width);
            for (nint v = 0; v < width; v += w)
            {
                TOps.Store(TOps.Zero, ref Unsafe.Add(ref z, v));
            }

            for (nint e = start[j], end = start[j + 1]; e < end; e++)
            {
                TVec s = TOps.Broadcast(Unsafe.Add(ref values, e));
                ref T wr = ref Unsafe.Add(ref wt, Unsafe.Add(ref rows, e) * width);
                for (nint v = 0; v < width; v += w)
                {
                    TOps.Store(TOps.FusedMultiplyAdd(s, TOps.Load(in Unsafe.Add(ref wr, v)), TOps.Load(in Unsafe.Add(ref z, v))), ref Unsafe.Add(ref z, v));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientBlock<T, TVec, TOps>(SparseColumns<T> x, int block, ref T dzt, int hp, ref T dwt)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int g0 = x.BlockGroupStart[block];
        int g1 = x.BlockGroupStart[block + 1];
        if (g0 == g1)
        {
            return;
        }

        ushort[] groupRow = x.GroupRow;
        int[] groupStart = x.GroupStart;
        ref byte columns = ref x.EntryColumn[0];
        ref T values = ref x.EntryValue[0];
        int w = TOps.Count;
        if (hp == w)
        {
            // One vector per row; offsets use w (a JIT-time constant) so they compile to shifts. Four accumulators, eight
            // entries a round (entries e and e + 4 go to the same accumulator, in that order, as in rounds of four).
            TVec p0 = TOps.LanePattern(0), p1 = TOps.LanePattern(1), p2 = TOps.LanePattern(2), p3 = TOps.LanePattern(3);
            TVec p4 = TOps.LanePattern(4), p5 = TOps.LanePattern(5), p6 = TOps.LanePattern(6), p7 = TOps.LanePattern(7);
            nint last = x.EntryValue.Length - 1;
            for (int g = g0; g < g1; g++)
            {
                // nint offsets: no sign extension per entry.
                nint e = groupStart[g];
                nint e1 = groupStart[g + 1];
                TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                for (; e + 8 <= e1; e += 8)
                {
                    PrefetchAhead(ref columns, ref values, e, last);
                    TVec v = TOps.LoadUpToEight(in Unsafe.Add(ref values, e));
                    a0 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p0, ref values, e), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e) * w)), a0);
                    a1 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p1, ref values, e + 1), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 1) * w)), a1);
                    a2 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p2, ref values, e + 2), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 2) * w)), a2);
                    a3 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p3, ref values, e + 3), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 3) * w)), a3);
                    a0 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p4, ref values, e + 4), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 4) * w)), a0);
                    a1 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p5, ref values, e + 5), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 5) * w)), a1);
                    a2 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p6, ref values, e + 6), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 6) * w)), a2);
                    a3 = TOps.FusedMultiplyAdd(Value<T, TVec, TOps>(v, p7, ref values, e + 7), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 7) * w)), a3);
                }

                if (e + 4 <= e1)
                {
                    a0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e)), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e) * w)), a0);
                    a1 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e + 1)), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 1) * w)), a1);
                    a2 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e + 2)), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 2) * w)), a2);
                    a3 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e + 3)), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e + 3) * w)), a3);
                    e += 4;
                }

                for (; e < e1; e++)
                {
                    a0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e)), TOps.Load(in Unsafe.Add(ref dzt, (nint)Unsafe.Add(ref columns, e) * w)), a0);
                }

                ref T target = ref Unsafe.Add(ref dwt, groupRow[g] * w);
                TOps.Store(TOps.Add(TOps.Load(in target), TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3))), ref target);
            }

            return;
        }

        if (hp == 2 * w)
        {
            // Two vectors per row: walk the group's entries once with four accumulator pairs.
            for (int g = g0; g < g1; g++)
            {
                SumTwoVectorRows<T, TVec, TOps, byte>(ref columns, ref values, groupStart[g], groupStart[g + 1], x.EntryValue.Length - 1, ref dzt, out TVec lower, out TVec upper);
                ref T target = ref Unsafe.Add(ref dwt, (nint)groupRow[g] * (2 * w));
                TOps.Store(TOps.Add(TOps.Load(in target), lower), ref target);
                ref T high = ref Unsafe.Add(ref target, w);
                TOps.Store(TOps.Add(TOps.Load(in high), upper), ref high);
            }

            return;
        }

        nint width = hp;
        for (int g = g0; g < g1; g++)
        {
            nint e0 = groupStart[g];
            nint e1 = groupStart[g + 1];
            ref T dw = ref Unsafe.Add(ref dwt, groupRow[g] * width);
            for (nint v = 0; v < width; v += w)
            {
                ref T dzv = ref Unsafe.Add(ref dzt, v);
                // Four independent accumulators hide the FMA latency (a group holds ~60 entries for MNIST).
                TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                nint e = e0;
                for (; e + 4 <= e1; e += 4)
                {
                    a0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e)), TOps.Load(in Unsafe.Add(ref dzv, Unsafe.Add(ref columns, e) * width)), a0);
                    a1 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e + 1)), TOps.Load(in Unsafe.Add(ref dzv, Unsafe.Add(ref columns, e + 1) * width)), a1);
                    a2 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e + 2)), TOps.Load(in Unsafe.Add(ref dzv, Unsafe.Add(ref columns, e + 2) * width)), a2);
                    a3 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e + 3)), TOps.Load(in Unsafe.Add(ref dzv, Unsafe.Add(ref columns, e + 3) * width)), a3);
                }

                for (; e < e1; e++)
                {
                    a0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref values, e)), TOps.Load(in Unsafe.Add(ref dzv, Unsafe.Add(ref columns, e) * width)), a0);
                }

                a0 = TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3));
                ref T target = ref Unsafe.Add(ref dw, v);
                TOps.Store(TOps.Add(TOps.Load(in target), a0), ref target);
            }
        }
    }

    /// <summary>
    /// Entries between an entry being summed and the one whose cache lines the kernels ask for (about 2–4 KB ahead in
    /// each array; 512 to 2048 measured the same on Zen 4).
    /// </summary>
    private const int PrefetchDistance = 1024;

    // Stryker disable all : hints only: which lines are asked for changes no value (a hint never faults)

    /// <summary>
    /// Asks for the entries <see cref="PrefetchDistance"/> after <paramref name="e"/> (at most the last one) in both arrays of a
    /// layout. The entries stream from memory once per step, and the hardware's own prefetch left the loops waiting on
    /// them (Zen 4, forward pass: 0.78 → 0.60 ns per entry). The kernels call it once per round of entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchAhead<TIndex, T>(ref TIndex index, ref T values, nint e, nint last)
    {
        nint ahead = Math.Min(e + PrefetchDistance, last);
        CacheHints.Prefetch(ref Unsafe.Add(ref index, ahead));
        CacheHints.Prefetch(ref Unsafe.Add(ref values, ahead));
    }

    // Stryker restore all

    /// <summary>
    /// values[e] in every lane: from lane <paramref name="pattern"/> of <paramref name="eight"/> (eight values loaded at once)
    /// where the path has eight lanes and 32 vector registers (AVX-512 hardware: the eight selectors, eight accumulators and
    /// the loaded rows fit), else a broadcast load. The same value either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Value<T, TVec, TOps>(TVec eight, TVec pattern, ref T values, nint e)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        return TOps.Count >= 8 && Vector512.IsHardwareAccelerated ? TOps.BroadcastLane(eight, pattern) : TOps.Broadcast(Unsafe.Add(ref values, e));
    }

    /// <summary>
    /// Σ over entries [e, end) of value[e] · table row index[e], for rows of two vectors (2·w elements): four accumulator
    /// pairs, summed in a fixed order. Shared by the forward (rows of Wᵀ by pixel) and gradient (rows of dZᵀ by column) kernels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SumTwoVectorRows<T, TVec, TOps, TIndex>(ref TIndex index, ref T values, nint e, nint end, nint last, ref T table, out TVec lower, out TVec upper)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        int w = TOps.Count;
        TVec a0 = TOps.Zero, a1 = TOps.Zero, b0 = TOps.Zero, b1 = TOps.Zero;
        TVec c0 = TOps.Zero, c1 = TOps.Zero, d0 = TOps.Zero, d1 = TOps.Zero;
        for (; e + 4 <= end; e += 4)
        {
            PrefetchAhead(ref index, ref values, e, last);
            TVec s0 = TOps.Broadcast(Unsafe.Add(ref values, e));
            ref T r0 = ref Unsafe.Add(ref table, nint.CreateTruncating(Unsafe.Add(ref index, e)) * (2 * w));
            a0 = TOps.FusedMultiplyAdd(s0, TOps.Load(in r0), a0);
            a1 = TOps.FusedMultiplyAdd(s0, TOps.Load(in Unsafe.Add(ref r0, w)), a1);
            TVec s1 = TOps.Broadcast(Unsafe.Add(ref values, e + 1));
            ref T r1 = ref Unsafe.Add(ref table, nint.CreateTruncating(Unsafe.Add(ref index, e + 1)) * (2 * w));
            b0 = TOps.FusedMultiplyAdd(s1, TOps.Load(in r1), b0);
            b1 = TOps.FusedMultiplyAdd(s1, TOps.Load(in Unsafe.Add(ref r1, w)), b1);
            TVec s2 = TOps.Broadcast(Unsafe.Add(ref values, e + 2));
            ref T r2 = ref Unsafe.Add(ref table, nint.CreateTruncating(Unsafe.Add(ref index, e + 2)) * (2 * w));
            c0 = TOps.FusedMultiplyAdd(s2, TOps.Load(in r2), c0);
            c1 = TOps.FusedMultiplyAdd(s2, TOps.Load(in Unsafe.Add(ref r2, w)), c1);
            TVec s3 = TOps.Broadcast(Unsafe.Add(ref values, e + 3));
            ref T r3 = ref Unsafe.Add(ref table, nint.CreateTruncating(Unsafe.Add(ref index, e + 3)) * (2 * w));
            d0 = TOps.FusedMultiplyAdd(s3, TOps.Load(in r3), d0);
            d1 = TOps.FusedMultiplyAdd(s3, TOps.Load(in Unsafe.Add(ref r3, w)), d1);
        }

        for (; e < end; e++)
        {
            TVec s0 = TOps.Broadcast(Unsafe.Add(ref values, e));
            ref T r0 = ref Unsafe.Add(ref table, nint.CreateTruncating(Unsafe.Add(ref index, e)) * (2 * w));
            a0 = TOps.FusedMultiplyAdd(s0, TOps.Load(in r0), a0);
            a1 = TOps.FusedMultiplyAdd(s0, TOps.Load(in Unsafe.Add(ref r0, w)), a1);
        }

        lower = TOps.Add(TOps.Add(a0, b0), TOps.Add(c0, d0));
        upper = TOps.Add(TOps.Add(a1, b1), TOps.Add(c1, d1));
    }
}
