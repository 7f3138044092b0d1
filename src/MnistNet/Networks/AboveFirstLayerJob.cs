using System.Numerics;
using MnistNet.LinearAlgebra;
using MnistNet.Threading;

namespace MnistNet.Networks;

/// <summary>
/// The part of a sparse-input training step between the first layer's forward pass and its weight gradient, on two
/// threads: the caller runs the layers above the first (forward and back down to the first layer's output gradient) while
/// a second participant groups the batch by row, which only the first layer's weight gradient reads. Used when those
/// layers are too small for their products to be split across threads themselves (the fast preset's 256 → 10 head).
/// </summary>
/// <remarks>One per workspace; allocated once, so that a step allocates nothing.</remarks>
internal sealed class AboveFirstLayerJob<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Chunk 0 on the caller (participant 0), chunk 1 on the first worker.
    private static readonly int[] Owners = [0, 1];

    private Network<T>? _network;
    private NetworkWorkspace<T>? _workspace;

    /// <summary>Runs both parts and returns when both are done; each writes only its own buffers.</summary>
    public void Run(Network<T> network, NetworkWorkspace<T> workspace, int threads)
    {
        (_network, _workspace) = (network, workspace);
        try
        {
            WorkerPool.Shared.RunOwned(this, 2, threads, Owners);
        }
        // Stryker disable once Block,Statement : releases references for the collector; no value depends on it
        finally
        {
            (_network, _workspace) = (null, null);
        }
    }

    /// <inheritdoc/>
    public void Execute(int chunk)
    {
        // Stryker disable once Equality : which participant runs which part changes speed only (the parts write disjoint buffers)
        if (chunk == 0)
        {
            NetworkWorkspace<T> w = _workspace!;
            _network!.ForwardBackwardAboveFirst(w.OutputBuffers, w.InputGradientBuffers, w.GradientBuffers, w.Context);
        }
        else
        {
            _workspace!.SparseInput.GroupByRow();
        }
    }
}
