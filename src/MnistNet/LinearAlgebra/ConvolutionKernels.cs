using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// Where a stride-1 convolution reads: an image of <see cref="Channels"/> × <see cref="Height"/> × <see cref="Width"/>
/// rows (one column per example), k × k kernels, <see cref="Pad"/> zeros on each side, and an output grid of
/// <see cref="OutHeight"/> × <see cref="OutWidth"/> positions. Unrolled row r = (c, i, j) at output position
/// p = (y, x) is image row (c, y + i − pad, x + j − pad), or zero outside the image.
/// </summary>
internal readonly record struct ConvolutionGeometry(int Channels, int Height, int Width, int Kernel, int Pad, int OutHeight, int OutWidth)
{
    /// <summary>Gets the unrolled rows C·k·k (the inner dimension of the products).</summary>
    public int Rows => Channels * Kernel * Kernel;

    /// <summary>Gets the output positions H'·W'.</summary>
    public int Positions => OutHeight * OutWidth;

    /// <summary>Gets the geometry of the input gradient: a convolution of the output gradient (as the image) with the flipped kernels, padded by k − 1 − pad, onto this geometry's image grid.</summary>
    public ConvolutionGeometry Transposed(int outChannels) => new(outChannels, OutHeight, OutWidth, Kernel, Kernel - 1 - Pad, Height, Width);

    /// <summary>The image row that unrolled row (c, i, j) reads at output position (y, x), or −1 where it reads a padding zero.</summary>
    public int SourceRow(int c, int i, int j, int y, int x)
    {
        int sy = y + i - Pad;
        int sx = x + j - Pad;
        return sy < 0 || sy >= Height || sx < 0 || sx >= Width ? -1 : (((c * Height) + sy) * Width) + sx;
    }
}

/// <summary>
/// The convolution's products without an unrolled (im2col) matrix: the packed GEMM's register tile, fed by packing the
/// image rows under each output position straight from the image (an implicit im2col), and a dot-product kernel for
/// the weight gradient. Each output element is one fixed chain of operations whatever the thread count, so the results
/// have the same bits on any number of threads.
/// </summary>
/// <remarks>One instance per layer and context (it keeps the packing buffers); not thread-safe.</remarks>
/// <typeparam name="T">float or double.</typeparam>
[SkipLocalsInit]
internal sealed class ConvolutionKernels<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Chunks per pass: fixed, so that every chunk keeps its own packing buffer from the first step on.</summary>
    internal const int Chunks = 8;

    /// <summary>Example columns (positions × examples) per block of the weight gradient.</summary>
    internal const int BlockColumns = 2048;

    /// <summary>Output rows per tile of the weight gradient's dot-product kernel.</summary>
    internal const int OutTile = 6;

    /// <summary>Unrolled rows per tile of the weight gradient's dot-product kernel.</summary>
    internal const int RowTile = 4;

    private const int MultiplyMode = 0;
    private const int WeightGradientMode = 1;
    private const int BiasGradientMode = 2;

    private readonly T[][] _packedB = new T[Chunks][];
    private T[] _packedA = [];
    private T[] _zeros = [];
    private Matrix<T>? _image;
    private Matrix<T>? _target;
    private Matrix<T>? _other;
    private ConvolutionGeometry _geometry;
    private int _mode;
    private int _outRows;
    private int _columnChunks;
    private int _positions;
    private SimdPath _path;

    /// <summary>
    /// output[(o·P + p), e] = Σ_r weights[o, r] · U[r, (p, e)] (+ bias[o]), U the unrolled <paramref name="image"/>:
    /// the forward pass, and with the flipped weights and <see cref="ConvolutionGeometry.Transposed"/> the input gradient.
    /// </summary>
    public void Multiply(Matrix<T> weights, ConvolutionGeometry geometry, Matrix<T> image, Matrix<T> output, Matrix<T>? bias)
    {
        int outRows = weights.Rows;
        int k = geometry.Rows;
        int slivers = (outRows + PackedGemm.MR - 1) / PackedGemm.MR;
        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (_packedA.Length < slivers * PackedGemm.MR * k)
        {
            _packedA = new T[slivers * PackedGemm.MR * k];
        }

        for (int s = 0; s < slivers; s++)
        {
            PackedGemm.PackA(ref weights.UnsafeStart, weights.Stride, 1, outRows, k, s * PackedGemm.MR, _packedA.AsSpan(s * PackedGemm.MR * k, PackedGemm.MR * k));
        }

        _columnChunks = (image.Columns + PackedGemm.ChunkColumns - 1) / PackedGemm.ChunkColumns;
        _outRows = outRows;
        Run(MultiplyMode, geometry, image, output, bias);
    }

    /// <summary>dW[o, r] = Σ_{p, e} dY[(o·P + p), e] · U[r, (p, e)] (not scaled), overwriting <paramref name="weightGradient"/>.</summary>
    public void WeightGradient(Matrix<T> outputGradient, ConvolutionGeometry geometry, Matrix<T> image, Matrix<T> weightGradient)
    {
        _outRows = weightGradient.Rows;
        // The zero row stands for padding and for rows past the tile's end along a whole stretch of positions.
        int zeroLength = (geometry.OutWidth * image.Stride) + 64;
        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (_zeros.Length < zeroLength)
        {
            _zeros = new T[zeroLength];
        }

        Run(WeightGradientMode, geometry, image, weightGradient, outputGradient);
    }

    /// <summary>db[o] = Σ_{p, e} dY[(o·P + p), e] (not scaled), overwriting <paramref name="biasGradient"/>.</summary>
    public void BiasGradient(Matrix<T> outputGradient, int positions, Matrix<T> biasGradient)
    {
        _outRows = biasGradient.Rows;
        _positions = positions;
        Run(BiasGradientMode, default, outputGradient, biasGradient, null);
    }

    private void Run(int mode, ConvolutionGeometry geometry, Matrix<T> image, Matrix<T> target, Matrix<T>? other)
    {
        (_mode, _geometry, _image, _target, _other, _path) = (mode, geometry, image, target, other, MnistNetRuntime.EffectiveSimdPath);
        try
        {
            WorkerPool.Shared.Run(this, Chunks, MnistNetRuntime.MaxDegreeOfParallelism);
        }
        // Stryker disable once Block,Statement : releases the operands for the collector; no value depends on it
        finally
        {
            (_image, _target, _other) = (null, null, null);
        }
    }

    /// <inheritdoc/>
    public void Execute(int chunk)
    {
        var kernel = new ChunkKernel(this, chunk);
        Simd.Dispatch<T, ChunkKernel>(_path, ref kernel);
    }

    /// <summary>Items [start, end) of <paramref name="count"/> for <paramref name="chunk"/>: the same split whatever runs it.</summary>
    private static (int Start, int End) Share(int chunk, int count) => ChunkShare.Of(chunk, Chunks, count);

    private readonly ref struct ChunkKernel(ConvolutionKernels<T> job, int chunk) : IVectorKernel<T>
    {
        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            switch (job._mode)
            {
                case MultiplyMode:
                    job.MultiplyChunk<TVec, TOps>(chunk);
                    break;
                case WeightGradientMode:
                    job.WeightGradientChunk<TVec, TOps>(chunk);
                    break;
                default:
                    job.BiasGradientChunk(chunk);
                    break;
            }
        }
    }

    /// <summary>
    /// Tiles (position, column chunk) of the product: for each k block and each sliver of columns, pack the image rows
    /// under the position, then run every row tile of the packed weights on it; then the bias.
    /// </summary>
    private void MultiplyChunk<TVec, TOps>(int chunk)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        Matrix<T> image = _image!;
        Matrix<T> output = _target!;
        Matrix<T>? bias = _other;
        ConvolutionGeometry g = _geometry;
        int nr = 2 * TOps.Count;
        int k = g.Rows;
        int m = image.Columns;
        int positions = g.Positions;
        nint ldc = (nint)positions * output.Stride;
        (int start, int end) = Share(chunk, positions * _columnChunks);
        T[] packedB = _packedB[chunk] ??= new T[PackedGemm.KC * 2 * 64 / Unsafe.SizeOf<T>()];

        // k blocks of equal length, at most KC (800 = 4 × 200 rather than 3 × 256 + 32, whose last block would spend
        // more of its time loading and storing the tile than multiplying).
        int blocks = (k + PackedGemm.KC - 1) / PackedGemm.KC;
        int block = (k + blocks - 1) / blocks;
        for (int tile = start; tile < end; tile++)
        {
            int p = tile / _columnChunks;
            int j0 = tile % _columnChunks * PackedGemm.ChunkColumns;
            int j1 = Math.Min(j0 + PackedGemm.ChunkColumns, m);
            ref T c = ref Unsafe.Add(ref output.UnsafeStart, (nint)p * output.Stride);
            for (int p0 = 0; p0 < k; p0 += block)
            {
                // One sliver at a time, used by every row tile while it is still in L1.
                int kc = Math.Min(block, k - p0);
                for (int js = j0; js < j1; js += nr)
                {
                    int cols = Math.Min(nr, j1 - js);
                    PackGathered<TVec, TOps>(image, g, p, p0, kc, js, cols, nr, packedB);
                    for (int i0 = 0; i0 < _outRows; i0 += PackedGemm.MR)
                    {
                        ref T ap = ref _packedA[((i0 / PackedGemm.MR) * PackedGemm.MR * k) + (p0 * PackedGemm.MR)];
                        PackedGemm.MicroKernel<T, TVec, TOps>(ref ap, ref packedB[0], kc, ref Unsafe.Add(ref c, (i0 * ldc) + js), ldc, Math.Min(PackedGemm.MR, _outRows - i0), cols, accumulate: p0 > 0);
                    }
                }
            }

            if (bias is not null)
            {
                for (int o = 0; o < _outRows; o++)
                {
                    Span<T> row = output.Row((o * positions) + p)[j0..j1];
                    SimdMath.Add(row, bias[o, 0], row);
                }
            }
        }
    }

    /// <summary>
    /// Packs unrolled rows [r0, r0 + kc) at position <paramref name="p"/>, columns [j0, j0 + cols) (cols ≤ nr), into one
    /// sliver of kc × <paramref name="nr"/> values, r-major: zero past the columns and where the row reads padding.
    /// </summary>
    private static void PackGathered<TVec, TOps>(Matrix<T> image, ConvolutionGeometry g, int p, int r0, int kc, int j0, int cols, int nr, T[] destination)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        int kk = g.Kernel * g.Kernel;
        int y = p / g.OutWidth, x = p % g.OutWidth;
        int c = r0 / kk, i = r0 % kk / g.Kernel, j = r0 % g.Kernel;
        ref T d = ref destination[0];
        for (int r = 0; r < kc; r++, d = ref Unsafe.Add(ref d, nr))
        {
            int source = g.SourceRow(c, i, j, y, x);
            if (source < 0)
            {
                TOps.Store(TOps.Zero, ref d);
                TOps.Store(TOps.Zero, ref Unsafe.Add(ref d, w));
            }
            else if (cols == nr)
            {
                ref T row = ref Unsafe.Add(ref image.UnsafeStart, ((nint)source * image.Stride) + j0);
                TOps.Store(TOps.Load(in row), ref d);
                TOps.Store(TOps.Load(in Unsafe.Add(ref row, w)), ref Unsafe.Add(ref d, w));
            }
            else
            {
                ref T row = ref Unsafe.Add(ref image.UnsafeStart, ((nint)source * image.Stride) + j0);
                for (int q = 0; q < cols; q++)
                {
                    Unsafe.Add(ref d, q) = Unsafe.Add(ref row, q);
                }

                for (int q = cols; q < nr; q++)
                {
                    Unsafe.Add(ref d, q) = T.Zero;
                }
            }

            // Next unrolled row: (c, i, j) in row-major order.
            if (++j == g.Kernel)
            {
                j = 0;
                if (++i == g.Kernel)
                {
                    i = 0;
                    c++;
                }
            }
        }
    }

    /// <summary>
    /// Tiles of <see cref="OutTile"/> output rows × <see cref="RowTile"/> unrolled rows of dW: 24 vector accumulators walk
    /// every position and example (rows past the ends read a zero row), then each is summed across its lanes.
    /// </summary>
    private void WeightGradientChunk<TVec, TOps>(int chunk)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        ConvolutionGeometry g = _geometry;
        int outTiles = (_outRows + OutTile - 1) / OutTile;
        (int start, int end) = Share(chunk, outTiles * ((g.Rows + RowTile - 1) / RowTile));

        // Positions go in blocks of about 2 048 example columns, every tile of the chunk through one block before the next,
        // so that the block's rows of dY and of the image stay in cache while the tiles reread them.
        int positions = g.Positions;
        int block = Math.Clamp(BlockColumns / Math.Max(1, _image!.Columns), 1, positions);
        for (int p0 = 0; p0 < positions; p0 += block)
        {
            for (int tile = start; tile < end; tile++)
            {
                // Every output row's tile for one set of unrolled rows, then the next set: the image rows of a set stay
                // in L1 while the block's rows of dY (all output rows) are reread from L2.
                WeightTile<TVec, TOps>(tile % outTiles * OutTile, tile / outTiles * RowTile, p0, Math.Min(positions, p0 + block));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightTile<TVec, TOps>(int o0, int r0, int pStart, int pEnd)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        Matrix<T> image = _image!;
        Matrix<T> dy = _other!;
        Matrix<T> dw = _target!;
        ConvolutionGeometry g = _geometry;
        int w = TOps.Count;
        int m = image.Columns;
        int whole = m - (m % w);
        int positions = g.Positions;
        int kk = g.Kernel * g.Kernel;
        ref T zeros = ref _zeros[0];
        ref T x0 = ref image.UnsafeStart;
        ref T dy0 = ref dy.UnsafeStart;
        nint ldx = image.Stride, ldy = dy.Stride;

        // The unrolled rows' (c, i, j), and how many unrolled and output rows of the tile exist.
        Span<int> rc = stackalloc int[RowTile], ri = stackalloc int[RowTile], rj = stackalloc int[RowTile];
        for (int t = 0; t < RowTile; t++)
        {
            int r = Math.Min(r0 + t, g.Rows - 1);
            (rc[t], ri[t], rj[t]) = (r / kk, r % kk / g.Kernel, r % g.Kernel);
        }

        int rows = Math.Min(RowTile, g.Rows - r0);
        int outs = Math.Min(OutTile, _outRows - o0);

        // Tail lanes: a zero-padded copy of the last m mod w columns of each of the ten rows.
        Span<T> tailBuffer = stackalloc T[(OutTile + RowTile) * 64 / Unsafe.SizeOf<T>()];
        tailBuffer.Clear();

        var sums = default(Accumulators<TVec>);
        // Rows without padding columns, of whole vectors, make the positions of a stretch along x one contiguous run:
        // position p + 1's rows follow position p's in memory (for dY and for every image row that stays inside the
        // image), so one call walks the stretch with the same lanes, in the same order, as position by position.
        bool runs = m == whole && ldx == m && ldy == m;
        int p = pStart;
        while (p < pEnd)
        {
            int y = p / g.OutWidth, x = p % g.OutWidth;
            int run = runs ? Stretch(g, rows, ri, rj, y, x, Math.Min(pEnd - p, g.OutWidth - x)) : 1;
            // Output rows o0 + t and unrolled rows r0 + t at this position; the zero row past the ends and for padding (a tile
            // has at least one of each: o0 < output rows, r0 < unrolled rows).
            ref T d0 = ref RowOrZeros(ref dy0, ldy, (o0 * positions) + p, ref zeros);
            ref T d1 = ref RowOrZeros(ref dy0, ldy, outs > 1 ? ((o0 + 1) * positions) + p : -1, ref zeros);
            ref T d2 = ref RowOrZeros(ref dy0, ldy, outs > 2 ? ((o0 + 2) * positions) + p : -1, ref zeros);
            ref T d3 = ref RowOrZeros(ref dy0, ldy, outs > 3 ? ((o0 + 3) * positions) + p : -1, ref zeros);
            ref T d4 = ref RowOrZeros(ref dy0, ldy, outs > 4 ? ((o0 + 4) * positions) + p : -1, ref zeros);
            ref T d5 = ref RowOrZeros(ref dy0, ldy, outs > 5 ? ((o0 + 5) * positions) + p : -1, ref zeros);
            ref T s0 = ref RowOrZeros(ref x0, ldx, g.SourceRow(rc[0], ri[0], rj[0], y, x), ref zeros);
            ref T s1 = ref RowOrZeros(ref x0, ldx, rows > 1 ? g.SourceRow(rc[1], ri[1], rj[1], y, x) : -1, ref zeros);
            ref T s2 = ref RowOrZeros(ref x0, ldx, rows > 2 ? g.SourceRow(rc[2], ri[2], rj[2], y, x) : -1, ref zeros);
            ref T s3 = ref RowOrZeros(ref x0, ldx, rows > 3 ? g.SourceRow(rc[3], ri[3], rj[3], y, x) : -1, ref zeros);
            Dot<TVec, TOps>(ref sums, ref d0, ref d1, ref d2, ref d3, ref d4, ref d5, ref s0, ref s1, ref s2, ref s3, run == 1 ? whole : run * m);
            if (whole < m)
            {
                // The last m mod w examples, from zero-padded copies: the lanes past m multiply 0 by 0.
                ref T tb = ref tailBuffer[0];
                CopyTail(ref d0, whole, m, ref Unsafe.Add(ref tb, 0 * w)); CopyTail(ref d1, whole, m, ref Unsafe.Add(ref tb, 1 * w));
                CopyTail(ref d2, whole, m, ref Unsafe.Add(ref tb, 2 * w)); CopyTail(ref d3, whole, m, ref Unsafe.Add(ref tb, 3 * w));
                CopyTail(ref d4, whole, m, ref Unsafe.Add(ref tb, 4 * w)); CopyTail(ref d5, whole, m, ref Unsafe.Add(ref tb, 5 * w));
                CopyTail(ref s0, whole, m, ref Unsafe.Add(ref tb, 6 * w)); CopyTail(ref s1, whole, m, ref Unsafe.Add(ref tb, 7 * w));
                CopyTail(ref s2, whole, m, ref Unsafe.Add(ref tb, 8 * w)); CopyTail(ref s3, whole, m, ref Unsafe.Add(ref tb, 9 * w));
                Dot<TVec, TOps>(
                    ref sums,
                    ref tb,
                    ref Unsafe.Add(ref tb, w),
                    ref Unsafe.Add(ref tb, 2 * w),
                    ref Unsafe.Add(ref tb, 3 * w),
                    ref Unsafe.Add(ref tb, 4 * w),
                    ref Unsafe.Add(ref tb, 5 * w),
                    ref Unsafe.Add(ref tb, 6 * w),
                    ref Unsafe.Add(ref tb, 7 * w),
                    ref Unsafe.Add(ref tb, 8 * w),
                    ref Unsafe.Add(ref tb, 9 * w),
                    w);
            }

            p += run;
        }

        // dW[o, r] = (the earlier blocks' sum) + this block's lanes, summed.
        for (int t = 0; t < outs; t++)
        {
            Span<T> row = dw.Row(o0 + t).Slice(r0, rows);
            for (int b = 0; b < rows; b++)
            {
                row[b] = (pStart == 0 ? T.Zero : row[b]) + TOps.Sum(sums[(t * RowTile) + b]);
            }
        }
    }

    /// <summary>
    /// sums[4·a + b] += Σ_e d_a[e] · s_b[e] lane by lane, for e in whole vectors below <paramref name="count"/>: the
    /// weight gradient's inner loop, a method of its own so that the JIT keeps the twenty-four sums in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot<TVec, TOps>(ref Accumulators<TVec> sums, ref T d0, ref T d1, ref T d2, ref T d3, ref T d4, ref T d5, ref T s0, ref T s1, ref T s2, ref T s3, int count)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        TVec a00 = sums[0], a01 = sums[1], a02 = sums[2], a03 = sums[3];
        TVec a10 = sums[4], a11 = sums[5], a12 = sums[6], a13 = sums[7];
        TVec a20 = sums[8], a21 = sums[9], a22 = sums[10], a23 = sums[11];
        TVec a30 = sums[12], a31 = sums[13], a32 = sums[14], a33 = sums[15];
        TVec a40 = sums[16], a41 = sums[17], a42 = sums[18], a43 = sums[19];
        TVec a50 = sums[20], a51 = sums[21], a52 = sums[22], a53 = sums[23];
        for (int e = 0; e < count; e += w)
        {
            TVec u0 = TOps.Load(in Unsafe.Add(ref s0, e));
            TVec u1 = TOps.Load(in Unsafe.Add(ref s1, e));
            TVec u2 = TOps.Load(in Unsafe.Add(ref s2, e));
            TVec u3 = TOps.Load(in Unsafe.Add(ref s3, e));
            TVec v = TOps.Load(in Unsafe.Add(ref d0, e));
            a00 = TOps.FusedMultiplyAdd(v, u0, a00); a01 = TOps.FusedMultiplyAdd(v, u1, a01);
            a02 = TOps.FusedMultiplyAdd(v, u2, a02); a03 = TOps.FusedMultiplyAdd(v, u3, a03);
            v = TOps.Load(in Unsafe.Add(ref d1, e));
            a10 = TOps.FusedMultiplyAdd(v, u0, a10); a11 = TOps.FusedMultiplyAdd(v, u1, a11);
            a12 = TOps.FusedMultiplyAdd(v, u2, a12); a13 = TOps.FusedMultiplyAdd(v, u3, a13);
            v = TOps.Load(in Unsafe.Add(ref d2, e));
            a20 = TOps.FusedMultiplyAdd(v, u0, a20); a21 = TOps.FusedMultiplyAdd(v, u1, a21);
            a22 = TOps.FusedMultiplyAdd(v, u2, a22); a23 = TOps.FusedMultiplyAdd(v, u3, a23);
            v = TOps.Load(in Unsafe.Add(ref d3, e));
            a30 = TOps.FusedMultiplyAdd(v, u0, a30); a31 = TOps.FusedMultiplyAdd(v, u1, a31);
            a32 = TOps.FusedMultiplyAdd(v, u2, a32); a33 = TOps.FusedMultiplyAdd(v, u3, a33);
            v = TOps.Load(in Unsafe.Add(ref d4, e));
            a40 = TOps.FusedMultiplyAdd(v, u0, a40); a41 = TOps.FusedMultiplyAdd(v, u1, a41);
            a42 = TOps.FusedMultiplyAdd(v, u2, a42); a43 = TOps.FusedMultiplyAdd(v, u3, a43);
            v = TOps.Load(in Unsafe.Add(ref d5, e));
            a50 = TOps.FusedMultiplyAdd(v, u0, a50); a51 = TOps.FusedMultiplyAdd(v, u1, a51);
            a52 = TOps.FusedMultiplyAdd(v, u2, a52); a53 = TOps.FusedMultiplyAdd(v, u3, a53);
        }

        (sums[0], sums[1], sums[2], sums[3]) = (a00, a01, a02, a03);
        (sums[4], sums[5], sums[6], sums[7]) = (a10, a11, a12, a13);
        (sums[8], sums[9], sums[10], sums[11]) = (a20, a21, a22, a23);
        (sums[12], sums[13], sums[14], sums[15]) = (a30, a31, a32, a33);
        (sums[16], sums[17], sums[18], sums[19]) = (a40, a41, a42, a43);
        (sums[20], sums[21], sums[22], sums[23]) = (a50, a51, a52, a53);
    }

    /// <summary>
    /// How many positions from (y, x) on, at most <paramref name="limit"/>, keep each of the tile's unrolled rows either
    /// inside the image or in the padding throughout.
    /// </summary>
    private static int Stretch(ConvolutionGeometry g, int rows, ReadOnlySpan<int> ri, ReadOnlySpan<int> rj, int y, int x, int limit)
    {
        int end = x + limit;
        for (int t = 0; t < rows; t++)
        {
            // A row in the padding stays there along x; letting it break the stretch as well would only split the run.
            int sy = y + ri[t] - g.Pad;
            // Stryker disable once Equality,Logical : breaking a stretch where it need not be broken changes no value
            if (sy < 0 || sy >= g.Height)
            {
                continue;
            }

            // Inside the image for lo ≤ x < hi.
            int lo = g.Pad - rj[t], hi = g.Width + g.Pad - rj[t];
            if (x < lo)
            {
                end = Math.Min(end, lo);
            }
            else if (x < hi)
            {
                end = Math.Min(end, hi);
            }
        }

        return end - x;
    }

    /// <summary>Row <paramref name="row"/> of a matrix, or the zero row for −1.</summary>
    private static ref T RowOrZeros(ref T start, nint stride, int row, ref T zeros) =>
        ref row < 0 ? ref zeros : ref Unsafe.Add(ref start, row * stride);

    /// <summary>Copies columns [whole, m) of a row to the start of <paramref name="destination"/>.</summary>
    private static void CopyTail(ref T row, int whole, int m, ref T destination)
    {
        for (int q = whole; q < m; q++)
        {
            Unsafe.Add(ref destination, q - whole) = Unsafe.Add(ref row, q);
        }
    }

    /// <summary>db[o] = Σ_p Σ_e dY[(o·P + p), e] for the output rows of this chunk, position by position.</summary>
    private void BiasGradientChunk(int chunk)
    {
        Matrix<T> dy = _image!;
        Matrix<T> db = _target!;
        int positions = _positions;
        (int start, int end) = Share(chunk, _outRows);
        for (int o = start; o < end; o++)
        {
            T sum = T.Zero;
            for (int p = 0; p < positions; p++)
            {
                sum += SimdMath.Sum<T>(dy.Row((o * positions) + p));
            }

            db[o, 0] = sum;
        }
    }
}

/// <summary>The twenty-four vector sums of one tile of the weight gradient.</summary>
/// <typeparam name="TVec">The vector type.</typeparam>
[InlineArray(24)]
internal struct Accumulators<TVec>
    where TVec : struct
{
    private TVec _element;
}
