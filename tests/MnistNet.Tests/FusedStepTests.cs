using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>
/// The fused two-layer step (dense and sparse input) against the readable layer-by-layer path, over batch sizes that
/// cross the 256-column cache block and the 2 048-column chunk, on every SIMD path.
/// </summary>
[Collection(SerialTestGroup.Name)]
public class FusedStepTests
{
    public static TheoryData<SimdPath, int> PathsAndSizes()
    {
        var data = new TheoryData<SimdPath, int>();
        foreach (SimdPath path in new[] { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 })
        {
            foreach (int m in new[] { 1, 255, 256, 257, 1000, 41000 })
            {
                data.Add(path, m);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndSizes))]
    public void FusedStep_EveryPathAndSize_ValuesSameBits_GradientsWithinTheSumBound_SameBitsOnOneOrTwoThreads(SimdPath path, int m)
    {
        SimdPath saved = MnistNetRuntime.SimdPath;
        try
        {
            MnistNetRuntime.SimdPath = path;
            var net = new DenseNetwork<float>([50, 10, 10], Initialization.Uniform, seed: 3);
            // Random values (every row sparse), then pixels scaled from bytes with every fourth row 60 % non-zero (kept
            // densely as bytes by the sparse form, the rest in its sparse layouts).
            foreach (bool bytes in new[] { false, true })
            {
                Matrix<float> x = bytes ? SparseTests.ImageLike<float>(50, m, denseRowDensity: 0.6, seed: m) : Sparse(50, m, 0.2, seed: m);
                ushort[] y = TestData.Labels(m, 10, m);
                var readable = new NetworkWorkspace<float>(net, m);
                var fused = new NetworkWorkspace<float>(net, m);
                double lossReadable = net.ComputeGradientsByLayer(x, y, readable);
                double lossFused = net.ComputeGradients(x, y, fused);
                Assert.True(Math.Abs(lossReadable - lossFused) <= 1e-6 * Math.Max(1, lossReadable), $"loss {lossFused} vs {lossReadable}");

                // Every per-column value (Z1, A1, Z2, A2, dZ1, dZ2): the same operations in the same order, so the same bits.
                string[] names = ["Z1", "A1", "Z2", "A2"];
                for (int i = 0; i < 4; i++)
                {
                    Assert.True(TestData.SameBits(readable.Outputs[i], fused.Outputs[i]), $"{names[i]}, m = {m}, bytes {bytes}");
                }

                Assert.True(TestData.SameBits(readable.InputGradients[1], fused.InputGradients[1]), "dZ1");
                Assert.True(TestData.SameBits(readable.InputGradients[3], fused.InputGradients[3]), "dZ2");

                // The gradients are sums over the m columns in another order (blocks, chunks): within the textbook bound
                // (m + 2)·ε·Σ|terms| / m, element by element — a wrong block or bias sum is far outside it.
                Matrix<float> dz1 = readable.InputGradients[1];
                Matrix<float> dz2 = readable.InputGradients[3];
                double factor = 2 * (m + 2) * TestData.Epsilon<float>() / m;
                CheckGradient(readable.Gradients[0], fused.Gradients[0], Product(dz1, x), factor, "dW1");
                CheckGradient(readable.Gradients[1], fused.Gradients[1], RowSums(dz1), factor, "db1");
                CheckGradient(readable.Gradients[2], fused.Gradients[2], Product(dz2, readable.Outputs[1]), factor, "dW2");
                CheckGradient(readable.Gradients[3], fused.Gradients[3], RowSums(dz2), factor, "db2");

                // The sparse form: the same gradients within the bound (its W1·X sums only the non-zeros, so Z1 may differ
                // in the last bits, and everything after it by as much again).
                var sparse = SparseColumns<float>.FromDense(x);
                Assert.True(bytes ? m < 255 || sparse.DenseRows.Length == 13 : sparse.DenseRows.Length == 0, $"{sparse.DenseRows.Length} dense rows");
                var viaSparse = new NetworkWorkspace<float>(net, m);
                net.ComputeGradients(sparse, y, viaSparse);
                CheckGradient(readable.Gradients[1], viaSparse.Gradients[1], RowSums(dz1), 8 * factor + 1e-6, "sparse db1");
                CheckGradient(readable.Gradients[0], viaSparse.Gradients[0], Product(dz1, x), 8 * factor + 1e-6, "sparse dW1");
                CheckGradient(readable.Gradients[3], viaSparse.Gradients[3], RowSums(dz2), 8 * factor + 1e-6, "sparse db2");

                // Tighter, from each path's own dZ1: dW1 and db1 against the same terms summed in double. Two orders of
                // the same float terms differ here by ~1e-7 of Σ|terms| / m; a block or chunk lost or counted twice moves
                // a sum by ~1e-3 of it, which the bound above (worst-case rounding, growing with m) cannot see.
                CheckSumsOfOwnTerms(fused, x, m, $"fused, bytes {bytes}");
                CheckSumsOfOwnTerms(viaSparse, x, m, $"sparse, {sparse.DenseRows.Length} dense rows");

                if (m > 2 * 2048)
                {
                    // Many chunks: one thread and two give the same bits, dense and sparse.
                    var one = new NetworkWorkspace<float>(net, m);
                    var two = new NetworkWorkspace<float>(net, m);
                    Threads.Run(1, () => net.ComputeGradients(x, y, one));
                    Threads.Run(2, () => net.ComputeGradients(x, y, two));
                    var sparseTwo = new NetworkWorkspace<float>(net, m);
                    Threads.Run(2, () => net.ComputeGradients(sparse, y, sparseTwo));
                    for (int p = 0; p < 4; p++)
                    {
                        Assert.True(TestData.SameBits(one.Gradients[p], two.Gradients[p]), $"dense gradient {p}, 1 vs 2 threads");
                        Assert.True(TestData.SameBits(viaSparse.Gradients[p], sparseTwo.Gradients[p]), $"sparse gradient {p}, 1 vs 2 threads");
                    }
                }
            }
        }
        finally
        {
            MnistNetRuntime.SimdPath = saved;
        }
    }

    /// <summary>dW1 = dZ1·Xᵀ / m and db1 = Σ dZ1 / m from the workspace's own dZ1, within 1e-5 of Σ|terms| / m of a double sum.</summary>
    private static void CheckSumsOfOwnTerms(NetworkWorkspace<float> ws, Matrix<float> x, int m, string what)
    {
        Matrix<float> dz1 = ws.InputGradients[1];
        for (int h = 0; h < dz1.Rows; h++)
        {
            for (int k = 0; k <= x.Rows; k++)
            {
                double sum = 0, magnitude = 0;
                for (int j = 0; j < m; j++)
                {
                    double term = (double)dz1[h, j] * (k < x.Rows ? x[k, j] : 1);
                    sum += term;
                    magnitude += Math.Abs(term);
                }

                float actual = k < x.Rows ? ws.Gradients[0][h, k] : ws.Gradients[1][h, 0];
                Assert.True(Math.Abs(actual - (sum / m)) <= (1e-5 * magnitude / m) + 1e-30, $"{what}: {(k < x.Rows ? $"dW1[{h}, {k}]" : $"db1[{h}]")} = {actual}, terms sum to {sum / m} (Σ|terms| / m = {magnitude / m}), m = {m}");
            }
        }
    }

    private static void CheckGradient(Matrix<float> expected, Matrix<float> actual, Matrix<float> absoluteSum, double factor, string what)
    {
        TestData.AssertWithinBound(expected, actual, absoluteSum, factor, what);
        Assert.False(TestData.SameBits(actual, new Matrix<float>(actual.Rows, actual.Columns)), $"{what} is all zeros");
    }

    /// <summary>|a|·|b|ᵀ: the sum of the absolute terms of a·bᵀ.</summary>
    private static Matrix<float> Product(Matrix<float> a, Matrix<float> b)
    {
        var result = new Matrix<float>(a.Rows, b.Rows);
        ReferenceKernels.MultiplyByTranspose(TestData.Abs(a), TestData.Abs(b), result);
        return result;
    }

    /// <summary>Σ over columns of |a|.</summary>
    private static Matrix<float> RowSums(Matrix<float> a)
    {
        var result = new Matrix<float>(a.Rows, 1);
        for (int r = 0; r < a.Rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < a.Columns; j++)
            {
                sum += Math.Abs(a[r, j]);
            }

            result[r, 0] = (float)sum;
        }

        return result;
    }

    private static Matrix<float> Sparse(int rows, int columns, double density, long seed)
    {
        var random = new Prng(seed);
        var x = new Matrix<float>(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < columns; j++)
            {
                x[r, j] = random.NextDouble() < density ? (float)random.NextDouble() : 0f;
            }
        }

        return x;
    }
}
