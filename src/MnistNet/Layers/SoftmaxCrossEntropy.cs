using System.Numerics;
using MnistNet.Activations;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>
/// The output layer: a per-column softmax of the logits, with the cross-entropy loss against the labels.
/// </summary>
/// <remarks>
/// <code>
/// forward:   A  = softmax(Z) per column (each column's maximum subtracted first, so any finite logits work)
///            L  = Σ_j −log A[y_j, j]        (summed; computed from the logits: finite for finite Z)
/// backward:  dZ = A − onehot(Y)              (gradient of the summed loss)
/// </code>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class SoftmaxCrossEntropy<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the output layer for <paramref name="classes"/> classes.</summary>
    /// <param name="classes">Classes (rows), 1 to 65 536 (labels are 16-bit).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classes"/> is out of range.</exception>
    public SoftmaxCrossEntropy(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classes, MaxClasses);
        Classes = classes;
    }

    /// <summary>The most classes a label (16 bits) can name: 65 536.</summary>
    public const int MaxClasses = ushort.MaxValue + 1;

    /// <summary>Gets the number of classes.</summary>
    public int Classes { get; }

    /// <inheritdoc/>
    public override int InputSize => Classes;

    /// <inheritdoc/>
    public override int OutputSize => Classes;

    /// <inheritdoc/>
    public override Layer<T> Clone() => new SoftmaxCrossEntropy<T>(Classes);

    /// <inheritdoc/>
    public override string ToString() => "softmax";

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output)
    {
        Activation.SoftmaxColumns(input, output, 0, input.Columns, context.Labels, out double lossSum);
        context.LossSum += lossSum;
    }

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(inputGradient);

        // dZ = A − onehot(Y)
        output.CopyTo(inputGradient);
        ReadOnlySpan<ushort> labels = context.Labels;
        for (int j = 0; j < labels.Length; j++)
        {
            inputGradient[labels[j], j] -= T.One;
        }
    }
}
