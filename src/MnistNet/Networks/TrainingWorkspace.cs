using System.Numerics;

namespace MnistNet.Networks;

/// <summary>
/// Every buffer one training step of a <see cref="TwoLayerNetwork{T}"/> needs for a given batch size, allocated
/// once so that <c>TwoLayerNetwork.TrainStep</c> allocates nothing.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
/// <remarks>A workspace is not thread-safe: use one per thread.</remarks>
public sealed class TrainingWorkspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Allocates a workspace for <paramref name="network"/> and batches of exactly <paramref name="columns"/> examples.</summary>
    /// <param name="network">The network to train.</param>
    /// <param name="columns">The batch size m.</param>
    public TrainingWorkspace(TwoLayerNetwork<T> network, int columns)
    {
        ArgumentNullException.ThrowIfNull(network);
        Workspace = new NetworkWorkspace<T>(network.Network, columns, training: true, input: false);
        Forward = new ForwardPass<T>(Workspace);
        Gradients = new Gradients<T>(Workspace);
    }

    /// <summary>Gets the batch size this workspace serves.</summary>
    public int Columns => Workspace.Columns;

    /// <summary>Gets the forward-pass buffers; after a step they hold the values computed before the update.</summary>
    public ForwardPass<T> Forward { get; }

    /// <summary>Gets the gradient buffers; after a step they hold the gradients that were applied.</summary>
    public Gradients<T> Gradients { get; }

    /// <summary>Gets the network workspace both views share.</summary>
    internal NetworkWorkspace<T> Workspace { get; }
}
