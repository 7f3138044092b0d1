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
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output) => Activation.ReLU(input, output);

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (inputGradient is not null)
        {
            Activation.ReLUBackward(outputGradient, input, inputGradient);
        }
    }
}
