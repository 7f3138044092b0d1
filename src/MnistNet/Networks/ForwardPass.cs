using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Networks;

/// <summary>
/// The intermediate values of one forward pass of a <see cref="TwoLayerNetwork{T}"/> over a batch of m examples
/// (one per column), kept for back-propagation: a view of the layers' outputs in a <see cref="NetworkWorkspace{T}"/>. Allocate once per batch size and reuse it to avoid allocation.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class ForwardPass<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Allocates buffers for a forward pass of <paramref name="network"/> over <paramref name="columns"/> examples.</summary>
    /// <param name="network">The network whose layer sizes give the shapes.</param>
    /// <param name="columns">The batch size m (≥ 0).</param>
    /// <exception cref="ArgumentNullException"><paramref name="network"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> is negative.</exception>
    public ForwardPass(TwoLayerNetwork<T> network, int columns)
    {
        ArgumentNullException.ThrowIfNull(network);
        Workspace = new NetworkWorkspace<T>(network.Network, columns, training: false, input: false);
    }

    /// <summary>A view of the forward buffers of <paramref name="workspace"/> (the outputs of its four layers).</summary>
    internal ForwardPass(NetworkWorkspace<T> workspace) => Workspace = workspace;

    /// <summary>Gets the batch size m: the number of columns of every buffer.</summary>
    public int Columns => Workspace.Columns;

    /// <summary>Gets the hidden pre-activations <c>Z1 = W1·X + b1</c> (hidden × m): the first dense layer's output.</summary>
    public Matrix<T> Z1 => Workspace.OutputBuffers[0];

    /// <summary>Gets the hidden activations <c>A1 = ReLU(Z1)</c> (hidden × m): the ReLU layer's output.</summary>
    public Matrix<T> A1 => Workspace.OutputBuffers[1];

    /// <summary>Gets the output logits <c>Z2 = W2·A1 + b2</c> (outputs × m): the second dense layer's output.</summary>
    public Matrix<T> Z2 => Workspace.OutputBuffers[2];

    /// <summary>Gets the output probabilities <c>A2 = softmax(Z2)</c>, per column (outputs × m).</summary>
    public Matrix<T> A2 => Workspace.OutputBuffers[3];

    internal NetworkWorkspace<T> Workspace { get; }
}
