using BenchmarkDotNet.Attributes;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;

namespace MnistNet.Benchmarks;

/// <summary>
/// Issue 12's "im2col or direct — measure both at MNIST's shapes": one forward and one backward pass of each convolution
/// of <c>--preset cnn</c> (batch 128, float32, one thread), through an unrolled (im2col) matrix and the packed GEMM
/// (<see cref="Im2Col"/>, the layer's method before 0.3: the baseline) and through <see cref="Conv2D{T}"/> as it ships
/// (the image packed straight into the GEMM's tile, a dot-product kernel for the weight gradient). The setup checks
/// that both give the same values.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class ConvolutionBenchmarks
{
    private const int Batch = 128;
    private Conv2D<float> _layer = null!;
    private Im2Col _baseline = null!;
    private LayerContext _context = null!;
    private Matrix<float> _x = null!, _y = null!, _dy = null!, _dw = null!, _db = null!;
    private Matrix<float>? _dx;

    /// <summary>
    /// Gets or sets the layer: the cnn preset's first (1×28×28 → 32, k5; no input gradient, as the first layer of a
    /// network) or second (32×14×14 → 64, k5) convolution.
    /// </summary>
    [Params("conv1 1x28x28->32", "conv2 32x14x14->64")]
    public string Layer { get; set; } = "conv2 32x14x14->64";

    [GlobalSetup]
    public void Setup()
    {
        MnistNetRuntime.MaxDegreeOfParallelism = 1;
        bool first = Layer.StartsWith("conv1", StringComparison.Ordinal);
        _layer = first ? new Conv2D<float>(1, 28, 28, 32, 5) : new Conv2D<float>(32, 14, 14, 64, 5);
        var random = new Random(12);
        Fill(_layer.Weight.Value, random, 0.1f);
        Fill(_layer.Bias.Value, random, 0.1f);
        _x = new Matrix<float>(_layer.InputSize, Batch);
        Fill(_x, random, 1);
        _dy = new Matrix<float>(_layer.OutputSize, Batch);
        Fill(_dy, random, 1);
        _y = new Matrix<float>(_layer.OutputSize, Batch);
        _dx = first ? null : new Matrix<float>(_layer.InputSize, Batch);
        _dw = new Matrix<float>(_layer.Weight.Value.Rows, _layer.Weight.Value.Columns);
        _db = new Matrix<float>(_layer.OutputSize / (_layer.OutputHeight * _layer.OutputWidth), 1);
        _context = new LayerContext(Batch);
        _context.Begin(Batch, default, training: true);
        _baseline = new Im2Col(_layer, Batch);

        // Both methods must compute the same thing (to float rounding) before their speed means anything.
        Direct();
        var y = _y.Clone();
        var dw = _dw.Clone();
        Matrix<float>? dx = _dx?.Clone();
        Unrolled();
        Check(y, _y, "Y");
        Check(dw, _dw, "dW");
        if (dx is not null)
        {
            Check(dx, _dx!, "dX");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => MnistNetRuntime.MaxDegreeOfParallelism = Environment.ProcessorCount;

    [Benchmark(Baseline = true, Description = "im2col + packed GEMM: forward + backward")]
    public float Unrolled()
    {
        _baseline.Forward(_x, _y);
        _baseline.Backward(_x, _dy, _dx, _dw, _db);
        return _dw[0, 0];
    }

    [Benchmark(Description = "direct (packed from the image): forward + backward")]
    public float Direct()
    {
        _layer.Forward(_context, _x, _y);
        _layer.Backward(_context, _x, _y, _dy, _dx, [_dw, _db]);
        return _dw[0, 0];
    }

    private static void Fill(Matrix<float> matrix, Random random, float scale)
    {
        for (int r = 0; r < matrix.Rows; r++)
        {
            Span<float> row = matrix.Row(r);
            for (int j = 0; j < row.Length; j++)
            {
                row[j] = (float)((random.NextDouble() * 2) - 1) * scale;
            }
        }
    }

    private static void Check(Matrix<float> expected, Matrix<float> actual, string what)
    {
        for (int r = 0; r < expected.Rows; r++)
        {
            for (int j = 0; j < expected.Columns; j++)
            {
                float a = expected[r, j], b = actual[r, j];
                if (Math.Abs(a - b) > 1e-3f * (1 + Math.Abs(a)))
                {
                    throw new InvalidOperationException($"{what}[{r}, {j}]: direct {a}, im2col {b}.");
                }
            }
        }
    }

    /// <summary>
    /// The convolution through an unrolled matrix U of (C·k·k) rows and one column per (position, example), in groups
    /// of examples that keep U near 16 MB: Y = W·U + b, dW = dY·Uᵀ, dX = fold(Wᵀ·dY).
    /// </summary>
    private sealed class Im2Col
    {
        private readonly Conv2D<float> _layer;
        private readonly int _group;
        private readonly Matrix<float> _unrolled, _products, _partial;

        public Im2Col(Conv2D<float> layer, int batch)
        {
            _layer = layer;
            int rows = layer.Weight.Value.Columns;
            int positions = layer.OutputHeight * layer.OutputWidth;
            _group = Math.Clamp((1 << 22) / (rows * positions), 1, batch);
            _unrolled = new Matrix<float>(rows, positions * _group);
            _products = new Matrix<float>(layer.Weight.Value.Rows, positions * _group);
            _partial = new Matrix<float>(layer.Weight.Value.Rows, rows);
        }

        private int Positions => _layer.OutputHeight * _layer.OutputWidth;

        public void Forward(Matrix<float> x, Matrix<float> y)
        {
            int m = x.Columns, positions = Positions;
            for (int j0 = 0; j0 < m; j0 += _group)
            {
                int g = Math.Min(_group, m - j0);
                Unroll(x, j0, g);
                Matrix<float>.Multiply(_layer.Weight.Value, _unrolled, _products);
                for (int o = 0; o < _products.Rows; o++)
                {
                    float bias = _layer.Bias.Value[o, 0];
                    for (int p = 0; p < positions; p++)
                    {
                        SimdMath.Add<float>(_products.Row(o).Slice(p * _group, g), bias, y.Row((o * positions) + p).Slice(j0, g));
                    }
                }
            }
        }

        public void Backward(Matrix<float> x, Matrix<float> dy, Matrix<float>? dx, Matrix<float> dw, Matrix<float> db)
        {
            int m = x.Columns, positions = Positions;
            dw.Clear();
            db.Clear();
            dx?.Clear();
            for (int j0 = 0; j0 < m; j0 += _group)
            {
                int g = Math.Min(_group, m - j0);
                for (int o = 0; o < _products.Rows; o++)
                {
                    Span<float> row = _products.Row(o);
                    for (int p = 0; p < positions; p++)
                    {
                        dy.Row((o * positions) + p).Slice(j0, g).CopyTo(row.Slice(p * _group, g));
                        row.Slice((p * _group) + g, _group - g).Clear();
                    }

                    db[o, 0] += SimdMath.Sum<float>(row);
                }

                Unroll(x, j0, g);
                Matrix<float>.MultiplyByTranspose(_products, _unrolled, _partial);
                SimdMath.Add<float>(dw.AsSpan(), _partial.AsSpan(), dw.AsSpan());
                if (dx is not null)
                {
                    Matrix<float>.TransposeAndMultiply(_layer.Weight.Value, _products, _unrolled);
                    Fold(dx, j0, g);
                }
            }

            float inverse = 1f / m;
            SimdMath.Scale(dw.AsSpan(), inverse);
            SimdMath.Scale(db.AsSpan(), inverse);
        }

        private void Unroll(Matrix<float> x, int j0, int g)
        {
            Conv2D<float> l = _layer;
            int k = l.KernelSize;
            for (int r = 0; r < _unrolled.Rows; r++)
            {
                int c = r / (k * k), i = r / k % k, j = r % k;
                Span<float> row = _unrolled.Row(r);
                for (int y = 0; y < l.OutputHeight; y++)
                {
                    for (int xx = 0; xx < l.OutputWidth; xx++)
                    {
                        int sy = y + i - l.Pad, sx = xx + j - l.Pad;
                        Span<float> run = row.Slice(((y * l.OutputWidth) + xx) * _group, _group);
                        if (sy < 0 || sy >= l.Height || sx < 0 || sx >= l.Width)
                        {
                            run.Clear();
                            continue;
                        }

                        x.Row((((c * l.Height) + sy) * l.Width) + sx).Slice(j0, g).CopyTo(run);
                        run[g..].Clear();
                    }
                }
            }
        }

        private void Fold(Matrix<float> dx, int j0, int g)
        {
            Conv2D<float> l = _layer;
            int k = l.KernelSize;
            for (int r = 0; r < _unrolled.Rows; r++)
            {
                int c = r / (k * k), i = r / k % k, j = r % k;
                ReadOnlySpan<float> row = _unrolled.Row(r);
                for (int y = 0; y < l.OutputHeight; y++)
                {
                    for (int xx = 0; xx < l.OutputWidth; xx++)
                    {
                        int sy = y + i - l.Pad, sx = xx + j - l.Pad;
                        if (sy >= 0 && sy < l.Height && sx >= 0 && sx < l.Width)
                        {
                            Span<float> target = dx.Row((((c * l.Height) + sy) * l.Width) + sx).Slice(j0, g);
                            SimdMath.Add<float>(target, row.Slice(((y * l.OutputWidth) + xx) * _group, g), target);
                        }
                    }
                }
            }
        }
    }
}
