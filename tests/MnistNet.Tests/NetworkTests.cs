using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Threading;

namespace MnistNet.Tests;

public class NetworkTests
{
    [Fact]
    public void InitParams_SameSeedSameBits_UniformInHalfOpenRange()
    {
        var a = new TwoLayerNetwork<float>(seed: 42);
        var b = new TwoLayerNetwork<float>(seed: 42);
        var c = new TwoLayerNetwork<float>(seed: 43);
        Assert.True(TestData.SameBits(a.W1, b.W1) && TestData.SameBits(a.B2, b.B2));
        Assert.False(TestData.SameBits(a.W1, c.W1));
        foreach (Matrix<float> p in new[] { a.W1, a.B1, a.W2, a.B2 })
        {
            for (int r = 0; r < p.Rows; r++)
            {
                Assert.All(p.Row(r).ToArray(), v => Assert.InRange(v, -0.5f, 0.49999997f));
            }
        }

        // Uniform: the mean of 7 840 draws is close to 0 (standard error ~0.0033).
        Assert.InRange(System.Numerics.Tensors.TensorPrimitives.Sum<float>(a.W1.AsSpan()) / a.W1.Count, -0.02, 0.02);
    }

    [Fact]
    public void ForwardProp_WrongInputRows_ThrowsWithBothShapes()
    {
        var net = new TwoLayerNetwork<float>(inputs: 784, hidden: 10);
        var ex = Assert.Throws<ArgumentException>(() => net.ForwardProp(new Matrix<float>(783, 5)));
        Assert.Contains("784 rows", ex.Message);
        Assert.Contains("783 × 5", ex.Message);
    }

    [Fact]
    public void BackwardProp_BadLabels_Throw()
    {
        var net = new TwoLayerNetwork<float>(inputs: 4, hidden: 3, outputs: 3);
        Matrix<float> x = TestData.Random<float>(4, 2, 1, 0, 1);
        ForwardPass<float> f = net.ForwardProp(x);
        Assert.Throws<ArgumentException>(() => net.BackwardProp(x, [0], f));
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => net.BackwardProp(x, [0, 3], f));
        Assert.Contains("expected 0 to 2", range.Message);
        Assert.Throws<ArgumentException>(() => net.BackwardProp(new Matrix<float>(4, 0), [], net.ForwardProp(new Matrix<float>(4, 0))));
    }

    [Fact]
    public void TrainStep_WrongWorkspace_Throws()
    {
        var net = new TwoLayerNetwork<float>(inputs: 4, hidden: 3, outputs: 3);
        var other = new TwoLayerNetwork<float>(inputs: 4, hidden: 5, outputs: 3);
        Matrix<float> x = TestData.Random<float>(4, 8, 1, 0, 1);
        ushort[] y = TestData.Labels(8, 3, 1);
        Assert.Throws<ArgumentException>(() => net.TrainStep(x, y, 0.1f, new TrainingWorkspace<float>(net, 7)));
        Assert.Throws<ArgumentException>(() => net.TrainStep(x, y, 0.1f, new TrainingWorkspace<float>(other, 8)));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(x, y, -0.1f, new TrainingWorkspace<float>(net, 8)));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(x, y, float.NaN, new TrainingWorkspace<float>(net, 8)));
    }

    [Theory]
    [InlineData(1, 1e-6)]
    [InlineData(50, 5e-4)]
    public void FusedTrainStep_ManyBlocksAndChunks_MatchesReadablePathWithinTolerance(int iterations, double tolerance)
    {
        // 5 000 columns: 20 cache blocks in 3 chunks, plus a partial block, so the fused step sums dW1 in another
        // order than BackwardProp. Parameters (O(0.5)) must agree to float rounding. After one step the gradients
        // differ by a few ulps (measured max |Δ| 3e-8); over 50 steps the differences compound, since a unit
        // nudged across ReLU's kink changes its whole gradient (measured 6e-5). Bounds: 1e-6 and 5e-4.
        Matrix<float> x = TestData.Random<float>(784, 5000, 1, 0, 1);
        ushort[] y = TestData.Labels(5000, 10, 1);
        var readable = new TwoLayerNetwork<float>(seed: 3);
        var fused = new TwoLayerNetwork<float>(seed: 3);
        var workspace = new TrainingWorkspace<float>(fused, 5000);
        for (int i = 0; i < iterations; i++)
        {
            Gradients<float> g = readable.BackwardProp(x, y, readable.ForwardProp(x));
            readable.UpdateParams(g, 0.1f);
            fused.TrainStep(x, y, 0.1f, workspace);
        }

        double worst = 0;
        foreach ((Matrix<float> a, Matrix<float> b) in new[] { (readable.W1, fused.W1), (readable.B1, fused.B1), (readable.W2, fused.W2), (readable.B2, fused.B2) })
        {
            for (int r = 0; r < a.Rows; r++)
            {
                for (int c = 0; c < a.Columns; c++)
                {
                    worst = Math.Max(worst, Math.Abs(a[r, c] - b[r, c]));
                }
            }
        }

        TestContext.Current.SendDiagnosticMessage($"fused vs readable after {iterations}: max |Δ| = {worst:E2}");
        Assert.True(worst <= tolerance, $"max |Δ| = {worst:E2} after {iterations} iteration(s)");
        Assert.False(TestData.SameBits(readable.W1, new TwoLayerNetwork<float>(seed: 3).W1), "training changed nothing");
    }

    [Fact]
    public void TrainStep_OneCacheBlock_SameBitsAsForwardBackwardUpdate()
    {
        Matrix<float> x = TestData.Random<float>(30, 50, 1, 0, 1);
        ushort[] y = TestData.Labels(50, 10, 1);
        var readable = new TwoLayerNetwork<float>(inputs: 30, hidden: 7, seed: 3);
        var fast = new TwoLayerNetwork<float>(inputs: 30, hidden: 7, seed: 3);
        var workspace = new TrainingWorkspace<float>(fast, 50);
        for (int i = 0; i < 5; i++)
        {
            ForwardPass<float> f = readable.ForwardProp(x);
            Gradients<float> g = readable.BackwardProp(x, y, f);
            readable.UpdateParams(g, 0.5f);
            fast.TrainStep(x, y, 0.5f, workspace);
        }

        Assert.True(TestData.SameBits(readable.W1, fast.W1));
        Assert.True(TestData.SameBits(readable.B2, fast.B2));
    }

}

/// <summary>Tests that force a SIMD path through the process-wide setting run alone.</summary>
[Collection(SerialTestGroup.Name)]
public class ForcedPathTests
{
    public static TheoryData<SimdPath, int> PathsAndWidths()
    {
        var data = new TheoryData<SimdPath, int>();
        foreach (SimdPath path in new[] { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 })
        {
            foreach (int m in new[] { 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33, 47, 100, 255, 256 })
            {
                data.Add(path, m);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndWidths))]
    public void FusedStep_OneBlock_EveryPathAndColumnTail_SameBitsAsReadablePath(SimdPath path, int m)
    {
        SimdPath saved = MnistNetRuntime.SimdPath;
        try
        {
            MnistNetRuntime.SimdPath = path;
            Matrix<float> x = TestData.Random<float>(30, m, m, 0, 1);
            ushort[] y = TestData.Labels(m, 10, m);
            var readable = new TwoLayerNetwork<float>(inputs: 30, hidden: 7, seed: 3);
            var fast = new TwoLayerNetwork<float>(inputs: 30, hidden: 7, seed: 3);
            var workspace = new TrainingWorkspace<float>(fast, m);
            for (int i = 0; i < 3; i++)
            {
                ForwardPass<float> f = readable.ForwardProp(x);
                readable.UpdateParams(readable.BackwardProp(x, y, f), 0.5f);
                fast.TrainStep(x, y, 0.5f, workspace);
            }

            Assert.True(TestData.SameBits(readable.W1, fast.W1), "W1");
            Assert.True(TestData.SameBits(readable.B1, fast.B1), "b1");
            Assert.True(TestData.SameBits(readable.W2, fast.W2), "W2");
            Assert.True(TestData.SameBits(readable.B2, fast.B2), "b2");
        }
        finally
        {
            MnistNetRuntime.SimdPath = saved;
        }
    }
}

[Collection(SerialTestGroup.Name)]
public class AllocationTests
{
    [Fact]
    public void TrainStep_AllocatesNothingOnAnyThread()
    {
        Matrix<float> x = TestData.Random<float>(784, 3000, 1, 0, 1);
        ushort[] y = TestData.Labels(3000, 10, 1);
        var net = new TwoLayerNetwork<float>();
        var workspace = new TrainingWorkspace<float>(net, 3000);
        TestData.AssertNoAllocation(count =>
        {
            for (int i = 0; i < count; i++)
            {
                net.TrainStep(x, y, 0.1f, workspace);
            }
        });
    }

    [Theory]
    [InlineData(InputMode.Sparse)]
    [InlineData(InputMode.Dense)]
    public void MiniBatchStep_SparseOrDenseInput_GatherGradientsAndAdam_AllocateNothing(InputMode mode)
    {
        MnistNet.Data.Dataset data = SparseInputTests.Images(2000, side: 28, density: 0.2, seed: 1);
        var net = new DenseNetwork<float>([784, 200, 10], seed: 1);
        var workspace = new NetworkWorkspace<float>(net, 128) { InputMode = mode };
        var adam = new MnistNet.Training.Adam<float>(0.001);
        int[] order = Enumerable.Range(0, 2000).ToArray();
        void Steps(int count)
        {
            for (int s = 0; s < count; s++)
            {
                net.ComputeGradients(data, order.AsSpan((s * 128) % 1792, 128), workspace);
                adam.Step(net, workspace, 0.001);
            }
        }

        Assert.Equal(mode == InputMode.Sparse, net.UsesSparseInput(data, mode));
        Threads.Run(2, () =>
        {
            TestData.AssertNoAllocation(Steps);
        });
    }

    [Fact]
    public void SeedMiniBatchStep_GatherAndFusedStep_AllocateNothing()
    {
        MnistNet.Data.Dataset data = SparseInputTests.Images(2000, side: 28, density: 0.2, seed: 1);
        var net = new TwoLayerNetwork<float>(seed: 1);
        var batch = new Matrix<float>(784, 128);
        ushort[] labels = new ushort[128];
        int[] order = Enumerable.Range(0, 2000).ToArray();
        var workspace = new TrainingWorkspace<float>(net, 128);
        void Steps(int count)
        {
            for (int s = 0; s < count; s++)
            {
                data.CopyBatchTo<float>(order.AsSpan((s * 128) % 1792, 128), batch, labels);
                net.TrainStep(batch, labels, 0.05f, workspace);
            }
        }

        TestData.AssertNoAllocation(Steps);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("nesterov")]
    [InlineData("rmsprop")]
    public void DenseNetworkMiniBatchStep_AssemblyGradientsAndUpdate_AllocateNothing(string optimizer)
    {
        MnistNet.Data.Dataset data = DenseNetworkTests.SyntheticDigits(1000, seed: 4);
        var net = new DenseNetwork<float>([784, 256, 64, 10], seed: 1);
        var workspace = new NetworkWorkspace<float>(net, 128);
        MnistNet.Training.Optimizer<float> opt = OptimizerTests.Create<float>(optimizer, 0.001);
        int[] indices = new int[128];
        void Steps(int count)
        {
            for (int s = 0; s < count; s++)
            {
                for (int i = 0; i < indices.Length; i++)
                {
                    indices[i] = ((s * 128) + i) % data.Count;
                }

                data.CopyBatchTo(indices, workspace.Input, workspace.Labels);
                net.ComputeGradients(workspace.Input, workspace.Labels, workspace);
                opt.Step(net, workspace, 0.001);
            }
        }

        TestData.AssertNoAllocation(Steps);
    }

    [Fact]
    public void SparseTrainStep_AllocatesNothingOnAnyThread()
    {
        Matrix<float> x = SparseTests.SparseMatrix<float>(784, 3000, 0.2, 3);
        var sparse = SparseColumns<float>.FromDense(x);
        ushort[] y = TestData.Labels(3000, 10, 1);
        var net = new TwoLayerNetwork<float>();
        var workspace = new TrainingWorkspace<float>(net, 3000);
        TestData.AssertNoAllocation(count =>
        {
            for (int i = 0; i < count; i++)
            {
                net.TrainStep(sparse, y, 0.1f, workspace);
            }
        });
    }
}

public class GradientDescentTests
{
    [Fact]
    public void GradientDescent_ReportsProgressAtIntervalAndLast_LossDecreases()
    {
        Matrix<float> x = TestData.Random<float>(20, 200, 1, 0, 1);
        ushort[] y = TestData.Labels(200, 10, 1);
        var net = new TwoLayerNetwork<float>(inputs: 20, hidden: 16, seed: 1);
        var reports = new List<TrainingProgress>();
        TrainingProgress last = net.GradientDescent(x, y, 0.5f, 25, reports.Add, progressInterval: 10, TestContext.Current.CancellationToken);
        Assert.Equal([0, 10, 20, 24], reports.Select(p => p.Iteration));
        Assert.Equal(last, reports[^1]);
        Assert.All(reports, p => Assert.Equal(25, p.Iterations));
        Assert.True(reports[^1].Loss < reports[0].Loss);

        // Iteration 24's report measures the parameters after 24 steps, before its own update: the same network
        // trained for 24 iterations has exactly that accuracy and loss.
        var replay = new TwoLayerNetwork<float>(inputs: 20, hidden: 16, seed: 1);
        replay.GradientDescent(x, y, 0.5f, 24, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(replay.GetAccuracy(x, y), reports[^1].Accuracy);
        Assert.Equal(replay.Loss(x, y), reports[^1].Loss, 6);
        Assert.True(reports[^1].Accuracy > reports[0].Accuracy);
    }

    [Fact]
    public void GradientDescent_Cancelled_StopsBetweenSteps()
    {
        Matrix<float> x = TestData.Random<float>(20, 30, 1, 0, 1);
        ushort[] y = TestData.Labels(30, 10, 1);
        var net = new TwoLayerNetwork<float>(inputs: 20, seed: 1);
        using var cts = new CancellationTokenSource();
        int seen = 0;
        Assert.Throws<OperationCanceledException>(() => net.GradientDescent(x, y, 0.1f, 1000, p =>
        {
            seen++;
            if (p.Iteration == 20)
            {
                cts.Cancel();
            }
        }, progressInterval: 10, cts.Token));
        Assert.Equal(3, seen);
    }

    [Fact]
    public void GradientDescent_HugeLearningRate_ThrowsDivergedWithIteration()
    {
        Matrix<float> x = TestData.Random<float>(20, 30, 1, 0, 255);
        ushort[] y = TestData.Labels(30, 10, 1);
        var net = new TwoLayerNetwork<float>(inputs: 20, seed: 1);
        var ex = Assert.Throws<TrainingDivergedException>(() => net.GradientDescent(x, y, 1e30f, 100, cancellationToken: TestContext.Current.CancellationToken));
        Assert.InRange(ex.Iteration, 0, 99);
        Assert.Contains("learning rate", ex.Message);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(10, 255)]
    [InlineData(10, 256)]
    [InlineData(10, 257)]
    [InlineData(3, 600)]
    public void GetPredictions_EveryColumnOfEveryChunk_FirstMaximumWins_NaNNeverWins(int rows, int columns)
    {
        // Few distinct values, so ties are common; some NaNs, including in the first row.
        var rng = new Random(rows * 1000 + columns);
        var p = new Matrix<float>(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < columns; j++)
            {
                p[r, j] = rng.Next(20) == 0 ? float.NaN : rng.Next(4) * 0.25f;
            }
        }

        int[] actual = TwoLayerNetwork<float>.GetPredictions(p);
        for (int j = 0; j < columns; j++)
        {
            // The seed's np.argmax on the rows in order, where a NaN score compares false.
            int best = 0;
            for (int r = 1; r < rows; r++)
            {
                if (p[r, j] > p[best, j])
                {
                    best = r;
                }
            }

            Assert.True(best == actual[j], $"column {j}: expected row {best}, got {actual[j]}");
        }
    }

    [Fact]
    public void GetPredictions_FirstMaximumWins()
    {
        Matrix<float> p = Matrix<float>.FromArray(new float[,] { { 0.2f, 0.5f, 0.1f }, { 0.7f, 0.5f, 0.1f }, { 0.1f, 0f, 0.8f } });
        Assert.Equal([1, 0, 2], TwoLayerNetwork<float>.GetPredictions(p));
        Assert.Equal(2.0 / 3, TwoLayerNetwork<float>.GetAccuracy([1, 0, 2], [1, 1, 2]));
    }

    [Fact]
    public void Predict_FromManyThreadsAtOnce_SameAnswers()
    {
        Matrix<float> x = TestData.Random<float>(784, 2000, 1, 0, 1);
        var net = new TwoLayerNetwork<float>(seed: 7);
        int[] expected = net.Predict(x);
        int[][] results = new int[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = TestContext.Current.CancellationToken }, i => results[i] = net.Predict(x));
        Assert.All(results, r => Assert.Equal(expected, r));
    }
}
