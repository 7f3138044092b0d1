namespace MnistNet.LinearAlgebra;

/// <summary>
/// The one column block of every blocked kernel: the fused step's cache block, the sparse copy's row groups and the
/// softmax's segments. They must agree: the fused and readable paths give the same bits only when their exponentials run
/// over the same segments (<c>TensorPrimitives.Exp</c> computes a segment shorter than a vector with scalar code), and
/// the sparse step reads the sparse copy block by block.
/// </summary>
internal static class ColumnBlocks
{
    /// <summary>Columns per block: 256 (X's block of 784 × 256 floats, 800 KB, stays in L2 between passes).</summary>
    public const int Width = 256;
}
