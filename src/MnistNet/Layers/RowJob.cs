using MnistNet.Threading;

namespace MnistNet.Layers;

/// <summary>
/// A layer's row-by-row work (an activation, a pooling window per output row) split across the worker pool: a subclass
/// holds one pass's operands (one object per layer and context, from <see cref="LayerContext.State{TState}"/>) and does
/// rows [start, end). Passes of at least <see cref="MinElements"/> values run as <see cref="Chunks"/> chunks of rows,
/// smaller ones on the caller. Each row is computed the same way wherever it runs, so the results have the same bits on
/// any number of threads.
/// </summary>
internal abstract class RowJob : IChunkJob
{
    /// <summary>Chunks per pass.</summary>
    internal const int Chunks = 8;

    /// <summary>The smallest pass (rows × columns touched) worth handing to the pool: below it the hand-off costs more than the rows.</summary>
    internal const long MinElements = 1 << 17;

    private int _rows;

    /// <inheritdoc/>
    public void Execute(int chunk)
    {
        (int start, int end) = ChunkShare.Of(chunk, Chunks, _rows);
        Rows(start, end);
    }

    /// <summary>Runs rows [0, <paramref name="rows"/>) of the pass, on the pool when it touches at least <see cref="MinElements"/> values.</summary>
    protected void RunRows(int rows, long elements)
    {
        // Stryker disable once Equality,Logical : running a small pass on the pool, or a large one on the caller, changes no value
        if (elements < MinElements || MnistNetRuntime.MaxDegreeOfParallelism < 2)
        {
            Rows(0, rows);
            return;
        }

        _rows = rows;
        WorkerPool.Shared.Run(this, Chunks, MnistNetRuntime.MaxDegreeOfParallelism);
    }

    /// <summary>Does rows [<paramref name="start"/>, <paramref name="end"/>) of the current pass.</summary>
    protected abstract void Rows(int start, int end);
}
