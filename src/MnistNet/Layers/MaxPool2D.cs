using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>
/// 2 × 2 max pooling with stride 2 over C channels of H × W (PyTorch's <c>nn.MaxPool2d(2)</c>): each example is a
/// column of C·H·W values, each output a column of C·⌊H/2⌋·⌊W/2⌋; an odd last row or column is dropped.
/// </summary>
/// <remarks>
/// <code>
/// forward:   Y[c, y, x] = max(X[c, 2y, 2x], X[c, 2y, 2x+1], X[c, 2y+1, 2x], X[c, 2y+1, 2x+1])
/// backward:  dX at the first of those four (in that order) that equals Y gets dY[c, y, x]; the others get 0
/// </code>
/// <para>A window holding NaN gives NaN and passes no gradient. Each output row is the elementwise maximum of four input
/// rows (one value per example), so both passes run along the batch in SIMD.</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class MaxPool2D<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a 2 × 2 max pooling layer.</summary>
    /// <param name="channels">Channels C (≥ 1).</param>
    /// <param name="height">Input height H (≥ 2).</param>
    /// <param name="width">Input width W (≥ 2).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is too small.</exception>
    public MaxPool2D(int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 2);
        if ((long)channels * height * width > int.MaxValue)
        {
            throw new ArgumentException($"{channels} × {height} × {width} inputs are too many.", nameof(channels));
        }

        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>Gets the channels C.</summary>
    public int Channels { get; }

    /// <summary>Gets the input height H.</summary>
    public int Height { get; }

    /// <summary>Gets the input width W.</summary>
    public int Width { get; }

    /// <summary>Gets the output height ⌊H/2⌋.</summary>
    public int OutputHeight => Height / 2;

    /// <summary>Gets the output width ⌊W/2⌋.</summary>
    public int OutputWidth => Width / 2;

    /// <inheritdoc/>
    public override int InputSize => Channels * Height * Width;

    /// <inheritdoc/>
    public override int OutputSize => Channels * OutputHeight * OutputWidth;

    /// <inheritdoc/>
    public override Layer<T> Clone() => new MaxPool2D<T>(Channels, Height, Width);

    /// <summary>The input row of the top-left value of output (<paramref name="c"/>, <paramref name="y"/>, <paramref name="x"/>)'s 2 × 2 window; the others are the next row, and the two <see cref="Width"/> rows below.</summary>
    internal int WindowTop(int c, int y, int x) => (((c * Height) + (2 * y)) * Width) + (2 * x);

    /// <inheritdoc/>
    public override string ToString() => $"maxpool {Channels}×{Height}×{Width}→{Channels}×{OutputHeight}×{OutputWidth}";

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output) =>
        context.State<Job>(this).Run(this, input, output, null, null);

    /// <summary>The forward pass for output rows [<paramref name="start"/>, <paramref name="end"/>): each the maximum of its window's four input rows.</summary>
    private void ForwardRows(Matrix<T> input, Matrix<T> output, int start, int end)
    {
        int m = input.Columns;
        for (int at = start; at < end; at++)
        {
            int top = WindowTop(at);
            Span<T> result = output.Row(at)[..m];
            SimdMath.Max(input.Row(top)[..m], input.Row(top + 1)[..m], result);
            SimdMath.Max(result, input.Row(top + Width)[..m], result);
            SimdMath.Max(result, input.Row(top + Width + 1)[..m], result);
        }
    }

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (inputGradient is null)
        {
            return;
        }

        if (Height % 2 == 1 || Width % 2 == 1)
        {
            // The dropped last row or column gets no gradient.
            inputGradient.Clear();
        }

        context.State<Job>(this).Run(this, input, output, outputGradient, inputGradient);
    }

    /// <summary>The backward pass for output rows [<paramref name="start"/>, <paramref name="end"/>): each routes its gradient to its window's maximum.</summary>
    private void BackwardRows(Matrix<T> input, Matrix<T> output, Matrix<T> outputGradient, Matrix<T> inputGradient, int start, int end)
    {
        int m = input.Columns;
        for (int at = start; at < end; at++)
        {
            int top = WindowTop(at);
            var route = new RouteLoop(
                ref Element(output, at),
                ref Element(outputGradient, at),
                ref Element(input, top),
                ref Element(input, top + 1),
                ref Element(input, top + Width),
                ref Element(input, top + Width + 1),
                ref Element(inputGradient, top),
                ref Element(inputGradient, top + 1),
                ref Element(inputGradient, top + Width),
                ref Element(inputGradient, top + Width + 1));
            Simd.Cascade<T, RouteLoop>(MnistNetRuntime.EffectiveSimdPath, ref route, 0, m);
        }
    }

    /// <summary>The input row at the top left of output row <paramref name="at"/>'s window.</summary>
    private int WindowTop(int at)
    {
        int x = at % OutputWidth;
        int y = at / OutputWidth % OutputHeight;
        int c = at / OutputWidth / OutputHeight;
        return WindowTop(c, y, x);
    }

    private static ref T Element(Matrix<T> matrix, int row) => ref Unsafe.Add(ref matrix.UnsafeStart, (nint)row * matrix.Stride);

    /// <summary>The forward or backward pass, output row by output row, the rows of a large batch shared among the worker pool's threads (windows do not overlap).</summary>
    private sealed class Job : RowJob
    {
        private MaxPool2D<T>? _layer;
        private Matrix<T>? _input;
        private Matrix<T>? _output;
        private Matrix<T>? _outputGradient;
        private Matrix<T>? _inputGradient;

        public void Run(MaxPool2D<T> layer, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient)
        {
            (_layer, _input, _output, _outputGradient, _inputGradient) = (layer, input, output, outputGradient, inputGradient);
            try
            {
                RunRows(layer.OutputSize, 4L * layer.OutputSize * input.Columns);
            }
            // Stryker disable once Block,Statement : releases the operands for the collector; no value depends on it
            finally
            {
                (_layer, _input, _output, _outputGradient, _inputGradient) = (null, null, null, null, null);
            }
        }

        protected override void Rows(int start, int end)
        {
            if (_inputGradient is null)
            {
                _layer!.ForwardRows(_input!, _output!, start, end);
            }
            else
            {
                _layer!.BackwardRows(_input!, _output!, _outputGradient!, _inputGradient, start, end);
            }
        }
    }

    /// <summary>
    /// Sends each example's gradient to the first of the window's four inputs that holds the maximum (none when the
    /// maximum is NaN): the gradient not yet sent moves along by selection, so NaN and ∞ gradients pass unchanged.
    /// </summary>
    private readonly ref struct RouteLoop(ref T y, ref T dy, ref T x0, ref T x1, ref T x2, ref T x3, ref T d0, ref T d1, ref T d2, ref T d3) : IVectorLoop<T>
    {
        private readonly ref T _y = ref y;
        private readonly ref T _dy = ref dy;
        private readonly ref T _x0 = ref x0;
        private readonly ref T _x1 = ref x1;
        private readonly ref T _x2 = ref x2;
        private readonly ref T _x3 = ref x3;
        private readonly ref T _d0 = ref d0;
        private readonly ref T _d1 = ref d1;
        private readonly ref T _d2 = ref d2;
        private readonly ref T _d3 = ref d3;

        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            TVec zero = TOps.Zero;
            for (; i + TOps.Count <= end; i += TOps.Count)
            {
                TVec top = TOps.Load(in Unsafe.Add(ref _y, i));
                TVec left = TOps.Load(in Unsafe.Add(ref _dy, i));
                TVec x = TOps.Load(in Unsafe.Add(ref _x0, i));
                TOps.Store(TOps.SelectWhereEqual(x, top, left, zero), ref Unsafe.Add(ref _d0, i));
                left = TOps.SelectWhereEqual(x, top, zero, left);
                x = TOps.Load(in Unsafe.Add(ref _x1, i));
                TOps.Store(TOps.SelectWhereEqual(x, top, left, zero), ref Unsafe.Add(ref _d1, i));
                left = TOps.SelectWhereEqual(x, top, zero, left);
                x = TOps.Load(in Unsafe.Add(ref _x2, i));
                TOps.Store(TOps.SelectWhereEqual(x, top, left, zero), ref Unsafe.Add(ref _d2, i));
                left = TOps.SelectWhereEqual(x, top, zero, left);
                x = TOps.Load(in Unsafe.Add(ref _x3, i));
                TOps.Store(TOps.SelectWhereEqual(x, top, left, zero), ref Unsafe.Add(ref _d3, i));
            }

            return i;
        }
    }
}
