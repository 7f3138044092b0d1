using System.Numerics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

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
/// <para>Computed as matrix products without an unrolled (im2col) matrix: the forward pass is <c>W·U</c>, U the input's
/// (C·k·k) values under each kernel position, packed straight from the image into the packed GEMM's register tile
/// position by position; the input gradient is the same product of the output gradient with the flipped kernels
/// (channels swapped, padded by k − 1 − pad); the weight gradient <c>dY·Uᵀ</c> is a dot-product kernel over positions and
/// examples. With 3 × 3 or 5 × 5 kernels and at least 8 channels on both sides (a hidden convolution, not the first),
/// the forward pass, the input gradient and the weight gradient use Winograd's minimal filtering instead
/// (<c>WinogradKernels</c>: 2.78× fewer multiply-adds for 5 × 5, 4× for 3 × 3), whose rounding differs from the direct
/// sum's by a few units in the last place.
/// Every output element is one fixed chain of operations, so the results have the same bits on any number of threads
/// and on every SIMD width. The weights are stored as O × (C·k·k), written to files as [O, C, k, k] (PyTorch's layout).</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Conv2D<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int FlippedSlot = 0;

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

    /// <summary>Gets where the layer reads: its image, kernels and padding.</summary>
    internal ConvolutionGeometry Geometry => new(InChannels, Height, Width, KernelSize, Pad, OutputHeight, OutputWidth);

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output)
    {
        // Y = W·U + b, U the unrolled input: by Winograd's transforms for 3 × 3 and 5 × 5 kernels between enough channels,
        // otherwise packed straight from the image position by position.
        ConvolutionGeometry geometry = Geometry;
        if (WinogradKernels<T>.Supports(geometry, OutChannels))
        {
            context.State<WinogradKernels<T>>(this).Multiply(Weight.Value, geometry, input, output, Bias.Value);
        }
        else
        {
            context.State<ConvolutionKernels<T>>(this).Multiply(Weight.Value, geometry, input, output, Bias.Value);
        }
    }

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        Matrix<T> dw = parameterGradients[0];
        Matrix<T> db = parameterGradients[1];
        ConvolutionKernels<T> kernels = context.State<ConvolutionKernels<T>>(this);

        // dW = dY·Uᵀ and db = Σ dY, both summed over positions and examples.
        ConvolutionGeometry geometry = Geometry;
        if (WinogradKernels<T>.Supports(geometry, OutChannels))
        {
            context.State<WinogradKernels<T>>(this).WeightGradient(outputGradient, geometry, input, dw);
        }
        else
        {
            kernels.WeightGradient(outputGradient, geometry, input, dw);
        }

        kernels.BiasGradient(outputGradient, Positions, db);

        // dX: the output gradient convolved with the flipped kernels, channels swapped (W'[c, (o, i, j)] = W[o, c, k−1−i, k−1−j]),
        // padded by k − 1 − pad — the same product as the forward pass, with no unrolled matrix to fold back.
        if (inputGradient is not null)
        {
            Matrix<T> flipped = context.Scratch<T>(this, FlippedSlot, InChannels, OutChannels * KernelSize * KernelSize);
            Flip(Weight.Value, flipped);
            ConvolutionGeometry transposed = Geometry.Transposed(OutChannels);
            if (WinogradKernels<T>.Supports(transposed, InChannels))
            {
                context.State<WinogradKernels<T>>(this).Multiply(flipped, transposed, outputGradient, inputGradient, bias: null);
            }
            else
            {
                kernels.Multiply(flipped, transposed, outputGradient, inputGradient, bias: null);
            }
        }

        T inverseM = T.CreateTruncating(context.InverseBatch);
        SimdMath.Scale(dw.AsSpan(), inverseM);
        SimdMath.Scale(db.AsSpan(), inverseM);
    }

    /// <summary>flipped[c, (o, i, j)] = weights[o, (c, k − 1 − i, k − 1 − j)].</summary>
    private void Flip(Matrix<T> weights, Matrix<T> flipped)
    {
        int k = KernelSize;
        for (int o = 0; o < OutChannels; o++)
        {
            ReadOnlySpan<T> kernel = weights.Row(o);
            for (int c = 0; c < InChannels; c++)
            {
                Span<T> target = flipped.Row(c).Slice(o * k * k, k * k);
                ReadOnlySpan<T> source = kernel.Slice(c * k * k, k * k);
                for (int i = 0; i < k * k; i++)
                {
                    target[i] = source[(k * k) - 1 - i];
                }
            }
        }
    }

    /// <inheritdoc/>
    protected internal override void Initialize(Initialization initialization, Prng random) =>
        Dense<T>.InitializeWeights(Weight.Value, Bias.Value, initialization, UnrolledRows, OutChannels * KernelSize * KernelSize, random);
}
