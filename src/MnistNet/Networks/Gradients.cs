using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Networks;

/// <summary>
/// The gradients of the mean cross-entropy loss with respect to every parameter of a
/// <see cref="TwoLayerNetwork{T}"/>, plus the per-example deltas they were computed from.
/// Allocate once per batch size and reuse it to avoid allocation.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Gradients<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Allocates gradient buffers for <paramref name="network"/> and batches of <paramref name="columns"/> examples.</summary>
    /// <param name="network">The network whose layer sizes give the shapes.</param>
    /// <param name="columns">The batch size m (≥ 0), which sizes <see cref="DZ1"/> and <see cref="DZ2"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="network"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> is negative.</exception>
    public Gradients(TwoLayerNetwork<T> network, int columns)
    {
        ArgumentNullException.ThrowIfNull(network);
        Workspace = new NetworkWorkspace<T>(network.Network, columns, training: true, input: false);
        Columns = columns;
    }

    /// <summary>A view of the gradient buffers of <paramref name="workspace"/>.</summary>
    internal Gradients(NetworkWorkspace<T> workspace)
    {
        Workspace = workspace;
        Columns = workspace.Columns;
    }

    /// <summary>Gets the batch size m these buffers were sized for.</summary>
    public int Columns { get; }

    /// <summary>Gets ∂L/∂W1 = (1/m) dZ1·Xᵀ (hidden × inputs).</summary>
    public Matrix<T> DW1 => Workspace.GradientBuffers[0];

    /// <summary>Gets ∂L/∂b1 = (1/m) Σ over columns of dZ1 (hidden × 1): one value per hidden unit.</summary>
    public Matrix<T> DB1 => Workspace.GradientBuffers[1];

    /// <summary>Gets ∂L/∂W2 = (1/m) dZ2·A1ᵀ (outputs × hidden).</summary>
    public Matrix<T> DW2 => Workspace.GradientBuffers[2];

    /// <summary>Gets ∂L/∂b2 = (1/m) Σ over columns of dZ2 (outputs × 1): one value per output unit.</summary>
    public Matrix<T> DB2 => Workspace.GradientBuffers[3];

    /// <summary>Gets the hidden deltas dZ1 = (W2ᵀ·dZ2) ⊙ [Z1 &gt; 0] (hidden × m), not divided by m.</summary>
    public Matrix<T> DZ1 => Workspace.InputGradientBuffers[1];

    /// <summary>Gets the output deltas dZ2 = A2 − onehot(Y) (outputs × m), not divided by m.</summary>
    public Matrix<T> DZ2 => Workspace.InputGradientBuffers[3];

    internal NetworkWorkspace<T> Workspace { get; }
}
