using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// The fast matrix products: register-tiled SIMD kernels, one body per vector width (see
/// <see cref="ISimdOps{T, TVec}"/>), split over threads in chunks whose boundaries depend only on the shapes.
/// Shapes are checked by the public callers in <see cref="Matrix{T}"/>; these methods trust them.
/// </summary>
/// <remarks>
/// Determinism: in <c>A·B</c> and <c>Aᵀ·B</c> each output element is one sequential fused multiply-add chain
/// over k, identical on every path and in every lane, so the result does not even depend on the SIMD width.
/// In <c>A·Bᵀ</c> with few rows (the seed's gradients) each element is a dot product split into vector lanes; its
/// bits depend on the SIMD path and the fixed k-block size, never on the thread count. Large products of every
/// kind go to <see cref="PackedGemm"/>, which keeps the sequential chain.
/// </remarks>
[SkipLocalsInit]
internal static class MatrixKernels
{
    /// <summary>Columns of C per parallel chunk in A·B; a multiple of every tile width, small enough that the
    /// K × 64 panel of B (200 KB for K = 784 floats) stays in L2 while every row tile passes over it.</summary>
    internal const int ColumnChunk = 512;

    /// <summary>Columns of C (rows of B) per parallel chunk in A·Bᵀ.</summary>
    internal const int TransposedChunk = 16;

    /// <summary>Length of the k blocks in A·Bᵀ, so the block of A stays in L2 while B's rows stream past.</summary>
    internal const int DotBlockLength = 4096;

    /// <summary>Products with fewer multiply-adds than this (2 M, ~0.1 ms on one core) run on the calling thread only: below it a second thread costs more in hand-over than it saves.</summary>
    internal const long ParallelThreshold = 1L << 21;

    public static void Multiply<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c, SimdPath path, int maxThreads)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        RunStrided(a, a.Stride, 1, a.Columns, b, c, path, maxThreads);

    public static void TransposeAndMultiply<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c, SimdPath path, int maxThreads)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        RunStrided(a, 1, a.Stride, a.Rows, b, c, path, maxThreads);

    public static void MultiplyByTranspose<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c, SimdPath path, int maxThreads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (PackedGemm.IsWorthwhile(c.Rows, a.Columns, c.Columns))
        {
            // B's element (p, j) is b[j, p].
            PackedGemm.Multiply(a, a.Stride, 1, b, 1, b.Stride, a.Columns, c, path, maxThreads);
            return;
        }

        TransposedJob<T> job = TransposedJob<T>.ForCurrentThread;
        job.A = a;
        job.B = b;
        job.C = c;
        job.Path = MnistNetRuntime.Resolve(path);
        int chunks = (c.Columns + TransposedChunk - 1) / TransposedChunk;
        int threads = (long)c.Rows * c.Columns * a.Columns < ParallelThreshold ? 1 : maxThreads;
        try
        {
            WorkerPool.Shared.Run(job, chunks, threads);
        }
        finally
        {
            job.A = job.B = job.C = null!;
        }
    }

    /// <summary>
    /// <c>destination = gradient ⊙ [z &gt; 0]</c> over all rows
    /// and columns [<paramref name="columnStart"/>, <paramref name="columnEnd"/>): the ReLU backward step.
    /// </summary>
    public static void ReLUBackward<T>(Matrix<T> gradient, Matrix<T> z, Matrix<T> destination, int columnStart, int columnEnd, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        ReLUBackward(gradient, z, destination, 0, z.Rows, columnStart, columnEnd, path);

    /// <summary>As <see cref="ReLUBackward{T}(Matrix{T}, Matrix{T}, Matrix{T}, int, int, SimdPath)"/> for rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) only.</summary>
    public static void ReLUBackward<T>(Matrix<T> gradient, Matrix<T> z, Matrix<T> destination, int rowStart, int rowEnd, int columnStart, int columnEnd, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            var loop = new SelectLoop<T>(
                ref Unsafe.Add(ref gradient.UnsafeStart, r * gradient.Stride),
                ref Unsafe.Add(ref z.UnsafeStart, r * z.Stride),
                ref Unsafe.Add(ref destination.UnsafeStart, r * destination.Stride));
            Simd.Cascade<T, SelectLoop<T>>(path, ref loop, columnStart, columnEnd);
        }
    }

    /// <summary>One row of <see cref="ReLUBackward{T}(Matrix{T}, Matrix{T}, Matrix{T}, int, int, int, int, SimdPath)"/> as a loop for <see cref="Simd.Cascade"/>.</summary>
    private readonly ref struct SelectLoop<T>(ref T g, ref T z, ref T d) : IVectorLoop<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly ref T _g = ref g;
        private readonly ref T _z = ref z;
        private readonly ref T _d = ref d;

        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<T, TVec> =>
            SelectPositive<T, TVec, TOps>(ref _g, ref _z, ref _d, i, end);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SelectPositive<T, TVec, TOps>(ref T g, ref T z, ref T d, int j, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        for (; j + TOps.Count <= end; j += TOps.Count)
        {
            TOps.Store(TOps.SelectWherePositive(TOps.Load(in Unsafe.Add(ref z, j)), TOps.Load(in Unsafe.Add(ref g, j))), ref Unsafe.Add(ref d, j));
        }

        return j;
    }

    private static void RunStrided<T>(Matrix<T> a, int rowStrideA, int colStrideA, int k, Matrix<T> b, Matrix<T> c, SimdPath path, int maxThreads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (PackedGemm.IsWorthwhile(c.Rows, k, c.Columns))
        {
            PackedGemm.Multiply(a, rowStrideA, colStrideA, b, b.Stride, 1, k, c, path, maxThreads);
            return;
        }

        StridedJob<T> job = StridedJob<T>.ForCurrentThread;
        job.A = a;
        job.RowStrideA = rowStrideA;
        job.ColStrideA = colStrideA;
        job.K = k;
        job.B = b;
        job.C = c;
        job.Path = MnistNetRuntime.Resolve(path);
        int chunks = (c.Columns + ColumnChunk - 1) / ColumnChunk;
        int threads = (long)c.Rows * c.Columns * k < ParallelThreshold ? 1 : maxThreads;
        try
        {
            WorkerPool.Shared.Run(job, chunks, threads);
        }
        finally
        {
            job.A = job.B = job.C = null!;
        }
    }

    /// <summary>
    /// C[:, j0..j1) = A · B[:, j0..j1) where A's element (i, k) is at <c>a[i * rsA + k * csA]</c>, so the same
    /// body computes A·B (rsA = stride, csA = 1) and Aᵀ·B (rsA = 1, csA = stride).
    /// Tiles of 5 rows × 2 vectors keep 10 accumulators in registers while k walks down B's rows (5 rows:
    /// the seed's 10 hidden units in two passes; few enough registers for the 16 of AVX2).
    /// </summary>
    /// <returns>The first column not computed (the caller finishes the tail with a narrower path).</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int StridedColumns<T, TVec, TOps>(
        ref T a, nint rsA, nint csA, int m, int k, ref T b, nint ldb, ref T c, nint ldc, int j, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        for (; j + (2 * w) <= j1; j += 2 * w)
        {
            int i = 0;
            for (; i + 5 <= m; i += 5)
            {
                TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero;
                TVec c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero;
                ref T a0 = ref Unsafe.Add(ref a, i * rsA);
                ref T bk = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    // B's rows are far apart, so the hardware prefetcher sees little of this walk:
                    // fetch the same row two tiles ahead (the next columns this loop will need).
                    CacheHints.Prefetch(ref Unsafe.Add(ref bk, 4 * w));
                    TVec b0 = TOps.Load(in bk);
                    TVec b1 = TOps.Load(in Unsafe.Add(ref bk, w));
                    ref T ap = ref Unsafe.Add(ref a0, p * csA);
                    TVec x = TOps.Broadcast(ap);
                    c00 = TOps.FusedMultiplyAdd(x, b0, c00);
                    c01 = TOps.FusedMultiplyAdd(x, b1, c01);
                    x = TOps.Broadcast(Unsafe.Add(ref ap, rsA));
                    c10 = TOps.FusedMultiplyAdd(x, b0, c10);
                    c11 = TOps.FusedMultiplyAdd(x, b1, c11);
                    x = TOps.Broadcast(Unsafe.Add(ref ap, 2 * rsA));
                    c20 = TOps.FusedMultiplyAdd(x, b0, c20);
                    c21 = TOps.FusedMultiplyAdd(x, b1, c21);
                    x = TOps.Broadcast(Unsafe.Add(ref ap, 3 * rsA));
                    c30 = TOps.FusedMultiplyAdd(x, b0, c30);
                    c31 = TOps.FusedMultiplyAdd(x, b1, c31);
                    x = TOps.Broadcast(Unsafe.Add(ref ap, 4 * rsA));
                    c40 = TOps.FusedMultiplyAdd(x, b0, c40);
                    c41 = TOps.FusedMultiplyAdd(x, b1, c41);
                    bk = ref Unsafe.Add(ref bk, ldb);
                }

                ref T ci = ref Unsafe.Add(ref c, (i * ldc) + j);
                TOps.Store(c00, ref ci);
                TOps.Store(c01, ref Unsafe.Add(ref ci, w));
                ci = ref Unsafe.Add(ref ci, ldc);
                TOps.Store(c10, ref ci);
                TOps.Store(c11, ref Unsafe.Add(ref ci, w));
                ci = ref Unsafe.Add(ref ci, ldc);
                TOps.Store(c20, ref ci);
                TOps.Store(c21, ref Unsafe.Add(ref ci, w));
                ci = ref Unsafe.Add(ref ci, ldc);
                TOps.Store(c30, ref ci);
                TOps.Store(c31, ref Unsafe.Add(ref ci, w));
                ci = ref Unsafe.Add(ref ci, ldc);
                TOps.Store(c40, ref ci);
                TOps.Store(c41, ref Unsafe.Add(ref ci, w));
            }

            for (; i < m; i++)
            {
                TVec c0 = TOps.Zero, c1 = TOps.Zero;
                ref T ai = ref Unsafe.Add(ref a, i * rsA);
                ref T bk = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    TVec x = TOps.Broadcast(Unsafe.Add(ref ai, p * csA));
                    c0 = TOps.FusedMultiplyAdd(x, TOps.Load(in bk), c0);
                    c1 = TOps.FusedMultiplyAdd(x, TOps.Load(in Unsafe.Add(ref bk, w)), c1);
                    bk = ref Unsafe.Add(ref bk, ldb);
                }

                ref T ci = ref Unsafe.Add(ref c, (i * ldc) + j);
                TOps.Store(c0, ref ci);
                TOps.Store(c1, ref Unsafe.Add(ref ci, w));
            }
        }

        for (; j + w <= j1; j += w)
        {
            for (int i = 0; i < m; i++)
            {
                TVec c0 = TOps.Zero;
                ref T ai = ref Unsafe.Add(ref a, i * rsA);
                ref T bk = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    c0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref ai, p * csA)), TOps.Load(in bk), c0);
                    bk = ref Unsafe.Add(ref bk, ldb);
                }

                TOps.Store(c0, ref Unsafe.Add(ref c, (i * ldc) + j));
            }
        }

        return j;
    }

    /// <summary>
    /// C[i, j] (+)= Σ_{p in [p0, p1)} A[i, p]·B[j, p] for all i and j in [j0, j1): dot products of contiguous rows,
    /// 5 rows of A × 2 rows of B at a time (10 vector accumulators), lanes summed in a fixed order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlock<T, TVec, TOps>(
        ref T a, nint lda, int m, ref T b, nint ldb, ref T c, nint ldc, int j0, int j1, int p0, int p1, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        int vectorEnd = p0 + ((p1 - p0) / w * w);
        int j = j0;
        for (; j + 2 <= j1; j += 2)
        {
            ref T b0 = ref Unsafe.Add(ref b, j * ldb);
            ref T b1 = ref Unsafe.Add(ref b0, ldb);
            int i = 0;
            for (; i + 5 <= m; i += 5)
            {
                ref T a0 = ref Unsafe.Add(ref a, i * lda);
                ref T a1 = ref Unsafe.Add(ref a0, lda);
                ref T a2 = ref Unsafe.Add(ref a1, lda);
                ref T a3 = ref Unsafe.Add(ref a2, lda);
                ref T a4 = ref Unsafe.Add(ref a3, lda);
                TVec s00 = TOps.Zero, s01 = TOps.Zero, s10 = TOps.Zero, s11 = TOps.Zero, s20 = TOps.Zero;
                TVec s21 = TOps.Zero, s30 = TOps.Zero, s31 = TOps.Zero, s40 = TOps.Zero, s41 = TOps.Zero;
                for (int p = p0; p < vectorEnd; p += w)
                {
                    // Only the first row tile streams B from memory; fetch 1 KB ahead in both rows.
                    CacheHints.Prefetch(ref Unsafe.Add(ref b0, p + PrefetchDistance));
                    CacheHints.Prefetch(ref Unsafe.Add(ref b1, p + PrefetchDistance));
                    TVec x0 = TOps.Load(in Unsafe.Add(ref b0, p));
                    TVec x1 = TOps.Load(in Unsafe.Add(ref b1, p));
                    TVec y = TOps.Load(in Unsafe.Add(ref a0, p));
                    s00 = TOps.FusedMultiplyAdd(y, x0, s00);
                    s01 = TOps.FusedMultiplyAdd(y, x1, s01);
                    y = TOps.Load(in Unsafe.Add(ref a1, p));
                    s10 = TOps.FusedMultiplyAdd(y, x0, s10);
                    s11 = TOps.FusedMultiplyAdd(y, x1, s11);
                    y = TOps.Load(in Unsafe.Add(ref a2, p));
                    s20 = TOps.FusedMultiplyAdd(y, x0, s20);
                    s21 = TOps.FusedMultiplyAdd(y, x1, s21);
                    y = TOps.Load(in Unsafe.Add(ref a3, p));
                    s30 = TOps.FusedMultiplyAdd(y, x0, s30);
                    s31 = TOps.FusedMultiplyAdd(y, x1, s31);
                    y = TOps.Load(in Unsafe.Add(ref a4, p));
                    s40 = TOps.FusedMultiplyAdd(y, x0, s40);
                    s41 = TOps.FusedMultiplyAdd(y, x1, s41);
                }

                ref T ci = ref Unsafe.Add(ref c, (i * ldc) + j);
                Finish(ref ci, TOps.Sum(s00), ref a0, ref b0, vectorEnd, p1, accumulate);
                Finish(ref Unsafe.Add(ref ci, 1), TOps.Sum(s01), ref a0, ref b1, vectorEnd, p1, accumulate);
                ci = ref Unsafe.Add(ref ci, ldc);
                Finish(ref ci, TOps.Sum(s10), ref a1, ref b0, vectorEnd, p1, accumulate);
                Finish(ref Unsafe.Add(ref ci, 1), TOps.Sum(s11), ref a1, ref b1, vectorEnd, p1, accumulate);
                ci = ref Unsafe.Add(ref ci, ldc);
                Finish(ref ci, TOps.Sum(s20), ref a2, ref b0, vectorEnd, p1, accumulate);
                Finish(ref Unsafe.Add(ref ci, 1), TOps.Sum(s21), ref a2, ref b1, vectorEnd, p1, accumulate);
                ci = ref Unsafe.Add(ref ci, ldc);
                Finish(ref ci, TOps.Sum(s30), ref a3, ref b0, vectorEnd, p1, accumulate);
                Finish(ref Unsafe.Add(ref ci, 1), TOps.Sum(s31), ref a3, ref b1, vectorEnd, p1, accumulate);
                ci = ref Unsafe.Add(ref ci, ldc);
                Finish(ref ci, TOps.Sum(s40), ref a4, ref b0, vectorEnd, p1, accumulate);
                Finish(ref Unsafe.Add(ref ci, 1), TOps.Sum(s41), ref a4, ref b1, vectorEnd, p1, accumulate);
            }

            for (; i < m; i++)
            {
                ref T ai = ref Unsafe.Add(ref a, i * lda);
                ref T ci = ref Unsafe.Add(ref c, (i * ldc) + j);
                Finish(ref ci, Dot<T, TVec, TOps>(ref ai, ref b0, p0, vectorEnd), ref ai, ref b0, vectorEnd, p1, accumulate);
                Finish(ref Unsafe.Add(ref ci, 1), Dot<T, TVec, TOps>(ref ai, ref b1, p0, vectorEnd), ref ai, ref b1, vectorEnd, p1, accumulate);
            }
        }

        for (; j < j1; j++)
        {
            ref T bj = ref Unsafe.Add(ref b, j * ldb);
            for (int i = 0; i < m; i++)
            {
                ref T ai = ref Unsafe.Add(ref a, i * lda);
                Finish(ref Unsafe.Add(ref c, (i * ldc) + j), Dot<T, TVec, TOps>(ref ai, ref bj, p0, vectorEnd), ref ai, ref bj, vectorEnd, p1, accumulate);
            }
        }
    }

    /// <summary>Elements ahead of the current position that <see cref="DotBlock{T, TVec, TOps}"/> prefetches (1 KB of floats).</summary>
    private const int PrefetchDistance = 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T, TVec, TOps>(ref T x, ref T y, int p0, int vectorEnd)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec s = TOps.Zero;
        for (int p = p0; p < vectorEnd; p += TOps.Count)
        {
            s = TOps.FusedMultiplyAdd(TOps.Load(in Unsafe.Add(ref x, p)), TOps.Load(in Unsafe.Add(ref y, p)), s);
        }

        return TOps.Sum(s);
    }

    /// <summary>Adds the scalar tail [vectorEnd, p1) to a lane sum and stores or accumulates it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<T>(ref T destination, T sum, ref T x, ref T y, int vectorEnd, int p1, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int p = vectorEnd; p < p1; p++)
        {
            sum = T.FusedMultiplyAdd(Unsafe.Add(ref x, p), Unsafe.Add(ref y, p), sum);
        }

        destination = accumulate ? destination + sum : sum;
    }

    /// <summary>
    /// C[:, j0..j1) = A · B[:, j0..j1), with A's element (i, p) at <c>A[i * rowStrideA + p * colStrideA]</c> and p over
    /// [0, <paramref name="k"/>): the column-range body of A·B and Aᵀ·B, on the resolved <paramref name="path"/>.
    /// </summary>
    internal static void MultiplyColumns<T>(Matrix<T> a, int rowStrideA, int colStrideA, int k, Matrix<T> b, Matrix<T> c, int j0, int j1, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Every path gives the same bits here (one FMA chain per element), so the tail may use
        // narrower vectors than the body.
        var loop = new StridedLoop<T>(a, rowStrideA, colStrideA, k, b, c);
        Simd.Cascade<T, StridedLoop<T>>(path, ref loop, j0, j1);
    }

    /// <summary>The columns of <see cref="MultiplyColumns"/> as a loop for <see cref="Simd.Cascade"/>.</summary>
    private readonly ref struct StridedLoop<T>(Matrix<T> a, nint rowStrideA, nint colStrideA, int k, Matrix<T> b, Matrix<T> c) : IVectorLoop<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<T, TVec> =>
            StridedColumns<T, TVec, TOps>(ref a.UnsafeStart, rowStrideA, colStrideA, c.Rows, k, ref b.UnsafeStart, b.Stride, ref c.UnsafeStart, c.Stride, i, end);
    }

    /// <summary>
    /// C[i, j] = (C[i, j] if <paramref name="accumulate"/>) + Σ_{p in [p0, p1)} A[i, p]·B[j, p] for every row i of C and
    /// j in [j0, j1): a slice of A·Bᵀ over a range of the inner dimension, on the resolved <paramref name="path"/>.
    /// </summary>
    internal static void DotRange<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c, int j0, int j1, int p0, int p1, bool accumulate, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kernel = new DotKernel<T>(a, b, c, j0, j1, p0, p1, accumulate);
        Simd.Dispatch<T, DotKernel<T>>(path, ref kernel);
    }

    /// <summary><see cref="DotRange"/> as a kernel for <see cref="Simd.Dispatch"/>.</summary>
    private readonly ref struct DotKernel<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c, int j0, int j1, int p0, int p1, bool accumulate) : IVectorKernel<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec> =>
            DotBlock<T, TVec, TOps>(ref a.UnsafeStart, a.Stride, c.Rows, ref b.UnsafeStart, b.Stride, ref c.UnsafeStart, c.Stride, j0, j1, p0, p1, accumulate);
    }

    private sealed class StridedJob<T> : IChunkJob
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static StridedJob<T>? t_instance;

        public Matrix<T> A = null!;
        public Matrix<T> B = null!;
        public Matrix<T> C = null!;
        public int RowStrideA;
        public int ColStrideA;
        public int K;
        public SimdPath Path;

        public static StridedJob<T> ForCurrentThread => t_instance ??= new StridedJob<T>();

        public void Execute(int chunk)
        {
            int j0 = chunk * ColumnChunk;
            int j1 = Math.Min(j0 + ColumnChunk, C.Columns);
            MultiplyColumns(A, RowStrideA, ColStrideA, K, B, C, j0, j1, Path);
        }
    }

    private sealed class TransposedJob<T> : IChunkJob
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static TransposedJob<T>? t_instance;

        public Matrix<T> A = null!;
        public Matrix<T> B = null!;
        public Matrix<T> C = null!;
        public SimdPath Path;

        public static TransposedJob<T> ForCurrentThread => t_instance ??= new TransposedJob<T>();

        public void Execute(int chunk)
        {
            int j0 = chunk * TransposedChunk;
            int j1 = Math.Min(j0 + TransposedChunk, C.Columns);
            int k = A.Columns;
            if (k == 0)
            {
                for (int i = 0; i < C.Rows; i++)
                {
                    C.Row(i)[j0..j1].Clear();
                }

                return;
            }

            for (int p0 = 0; p0 < k; p0 += DotBlockLength)
            {
                DotRange(A, B, C, j0, j1, p0, Math.Min(p0 + DotBlockLength, k), accumulate: p0 > 0, Path);
            }
        }
    }
}
