namespace MnistNet.Threading;

/// <summary>How a job's items are split into its fixed number of chunks.</summary>
internal static class ChunkShare
{
    /// <summary>
    /// Items [start, end) of <paramref name="count"/> for chunk <paramref name="chunk"/> of <paramref name="chunks"/>:
    /// consecutive, as even as whole items allow, and the same split whatever thread runs the chunk.
    /// </summary>
    public static (int Start, int End) Of(int chunk, int chunks, int count) =>
        ((int)((long)count * chunk / chunks), (int)((long)count * (chunk + 1) / chunks));
}
