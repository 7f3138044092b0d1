using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// <see cref="BlockTranspose"/> against the definition <c>dst[c, r] = factor · src[r, c]</c>, on every SIMD path, for
/// every block shape up to 40 × 40 (the 8 × 8 tiles with every tail) and padded strides: every element lands
/// where it belongs with the same bits, and nothing outside the block is written.
/// </summary>
public sealed class BlockTransposeTests
{
    public static TheoryData<SimdPath> Paths() => TestData.AcceleratedPaths();

    [Theory]
    [MemberData(nameof(Paths))]
    public void Float_EveryShape_IsTheTranspose(SimdPath path) => Check<float>(path);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Double_EveryShape_IsTheTranspose(SimdPath path) => Check<double>(path);

    private static void Check<T>(SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(11);
        T factor = T.CreateTruncating(0.37);
        T sentinel = T.CreateTruncating(-1234.5);
        for (int rows = 0; rows <= 40; rows++)
        {
            for (int columns = 0; columns <= 40; columns++)
            {
                int srcStride = columns + rng.Next(0, 5);
                int dstStride = rows + rng.Next(0, 5);
                var src = new T[Math.Max(1, rows * srcStride)];
                for (int i = 0; i < src.Length; i++)
                {
                    src[i] = T.CreateTruncating((rng.NextDouble() * 20) - 10);
                }

                foreach (bool scale in new[] { false, true })
                {
                    var dst = new T[Math.Max(1, columns * dstStride)];
                    Array.Fill(dst, sentinel);
                    BlockTranspose.Run(ref src[0], srcStride, rows, columns, ref dst[0], dstStride, scale ? factor : T.One, scale, path);
                    for (int c = 0; c < columns; c++)
                    {
                        for (int r = 0; r < dstStride; r++)
                        {
                            T expected = r >= rows ? sentinel : scale ? src[(r * srcStride) + c] * factor : src[(r * srcStride) + c];
                            T actual = dst[(c * dstStride) + r];
                            if (!expected.Equals(actual))
                            {
                                Assert.Fail($"{typeof(T).Name} {path} {rows}×{columns} (strides {srcStride}, {dstStride}, scale {scale}): dst[{c}, {r}] = {actual}, expected {expected}.");
                            }
                        }
                    }
                }
            }
        }
    }
}
