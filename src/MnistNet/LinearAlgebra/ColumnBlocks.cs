namespace MnistNet.LinearAlgebra;

/// <summary>
/// The one column block of every blocked kernel: the fused step's cache block, the sparse copy's row groups and the
/// softmax's segments. The sparse step reads the sparse copy block by block, so those two must agree; the softmax's
/// segments follow them by choice (its exponential, <see cref="VectorExp"/>, gives the same bits for a value wherever
/// it sits in a segment, so the fused and readable paths agree whatever the segments).
/// </summary>
internal static class ColumnBlocks
{
    /// <summary>Columns per block: 256 (X's block of 784 × 256 floats, 800 KB, stays in L2 between passes).</summary>
    public const int Width = 256;
}
