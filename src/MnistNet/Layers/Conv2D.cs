using System.Numerics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Threading;

namespace MnistNet.Layers;

/// <summary>How a <see cref="Conv2D{T}"/> treats the image border.</summary>
public enum ConvolutionPadding
{
    /// <summary>No padding: the output shrinks by kernel size − 1 in each direction.</summary>
    Valid,

    /// <summary>Zero padding of (kernel size − 1) / 2 on every side (odd kernels only): the output keeps the input's size.</summary>
    Same,
}

/// <summary>
/// A two-dimensional convolution with stride 1 (PyTorch's <c>nn.Conv2d</c>, a cross-correlation): each example is a
/// column of C·H·W values (channel, then row, then column — the layout MNIST's 784 pixels already have), and so is each
/// output, of O·H'·W' values.
/// </summary>
/// <remarks>
/// <code>
/// forward:   Y[o, y, x]  = b[o] + Σ_{c, i, j} W[o, c, i, j] · X[c, y + i − p, x + j − p]     (X is 0 outside the image)
/// backward:  dW[o, c, i, j] = (1/m) Σ_{examples, y, x} dY[o, y, x] · X[c, y + i − p, x + j − p]
///            db[o]          = (1/m) Σ_{examples, y, x} dY[o, y, x]
///            dX[c, y', x']  = Σ_{o, i, j : y' = y + i − p, x' = x + j − p} W[o, c, i, j] · dY[o, y, x]
/// </code>
/// <para>Computed as matrix products (im2col): the inputs under each kernel position are unrolled into a matrix U of
/// (C·k·k) rows and one column per (output position, example), so that the forward pass is <c>W·U</c>, the weight
/// gradient <c>dY·Uᵀ</c> and the input gradient <c>Wᵀ·dY</c> folded back onto the image — the same SIMD kernels, and the
/// same bits on any number of threads, as the dense layers. The examples go through in groups sized so that U stays
/// near 16 MB; the weights are stored as O × (C·k·k), written to files as [O, C, k, k] (PyTorch's layout).</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Conv2D<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The most elements the unrolled input of one group of examples may hold (16 MB of float).</summary>
    internal const int UnrolledBudget = 1 << 22;

    private const int UnrolledSlot = 0;
    private const int OutputSlot = 1;
    private const int GradientSlot = 2;

    private readonly Parameter<T>[] _parameters;

    /// <summary>Creates a convolution with zero parameters (a network initialises them).</summary>
    /// <param name="inChannels">Input channels C (≥ 1).</param>
    /// <param name="height">Input height H (≥ 1).</param>
    /// <param name="width">Input width W (≥ 1).</param>
    /// <param name="outChannels">Output channels O (≥ 1).</param>
    /// <param name="kernelSize">Kernel size k (≥ 1; odd for <see cref="ConvolutionPadding.Same"/>, at most H and W for <see cref="ConvolutionPadding.Valid"/>).</param>
    /// <param name="padding">The border treatment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or the padding is not defined.</exception>
    /// <exception cref="ArgumentException">The kernel does not fit the image, or is even with <see cref="ConvolutionPadding.Same"/>.</exception>
    public Conv2D(int inChannels, int height, int width, int outChannels, int kernelSize, ConvolutionPadding padding = ConvolutionPadding.Same)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        if (!Enum.IsDefined(padding))
        {
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "Padding must be Valid or Same.");
        }

        if (padding == ConvolutionPadding.Same && kernelSize % 2 == 0)
        {
            throw new ArgumentException($"'Same' padding needs an odd kernel size; got {kernelSize}.", nameof(kernelSize));
        }

        if (padding == ConvolutionPadding.Valid && (kernelSize > height || kernelSize > width))
        {
            throw new ArgumentException($"A {kernelSize} × {kernelSize} kernel does not fit a {height} × {width} image without padding.", nameof(kernelSize));
        }

        long inputSize = (long)inChannels * height * width;
        long unrolledRows = (long)inChannels * kernelSize * kernelSize;
        if (inputSize > int.MaxValue || unrolledRows > int.MaxValue || (long)outChannels * height * width > int.MaxValue)
        {
            throw new ArgumentException($"A convolution of {inChannels} × {height} × {width} inputs into {outChannels} channels is too large.", nameof(inChannels));
        }

        InChannels = inChannels;
        Height = height;
        Width = width;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Padding = padding;
        Pad = padding == ConvolutionPadding.Same ? (kernelSize - 1) / 2 : 0;
        OutputHeight = height + (2 * Pad) - kernelSize + 1;
        OutputWidth = width + (2 * Pad) - kernelSize + 1;
        Weight = new Parameter<T>("weight", outChannels, (int)unrolledRows, [outChannels, inChannels, kernelSize, kernelSize], decays: true);
        Bias = new Parameter<T>("bias", outChannels, 1, [outChannels], decays: false);
        _parameters = [Weight, Bias];
    }

    /// <summary>Gets the input channels C.</summary>
    public int InChannels { get; }

    /// <summary>Gets the input height H.</summary>
    public int Height { get; }

    /// <summary>Gets the input width W.</summary>
    public int Width { get; }

    /// <summary>Gets the output channels O.</summary>
    public int OutChannels { get; }

    /// <summary>Gets the kernel size k (k × k kernels).</summary>
    public int KernelSize { get; }

    /// <summary>Gets the border treatment.</summary>
    public ConvolutionPadding Padding { get; }

    /// <summary>Gets the output height H'.</summary>
    public int OutputHeight { get; }

    /// <summary>Gets the output width W'.</summary>
    public int OutputWidth { get; }

    /// <summary>Gets the weights: O × (C·k·k), row o holding kernel o's values in (channel, row, column) order.</summary>
    public Parameter<T> Weight { get; }

    /// <summary>Gets the biases (O × 1).</summary>
    public Parameter<T> Bias { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc/>
    public override int InputSize => InChannels * Height * Width;

    /// <inheritdoc/>
    public override int OutputSize => OutChannels * OutputHeight * OutputWidth;

    /// <summary>Gets the zeros added on each side: (k − 1) / 2 for <see cref="ConvolutionPadding.Same"/>, 0 for <see cref="ConvolutionPadding.Valid"/>.</summary>
    public int Pad { get; }

    private int Positions => OutputHeight * OutputWidth;

    private int UnrolledRows => InChannels * KernelSize * KernelSize;

    /// <inheritdoc/>
    public override Layer<T> Clone()
    {
        var copy = new Conv2D<T>(InChannels, Height, Width, OutChannels, KernelSize, Padding);
        Weight.Value.CopyTo(copy.Weight.Value);
        Bias.Value.CopyTo(copy.Bias.Value);
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"conv {InChannels}×{Height}×{Width}→{OutChannels}×{OutputHeight}×{OutputWidth} k{KernelSize}{(Padding == ConvolutionPadding.Valid ? " valid" : string.Empty)}";

    /// <summary>Examples per group for a batch of <paramref name="columns"/>: as many as keep the unrolled input within <see cref="UnrolledBudget"/>.</summary>
    internal int GroupSize(int columns) =>
        (int)Math.Clamp(UnrolledBudget / ((long)UnrolledRows * Positions), 1, Math.Max(1, columns));

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output)
    {
        int m = input.Columns;
        int group = GroupSize(m);
        int positions = Positions;
        Matrix<T> unrolled = context.Scratch<T>(this, UnrolledSlot, UnrolledRows, positions * group);
        Matrix<T> products = context.Scratch<T>(this, OutputSlot, OutChannels, positions * group);
        GroupJob job = context.State<GroupJob>(this);
        for (int j0 = 0; j0 < m; j0 += group)
        {
            int g = Math.Min(group, m - j0);

            // Y = W·U + b, then back to one column per example; the copies split over threads by row.
            job.Run(this, GroupJob.Unroll, input, unrolled, j0, g, group, UnrolledRows);
            Matrix<T>.Multiply(Weight.Value, unrolled, products);
            job.Run(this, GroupJob.CopyOut, products, output, j0, g, group, OutChannels);
        }
    }

    /// <summary>Output rows of channel <paramref name="o"/>: Y[o·P + p, j0 + e] = products[o, p·group + e] + b[o].</summary>
    private void CopyOut(Matrix<T> products, Matrix<T> output, int o, int j0, int g, int group)
    {
        int positions = Positions;
        T bias = Bias.Value[o, 0];
        ReadOnlySpan<T> row = products.Row(o);
        for (int p = 0; p < positions; p++)
        {
            SimdMath.Add(row.Slice(p * group, g), bias, output.Row((o * positions) + p).Slice(j0, g));
        }
    }

    /// <summary>dY of channel <paramref name="o"/> for this group as one row of positions · group (zero past the batch's end), and db[o] += its sum.</summary>
    private void PackGradient(Matrix<T> outputGradient, Matrix<T> dy, Matrix<T> db, int o, int j0, int g, int group)
    {
        int positions = Positions;
        Span<T> row = dy.Row(o);
        for (int p = 0; p < positions; p++)
        {
            outputGradient.Row((o * positions) + p).Slice(j0, g).CopyTo(row.Slice(p * group, g));
            row.Slice((p * group) + g, group - g).Clear();
        }

        // db[o] += Σ dY[o, ·]
        db[o, 0] += SimdMath.Sum<T>(row);
    }

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        int m = input.Columns;
        int group = GroupSize(m);
        int positions = Positions;
        Matrix<T> dw = parameterGradients[0];
        Matrix<T> db = parameterGradients[1];
        Matrix<T> unrolled = context.Scratch<T>(this, UnrolledSlot, UnrolledRows, positions * group);
        Matrix<T> dy = context.Scratch<T>(this, OutputSlot, OutChannels, positions * group);
        Matrix<T> partial = context.Scratch<T>(this, GradientSlot, OutChannels, UnrolledRows);
        dw.Clear();
        db.Clear();
        inputGradient?.Clear();
        GroupJob job = context.State<GroupJob>(this);
        job.Bias = db;
        for (int j0 = 0; j0 < m; j0 += group)
        {
            int g = Math.Min(group, m - j0);

            // dY of this group as O × (positions · group), zero for the columns past the batch's end (and db).
            job.Run(this, GroupJob.PackGradient, outputGradient, dy, j0, g, group, OutChannels);

            // dW += dY·Uᵀ
            job.Run(this, GroupJob.Unroll, input, unrolled, j0, g, group, UnrolledRows);
            Matrix<T>.MultiplyByTranspose(dy, unrolled, partial);
            SimdMath.Add(dw.AsSpan(), partial.AsSpan(), dw.AsSpan());

            // dX += fold(Wᵀ·dY): the unrolled buffer is free again and takes the product; one chunk per input channel
            // (each writes its own rows of dX, in a fixed order).
            if (inputGradient is not null)
            {
                Matrix<T>.TransposeAndMultiply(Weight.Value, dy, unrolled);
                job.Run(this, GroupJob.Fold, unrolled, inputGradient, j0, g, group, InChannels);
            }
        }

        job.Bias = null;

        T inverseM = T.CreateTruncating(context.InverseBatch);
        SimdMath.Scale(dw.AsSpan(), inverseM);
        SimdMath.Scale(db.AsSpan(), inverseM);
    }

    /// <inheritdoc/>
    protected internal override void Initialize(Initialization initialization, Prng random) =>
        Dense<T>.InitializeWeights(Weight.Value, Bias.Value, initialization, UnrolledRows, OutChannels * KernelSize * KernelSize, random);

    /// <summary>
    /// Row r = (c, i, j) of U: U[(c, i, j), p·group + e] = X[c, y + i − pad, x + j − pad] of example j0 + e (p = y·W' + x), 0 outside the image
    /// and for e ≥ <paramref name="g"/>: each entry is a run of examples, copied from one input row.
    /// </summary>
    private void Unroll(Matrix<T> input, int r, int j0, int g, int group, Matrix<T> unrolled)
    {
        int k = KernelSize;
        int c = r / (k * k), i = r / k % k, j = r % k;
        Span<T> row = unrolled.Row(r);
        for (int y = 0; y < OutputHeight; y++)
        {
            int sy = y + i - Pad;
            for (int x = 0; x < OutputWidth; x++)
            {
                int sx = x + j - Pad;
                Span<T> run = row.Slice(((y * OutputWidth) + x) * group, group);
                if (sy < 0 || sy >= Height || sx < 0 || sx >= Width)
                {
                    run.Clear();
                    continue;
                }

                input.Row((((c * Height) + sy) * Width) + sx).Slice(j0, g).CopyTo(run);

                // Columns past the batch's end meet zero columns of dY and are never copied out; cleared all the same,
                // so that an infinity left by an earlier group cannot turn 0 · ∞ into NaN in dW.
                run[g..].Clear();
            }
        }
    }

    /// <summary>Channel c of dX: dX[c, y + i − pad, x + j − pad] of example j0 + e += V[(c, i, j), p·group + e] inside the image, in a fixed order.</summary>
    private void Fold(Matrix<T> unrolled, int c, int j0, int g, int group, Matrix<T> inputGradient)
    {
        int k = KernelSize;
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++)
            {
                ReadOnlySpan<T> row = unrolled.Row((((c * k) + i) * k) + j);
                for (int y = 0; y < OutputHeight; y++)
                {
                    int sy = y + i - Pad;
                    if (sy < 0 || sy >= Height)
                    {
                        continue;
                    }

                    for (int x = 0; x < OutputWidth; x++)
                    {
                        int sx = x + j - Pad;
                        if (sx < 0 || sx >= Width)
                        {
                            continue;
                        }

                        Span<T> target = inputGradient.Row((((c * Height) + sy) * Width) + sx).Slice(j0, g);
                        SimdMath.Add(target, row.Slice(((y * OutputWidth) + x) * group, g), target);
                    }
                }
            }
        }
    }

    /// <summary>
    /// One of the layer's copying passes over a group of examples, split over threads by rows of its output (each chunk
    /// writes rows no other chunk writes, in a fixed order: the same bits on any number of threads). Kept per context, so
    /// that workspaces on different threads never share one.
    /// </summary>
    private sealed class GroupJob : IChunkJob
    {
        public const int Unroll = 0;
        public const int CopyOut = 1;
        public const int PackGradient = 2;
        public const int Fold = 3;

        private Conv2D<T>? _layer;
        private Matrix<T>? _source;
        private Matrix<T>? _target;
        private int _mode;
        private int _j0;
        private int _g;
        private int _group;

        /// <summary>Gets or sets db while the backward pass runs (for <see cref="PackGradient"/>).</summary>
        public Matrix<T>? Bias { get; set; }

        public void Run(Conv2D<T> layer, int mode, Matrix<T> source, Matrix<T> target, int j0, int g, int group, int chunks)
        {
            (_layer, _mode, _source, _target, _j0, _g, _group) = (layer, mode, source, target, j0, g, group);
            try
            {
                WorkerPool.Shared.Run(this, chunks, MnistNetRuntime.MaxDegreeOfParallelism);
            }
            finally
            {
                (_layer, _source, _target) = (null, null, null);
            }
        }

        public void Execute(int chunk)
        {
            Conv2D<T> layer = _layer!;
            switch (_mode)
            {
                case Unroll:
                    layer.Unroll(_source!, chunk, _j0, _g, _group, _target!);
                    break;
                case CopyOut:
                    layer.CopyOut(_source!, _target!, chunk, _j0, _g, _group);
                    break;
                case PackGradient:
                    layer.PackGradient(_source!, _target!, Bias!, chunk, _j0, _g, _group);
                    break;
                default:
                    layer.Fold(_source!, chunk, _j0, _g, _group, _target!);
                    break;
            }
        }
    }
}
