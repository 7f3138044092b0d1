using System.Runtime.Intrinsics;
using MnistNet.Data;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// The sparse layouts' and kernels' edges: non-zero counts with zeros in every vector tail, empty matrices, the
/// 65 536-row limit at both sides, the transposed-block helpers' empty ranges and too-short buffers, writes that stay
/// inside the output, and batch copies added to a set already in use. Written against the mutation run's survivors in
/// src/MnistNet/LinearAlgebra (tests/MnistNet.MutationTests, <c>run.sh Kernels:SparseBatch.cs,…</c>).
/// </summary>
public sealed class SparseContractTests
{
    public static TheoryData<SimdPath> Paths() => TestData.AcceleratedPaths();

    [Fact]
    public void FromDense_CountsEveryNonZero_WithZerosInEveryTail_AndEmptyMatricesHaveDensityZero()
    {
        var random = new Random(3);
        for (int rows = 1; rows <= 3; rows++)
        {
            for (int columns = 1; columns <= 40; columns++)
            {
                var m = new Matrix<float>(rows, columns);
                int expected = 0;
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < columns; c++)
                    {
                        // The last columns are zero in every row, so each vector tail holds zeros.
                        if (c < columns - 2 && random.NextDouble() < 0.5)
                        {
                            m[r, c] = (float)random.NextDouble() + 0.1f;
                            expected++;
                        }
                    }
                }

                SparseColumns<float> x = SparseColumns<float>.FromDense(m);
                Assert.Equal(expected, x.NonZeroCount);
                Assert.Equal(expected / (double)(rows * columns), x.Density, 12);
            }
        }

        Assert.Equal(0, SparseColumns<float>.FromDense(new Matrix<float>(0, 5)).Density);
        Assert.Equal(0, SparseColumns<float>.FromDense(new Matrix<float>(5, 0)).Density);
        Assert.Equal(0, SparseColumns<float>.FromDense(new Matrix<float>(0, 0)).Density);
    }

    [Fact]
    public void FromDense_TakesAtMost65536Rows()
    {
        var most = new Matrix<float>(SparseColumns<float>.MaxRows, 1);
        most[SparseColumns<float>.MaxRows - 1, 0] = 1;
        SparseColumns<float> x = SparseColumns<float>.FromDense(most);
        Assert.Equal(1, x.NonZeroCount);

        var error = Assert.Throws<ArgumentException>(() => SparseColumns<float>.FromDense(new Matrix<float>(SparseColumns<float>.MaxRows + 1, 1)));
        Assert.Equal("Sparse columns support at most 65 536 rows; the matrix is 65537 × 1. (Parameter 'dense')", error.Message);
    }

    [Fact]
    public void TransposedBlocks_EmptyRangesDoNothing_TooShortBuffersAreRefused_ExactBuffersWork()
    {
        Matrix<float> m = TestData.Random<float>(3, 10, seed: 1);
        Matrix<float> before = m.Clone();
        const int hp = 4;

        // Empty column ranges and matrices without rows: nothing to do, and an empty buffer is fine.
        SparseKernels.FromTransposedBlock<float>([], hp, m, 5, 5);
        SparseKernels.FromTransposedBlock<float>([], hp, m, 6, 5);
        SparseKernels.ToTransposedBlock<float>(m, 5, 5, [], hp);
        SparseKernels.FromTransposedBlock<float>([], hp, new Matrix<float>(0, 10), 2, 5);
        SparseKernels.ToTransposedBlock<float>(new Matrix<float>(0, 10), 2, 5, [], hp);
        SparseKernels.TransposeInto<float>(new Matrix<float>(0, 10), [], hp);
        SparseKernels.TransposeInto<float>(new Matrix<float>(3, 0), [], hp);
        Assert.True(TestData.SameBits(before, m));

        // Columns 2..5 need 3 rows of hp lanes: one element short is refused, exactly enough works.
        Assert.Equal("t", Assert.Throws<ArgumentException>(() => SparseKernels.ToTransposedBlock<float>(m, 2, 5, new float[(3 * hp) - 1], hp)).ParamName);
        Assert.Equal("t", Assert.Throws<ArgumentException>(() => SparseKernels.FromTransposedBlock<float>(new float[(3 * hp) - 1], hp, m, 2, 5)).ParamName);
        float[] t = new float[3 * hp];
        SparseKernels.ToTransposedBlock<float>(m, 2, 5, t, hp);
        for (int j = 0; j < 3; j++)
        {
            for (int h = 0; h < 3; h++)
            {
                Assert.Equal(m[h, 2 + j], t[(j * hp) + h]);
            }
        }

        var back = new Matrix<float>(3, 10);
        SparseKernels.FromTransposedBlock<float>(t, hp, back, 2, 5);
        Assert.Equal(m[1, 3], back[1, 3]);
        Assert.Equal(0f, back[1, 5]);

        // The whole matrix: the last row needs only m.Rows lanes, not hp.
        int exact = (9 * hp) + 3;
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => SparseKernels.TransposeInto<float>(m, new float[exact - 1], hp)).ParamName);
        float[] all = new float[exact];
        SparseKernels.TransposeInto<float>(m, all, hp);
        Assert.Equal(m[2, 9], all[(9 * hp) + 2]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Forward_WideRows_WritesOnlyItsBlockOfZt_AndTheProduct(SimdPath path)
    {
        // Three vectors per row of Wᵀ: the path that accumulates into the output row.
        int w = path switch { SimdPath.Vector512 => Vector512<float>.Count, SimdPath.Vector256 => Vector256<float>.Count, _ => 1 };
        int hidden = 3 * w;
        int hp = SparseKernels.PaddedWidth<float>(hidden, path);
        const int inputs = 7, columns = 9;
        Matrix<float> dense = TestData.Random<float>(inputs, columns, seed: 2);
        for (int k = 0; k < inputs; k++)
        {
            dense[k, k % columns] = 0;
        }

        SparseColumns<float> x = SparseColumns<float>.FromDense(dense);
        float[] wt = [.. Enumerable.Range(0, inputs * hp).Select(i => (float)Math.Sin(i))];
        float[] buffer = new float[(columns * hp) + 64];
        Array.Fill(buffer, float.NaN);
        SparseKernels.Forward<float>(x, 0, wt, hp, buffer.AsSpan(0, columns * hp), path);

        Assert.All(buffer[(columns * hp)..], v => Assert.True(float.IsNaN(v), "written past the block"));
        for (int j = 0; j < columns; j++)
        {
            for (int h = 0; h < hidden; h++)
            {
                double sum = 0, bound = 0;
                for (int k = 0; k < inputs; k++)
                {
                    sum += dense[k, j] * (double)wt[(k * hp) + h];
                    bound += Math.Abs(dense[k, j] * (double)wt[(k * hp) + h]);
                }

                Assert.True(Math.Abs(buffer[(j * hp) + h] - sum) <= (inputs + 2) * 1.2e-7 * bound + 1e-30, $"{path} z[{j}, {h}]");
            }
        }
    }
}
