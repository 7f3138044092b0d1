using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// The mini-batch door with a sparse first layer (Network.ComputeGradients on a Dataset) against the dense batch and
/// the reference kernels: every SIMD path, hidden sizes across slice and vector widths, batch sizes 1–257.
/// </summary>
[Collection(SerialTestGroup.Name)]
public class SparseInputTests
{
    public static readonly TheoryData<SimdPath> Paths = new() { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 };

    [Theory]
    [MemberData(nameof(Paths))]
    public void SparseKernels_MatchReferenceProducts_EveryBatchSizeAndHiddenWidth(SimdPath path)
    {
        Dataset data = Images(300, side: 6, density: 0.2, seed: 1);
        foreach (int hidden in new[] { 1, 3, 15, 16, 17, 63, 64, 65, 130 })
        {
            foreach (int m in new[] { 1, 2, 7, 16, 31, 129, 257 })
            {
                Check(data, hidden, m, path, seed: hidden * 1000 + m);
            }
        }
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 60)]
    public void SparseKernels_RandomShapesAndDensities_MatchReferenceProducts(Case c)
    {
        Dataset data = Images(c.Count, c.Side, c.Density, c.Seed);
        foreach (SimdPath path in new[] { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 })
        {
            Check(data, c.Hidden, Math.Min(c.Batch, c.Count), path, c.Seed);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SparseStep_SameForwardBitsAsDense_GradientsWithinBound_SameBitsOnOneOrTwoThreads(SimdPath path)
    {
        SimdPath saved = MnistNetRuntime.SimdPath;
        try
        {
            MnistNetRuntime.SimdPath = path;
            Dataset data = Images(600, side: 28, density: 0.19, seed: 3);
            var net = new DenseNetwork<float>([784, 200, 30, 10], seed: 2);
            int[] indices = [.. Enumerable.Range(0, 257).Select(i => (i * 7) % 600)];
            var dense = new NetworkWorkspace<float>(net, indices.Length) { InputMode = InputMode.Dense };
            var sparse = new NetworkWorkspace<float>(net, indices.Length) { InputMode = InputMode.Sparse };
            double a = net.ComputeGradients(data, indices, dense);
            double b = Threads.Run(1, () => net.ComputeGradients(data, indices, sparse));

            // Z = W·X + b: one chain in row order over the non-zeros, which the dense chain only pads with exact zeros.
            Assert.True(TestData.SameBits(dense.Outputs[0], sparse.Outputs[0]), "Z1 differs from the dense product");
            Assert.Equal(a, b);
            Assert.Equal(dense.Labels, sparse.Labels);
            for (int p = 1; p < net.Parameters.Count; p++)
            {
                Assert.True(TestData.SameBits(dense.Gradients[p], sparse.Gradients[p]), $"{net.Parameters[p].Name}");
            }

            // dW1 = (1/m) dZ1·Xᵀ sums over the batch in another grouping: within the textbook bound.
            Matrix<float> x = dense.Input;
            Matrix<float> dz = dense.InputGradients[1];
            var bound = new Matrix<float>(200, 784);
            ReferenceKernels.MultiplyByTranspose(TestData.Abs(dz), TestData.Abs(x), bound);
            TestData.AssertWithinBound(dense.Gradients[0], sparse.Gradients[0], bound, 2.0 * (indices.Length + 2) * TestData.Epsilon<float>() / indices.Length, "dW1");

            // Two threads: the same bits (the slices of hidden units are fixed by the shape, not the thread count).
            var two = new NetworkWorkspace<float>(net, indices.Length) { InputMode = InputMode.Sparse };
            Threads.Run(2, () =>
            {
                for (int round = 0; round < 3; round++)
                {
                    net.ComputeGradients(data, indices, two);
                }
            });
            for (int p = 0; p < net.Parameters.Count; p++)
            {
                Assert.True(TestData.SameBits(sparse.Gradients[p], two.Gradients[p]), $"{net.Parameters[p].Name}, 1 vs 2 threads");
            }
        }
        finally
        {
            MnistNetRuntime.SimdPath = saved;
        }
    }

    [Fact]
    public void InputMode_AutoPicksSparseForMostlyZeroData_AndDenseOtherwise()
    {
        var net = new DenseNetwork<float>([36, 5, 3], seed: 1);
        Assert.True(net.UsesSparseInput(Images(50, 6, 0.2, 1), InputMode.Auto));
        Assert.False(net.UsesSparseInput(Images(50, 6, 0.6, 1), InputMode.Auto));
        Assert.False(net.UsesSparseInput(Images(50, 6, 0.2, 1), InputMode.Dense));
        Assert.True(net.UsesSparseInput(Images(50, 6, 0.6, 1), InputMode.Sparse));
        Assert.InRange(Images(2000, 6, 0.2, 1).Density, 0.17, 0.23);
    }

    [Theory]
    [InlineData(1, false, 100)]
    [InlineData(7, true, 100)]
    [InlineData(130, false, 100)]
    [InlineData(257, true, 100)]
    [InlineData(129, true, 10)]
    [InlineData(64, true, 300)]
    public void Batch_HoldsTheBatch_ByColumnAndByRow_CountedByTheForwardPassOrByItself(int m, bool forwardCounts, int hidden)
    {
        // hidden 10 is one slice, 100 and 300 are several (the forward pass counts in slice 0, the others only sum).
        Dataset data = Images(300, side: 28, density: 0.2, seed: m);
        var x = new Matrix<float>(784, m);
        var batch = new SparseBatch<float>(784, m);
        var kernels = new SparseInputKernels<float>(784, hidden, m);
        Assert.Equal(0, batch.Columns);
        Assert.Empty(batch.Pixel);      // nothing selected yet
        Assert.Empty(batch.Value);
        foreach (int shift in new[] { 0, 11 })
        {
            // A second batch into the same buffers: nothing of the first may remain.
            int[] indices = [.. Enumerable.Range(0, m).Select(i => ((i * 37) + shift) % data.Count)];
            batch.Select(data, indices);
            Assert.False(batch.RowsCounted);
            if (forwardCounts)
            {
                // The forward pass counts the rows (in one of its slices) on the way; a second pass must not count again.
                kernels.Multiply(TestData.Random<float>(hidden, 784, m), batch, new Matrix<float>(hidden, m), SimdPath.Auto, 2);
                Assert.True(batch.RowsCounted);
                kernels.Multiply(TestData.Random<float>(hidden, 784, m), batch, new Matrix<float>(hidden, m), SimdPath.Auto, 2);
            }

            batch.GroupByRow();
            if (forwardCounts)
            {
                // The weight gradient reads the grouping and leaves the counts alone.
                kernels.MultiplyByTranspose(TestData.Random<float>(hidden, m, m), batch, new Matrix<float>(hidden, 784), 1f, SimdPath.Auto, 2);
            }

            data.CopyBatchTo(indices, x, default);
            Assert.Equal(m, batch.Columns);
            for (int j = 0; j < m; j++)
            {
                // Column j holds (k, x_kj) for each non-zero, rows increasing.
                int[] rows = [.. Enumerable.Range(0, 784).Where(k => x[k, j] != 0)];
                int start = batch.ColumnBegin[j], count = batch.ColumnEnd[j] - start;
                Assert.Equal(rows, batch.Pixel.AsSpan(start, count).ToArray().Select(r => (int)r));
                Assert.Equal(rows.Select(k => x[k, j]), batch.Value.AsSpan(start, count).ToArray().Select(v => batch.Scale[v]));
            }

            for (int k = 0; k < 784; k++)
            {
                // Row k holds (j, x_kj) for each j with x_kj ≠ 0, columns increasing.
                int[] columns = [.. Enumerable.Range(0, m).Where(j => x[k, j] != 0)];
                int start = batch.RowStart[k], count = batch.RowStart[k + 1] - start;
                Assert.Equal(columns.Length, batch.RowCounts[k + 1]);
                Assert.Equal(columns, batch.RowColumn.AsSpan(start, count).ToArray());
                Assert.Equal(columns.Select(j => x[k, j]), batch.RowValue.AsSpan(start, count).ToArray().Select(v => batch.Scale[v]));
            }
        }
    }

    [Fact]
    public void Batch_BlankImages_AnywhereInTheBatchAndLastInTheData_AreEmptyColumns()
    {
        // Images 0, 3 and 5 (the last of the data) have no ink: their columns are empty, the others are unchanged.
        Dataset source = Images(6, side: 28, density: 0.2, seed: 4);
        byte[] pixels = new byte[6 * 784];
        for (int i = 0; i < 6; i++)
        {
            if (i is not (0 or 3 or 5))
            {
                source.Image(i).CopyTo(pixels.AsSpan(i * 784, 784));
            }
        }

        var data = new Dataset(pixels, TestData.Labels(6, 10, 4), 28, 28);
        int[] indices = [5, 1, 0, 2, 3, 4, 5];
        var batch = new SparseBatch<float>(784, indices.Length);
        batch.Select(data, indices);
        batch.GroupByRow();
        var x = new Matrix<float>(784, indices.Length);
        data.CopyBatchTo(indices, x, default);
        for (int j = 0; j < indices.Length; j++)
        {
            int[] rows = [.. Enumerable.Range(0, 784).Where(k => x[k, j] != 0)];
            Assert.Equal(rows, batch.Pixel.AsSpan(batch.ColumnBegin[j], batch.ColumnEnd[j] - batch.ColumnBegin[j]).ToArray().Select(r => (int)r));
            Assert.Equal(indices[j] is 0 or 3 or 5, rows.Length == 0);
        }

        for (int k = 0; k < 784; k++)
        {
            int[] columns = [.. Enumerable.Range(0, indices.Length).Where(j => x[k, j] != 0)];
            Assert.Equal(columns, batch.RowColumn.AsSpan(batch.RowStart[k], batch.RowStart[k + 1] - batch.RowStart[k]).ToArray());
        }
    }

    private static void Check(Dataset data, int hidden, int m, SimdPath path, long seed)
    {
        var random = new Prng(seed);
        int inputs = data.PixelsPerImage;
        int[] indices = [.. Enumerable.Range(0, m).Select(_ => random.NextInt32(data.Count))];
        var batch = new SparseBatch<float>(inputs, m);
        batch.Select(data, indices);
        batch.GroupByRow();
        var x = new Matrix<float>(inputs, m);
        data.CopyBatchTo(indices, x, default);

        Matrix<float> w = TestData.Random<float>(hidden, inputs, seed);
        var kernels = new SparseInputKernels<float>(inputs, hidden, m);
        var z = new Matrix<float>(hidden, m);
        kernels.Multiply(w, batch, z, path, 2);
        var expected = new Matrix<float>(hidden, m);
        ReferenceKernels.Multiply(w, x, expected);
        var bound = new Matrix<float>(hidden, m);
        ReferenceKernels.Multiply(TestData.Abs(w), TestData.Abs(x), bound);
        TestData.AssertWithinBound(expected, z, bound, (inputs + 2) * TestData.Epsilon<float>(), $"W·X, hidden {hidden}, m {m}, {path}");

        Matrix<float> dz = TestData.Random<float>(hidden, m, seed + 1);
        var dw = new Matrix<float>(hidden, inputs);
        kernels.MultiplyByTranspose(dz, batch, dw, 0.5f, path, 2);
        var product = new Matrix<float>(hidden, inputs);
        ReferenceKernels.MultiplyByTranspose(dz, x, product);
        var gradientBound = new Matrix<float>(hidden, inputs);
        ReferenceKernels.MultiplyByTranspose(TestData.Abs(dz), TestData.Abs(x), gradientBound);
        for (int h = 0; h < hidden; h++)
        {
            for (int k = 0; k < inputs; k++)
            {
                product[h, k] *= 0.5f;
                gradientBound[h, k] *= 0.5f;
            }

        }

        TestData.AssertWithinBound(product, dw, gradientBound, (m + 3) * TestData.Epsilon<float>(), $"dZ·Xᵀ, hidden {hidden}, m {m}, {path}");

        // Padding beyond the last column stays zero.
        for (int h = 0; h < hidden; h++)
        {
            Span<float> padded = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref dw.Row(h)[0], dw.Stride);
            Assert.All(padded[inputs..].ToArray(), v => Assert.Equal(0f, v));
        }
    }

    /// <summary>Random images of side × side pixels, each pixel non-zero with probability <paramref name="density"/>, labels 0–9.</summary>
    internal static Dataset Images(int count, int side, double density, long seed)
    {
        var random = new Prng(seed);
        byte[] pixels = new byte[count * side * side];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.NextDouble() < density ? (byte)(1 + random.NextInt32(255)) : (byte)0;
        }

        return new Dataset(pixels, TestData.Labels(count, 10, seed), side, side);
    }

    public sealed record Case(int Count, int Side, double Density, int Hidden, int Batch, long Seed);

    public static class Generators
    {
        public static Arbitrary<Case> Cases() =>
            (from count in Gen.Choose(1, 80)
             from side in Gen.Choose(1, 12)
             from density in Gen.Elements(0.0, 0.05, 0.2, 0.5, 1.0)
             from hidden in Gen.Choose(1, 140)
             from batch in Gen.Choose(1, 80)
             from seed in Gen.Choose(0, 100000)
             select new Case(count, side, density, hidden, batch, seed)).ToArbitrary();
    }
}
