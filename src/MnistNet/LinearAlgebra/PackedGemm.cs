using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// General matrix product for large shapes, BLIS-style: A is packed once into slivers of <see cref="MR"/> rows, each
/// block of B into slivers of two vectors' width, and a 6 × 2-vector register tile (12 accumulators) walks the
/// packed k dimension, so every load in the inner loop is contiguous and every loaded value feeds several FMAs.
/// </summary>
/// <remarks>
/// <para>Operands are given by strides, so one routine computes A·B, Aᵀ·B and A·Bᵀ: element (i, p) of the left
/// operand is <c>a[i·rsA + p·csA]</c> and element (p, j) of the right one is <c>b[p·rsB + j·csB]</c>.</para>
/// <para>Each element of C is one sequential fused multiply-add chain over p (the k blocks continue the chain from
/// the value stored in C), so the result has exactly the bits of the unpacked kernel and of the scalar path, on any
/// number of threads. Columns of C are split into fixed chunks of <see cref="ChunkColumns"/>; when that gives fewer
/// than <see cref="MinimumChunks"/> (a dense layer's forward pass and input gradient on a batch of 128 have one), rows
/// are split too, into at most <see cref="RowBlocks"/> blocks of whole slivers, and each column chunk's B is packed
/// once for all of k before the row blocks share it. Which chunk computes a tile never changes its chain.</para>
/// </remarks>
[SkipLocalsInit]
internal static class PackedGemm
{
    /// <summary>Rows of A per register tile.</summary>
    public const int MR = 6;

    /// <summary>Length of the k blocks: a 6 × 256 sliver of A and a 256 × 2-vector sliver of B stay in L1.</summary>
    public const int KC = 256;

    /// <summary>Columns of C per parallel chunk (and per packed block of B).</summary>
    public const int ChunkColumns = 128;

    /// <summary>A column chunk's width in any path's slivers (a multiple of two 512-bit vectors of float).</summary>
    private const int PaddedChunkColumns = (ChunkColumns + 31) / 32 * 32;

    /// <summary>Fewest parallel chunks of C before its rows are split as well as its columns.</summary>
    public const int MinimumChunks = 4;

    /// <summary>Most row blocks per column chunk when rows are split.</summary>
    public const int RowBlocks = 8;

    /// <summary>Whether the packed kernel is worth its packing cost for an M × K · K × N product (measured: from about 300³ up).</summary>
    // Stryker disable once all : which kernel runs is speed only: the packed and the unpacked kernels give the same bits (PackedGemmTests compares them bit for bit on every path)
    public static bool IsWorthwhile(int m, int k, int n) => m >= 2 * MR && k >= 16 && n >= 64 && (long)m * n * k > 1L << 24;

    public static void Multiply<T>(Matrix<T> a, int rsA, int csA, Matrix<T> b, int rsB, int csB, int k, Matrix<T> c, SimdPath path, int maxThreads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = c.Rows;
        int n = c.Columns;
        int slivers = (m + MR - 1) / MR;
        int columnChunks = (n + ChunkColumns - 1) / ChunkColumns;
        // Stryker disable once Equality,Arithmetic : how rows are blocked is speed only: every split gives the same bits (PackedGemmTests)
        int sliversPerBlock = Math.Max(1, columnChunks >= MinimumChunks ? slivers : (slivers + RowBlocks - 1) / RowBlocks);
        int rowBlocks = (slivers + sliversPerBlock - 1) / sliversPerBlock;
        GemmJob<T> job = GemmJob<T>.ForCurrentThread;
        try
        {
            // The packing buffers belong to the calling thread's job, one for B per column chunk, so which thread runs
            // which chunk never decides whether something is allocated (a shared pool did, now and then).
            job.Set(a, rsA, csA, b, rsB, csB, k, c, MnistNetRuntime.Resolve(path), slivers * MR * k, columnChunks, sliversPerBlock, rowBlocks);

            // Phase 1: pack A (one chunk per group of 16 slivers) and, when rows are split, each column chunk's B for
            // all of k; phase 2: the products, by column chunks (times row blocks).
            job.Phase = 1;
            WorkerPool.Shared.Run(job, job.PackAChunks + (rowBlocks > 1 ? columnChunks : 0), maxThreads);
            job.Phase = 2;
            WorkerPool.Shared.Run(job, columnChunks * rowBlocks, maxThreads);
        }
        // Stryker disable once Block,Statement : releases the operands for the collector; no value depends on it
        finally
        {
            job.Clear();
        }
    }

    /// <summary>
    /// Packs rows [i0, i0 + MR) of A (zero beyond m) for all k: for each k block, the sliver is KC × MR values,
    /// p-major, so the micro-kernel broadcasts MR consecutive values per p.
    /// Layout: block pc starts at pc·MR (within the sliver's region of MR·k values).
    /// </summary>
    internal static void PackA<T>(ref T a, nint rsA, nint csA, int m, int k, int i0, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = Math.Min(MR, m - i0);
        int d = 0;
        for (int p = 0; p < k; p++)
        {
            ref T column = ref Unsafe.Add(ref a, (i0 * rsA) + (p * csA));
            for (int r = 0; r < rows; r++)
            {
                destination[d + r] = Unsafe.Add(ref column, r * rsA);
            }

            for (int r = rows; r < MR; r++)
            {
                destination[d + r] = T.Zero;
            }

            d += MR;
        }
    }

    /// <summary>Packs B[p0..p1, j0..j1) into slivers of <paramref name="nr"/> columns (zero beyond j1), each (p1 − p0) × nr, p-major.</summary>
    private static void PackB<T>(ref T b, nint rsB, nint csB, int p0, int p1, int j0, int j1, int nr, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = 0;
        for (int js = j0; js < j1; js += nr)
        {
            int cols = Math.Min(nr, j1 - js);
            for (int p = p0; p < p1; p++)
            {
                ref T row = ref Unsafe.Add(ref b, (p * rsB) + (js * csB));
                if (csB == 1)
                {
                    MemoryMarshalCopy(ref row, destination.Slice(d, cols));
                }
                else
                {
                    for (int c = 0; c < cols; c++)
                    {
                        destination[d + c] = Unsafe.Add(ref row, c * csB);
                    }
                }

                destination.Slice(d + cols, nr - cols).Clear();
                d += nr;
            }
        }
    }

    private static void MemoryMarshalCopy<T>(ref T source, Span<T> destination) =>
        System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref source, destination.Length).CopyTo(destination);

    /// <summary>
    /// C[i0.., j0..] (6 × 2 vectors) = (C if <paramref name="accumulate"/>) + Σ_p Ap[p·MR + r]·Bp[p·2w + c] over
    /// <paramref name="kc"/> packed steps; rows and columns beyond <paramref name="rows"/>/<paramref name="cols"/> are
    /// computed into a scratch tile and dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MicroKernel<T, TVec, TOps>(ref T ap, ref T bp, int kc, ref T c, nint ldc, int rows, int cols, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        int nr = 2 * w;
        bool full = rows == MR && cols == nr;
        // Stryker disable once Conditional : a scratch tile the full-tile path does not use changes no value
        Span<T> scratch = stackalloc T[full ? 0 : MR * 2 * 64 / Unsafe.SizeOf<T>()];
        scoped ref T target = ref c;
        nint ldt = ldc;
        if (!full)
        {
            // Edge tile: work on a zero-padded copy.
            ldt = nr;
            target = ref scratch[0];
            scratch.Clear();
            if (accumulate)
            {
                for (int r = 0; r < rows; r++)
                {
                    for (int q = 0; q < cols; q++)
                    {
                        Unsafe.Add(ref target, (r * ldt) + q) = Unsafe.Add(ref c, (r * ldc) + q);
                    }
                }
            }
        }

        TVec c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate || !full)
        {
            ref T t = ref target;
            c00 = TOps.Load(in t); c01 = TOps.Load(in Unsafe.Add(ref t, w)); t = ref Unsafe.Add(ref t, ldt);
            c10 = TOps.Load(in t); c11 = TOps.Load(in Unsafe.Add(ref t, w)); t = ref Unsafe.Add(ref t, ldt);
            c20 = TOps.Load(in t); c21 = TOps.Load(in Unsafe.Add(ref t, w)); t = ref Unsafe.Add(ref t, ldt);
            c30 = TOps.Load(in t); c31 = TOps.Load(in Unsafe.Add(ref t, w)); t = ref Unsafe.Add(ref t, ldt);
            c40 = TOps.Load(in t); c41 = TOps.Load(in Unsafe.Add(ref t, w)); t = ref Unsafe.Add(ref t, ldt);
            c50 = TOps.Load(in t); c51 = TOps.Load(in Unsafe.Add(ref t, w));
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = TOps.Zero;
        }

        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TOps.Load(in bp);
            TVec b1 = TOps.Load(in Unsafe.Add(ref bp, w));
            TVec x = TOps.Broadcast(ap);
            c00 = TOps.FusedMultiplyAdd(x, b0, c00);
            c01 = TOps.FusedMultiplyAdd(x, b1, c01);
            x = TOps.Broadcast(Unsafe.Add(ref ap, 1));
            c10 = TOps.FusedMultiplyAdd(x, b0, c10);
            c11 = TOps.FusedMultiplyAdd(x, b1, c11);
            x = TOps.Broadcast(Unsafe.Add(ref ap, 2));
            c20 = TOps.FusedMultiplyAdd(x, b0, c20);
            c21 = TOps.FusedMultiplyAdd(x, b1, c21);
            x = TOps.Broadcast(Unsafe.Add(ref ap, 3));
            c30 = TOps.FusedMultiplyAdd(x, b0, c30);
            c31 = TOps.FusedMultiplyAdd(x, b1, c31);
            x = TOps.Broadcast(Unsafe.Add(ref ap, 4));
            c40 = TOps.FusedMultiplyAdd(x, b0, c40);
            c41 = TOps.FusedMultiplyAdd(x, b1, c41);
            x = TOps.Broadcast(Unsafe.Add(ref ap, 5));
            c50 = TOps.FusedMultiplyAdd(x, b0, c50);
            c51 = TOps.FusedMultiplyAdd(x, b1, c51);
            ap = ref Unsafe.Add(ref ap, MR);
            bp = ref Unsafe.Add(ref bp, nr);
        }

        ref T o = ref target;
        TOps.Store(c00, ref o); TOps.Store(c01, ref Unsafe.Add(ref o, w)); o = ref Unsafe.Add(ref o, ldt);
        TOps.Store(c10, ref o); TOps.Store(c11, ref Unsafe.Add(ref o, w)); o = ref Unsafe.Add(ref o, ldt);
        TOps.Store(c20, ref o); TOps.Store(c21, ref Unsafe.Add(ref o, w)); o = ref Unsafe.Add(ref o, ldt);
        TOps.Store(c30, ref o); TOps.Store(c31, ref Unsafe.Add(ref o, w)); o = ref Unsafe.Add(ref o, ldt);
        TOps.Store(c40, ref o); TOps.Store(c41, ref Unsafe.Add(ref o, w)); o = ref Unsafe.Add(ref o, ldt);
        TOps.Store(c50, ref o); TOps.Store(c51, ref Unsafe.Add(ref o, w));

        if (!full)
        {
            for (int r = 0; r < rows; r++)
            {
                for (int q = 0; q < cols; q++)
                {
                    Unsafe.Add(ref c, (r * ldc) + q) = Unsafe.Add(ref target, (r * ldt) + q);
                }
            }
        }
    }

    private sealed class GemmJob<T> : IChunkJob
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static GemmJob<T>? t_instance;

        private Matrix<T> _a = null!;
        private Matrix<T> _b = null!;
        private Matrix<T> _c = null!;
        private int _rsA, _csA, _rsB, _csB, _k;
        private SimdPath _path;
        private T[] _packedA = [];
        private T[][] _packedB = [];
        private T[][] _wholeB = [];
        private int _columnChunks, _sliversPerBlock, _rowBlocks;

        public int Phase { get; set; }

        /// <summary>Gets phase 1's chunks that pack A (16 slivers each); the chunks after them pack B.</summary>
        public int PackAChunks => ((_c.Rows + MR - 1) / MR + 15) / 16;

        public static GemmJob<T> ForCurrentThread => t_instance ??= new GemmJob<T>();

        public void Set(Matrix<T> a, int rsA, int csA, Matrix<T> b, int rsB, int csB, int k, Matrix<T> c, SimdPath path, int packedALength, int chunks, int sliversPerBlock, int rowBlocks)
        {
            (_a, _rsA, _csA, _b, _rsB, _csB, _k, _c, _path) = (a, rsA, csA, b, rsB, csB, k, c, path);
            (_columnChunks, _sliversPerBlock, _rowBlocks) = (chunks, sliversPerBlock, rowBlocks);
            // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
            if (_packedA.Length < packedALength)
            {
                _packedA = new T[packedALength];
            }

            // Room for the widest panel of any path (KC × PaddedChunkColumns). Only when rows are not split: a split product
            // reads each column chunk's B from _wholeB instead.
            // Stryker disable once Equality : growing by no chunks (a copy of the same arrays) changes no value
            if (rowBlocks == 1 && _packedB.Length < chunks)
            {
                T[][] grown = new T[chunks][];
                _packedB.CopyTo(grown, 0);
                for (int i = _packedB.Length; i < chunks; i++)
                {
                    grown[i] = new T[KC * PaddedChunkColumns];
                }

                _packedB = grown;
            }

            if (rowBlocks > 1)
            {
                // Room for a column chunk's B over all of k, in any path's slivers.
                int whole = k * PaddedChunkColumns;
                // Stryker disable once Equality : growing by no chunks (a copy of the same arrays) changes no value
                if (_wholeB.Length < chunks)
                {
                    Array.Resize(ref _wholeB, chunks);
                }

                for (int i = 0; i < chunks; i++)
                {
                    // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
                    if (_wholeB[i] is null || _wholeB[i].Length < whole)
                    {
                        _wholeB[i] = new T[whole];
                    }
                }
            }
        }

        public void Clear()
        {
            _a = _b = _c = null!;
        }

        public void Execute(int chunk)
        {
            if (Phase == 1)
            {
                int slivers = (_c.Rows + MR - 1) / MR;
                if (chunk >= PackAChunks)
                {
                    var packer = new ChunkKernel(this, chunk - PackAChunks, packWholeB: true);
                    Simd.Dispatch<T, ChunkKernel>(_path, ref packer);
                    return;
                }

                for (int s = chunk * 16; s < Math.Min(slivers, (chunk + 1) * 16); s++)
                {
                    PackA(ref _a.UnsafeStart, _rsA, _csA, _c.Rows, _k, s * MR, _packedA.AsSpan(s * MR * _k, MR * _k));
                }

                return;
            }

            var kernel = new ChunkKernel(this, chunk, packWholeB: false);
            Simd.Dispatch<T, ChunkKernel>(_path, ref kernel);
        }

        /// <summary>One chunk of the product, or one column chunk's packing of B, for <see cref="Simd.Dispatch"/>.</summary>
        private readonly ref struct ChunkKernel(GemmJob<T> job, int chunk, bool packWholeB) : IVectorKernel<T>
        {
            public void Run<TVec, TOps>()
                where TVec : struct
                where TOps : ISimdOps<T, TVec>
            {
                if (packWholeB)
                {
                    job.PackWholeB<TVec, TOps>(chunk);
                }
                else
                {
                    job.Columns<TVec, TOps>(chunk);
                }
            }
        }

        // One column chunk's B over all of k, k block after k block, each laid out as Columns packs it.
        private void PackWholeB<TVec, TOps>(int columnChunk)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            int nr = 2 * TOps.Count;
            int j0 = columnChunk * ChunkColumns;
            int j1 = Math.Min(j0 + ChunkColumns, _c.Columns);
            int width = (j1 - j0 + nr - 1) / nr * nr;
            for (int p0 = 0; p0 < _k; p0 += KC)
            {
                int kc = Math.Min(KC, _k - p0);
                PackB(ref _b.UnsafeStart, _rsB, _csB, p0, p0 + kc, j0, j1, nr, _wholeB[columnChunk].AsSpan(p0 * width, kc * width));
            }
        }

        private void Columns<TVec, TOps>(int chunk)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            int nr = 2 * TOps.Count;
            int columnChunk = chunk % _columnChunks;
            int rowBlock = chunk / _columnChunks;
            int j0 = columnChunk * ChunkColumns;
            int j1 = Math.Min(j0 + ChunkColumns, _c.Columns);
            int width = (j1 - j0 + nr - 1) / nr * nr;
            int i0First = rowBlock * _sliversPerBlock * MR;
            int i1 = Math.Min(_c.Rows, i0First + (_sliversPerBlock * MR));
            int k = _k;
            bool shared = _rowBlocks > 1;
            T[] packedB = shared ? _wholeB[columnChunk] : _packedB[columnChunk];
            {
                ref T c = ref _c.UnsafeStart;
                nint ldc = _c.Stride;
                if (k == 0)
                {
                    for (int i = i0First; i < i1; i++)
                    {
                        _c.Row(i)[j0..j1].Clear();
                    }

                    return;
                }

                for (int p0 = 0; p0 < k; p0 += KC)
                {
                    int kc = Math.Min(KC, k - p0);
                    int block = 0;
                    if (shared)
                    {
                        block = p0 * width;
                    }
                    else
                    {
                        PackB(ref _b.UnsafeStart, _rsB, _csB, p0, p0 + kc, j0, j1, nr, packedB);
                    }

                    for (int js = j0, sliver = 0; js < j1; js += nr, sliver++)
                    {
                        ref T bp = ref packedB[block + (sliver * kc * nr)];
                        int cols = Math.Min(nr, j1 - js);
                        for (int i0 = i0First; i0 < i1; i0 += MR)
                        {
                            ref T ap = ref _packedA[((i0 / MR) * MR * k) + (p0 * MR)];
                            MicroKernel<T, TVec, TOps>(ref ap, ref bp, kc, ref Unsafe.Add(ref c, (i0 * ldc) + js), ldc, Math.Min(MR, i1 - i0), cols, accumulate: p0 > 0);
                        }
                    }
                }
            }

        }
    }
}
