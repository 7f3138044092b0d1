using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Networks;

/// <summary>
/// The intermediate values of one forward pass of a <see cref="TwoLayerNetwork{T}"/> over a batch of m examples
/// (one per column), kept for back-propagation. Allocate once per batch size and reuse it to avoid allocation.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class ForwardPass<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Allocates buffers for a forward pass of <paramref name="network"/> over <paramref name="columns"/> examples.</summary>
    /// <param name="network">The network whose layer sizes give the shapes.</param>
    /// <param name="columns">The batch size m (≥ 0).</param>
    public ForwardPass(TwoLayerNetwork<T> network, int columns)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Z1 = new Matrix<T>(network.Hidden, columns);
        A1 = new Matrix<T>(network.Hidden, columns);
        Z2 = new Matrix<T>(network.Outputs, columns);
        A2 = new Matrix<T>(network.Outputs, columns);
    }

    /// <summary>Gets the batch size m: the number of columns of every buffer.</summary>
    public int Columns => Z1.Columns;

    /// <summary>Gets the hidden pre-activations <c>Z1 = W1·X + b1</c> (hidden × m).</summary>
    public Matrix<T> Z1 { get; }

    /// <summary>Gets the hidden activations <c>A1 = ReLU(Z1)</c> (hidden × m).</summary>
    public Matrix<T> A1 { get; }

    /// <summary>Gets the output logits <c>Z2 = W2·A1 + b2</c> (outputs × m).</summary>
    public Matrix<T> Z2 { get; }

    /// <summary>Gets the output probabilities <c>A2 = softmax(Z2)</c>, per column (outputs × m).</summary>
    public Matrix<T> A2 { get; }
}
