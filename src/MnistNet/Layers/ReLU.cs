using System.Numerics;
using MnistNet.Activations;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>The rectifier, <c>A = max(Z, 0)</c> elementwise.</summary>
/// <remarks>
/// <code>
/// forward:   A  = max(Z, 0)
/// backward:  dZ = dA ⊙ [Z &gt; 0]          (the derivative at exactly 0 is 0, as in the seed)
/// </code>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class ReLU<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a ReLU over <paramref name="size"/> rows.</summary>
    /// <param name="size">Rows per example (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is less than 1.</exception>
    public ReLU(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
    }

    /// <summary>Gets the number of rows per example.</summary>
    public int Size { get; }

    /// <inheritdoc/>
    public override int InputSize => Size;

    /// <inheritdoc/>
    public override int OutputSize => Size;

    /// <inheritdoc/>
    protected internal override bool BackwardInPlace => true;

    /// <inheritdoc/>
    public override Layer<T> Clone() => new ReLU<T>(Size);

    /// <inheritdoc/>
    public override string ToString() => "relu";

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output) =>
        context.State<Job>(this).Run(input, output, null);

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (inputGradient is not null)
        {
            Matrix<T>.RequireSameShape(input, outputGradient, nameof(outputGradient));
            Matrix<T>.RequireSameShape(input, inputGradient, nameof(inputGradient));
            context.State<Job>(this).Run(input, inputGradient, outputGradient);
        }
    }

    /// <summary>
    /// max(z, 0) (<see cref="Activation.ReLU{T}(Matrix{T}, Matrix{T})"/>) or the backward step
    /// (<see cref="Activation.ReLUBackward{T}(Matrix{T}, Matrix{T}, Matrix{T})"/>), row by row, the rows of a large batch
    /// shared among the worker pool's threads.
    /// </summary>
    private sealed class Job : RowJob
    {
        private Matrix<T>? _z;
        private Matrix<T>? _destination;
        private Matrix<T>? _gradient;

        public void Run(Matrix<T> z, Matrix<T> destination, Matrix<T>? gradient)
        {
            Matrix<T>.RequireSameShape(z, destination, nameof(destination));
            (_z, _destination, _gradient) = (z, destination, gradient);
            try
            {
                RunRows(z.Rows, (long)z.Rows * z.Columns);
            }
            // Stryker disable once Block,Statement : releases the operands for the collector; no value depends on it
            finally
            {
                (_z, _destination, _gradient) = (null, null, null);
            }
        }

        protected override void Rows(int start, int end)
        {
            Matrix<T> z = _z!;
            Matrix<T> destination = _destination!;
            if (_gradient is null)
            {
                Activation.ReLURows(z, destination, start, end);
            }
            else
            {
                MatrixKernels.ReLUBackward(_gradient, z, destination, start, end, 0, z.Columns, MnistNetRuntime.EffectiveSimdPath);
            }
        }
    }
}
