using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A stride-1 convolution with 3 × 3 or 5 × 5 kernels by Winograd's minimal filtering (Lavin and Gray, 2016):
/// F(4 × 4, 3 × 3) and F(2 × 2, 5 × 5), both on 6 × 6 input tiles with the points 0, ±1, ±2, ∞. Each tile of
/// m × m outputs (m = 7 − k) of each output channel is A<sup>T</sup> [Σ_c (G g G<sup>T</sup>) ⊙ (B<sup>T</sup> d B)] A:
/// 36 products per channel pair instead of m²k² (100 for k = 5: 2.78× fewer multiply-adds; 144 for k = 3: 4×).
/// The sum over input channels is the packed GEMM's register tile (6 outputs × 2 vectors, its left operand broadcast
/// from rows), one product per transformed point, with the examples as the vector lanes (as everywhere in MnistNet). The input gradient is the same product with the flipped kernels;
/// the weight gradient is F(k × k, m × m) with each output tile of the gradient as the filter, summed over tiles and
/// examples between the transforms (<see cref="WeightGradient"/>). The transforms work lane-wise with the same
/// operations on every path, so the results have the same bits on every SIMD width and any number of threads.
/// </summary>
/// <remarks>
/// The results are not those of <see cref="ConvolutionKernels{T}"/> to the bit: the transforms round differently (the
/// tests bound the difference by the transformed terms' magnitudes). One instance per layer and context; not
/// thread-safe. Buffers: per chunk one tile's transforms (≈ 0.45 MB for the cnn preset's second layer in float), per
/// thread one lane block's transforms for the weight gradient, and each chunk's 36 × O × C sums.
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
[SkipLocalsInit]
internal sealed class WinogradKernels<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The side of a transformed tile: m + k − 1 = 6 for both kernel sizes.</summary>
    internal const int Alpha = 6;

    /// <summary>Transformed points per tile (α²).</summary>
    internal const int Points = Alpha * Alpha;

    /// <summary>Chunks per pass: fixed, so that every chunk keeps its own buffers from the first step on and the weight gradient sums the same parts in the same order on any number of threads.</summary>
    internal const int Chunks = 8;

    /// <summary>Channels per block of the weights' and the weight gradient's transforms (one per SIMD lane).</summary>
    internal const int SandwichBlock = 64;

    private const int TransformWeightsMode = 0;
    private const int MultiplyMode = 1;
    private const int GradientPartsMode = 2;
    private const int GradientFinishMode = 3;

    // G for each kernel size (α × k), with the scales that make Bᵀ the integer matrix of the input transform below.
    private static readonly double[] G3 =
    [
        1.0 / 4, 0, 0,
        -1.0 / 6, -1.0 / 6, -1.0 / 6,
        -1.0 / 6, 1.0 / 6, -1.0 / 6,
        1.0 / 24, 1.0 / 12, 1.0 / 6,
        1.0 / 24, -1.0 / 12, 1.0 / 6,
        0, 0, 1,
    ];

    private static readonly double[] G5 =
    [
        1.0 / 4, 0, 0, 0, 0,
        -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6,
        -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
        1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3,
        1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3,
        0, 0, 0, 0, 1,
    ];

    // The weight gradient is F(k × k, m × m) with the output gradient's tile as the filter: Gw (α × m) has G's rows,
    // Gw = diag(GradientScales)·Gw', Gw' the powers p^q of the points (and 1 at ∞ for the last tap).
    private static readonly double[] GradientScales = [1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24, 1];

    // Awᵀ (k × α): the weight gradient's output transform, p^i at the finite points and 1 at ∞ for the last row.
    private static readonly double[] Aw3 = [1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 1];

    private static readonly double[] Aw5 = [1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 0, 0, 1, 1, 16, 16, 1];

    private readonly T[]?[] _v = new T[Chunks][];
    private readonly T[]?[] _m = new T[Chunks][];
    private readonly T[]?[] _rows = new T[Chunks][];
    private T[] _packedU = [];
    private Matrix<T>? _weights;
    private int _mode;

    // The weight gradient's buffers: transformed inputs and output gradients per participant (a chunk always runs on
    // participant chunk mod participants), each chunk's sums per point, the zero-padded last lanes of the output gradient.
    private T[]?[] _gradientV = [];
    private T[]?[] _gradientY = [];
    private T[] _partial = [];
    private T[] _tailGradient = [];
    private int[] _owners = [];
    private int _participants;
    private int _paddedChannels;
    private Matrix<T>? _gradient;
    private T[] _tail = [];
    private Matrix<T>? _image;
    private Matrix<T>? _output;
    private Matrix<T>? _bias;
    private ConvolutionGeometry _geometry;
    private int _outChannels;
    private int _slivers;
    private int _tilesY;
    private int _tilesX;
    private int _laneBlocks;
    private SimdPath _path;

    /// <summary>Whether this kernel computes <paramref name="geometry"/>'s products: k = 3 or 5, and enough channels on both sides for the transforms to pay.</summary>
    public static bool Supports(ConvolutionGeometry geometry, int outChannels) =>
        (geometry.Kernel == 3 || geometry.Kernel == 5) && geometry.Channels >= 8 && outChannels >= 8;

    /// <summary>
    /// output[(o·P + p), e] = Σ_(c, i, j) weights[o, (c, i, j)] · image[(c, y + i − pad, x + j − pad), e] (+ bias[o]),
    /// p = (y, x), zero outside the image: the same product as <see cref="ConvolutionKernels{T}.Multiply"/>.
    /// </summary>
    public void Multiply(Matrix<T> weights, ConvolutionGeometry geometry, Matrix<T> image, Matrix<T> output, Matrix<T>? bias)
    {
        int k = geometry.Kernel;
        int m = Alpha - k + 1;
        int outChannels = weights.Rows;
        int channels = geometry.Channels;
        int nr = 2 * LaneWidth();
        _slivers = (outChannels + PackedGemm.MR - 1) / PackedGemm.MR;
        int packedLength = Points * _slivers * PackedGemm.MR * channels;
        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (_packedU.Length < packedLength)
        {
            _packedU = new T[packedLength];
        }

        // The last sliver's rows past the output channels multiply as zeros (the products are computed, then dropped).
        for (int o = outChannels; o < _slivers * PackedGemm.MR; o++)
        {
            for (int point = 0; point < Points; point++)
            {
                for (int c = 0; c < channels; c++)
                {
                    _packedU[(((point * _slivers * PackedGemm.MR) + o) * channels) + c] = T.Zero;
                }
            }
        }

        _weights = weights;
        _laneBlocks = (image.Columns + nr - 1) / nr;
        CopyTail(image, nr, ref _tail);

        _tilesY = (geometry.OutHeight + m - 1) / m;
        _tilesX = (geometry.OutWidth + m - 1) / m;
        (_geometry, _outChannels, _image, _output, _bias, _path) = (geometry, outChannels, image, output, bias, MnistNetRuntime.EffectiveSimdPath);
        try
        {
            // First the weights' transform (output channels shared among the chunks), then the tiles.
            _mode = TransformWeightsMode;
            WorkerPool.Shared.Run(this, Chunks, MnistNetRuntime.MaxDegreeOfParallelism);
            _mode = MultiplyMode;
            WorkerPool.Shared.Run(this, Chunks, MnistNetRuntime.MaxDegreeOfParallelism);
        }
        // Stryker disable once Block,Statement : releases the operands for the collector; no value depends on it
        finally
        {
            (_weights, _image, _output, _bias) = (null, null, null, null);
        }
    }

    /// <summary>
    /// dW[o, (c, i, j)] = Σ_(y, x, e) outputGradient[(o·P + p), e] · image[(c, y + i − pad, x + j − pad), e] (not scaled),
    /// overwriting <paramref name="weightGradient"/>: each output tile's contribution is F(k × k, m × m) with the output
    /// gradient's tile as the filter, Awᵀ [(Gw dY Gwᵀ) ⊙ (Bᵀ d B)] Aw, summed over tiles and examples between the
    /// transforms — one dot product per point and channel pair, the output transform once at the end. Each chunk sums
    /// its own tiles; the chunks' sums are added in chunk order, so any number of threads gives the same bits.
    /// </summary>
    public void WeightGradient(Matrix<T> outputGradient, ConvolutionGeometry geometry, Matrix<T> image, Matrix<T> weightGradient)
    {
        int k = geometry.Kernel;
        int size = Alpha - k + 1;
        int outChannels = weightGradient.Rows;
        int channels = geometry.Channels;
        int nr = 2 * LaneWidth();
        _laneBlocks = (image.Columns + nr - 1) / nr;
        _tilesY = (geometry.OutHeight + size - 1) / size;
        _tilesX = (geometry.OutWidth + size - 1) / size;
        int tiles = _tilesY * _tilesX;
        int mr = PackedGemm.MR;
        int paddedChannels = (channels + nr - 1) / nr * nr;
        int paddedOut = (outChannels + mr - 1) / mr * mr;
        _participants = Math.Max(1, Math.Min(Math.Min(MnistNetRuntime.MaxDegreeOfParallelism, Chunks), WorkerPool.Shared.MaxParticipants));
        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (_gradientV.Length < _participants)
        {
            Array.Resize(ref _gradientV, _participants);
            Array.Resize(ref _gradientY, _participants);
        }

        for (int p = 0; p < _participants; p++)
        {
            // V, then its transpose (the channels padded to whole vectors); Ŷ' with the output channels padded to whole
            // slivers. The padding's products land in sums that are never read.
            Ensure(ref _gradientV[p], Points * (channels + paddedChannels) * nr);
            Ensure(ref _gradientY[p], Points * paddedOut * nr);
        }

        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (_partial.Length < Chunks * Points * paddedOut * paddedChannels)
        {
            _partial = new T[Chunks * Points * paddedOut * paddedChannels];
        }

        if (_owners.Length != Chunks)
        {
            _owners = [.. Enumerable.Range(0, Chunks)];
        }

        _paddedChannels = paddedChannels;
        CopyTail(image, nr, ref _tail);
        CopyTail(outputGradient, nr, ref _tailGradient);
        (_geometry, _outChannels, _image, _gradient, _output, _path) = (geometry, outChannels, image, outputGradient, weightGradient, MnistNetRuntime.EffectiveSimdPath);
        try
        {
            _mode = GradientPartsMode;
            WorkerPool.Shared.RunOwned(this, Chunks, MnistNetRuntime.MaxDegreeOfParallelism, _owners);
            _mode = GradientFinishMode;
            WorkerPool.Shared.Run(this, Chunks, MnistNetRuntime.MaxDegreeOfParallelism);
        }
        // Stryker disable once Block,Statement : releases the operands for the collector; no value depends on it
        finally
        {
            (_image, _gradient, _output) = (null, null, null);
        }
    }

    /// <inheritdoc/>
    public void Execute(int chunk)
    {
        if (_mode == TransformWeightsMode)
        {
            (int first, int end) = Share(chunk, _weights!.Rows);
            TransformWeights(_weights, _geometry.Channels, _geometry.Kernel, first, end);
            return;
        }

        if (_mode == GradientFinishMode)
        {
            (int first, int end) = Share(chunk, _outChannels);
            FinishWeightGradient(first, end);
            return;
        }

        var kernel = new ChunkKernel(this, chunk);
        Simd.Dispatch<T, ChunkKernel>(_path, ref kernel);
    }

    /// <summary>
    /// The last lane block's zero-padded copy of a matrix's last m mod nr columns, when m is not a multiple of nr: a
    /// full vector never reads past a row.
    /// </summary>
    private static void CopyTail(Matrix<T> matrix, int nr, ref T[] tail)
    {
        int whole = matrix.Columns / nr * nr;
        if (whole == matrix.Columns)
        {
            return;
        }

        int tailLength = matrix.Rows * nr;
        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (tail.Length < tailLength)
        {
            tail = new T[tailLength];
        }

        int cols = matrix.Columns - whole;
        for (int r = 0; r < matrix.Rows; r++)
        {
            Span<T> target = tail.AsSpan(r * nr, nr);
            matrix.Row(r).Slice(whole, cols).CopyTo(target);
            target[cols..].Clear();
        }
    }

    /// <summary>
    /// The buffer in <paramref name="slot"/>, replaced by a new one when missing or shorter than <paramref name="length"/>
    /// (the same layer runs products of other shapes, and a wider vector path needs longer lane blocks).
    /// </summary>
    private static T[] Ensure(ref T[]? slot, int length)
    {
        // Stryker disable once Equality : reallocating a buffer of exactly the right size changes no value
        if (slot is null || slot.Length < length)
        {
            slot = new T[length];
        }

        return slot;
    }

    /// <summary>Items [start, end) of <paramref name="count"/> for <paramref name="chunk"/>: the same split whatever runs it.</summary>
    private static (int Start, int End) Share(int chunk, int count) => ChunkShare.Of(chunk, Chunks, count);

    private int LaneWidth()
    {
        var probe = new WidthProbe();
        Simd.Dispatch<T, WidthProbe>(MnistNetRuntime.EffectiveSimdPath, ref probe);
        return probe.Count;
    }

    /// <summary>
    /// U[ξν][o][c] = (G g_(o, c) Gᵀ)[ξ, ν] for output channels [<paramref name="first"/>, <paramref name="end"/>), packed
    /// per point as the GEMM's row slivers (MR outputs per step; the rows past the last output channel stay zero).
    /// Computed in double and rounded once.
    /// </summary>
    private void TransformWeights(Matrix<T> weights, int channels, int k, int first, int end)
    {
        double[] g = k == 3 ? G3 : G5;
        Span<double> kernels = stackalloc double[25 * SandwichBlock];
        Span<double> half = stackalloc double[Alpha * 5 * SandwichBlock];
        Span<double> u = stackalloc double[Points * SandwichBlock];
        int mr = PackedGemm.MR;
        for (int o = first; o < end; o++)
        {
            ReadOnlySpan<T> row = weights.Row(o);
            for (int c0 = 0; c0 < channels; c0 += SandwichBlock)
            {
                int count = Math.Min(SandwichBlock, channels - c0);
                for (int c = 0; c < count; c++)
                {
                    ReadOnlySpan<T> kernel = row.Slice((c0 + c) * k * k, k * k);
                    for (int i = 0; i < kernel.Length; i++)
                    {
                        kernels[(i * SandwichBlock) + c] = double.CreateTruncating(kernel[i]);
                    }
                }

                // u = G·g·Gᵀ (α × α), one channel per lane.
                var loop = new SandwichLoop(ref kernels[0], ref half[0], ref u[0], g, Alpha, k, null);
                Simd.Cascade<double, SandwichLoop>(_path, ref loop, 0, count);
                for (int point = 0; point < Points; point++)
                {
                    Span<T> packed = _packedU.AsSpan((((point * _slivers * mr) + o) * channels) + c0, count);
                    ReadOnlySpan<double> values = u.Slice(point * SandwichBlock, count);
                    for (int c = 0; c < count; c++)
                    {
                        packed[c] = T.CreateTruncating(values[c]);
                    }
                }
            }
        }
    }

    private readonly ref struct ChunkKernel(WinogradKernels<T> job, int chunk) : IVectorKernel<T>
    {
        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            if (job._mode == MultiplyMode)
            {
                job.MultiplyChunk<TVec, TOps>(chunk);
            }
            else
            {
                job.GradientChunk<TVec, TOps>(chunk);
            }
        }
    }

    private struct WidthProbe : IVectorKernel<T>
    {
        public int Count;

        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec> => Count = TOps.Count;
    }

    /// <summary>Each (tile, lane block) of this chunk: transform the input tile of every channel, one product per point, transform back.</summary>
    private void MultiplyChunk<TVec, TOps>(int chunk)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        Matrix<T> image = _image!;
        Matrix<T> output = _output!;
        ConvolutionGeometry g = _geometry;
        int w = TOps.Count;
        int nr = 2 * w;
        int mr = PackedGemm.MR;
        int channels = g.Channels;
        int tiles = _tilesY * _tilesX;
        (int start, int end) = Share(chunk, tiles * _laneBlocks);
        // V[c][ξν][e]: each channel's 36 points in one run, written as the transform makes them.
        T[] v = Ensure(ref _v[chunk], Points * channels * nr);
        T[] mBuffer = Ensure(ref _m[chunk], Points * mr * nr);
        T[] rows = Ensure(ref _rows[chunk], channels * Points * nr);

        int whole = image.Columns / nr;
        int size = Alpha - g.Kernel + 1;
        for (int unit = start; unit < end; unit++)
        {
            // Lane block by lane block, the tiles column by column: a tile below the last one shares α − m of its input
            // rows with it, whose transforms along x are still in each channel's ring of rows.
            int block = unit / tiles;
            int tile = unit % tiles;
            int tx = tile / _tilesY;
            int ty = tile % _tilesY;
            int reuse = unit > start && ty > 0 ? Alpha - size : 0;
            int j0 = block * nr;
            bool full = block < whole;
            ref T source = ref full ? ref Unsafe.Add(ref image.UnsafeStart, j0) : ref _tail[0];
            nint stride = full ? image.Stride : nr;

            for (int c = 0; c < channels; c++)
            {
                InputTile<TVec, TOps>(ref source, stride, g, c, ty, tx, reuse, ref rows[c * Points * nr], ref v[c * Points * nr], nr, w);
            }

            // Sliver by sliver: its 36 products (MR outputs × nr lanes each, from the tile's V still in L2), then its outputs.
            int cols = full ? nr : image.Columns - j0;
            for (int s = 0; s < _slivers; s++)
            {
                for (int point = 0; point < Points; point++)
                {
                    ref T a = ref _packedU[((point * _slivers * mr) + (s * mr)) * channels];
                    RowsKernel<TVec, TOps>(ref a, channels, ref v[point * nr], Points * nr, channels, ref mBuffer[point * mr * nr], nr, accumulate: false);
                }

                int live = Math.Min(mr, _outChannels - (s * mr));
                for (int r = 0; r < live; r++)
                {
                    OutputTile<TVec, TOps>(ref mBuffer[r * nr], mr * nr, output, (s * mr) + r, ty, tx, j0, cols, w);
                }
            }
        }
    }

    /// <summary>
    /// This chunk's (tile, lane block) units in order: the transformed inputs V[ξν][c][e] and output gradients
    /// Ŷ'[ξν][o][e] of the block's examples, V turned to [e][c], then per point the product Ŷ'·Vᵀ over the examples added
    /// into the chunk's sums M[ξν][o][c] — the packed GEMM's register tile, with Ŷ' rows broadcast as its left operand.
    /// </summary>
    private void GradientChunk<TVec, TOps>(int chunk)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        ConvolutionGeometry g = _geometry;
        Matrix<T> image = _image!;
        Matrix<T> dy = _gradient!;
        int w = TOps.Count;
        int nr = 2 * w;
        int mr = PackedGemm.MR;
        int channels = g.Channels;
        int outChannels = _outChannels;
        int channelBlocks = (channels + nr - 1) / nr;
        int paddedChannels = channelBlocks * nr;
        int slivers = (outChannels + mr - 1) / mr;
        int paddedOut = slivers * mr;
        int tiles = _tilesY * _tilesX;
        // Whole tiles per chunk, so that the chunks' parts, and the order of each part's sums (tile by tile, example by
        // example), are the same for any vector width.
        (int first, int last) = Share(chunk, tiles);
        int start = first * _laneBlocks;
        int end = last * _laneBlocks;
        T[] v = _gradientV[chunk % _participants]!;
        T[] yHat = _gradientY[chunk % _participants]!;
        T[] rows = Ensure(ref _rows[chunk], Points * nr);
        int sums = chunk * Points * paddedOut * paddedChannels;
        _partial.AsSpan(sums, Points * paddedOut * paddedChannels).Clear();
        int whole = image.Columns / nr;
        // V[c][ξν][e] in the first part of v, its transpose Vᵀ[ξν][e][c] (channels padded to whole blocks) after it;
        // Ŷ'[o][ξν][e] in yHat.
        int transposed = Points * channels * nr;
        for (int unit = start; unit < end; unit++)
        {
            // Tile by tile, each tile's lane blocks in turn: the output gradient's rows are read once, line after line.
            int block = unit % _laneBlocks;
            int tile = unit / _laneBlocks;
            int ty = tile / _tilesX;
            int tx = tile % _tilesX;
            int j0 = block * nr;
            bool full = block < whole;
            ref T source = ref full ? ref Unsafe.Add(ref image.UnsafeStart, j0) : ref _tail[0];
            ref T gradient = ref full ? ref Unsafe.Add(ref dy.UnsafeStart, j0) : ref _tailGradient[0];
            nint stride = full ? image.Stride : nr;
            nint gradientStride = full ? dy.Stride : nr;
            for (int c = 0; c < channels; c++)
            {
                InputTile<TVec, TOps>(ref source, stride, g, c, ty, tx, reuse: 0, ref rows[0], ref v[c * Points * nr], nr, w);
            }

            for (int o = 0; o < outChannels; o++)
            {
                GradientTile<TVec, TOps>(ref gradient, gradientStride, g, o, ty, tx, ref rows[0], ref yHat[o * Points * nr], nr, w);
            }

            for (int point = 0; point < Points; point++)
            {
                BlockTranspose.Run(ref v[point * nr], Points * nr, channels, nr, ref v[transposed + (point * nr * paddedChannels)], paddedChannels, T.One, scale: false, _path);
            }

            for (int point = 0; point < Points; point++)
            {
                ref T a = ref yHat[point * nr];
                for (int cb = 0; cb < channelBlocks; cb++)
                {
                    ref T b = ref v[transposed + (point * nr * paddedChannels) + (cb * nr)];
                    for (int s = 0; s < slivers; s++)
                    {
                        RowsKernel<TVec, TOps>(ref Unsafe.Add(ref a, s * mr * Points * nr), Points * nr, ref b, paddedChannels, nr, ref _partial[sums + (((point * paddedOut) + (s * mr)) * paddedChannels) + (cb * nr)], paddedChannels, accumulate: true);
                    }
                }
            }
        }
    }

    /// <summary>
    /// C[r, 0..nr) = (C if <paramref name="accumulate"/>) + Σ_k A[r, k] · B[k, 0..nr) for the six rows r of A (<paramref name="lda"/> apart, k contiguous) and
    /// <paramref name="count"/> steps of B (<paramref name="ldb"/> apart): the packed GEMM's register tile with its
    /// left operand broadcast from six rows instead of a packed sliver.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsKernel<TVec, TOps>(ref T a, nint lda, ref T b, nint ldb, int count, ref T c, nint ldc, bool accumulate)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        ref T c1 = ref Unsafe.Add(ref c, ldc);
        ref T c2 = ref Unsafe.Add(ref c, 2 * ldc);
        ref T c3 = ref Unsafe.Add(ref c, 3 * ldc);
        ref T c4 = ref Unsafe.Add(ref c, 4 * ldc);
        ref T c5 = ref Unsafe.Add(ref c, 5 * ldc);
        TVec c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero;
        TVec c30 = TOps.Zero, c31 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero;
        if (accumulate)
        {
            (c00, c01) = (TOps.Load(in c), TOps.Load(in Unsafe.Add(ref c, w)));
            (c10, c11) = (TOps.Load(in c1), TOps.Load(in Unsafe.Add(ref c1, w)));
            (c20, c21) = (TOps.Load(in c2), TOps.Load(in Unsafe.Add(ref c2, w)));
            (c30, c31) = (TOps.Load(in c3), TOps.Load(in Unsafe.Add(ref c3, w)));
            (c40, c41) = (TOps.Load(in c4), TOps.Load(in Unsafe.Add(ref c4, w)));
            (c50, c51) = (TOps.Load(in c5), TOps.Load(in Unsafe.Add(ref c5, w)));
        }

        ref T a1 = ref Unsafe.Add(ref a, lda);
        ref T a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref T a3 = ref Unsafe.Add(ref a, 3 * lda);
        ref T a4 = ref Unsafe.Add(ref a, 4 * lda);
        ref T a5 = ref Unsafe.Add(ref a, 5 * lda);
        for (int k = 0; k < count; k++)
        {
            ref T bk = ref Unsafe.Add(ref b, k * ldb);
            TVec b0 = TOps.Load(in bk);
            TVec b1 = TOps.Load(in Unsafe.Add(ref bk, w));
            TVec x = TOps.Broadcast(Unsafe.Add(ref a, k));
            c00 = TOps.FusedMultiplyAdd(x, b0, c00);
            c01 = TOps.FusedMultiplyAdd(x, b1, c01);
            x = TOps.Broadcast(Unsafe.Add(ref a1, k));
            c10 = TOps.FusedMultiplyAdd(x, b0, c10);
            c11 = TOps.FusedMultiplyAdd(x, b1, c11);
            x = TOps.Broadcast(Unsafe.Add(ref a2, k));
            c20 = TOps.FusedMultiplyAdd(x, b0, c20);
            c21 = TOps.FusedMultiplyAdd(x, b1, c21);
            x = TOps.Broadcast(Unsafe.Add(ref a3, k));
            c30 = TOps.FusedMultiplyAdd(x, b0, c30);
            c31 = TOps.FusedMultiplyAdd(x, b1, c31);
            x = TOps.Broadcast(Unsafe.Add(ref a4, k));
            c40 = TOps.FusedMultiplyAdd(x, b0, c40);
            c41 = TOps.FusedMultiplyAdd(x, b1, c41);
            x = TOps.Broadcast(Unsafe.Add(ref a5, k));
            c50 = TOps.FusedMultiplyAdd(x, b0, c50);
            c51 = TOps.FusedMultiplyAdd(x, b1, c51);
        }

        TOps.Store(c00, ref c); TOps.Store(c01, ref Unsafe.Add(ref c, w));
        TOps.Store(c10, ref c1); TOps.Store(c11, ref Unsafe.Add(ref c1, w));
        TOps.Store(c20, ref c2); TOps.Store(c21, ref Unsafe.Add(ref c2, w));
        TOps.Store(c30, ref c3); TOps.Store(c31, ref Unsafe.Add(ref c3, w));
        TOps.Store(c40, ref c4); TOps.Store(c41, ref Unsafe.Add(ref c4, w));
        TOps.Store(c50, ref c5); TOps.Store(c51, ref Unsafe.Add(ref c5, w));
    }

    /// <summary>
    /// Ŷ'[ξν] = (Gw' f Gw'ᵀ)[ξ, ν] for output channel <paramref name="o"/>'s gradient tile f (m × m, zero past the grid)
    /// at tile (ty, tx), written to <paramref name="target"/> + ξν·<paramref name="pointStride"/> (nr lanes each). Gw' is
    /// Gw without its row scales (<see cref="GradientScales"/>), which <see cref="FinishWeightGradient"/> applies to the
    /// sums instead: its coefficients are small integers, so the transform is a few additions.
    /// </summary>
    private static void GradientTile<TVec, TOps>(ref T source, nint stride, ConvolutionGeometry g, int o, int ty, int tx, ref T rows, ref T target, int pointStride, int w)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int size = Alpha - g.Kernel + 1;
        int nr = 2 * w;
        int y0 = ty * size;
        int x0 = tx * size;
        ref T first = ref Unsafe.Add(ref source, (nint)(o * g.Positions) * stride);
        for (int half = 0; half < 2; half++)
        {
            int h = half * w;
            // Rows along x: t[q][ν] = (Gw' f_q)[ν].
            for (int q = 0; q < size; q++)
            {
                int y = y0 + q;
                ref T line = ref Unsafe.Add(ref first, ((nint)y * g.OutWidth * stride) + h);
                bool inside = y < g.OutHeight;
                TVec f0 = inside ? ReadTap<TVec, TOps>(ref line, stride, x0, g.OutWidth) : TOps.Zero;
                TVec f1 = inside ? ReadTap<TVec, TOps>(ref line, stride, x0 + 1, g.OutWidth) : TOps.Zero;
                TVec f2 = inside && size == 4 ? ReadTap<TVec, TOps>(ref line, stride, x0 + 2, g.OutWidth) : TOps.Zero;
                TVec f3 = inside && size == 4 ? ReadTap<TVec, TOps>(ref line, stride, x0 + 3, g.OutWidth) : TOps.Zero;
                Spread<TVec, TOps>(f0, f1, f2, f3, size, ref Unsafe.Add(ref rows, (q * Alpha * nr) + h), nr);
            }

            // Columns along y: Ŷ'[ξ][ν] = (Gw' t_ν)[ξ].
            for (int b = 0; b < Alpha; b++)
            {
                ref T column = ref Unsafe.Add(ref rows, (b * nr) + h);
                nint step = Alpha * nr;
                TVec f0 = TOps.Load(in column);
                TVec f1 = TOps.Load(in Unsafe.Add(ref column, step));
                TVec f2 = size == 4 ? TOps.Load(in Unsafe.Add(ref column, 2 * step)) : TOps.Zero;
                TVec f3 = size == 4 ? TOps.Load(in Unsafe.Add(ref column, 3 * step)) : TOps.Zero;
                Spread<TVec, TOps>(f0, f1, f2, f3, size, ref Unsafe.Add(ref target, ((nint)b * pointStride) + h), (nint)Alpha * pointStride);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec ReadTap<TVec, TOps>(ref T line, nint stride, int x, int width)
        where TVec : struct
        where TOps : ISimdOps<T, TVec> =>
        x < width ? TOps.Load(in Unsafe.Add(ref line, x * stride)) : TOps.Zero;

    /// <summary>
    /// The 1-D transform Gw' f of m = 2 or 4 taps (f2 = f3 = 0 for m = 2): the polynomial f0 + f1·p + … at the points
    /// 0, 1, −1, 2, −2 and its last coefficient (∞); results stored <paramref name="step"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread<TVec, TOps>(TVec f0, TVec f1, TVec f2, TVec f3, int size, ref T target, nint step)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec two = TOps.Broadcast(T.CreateTruncating(2));
        if (size == 2)
        {
            TOps.Store(f0, ref target);
            TOps.Store(TOps.Add(f0, f1), ref Unsafe.Add(ref target, step));
            TOps.Store(TOps.Subtract(f0, f1), ref Unsafe.Add(ref target, 2 * step));
            TOps.Store(TOps.FusedMultiplyAdd(two, f1, f0), ref Unsafe.Add(ref target, 3 * step));
            TOps.Store(TOps.FusedMultiplyAdd(TOps.Broadcast(T.CreateTruncating(-2)), f1, f0), ref Unsafe.Add(ref target, 4 * step));
            TOps.Store(f1, ref Unsafe.Add(ref target, 5 * step));
            return;
        }

        TVec even = TOps.Add(f0, f2);
        TVec odd = TOps.Add(f1, f3);
        TVec evenTwo = TOps.FusedMultiplyAdd(TOps.Broadcast(T.CreateTruncating(4)), f2, f0);
        TVec oddTwo = TOps.Multiply(two, TOps.FusedMultiplyAdd(TOps.Broadcast(T.CreateTruncating(4)), f3, f1));
        TOps.Store(f0, ref target);
        TOps.Store(TOps.Add(even, odd), ref Unsafe.Add(ref target, step));
        TOps.Store(TOps.Subtract(even, odd), ref Unsafe.Add(ref target, 2 * step));
        TOps.Store(TOps.Add(evenTwo, oddTwo), ref Unsafe.Add(ref target, 3 * step));
        TOps.Store(TOps.Subtract(evenTwo, oddTwo), ref Unsafe.Add(ref target, 4 * step));
        TOps.Store(f3, ref Unsafe.Add(ref target, 5 * step));
    }

    /// <summary>
    /// dW[o, (c, i, j)] = (Awᵀ M Aw)[i, j], M[ξν] the chunks' sums for (o, c) added in chunk order, for output channels
    /// [<paramref name="first"/>, <paramref name="end"/>); computed in double and rounded once, channels in blocks of
    /// <see cref="SandwichBlock"/>, one per SIMD lane (<see cref="SandwichLoop"/>).
    /// </summary>
    private void FinishWeightGradient(int first, int end)
    {
        ConvolutionGeometry g = _geometry;
        int k = g.Kernel;
        int channels = g.Channels;
        int tiles = _tilesY * _tilesX;
        int paddedChannels = _paddedChannels;
        int paddedOut = (_outChannels + PackedGemm.MR - 1) / PackedGemm.MR * PackedGemm.MR;
        double[] aw = k == 3 ? Aw3 : Aw5;
        Span<double> m = stackalloc double[Points * SandwichBlock];
        Span<double> half = stackalloc double[5 * Alpha * SandwichBlock];
        Span<double> result = stackalloc double[25 * SandwichBlock];
        Matrix<T> dw = _output!;
        for (int o = first; o < end; o++)
        {
            Span<T> row = dw.Row(o);
            for (int c0 = 0; c0 < channels; c0 += SandwichBlock)
            {
                int count = Math.Min(SandwichBlock, channels - c0);
                m.Clear();
                for (int chunk = 0; chunk < Chunks; chunk++)
                {
                    (int start, int stop) = Share(chunk, tiles);
                    if (start == stop)
                    {
                        continue;
                    }

                    int partial = (chunk * Points * paddedOut * paddedChannels) + (o * paddedChannels) + c0;
                    for (int point = 0; point < Points; point++)
                    {
                        ReadOnlySpan<T> sums = _partial.AsSpan(partial + (point * paddedOut * paddedChannels), count);
                        Span<double> target = m.Slice(point * SandwichBlock, count);
                        for (int c = 0; c < count; c++)
                        {
                            target[c] += double.CreateTruncating(sums[c]);
                        }
                    }
                }

                // dW = Awᵀ·(M scaled)·Aw (k × k), one channel per lane.
                var loop = new SandwichLoop(ref m[0], ref half[0], ref result[0], aw, k, Alpha, GradientScales);
                Simd.Cascade<double, SandwichLoop>(_path, ref loop, 0, count);
                for (int c = 0; c < count; c++)
                {
                    Span<T> weights = row.Slice((c0 + c) * k * k, k * k);
                    for (int i = 0; i < weights.Length; i++)
                    {
                        weights[i] = T.CreateTruncating(result[(i * SandwichBlock) + c]);
                    }
                }
            }
        }
    }

    /// <summary>
    /// result (r × r) = L·M·Lᵀ for L = <paramref name="left"/> (r × n, row-major) and M (n × n), in double, for a block
    /// of channels, one per lane: the weights' transform G g Gᵀ and the weight gradient's output transform Awᵀ M Aw
    /// (whose M is first scaled by s_ξ·s_ν, <paramref name="scales"/>). Buffers hold entry q of channel c at
    /// q·<see cref="SandwichBlock"/> + c; <paramref name="half"/> receives L·M. Each sum starts from 0 and runs in index
    /// order with separate multiplies and adds, so every path and lane gives the bits of the scalar loop.
    /// </summary>
    private readonly ref struct SandwichLoop(ref double middle, ref double half, ref double result, double[] left, int r, int n, double[]? scales) : IVectorLoop<double>
    {
        private readonly ref double _m = ref middle;
        private readonly ref double _half = ref half;
        private readonly ref double _result = ref result;

        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<double, TVec>
        {
            for (; i + TOps.Count <= end; i += TOps.Count)
            {
                if (scales is not null)
                {
                    for (int point = 0; point < n * n; point++)
                    {
                        ref double at = ref Unsafe.Add(ref _m, (point * SandwichBlock) + i);
                        TOps.Store(TOps.Multiply(TOps.Load(in at), TOps.Broadcast(scales[point / n] * scales[point % n])), ref at);
                    }
                }

                for (int a = 0; a < r; a++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        TVec sum = TOps.Zero;
                        for (int q = 0; q < n; q++)
                        {
                            sum = TOps.Add(sum, TOps.Multiply(TOps.Broadcast(left[(a * n) + q]), TOps.Load(in Unsafe.Add(ref _m, (((q * n) + j) * SandwichBlock) + i))));
                        }

                        TOps.Store(sum, ref Unsafe.Add(ref _half, (((a * n) + j) * SandwichBlock) + i));
                    }
                }

                for (int a = 0; a < r; a++)
                {
                    for (int b = 0; b < r; b++)
                    {
                        TVec sum = TOps.Zero;
                        for (int j = 0; j < n; j++)
                        {
                            sum = TOps.Add(sum, TOps.Multiply(TOps.Load(in Unsafe.Add(ref _half, (((a * n) + j) * SandwichBlock) + i)), TOps.Broadcast(left[(b * n) + j])));
                        }

                        TOps.Store(sum, ref Unsafe.Add(ref _result, (((a * r) + b) * SandwichBlock) + i));
                    }
                }
            }

            return i;
        }
    }

    /// <summary>
    /// V[ξν] = (Bᵀ d B)[ξ, ν] for channel <paramref name="c"/>'s input tile at tile (ty, tx), written to
    /// <paramref name="v"/> + ξν·<paramref name="pointStride"/> (nr lanes each). The transforms along x of the tile's
    /// six input rows go to the ring <paramref name="rows"/> (input row y in slot y mod α); the first
    /// <paramref name="reuse"/> rows are taken from it as the tile above left them.
    /// </summary>
    private static void InputTile<TVec, TOps>(ref T source, nint stride, ConvolutionGeometry g, int c, int ty, int tx, int reuse, ref T rows, ref T v, int pointStride, int w)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int m = Alpha - g.Kernel + 1;
        int y0 = (ty * m) - g.Pad;
        int x0 = (tx * m) - g.Pad;
        int nr = 2 * w;
        int first = (y0 + Alpha) % Alpha;
        nint rowStep = Alpha * nr;
        nint s0 = first * rowStep;
        nint s1 = ((first + 1) % Alpha) * rowStep;
        nint s2 = ((first + 2) % Alpha) * rowStep;
        nint s3 = ((first + 3) % Alpha) * rowStep;
        nint s4 = ((first + 4) % Alpha) * rowStep;
        nint s5 = ((first + 5) % Alpha) * rowStep;
        for (int half = 0; half < 2; half++)
        {
            // Rows: t[y][ν] = (d_y B)[ν], along x.
            for (int i = reuse; i < Alpha; i++)
            {
                int y = y0 + i;
                ref T t = ref Unsafe.Add(ref rows, (((first + i) % Alpha) * Alpha * nr) + (half * w));
                if (y < 0 || y >= g.Height)
                {
                    for (int b = 0; b < Alpha; b++)
                    {
                        TOps.Store(TOps.Zero, ref Unsafe.Add(ref t, b * nr));
                    }

                    continue;
                }

                ref T line = ref Unsafe.Add(ref source, (((nint)((c * g.Height) + y) * g.Width) * stride) + (half * w));
                TVec d0 = Read<TVec, TOps>(ref line, stride, x0, g.Width);
                TVec d1 = Read<TVec, TOps>(ref line, stride, x0 + 1, g.Width);
                TVec d2 = Read<TVec, TOps>(ref line, stride, x0 + 2, g.Width);
                TVec d3 = Read<TVec, TOps>(ref line, stride, x0 + 3, g.Width);
                TVec d4 = Read<TVec, TOps>(ref line, stride, x0 + 4, g.Width);
                TVec d5 = Read<TVec, TOps>(ref line, stride, x0 + 5, g.Width);
                Transform<TVec, TOps>(d0, d1, d2, d3, d4, d5, ref t, nr);
            }

            // Columns: V[ξ][ν] = (Bᵀ t)[ξ][ν], along y.
            for (int b = 0; b < Alpha; b++)
            {
                ref T t = ref Unsafe.Add(ref rows, (b * nr) + (half * w));
                TVec d0 = TOps.Load(in Unsafe.Add(ref t, s0));
                TVec d1 = TOps.Load(in Unsafe.Add(ref t, s1));
                TVec d2 = TOps.Load(in Unsafe.Add(ref t, s2));
                TVec d3 = TOps.Load(in Unsafe.Add(ref t, s3));
                TVec d4 = TOps.Load(in Unsafe.Add(ref t, s4));
                TVec d5 = TOps.Load(in Unsafe.Add(ref t, s5));
                Transform<TVec, TOps>(d0, d1, d2, d3, d4, d5, ref Unsafe.Add(ref v, ((nint)b * pointStride) + (half * w)), (nint)Alpha * pointStride);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Read<TVec, TOps>(ref T line, nint stride, int x, int width)
        where TVec : struct
        where TOps : ISimdOps<T, TVec> =>
        (uint)x < (uint)width ? TOps.Load(in Unsafe.Add(ref line, x * stride)) : TOps.Zero;

    /// <summary>
    /// The 1-D input transform Bᵀ d (Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0;
    /// 0 4 0 −5 0 1]), its six results stored <paramref name="step"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform<TVec, TOps>(TVec d0, TVec d1, TVec d2, TVec d3, TVec d4, TVec d5, ref T target, nint step)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec four = TOps.Broadcast(T.CreateTruncating(4));
        TVec minusFour = TOps.Broadcast(T.CreateTruncating(-4));
        TVec minusFive = TOps.Broadcast(T.CreateTruncating(-5));
        TVec two = TOps.Broadcast(T.CreateTruncating(2));
        TVec minusTwo = TOps.Broadcast(T.CreateTruncating(-2));
        TVec a = TOps.FusedMultiplyAdd(minusFour, d2, d4);
        TVec b = TOps.FusedMultiplyAdd(minusFour, d1, d3);
        TVec c = TOps.Subtract(d4, d2);
        TVec e = TOps.Subtract(d3, d1);
        TOps.Store(TOps.FusedMultiplyAdd(four, d0, TOps.FusedMultiplyAdd(minusFive, d2, d4)), ref target);
        TOps.Store(TOps.Add(a, b), ref Unsafe.Add(ref target, step));
        TOps.Store(TOps.Subtract(a, b), ref Unsafe.Add(ref target, 2 * step));
        TOps.Store(TOps.FusedMultiplyAdd(two, e, c), ref Unsafe.Add(ref target, 3 * step));
        TOps.Store(TOps.FusedMultiplyAdd(minusTwo, e, c), ref Unsafe.Add(ref target, 4 * step));
        TOps.Store(TOps.FusedMultiplyAdd(four, d1, TOps.FusedMultiplyAdd(minusFive, d3, d5)), ref Unsafe.Add(ref target, 5 * step));
    }

    /// <summary>Output channel <paramref name="o"/>'s tile: Y = Aᵀ M A (+ bias), M[ξν] at <paramref name="m"/> + ξν·<paramref name="pointStride"/>; positions past the grid are dropped.</summary>
    private void OutputTile<TVec, TOps>(ref T m, int pointStride, Matrix<T> output, int o, int ty, int tx, int j0, int cols, int w)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        ConvolutionGeometry g = _geometry;
        int size = Alpha - g.Kernel + 1;
        int nr = 2 * w;
        Span<T> tile = stackalloc T[16 * 2 * 64 / Unsafe.SizeOf<T>()];
        Span<T> ys = stackalloc T[Alpha * 4 * 2 * 64 / Unsafe.SizeOf<T>()];
        TVec bias = TOps.Broadcast(_bias is null ? T.Zero : _bias[o, 0]);
        for (int half = 0; half < 2; half++)
        {
            int h = half * w;
            // Columns of M along ξ: s[q][ν] = (Aᵀ M)[q][ν].
            for (int b = 0; b < Alpha; b++)
            {
                ref T column = ref Unsafe.Add(ref m, ((nint)b * pointStride) + h);
                nint step = (nint)Alpha * pointStride;
                Back<TVec, TOps>(
                    TOps.Load(in column),
                    TOps.Load(in Unsafe.Add(ref column, step)),
                    TOps.Load(in Unsafe.Add(ref column, 2 * step)),
                    TOps.Load(in Unsafe.Add(ref column, 3 * step)),
                    TOps.Load(in Unsafe.Add(ref column, 4 * step)),
                    TOps.Load(in Unsafe.Add(ref column, 5 * step)),
                    size,
                    TOps.Zero,
                    ref Unsafe.Add(ref ys[0], (b * nr) + h),
                    (nint)Alpha * nr);
            }

            // Rows along ν: Y[q][r] = (s Aᵀ)[q][r] + bias.
            for (int q = 0; q < size; q++)
            {
                ref T line = ref Unsafe.Add(ref ys[0], (q * Alpha * nr) + h);
                Back<TVec, TOps>(
                    TOps.Load(in line),
                    TOps.Load(in Unsafe.Add(ref line, nr)),
                    TOps.Load(in Unsafe.Add(ref line, 2 * nr)),
                    TOps.Load(in Unsafe.Add(ref line, 3 * nr)),
                    TOps.Load(in Unsafe.Add(ref line, 4 * nr)),
                    TOps.Load(in Unsafe.Add(ref line, 5 * nr)),
                    size,
                    bias,
                    ref Unsafe.Add(ref tile[0], (q * size * nr) + h),
                    nr);
            }
        }

        int positions = g.Positions;
        for (int q = 0; q < size; q++)
        {
            int y = (ty * size) + q;
            if (y >= g.OutHeight)
            {
                break;
            }

            for (int r = 0; r < size; r++)
            {
                int x = (tx * size) + r;
                if (x >= g.OutWidth)
                {
                    break;
                }

                ref T values = ref tile[((q * size) + r) * nr];
                ref T target = ref Unsafe.Add(ref output.UnsafeStart, ((nint)((o * positions) + (y * g.OutWidth) + x) * output.Stride) + j0);
                if (cols == nr)
                {
                    TOps.StoreStreaming(TOps.Load(in values), ref target);
                    TOps.StoreStreaming(TOps.Load(in Unsafe.Add(ref values, w)), ref Unsafe.Add(ref target, w));
                }
                else
                {
                    for (int e = 0; e < cols; e++)
                    {
                        Unsafe.Add(ref target, e) = Unsafe.Add(ref values, e);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The 1-D output transform Aᵀ m (+ <paramref name="bias"/>): for m = 2, Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1]; for
    /// m = 4, [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]; results stored <paramref name="step"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Back<TVec, TOps>(TVec m0, TVec m1, TVec m2, TVec m3, TVec m4, TVec m5, int size, TVec bias, ref T target, nint step)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec s12 = TOps.Add(m1, m2);
        TVec d12 = TOps.Subtract(m1, m2);
        TVec s34 = TOps.Add(m3, m4);
        TVec d34 = TOps.Subtract(m3, m4);
        TVec two = TOps.Broadcast(T.CreateTruncating(2));
        TOps.Store(TOps.Add(TOps.Add(TOps.Add(m0, s12), s34), bias), ref target);
        if (size == 2)
        {
            TOps.Store(TOps.Add(TOps.Add(TOps.FusedMultiplyAdd(two, d34, d12), m5), bias), ref Unsafe.Add(ref target, step));
            return;
        }

        TVec four = TOps.Broadcast(T.CreateTruncating(4));
        TVec eight = TOps.Broadcast(T.CreateTruncating(8));
        TOps.Store(TOps.Add(TOps.FusedMultiplyAdd(two, d34, d12), bias), ref Unsafe.Add(ref target, step));
        TOps.Store(TOps.Add(TOps.FusedMultiplyAdd(four, s34, s12), bias), ref Unsafe.Add(ref target, 2 * step));
        TOps.Store(TOps.Add(TOps.Add(TOps.FusedMultiplyAdd(eight, d34, d12), m5), bias), ref Unsafe.Add(ref target, 3 * step));
    }
}
