using System.Numerics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Layers;

/// <summary>
/// A fully connected layer, <c>Z = W·A + b</c>, with W of shape outputs × inputs (PyTorch's <c>nn.Linear.weight</c>
/// layout) and b of outputs × 1.
/// </summary>
/// <remarks>
/// <code>
/// forward:   Z  = W·A + b                         (outputs × m)
/// backward:  dW = (1/m) dZ·Aᵀ                     (outputs × inputs)
///            db = (1/m) Σ over columns of dZ      (outputs × 1, one value per unit)
///            dA = Wᵀ·dZ                           (inputs × m; not computed for the first layer)
/// </code>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Dense<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;

    /// <summary>Creates a dense layer with zero parameters (a network initialises them).</summary>
    /// <param name="inputs">Inputs per example (≥ 1).</param>
    /// <param name="outputs">Outputs per example (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1.</exception>
    public Dense(int inputs, int outputs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        Weight = new Parameter<T>("weight", outputs, inputs, [outputs, inputs], decays: true);
        Bias = new Parameter<T>("bias", outputs, 1, [outputs], decays: false);
        _parameters = [Weight, Bias];
    }

    /// <summary>Gets the weights W (outputs × inputs).</summary>
    public Parameter<T> Weight { get; }

    /// <summary>Gets the biases b (outputs × 1).</summary>
    public Parameter<T> Bias { get; }

    /// <inheritdoc/>
    public override int InputSize => Weight.Value.Columns;

    /// <inheritdoc/>
    public override int OutputSize => Weight.Value.Rows;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc/>
    public override Layer<T> Clone()
    {
        var copy = new Dense<T>(InputSize, OutputSize);
        Weight.Value.CopyTo(copy.Weight.Value);
        Bias.Value.CopyTo(copy.Bias.Value);
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() => $"dense {InputSize}→{OutputSize}";

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output)
    {
        // Z = W·A + b
        Matrix<T>.Multiply(Weight.Value, input, output);
        output.AddColumnVector(Bias.Value);
    }

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        T inverseM = T.One / T.CreateTruncating(context.Columns);
        Matrix<T> dw = parameterGradients[0];
        Matrix<T> db = parameterGradients[1];

        // dW = (1/m) dZ·Aᵀ,  db = (1/m) Σ_columns dZ
        Matrix<T>.MultiplyByTranspose(outputGradient, input, dw);
        SimdMath.Scale(dw.AsSpan(), inverseM);
        outputGradient.SumRows(db);
        SimdMath.Scale(db.AsSpan(), inverseM);

        // dA = Wᵀ·dZ
        if (inputGradient is not null)
        {
            Matrix<T>.TransposeAndMultiply(Weight.Value, outputGradient, inputGradient);
        }
    }

    /// <summary>
    /// The forward pass for a sparse input batch (the first layer on MNIST): <c>Z = W·X + b</c> with work only for X's
    /// non-zeros; the same bits as <see cref="Forward"/> on the dense batch.
    /// </summary>
    internal void ForwardSparse(LayerContext context, SparseBatch<T> input, SparseInputKernels<T> kernels, Matrix<T> output)
    {
        kernels.Multiply(Weight.Value, input, output, context.Path, MnistNetRuntime.MaxDegreeOfParallelism);
        output.AddColumnVector(Bias.Value);
    }

    /// <summary>The backward pass for a sparse input batch: dW and db as in <see cref="Backward"/>; no input gradient (nothing below needs it).</summary>
    internal void BackwardSparse(LayerContext context, SparseBatch<T> input, SparseInputKernels<T> kernels, Matrix<T> outputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        T inverseM = T.One / T.CreateTruncating(context.Columns);
        Matrix<T> db = parameterGradients[1];

        // dW = (1/m) dZ·Xᵀ,  db = (1/m) Σ_columns dZ
        kernels.MultiplyByTranspose(outputGradient, input, parameterGradients[0], inverseM, context.Path, MnistNetRuntime.MaxDegreeOfParallelism);
        outputGradient.SumRows(db);
        SimdMath.Scale(db.AsSpan(), inverseM);
    }

    /// <inheritdoc/>
    protected internal override void Initialize(Initialization initialization, Prng random) =>
        InitializeWeights(Weight.Value, Bias.Value, initialization, InputSize, OutputSize, random);

    /// <summary>
    /// Fills a layer's weights <paramref name="w"/> (one row per output unit) and biases <paramref name="b"/> by
    /// <paramref name="initialization"/> with the given fan-in and fan-out: the one place every layer with weights draws them.
    /// </summary>
    internal static void InitializeWeights(Matrix<T> w, Matrix<T> b, Initialization initialization, int fanIn, int fanOut, Prng random)
    {
        switch (initialization)
        {
            case Initialization.Uniform:
                // The seed's np.random.rand(...) − 0.5 for W, then b, from one generator.
                w.FillUniform(T.CreateTruncating(-0.5), T.CreateTruncating(0.5), random);
                b.FillUniform(T.CreateTruncating(-0.5), T.CreateTruncating(0.5), random);
                break;
            case Initialization.Glorot:
                T limit = T.CreateTruncating(Math.Sqrt(6.0 / (fanIn + fanOut)));
                w.FillUniform(-limit, limit, random);
                b.Clear();
                break;
            case Initialization.FanInUniform:
                T bound = T.CreateTruncating(1 / Math.Sqrt(fanIn));
                w.FillUniform(-bound, bound, random);
                b.FillUniform(-bound, bound, random);
                break;
            default:
                double sigma = Math.Sqrt(2.0 / fanIn);
                for (int r = 0; r < w.Rows; r++)
                {
                    Span<T> row = w.Row(r);
                    for (int c = 0; c < row.Length; c++)
                    {
                        row[c] = T.CreateTruncating(sigma * NextGaussian(random));
                    }
                }

                b.Clear();
                break;
        }
    }

    /// <summary>A standard normal draw (Box–Muller, one value per call so the sequence depends only on the seed).</summary>
    private static double NextGaussian(Prng random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
