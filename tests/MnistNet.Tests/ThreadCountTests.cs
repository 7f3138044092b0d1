using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>The same seed gives the same bits whatever the thread count, and each SIMD path is stable with itself.</summary>
[Collection(SerialTestGroup.Name)]
public class ThreadCountTests
{
    private static readonly Lazy<MnistDataset> Mnist = new(() => MnistDataset.Load(TestData.DataFolder));

    [Fact]
    public void MiniBatchTraining_OnTheNonZeroPixels_SameBitsFor1_2And4Threads()
    {
        Dataset data = Mnist.Value.Train.Slice(0, 2000);
        DenseNetwork<float> Train()
        {
            var net = new DenseNetwork<float>([784, 256, 10], seed: 3);
            new Trainer<float>(net, new Adam<float>(0.002), new TrainingOptions { Epochs = 2, BatchSize = 128, Seed = 3 })
                .Fit(data, cancellationToken: TestContext.Current.CancellationToken);
            return net;
        }

        Assert.True(new DenseNetwork<float>([784, 256, 10], seed: 3).UsesSparseInput(data, InputMode.Auto));
        DenseNetwork<float> one = Threads.Run(1, Train);
        foreach (int threads in new[] { 2, 4 })
        {
            DenseNetwork<float> many = Threads.Run(threads, Train);
            for (int p = 0; p < one.Parameters.Count; p++)
            {
                Assert.True(TestData.SameBits(one.Parameters[p].Value, many.Parameters[p].Value), $"{one.Parameters[p].Name}: 1 vs {threads} threads");
            }
        }
    }

    [Fact]
    public void SparseCopy_BuiltInParallel_SameLayoutsFor1_2And4Threads()
    {
        // 41 blocks of 256 columns (the last one partial), MNIST's own zeros.
        Matrix<float> x = Mnist.Value.Train.Slice(0, 10_300).Pixels<float>();
        SparseColumns<float> one = Threads.Run(1, () => SparseColumns<float>.FromDense(x));
        foreach (int threads in new[] { 2, 4 })
        {
            SparseColumns<float> many = Threads.Run(threads, () => SparseColumns<float>.FromDense(x));
            Assert.Equal(one.BlockGroupStart, many.BlockGroupStart);
            Assert.Equal(one.GroupRow, many.GroupRow);
            Assert.Equal(one.GroupStart, many.GroupStart);
            Assert.Equal(one.EntryColumn, many.EntryColumn);
            Assert.Equal(one.EntryValue, many.EntryValue);
            Assert.Equal(one.ColumnStart, many.ColumnStart);
            Assert.Equal(one.ColumnPosition, many.ColumnPosition);
            Assert.Equal(one.RowIndex, many.RowIndex);
            Assert.Equal(one.Values, many.Values);
        }
    }

    [Fact]
    public void FullBatchSeedRecipe_SameBitsFor1_2And4Threads()
    {
        Dataset data = Mnist.Value.Train.Slice(0, 3000);
        Matrix<float> x = data.Pixels<float>();
        TwoLayerNetwork<float> Train()
        {
            var net = new TwoLayerNetwork<float>(seed: 0);
            net.GradientDescent(x, data.Labels, 0.1f, 15, progress: null, cancellationToken: TestContext.Current.CancellationToken);
            return net;
        }

        TwoLayerNetwork<float> one = Threads.Run(1, Train);
        foreach (int threads in new[] { 2, 4 })
        {
            TwoLayerNetwork<float> many = Threads.Run(threads, Train);
            Assert.True(TestData.SameBits(one.W1, many.W1) && TestData.SameBits(one.B1, many.B1), $"layer 1: 1 vs {threads} threads");
            Assert.True(TestData.SameBits(one.W2, many.W2) && TestData.SameBits(one.B2, many.B2), $"layer 2: 1 vs {threads} threads");
        }
    }

    [Theory]
    [InlineData(SimdPath.Scalar)]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Vector512)]
    public void EachSimdPath_GivesTheSameBitsEveryRun(SimdPath path)
    {
        if (MnistNetRuntime.Resolve(path) != path || (path == SimdPath.Vector512 && !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated))
        {
            Assert.Skip($"{path} is not accelerated on this processor.");
        }

        Dataset data = Mnist.Value.Train.Slice(0, 1000);
        DenseNetwork<float> Train()
        {
            SimdPath saved = MnistNetRuntime.SimdPath;
            MnistNetRuntime.SimdPath = path;
            try
            {
                var net = new DenseNetwork<float>([784, 200, 10], seed: 5); // several slices of hidden units on every path, so both threads work
                new Trainer<float>(net, new Adam<float>(0.002), new TrainingOptions { Epochs = 1, BatchSize = 100, Seed = 5 })
                    .Fit(data, cancellationToken: TestContext.Current.CancellationToken);
                return net;
            }
            finally
            {
                MnistNetRuntime.SimdPath = saved;
            }
        }

        DenseNetwork<float> first = Threads.Run(2, Train);
        DenseNetwork<float> second = Threads.Run(2, Train);
        for (int p = 0; p < first.Parameters.Count; p++)
        {
            Assert.True(TestData.SameBits(first.Parameters[p].Value, second.Parameters[p].Value), $"{first.Parameters[p].Name} on {path}");
        }
    }
}
