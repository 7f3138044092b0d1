namespace MnistNet.Threading;

/// <summary>A unit of parallel work split into numbered chunks; <see cref="Execute"/> may run on any thread.</summary>
internal interface IChunkJob
{
    /// <summary>Runs chunk <paramref name="chunk"/> (0-based). Chunks must write disjoint outputs.</summary>
    void Execute(int chunk);
}
