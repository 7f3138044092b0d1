using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

public class DenseNetworkTests
{
    [Property(Arbitrary = [typeof(DenseGenerators)], MaxTest = 100)]
    public void ComputeGradients_Depth1To3_MatchFiniteDifferences(DenseCase c)
    {
        (DenseNetwork<double> net, Matrix<double> x, ushort[] labels) = c.Build();

        // The same floor as the two-layer check (GradientTests explains it): relative 1e-6 above 1e-4, absolute 1e-10 below.
        GradientCheckResult result = GradientCheck.Run(net, x, labels, step: 1e-5, floor: 1e-4);
        Assert.True(result.MaxRelativeError < 1e-6, $"{c}: max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
        Assert.True(result.Checked > 0, $"{c}: nothing was checked ({result.Skipped} skipped)");
        Assert.Equal(2 * net.LayerCount, result.MaxRelativeErrorByTensor.Count);
    }

    [Fact]
    public void UniformInit_SameParametersAndGradientsAsTwoLayerNetwork()
    {
        // TwoLayerNetwork is the seed's readable API; a 784-10-10 DenseNetwork with the seed's init is the same network.
        var seed = new TwoLayerNetwork<double>(inputs: 30, hidden: 7, outputs: 5, seed: 11);
        var dense = new DenseNetwork<double>([30, 7, 5], Initialization.Uniform, seed: 11);
        Assert.True(TestData.SameBits(seed.W1, dense.Weights[0]) && TestData.SameBits(seed.B1, dense.Biases[0]));
        Assert.True(TestData.SameBits(seed.W2, dense.Weights[1]) && TestData.SameBits(seed.B2, dense.Biases[1]));

        Matrix<double> x = TestData.Random<double>(30, 9, 3, 0, 1);
        ushort[] y = TestData.Labels(9, 5, 3);
        Gradients<double> g = seed.BackwardProp(x, y, seed.ForwardProp(x));
        var workspace = new NetworkWorkspace<double>(dense, 9);
        dense.ComputeGradients(x, y, workspace);
        AssertClose(g.DW1, workspace.Gradients[0], 1e-13);
        AssertClose(g.DB1, workspace.Gradients[1], 1e-13);
        AssertClose(g.DW2, workspace.Gradients[2], 1e-13);
        AssertClose(g.DB2, workspace.Gradients[3], 1e-13);
    }

    [Theory]
    [InlineData(Initialization.He)]
    [InlineData(Initialization.Glorot)]
    [InlineData(Initialization.Uniform)]
    [InlineData(Initialization.FanInUniform)]
    public void Initialization_SeededAndWithinItsDistribution(Initialization init)
    {
        var a = new DenseNetwork<float>([400, 300, 10], init, seed: 4);
        var b = new DenseNetwork<float>([400, 300, 10], init, seed: 4);
        var c = new DenseNetwork<float>([400, 300, 10], init, seed: 5);
        Assert.True(TestData.SameBits(a.Weights[0], b.Weights[0]) && TestData.SameBits(a.Biases[1], b.Biases[1]));
        Assert.False(TestData.SameBits(a.Weights[0], c.Weights[0]));

        Matrix<float> w = a.Weights[0];
        double sum = 0, squares = 0, max = 0;
        for (int r = 0; r < w.Rows; r++)
        {
            foreach (float v in w.Row(r))
            {
                sum += v;
                squares += (double)v * v;
                max = Math.Max(max, Math.Abs(v));
            }
        }

        int n = w.Rows * w.Columns;
        double std = Math.Sqrt((squares / n) - Math.Pow(sum / n, 2));
        switch (init)
        {
            case Initialization.He:
                Assert.InRange(std, 0.97 * Math.Sqrt(2.0 / 400), 1.03 * Math.Sqrt(2.0 / 400));
                Assert.Equal(0f, a.Biases[0][0, 0]);
                break;
            case Initialization.Glorot:
                double limit = Math.Sqrt(6.0 / 700);
                Assert.True(max <= limit);
                Assert.InRange(std, 0.97 * limit / Math.Sqrt(3), 1.03 * limit / Math.Sqrt(3));
                break;
            case Initialization.FanInUniform:
                double bound = 1 / Math.Sqrt(400);
                Assert.True(max <= bound);
                Assert.InRange(std, 0.97 * bound / Math.Sqrt(3), 1.03 * bound / Math.Sqrt(3));
                Assert.All(a.Biases[0].AsSpan().ToArray(), v => Assert.InRange(v, -bound, bound));
                Assert.NotEqual(0f, a.Biases[0][0, 0]);
                break;
            default:
                Assert.True(max <= 0.5);
                Assert.InRange(std, 0.97 / Math.Sqrt(12), 1.03 / Math.Sqrt(12));
                break;
        }
    }

    [Fact]
    public void Predict_FromManyThreadsAtOnce_SameAnswersAsOneThread()
    {
        var net = new DenseNetwork<float>([784, 64, 32, 10], seed: 1);
        Dataset data = SyntheticDigits(2500, seed: 3);
        int[] expected = net.Predict(data);
        Matrix<float> x = data.Pixels<float>();
        Assert.Equal(expected, net.Predict(x));
        int[][] results = new int[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = i % 2 == 0 ? net.Predict(data) : net.Predict(x));
        foreach (int[] r in results)
        {
            Assert.Equal(expected, r);
        }

        // Batched in chunks: the same as one forward pass over everything.
        var workspace = new NetworkWorkspace<float>(net, data.Count);
        Matrix<float> p = net.ForwardProp(x, workspace);
        Assert.Equal(TwoLayerNetwork<float>.GetPredictions(p), expected);
    }

    [Fact]
    public void Evaluate_LossAndAccuracyMatchForwardPass()
    {
        var net = new DenseNetwork<double>([784, 20, 10], seed: 2);
        Dataset data = SyntheticDigits(1500, seed: 5);
        ClassificationMetrics metrics = net.Evaluate(data);
        Matrix<double> x = data.Pixels<double>();
        Assert.Equal(net.Loss(x, data.Labels), metrics.Loss, 1e-12);
        Assert.Equal(net.GetAccuracy(x, data.Labels), metrics.Accuracy, 15);
        Assert.Equal(1500, metrics.Count);
    }

    [Fact]
    public void BadArguments_ThrowWithTheExpectedShapes()
    {
        Assert.Throws<ArgumentException>(() => new DenseNetwork<float>([784]));
        Assert.Throws<ArgumentException>(() => new DenseNetwork<float>([784, 0, 10]));
        Assert.Throws<ArgumentException>(() => new DenseNetwork<float>([1, 65537]));
        Assert.Throws<ArgumentException>(() => new DenseNetwork<float>([6, 3]).Loss(new Matrix<float>(6, 0), []));
        Assert.Equal(300, new DenseNetwork<float>([2, 300]).Outputs);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DenseNetwork<float>([4, 2], (Initialization)7));
        var net = new DenseNetwork<float>([6, 4, 3]);
        var workspace = new NetworkWorkspace<float>(net, 5);
        ArgumentException rows = Assert.Throws<ArgumentException>(() => net.ComputeGradients(new Matrix<float>(7, 5), new ushort[5], workspace));
        Assert.Contains("6 rows", rows.Message);
        Assert.Throws<ArgumentException>(() => net.ComputeGradients(new Matrix<float>(6, 4), new ushort[4], workspace));
        Assert.Throws<ArgumentException>(() => net.ComputeGradients(new Matrix<float>(6, 5), new ushort[4], workspace));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.ComputeGradients(new Matrix<float>(6, 5), [0, 1, 2, 3, 0], workspace));
        var other = new DenseNetwork<float>([6, 5, 3]);
        Assert.Throws<ArgumentException>(() => other.ComputeGradients(new Matrix<float>(6, 5), new ushort[5], workspace));
        Assert.Throws<ArgumentException>(() => net.Predict(SyntheticDigits(3, 1)));
    }

    /// <summary>Images whose label is the horizontal band (of ten) that holds most of the ink: learnable, not trivial.</summary>
    internal static Dataset SyntheticDigits(int count, long seed, int side = 28)
    {
        var random = new Prng(seed);
        byte[] pixels = new byte[count * side * side];
        ushort[] labels = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            int label = random.NextInt32(10);
            labels[i] = (byte)label;
            for (int p = 0; p < side * side; p++)
            {
                int band = (p / side * 10) / side;
                bool ink = band == label ? random.NextDouble() < 0.6 : random.NextDouble() < 0.08;
                pixels[(i * side * side) + p] = ink ? (byte)(128 + random.NextInt32(128)) : (byte)0;
            }
        }

        return new Dataset(pixels, labels, side, side);
    }

    private static void AssertClose(Matrix<double> expected, Matrix<double> actual, double tolerance)
    {
        for (int r = 0; r < expected.Rows; r++)
        {
            for (int c = 0; c < expected.Columns; c++)
            {
                Assert.True(Math.Abs(expected[r, c] - actual[r, c]) <= tolerance * Math.Max(1, Math.Abs(expected[r, c])), $"[{r},{c}]: {actual[r, c]} vs {expected[r, c]}");
            }
        }
    }

    public sealed record DenseCase(int[] Sizes, Initialization Init, int Batch, long Seed)
    {
        public (DenseNetwork<double> Net, Matrix<double> X, ushort[] Labels) Build()
        {
            var net = new DenseNetwork<double>(Sizes, Init, Seed);
            Matrix<double> x = TestData.Random<double>(Sizes[0], Batch, Seed + 1, 0, 1);
            return (net, x, TestData.Labels(Batch, Sizes[^1], Seed + 2));
        }

        public override string ToString() => $"{string.Join('-', Sizes)} {Init} batch {Batch} seed {Seed}";
    }

    public static class DenseGenerators
    {
        public static Arbitrary<DenseCase> Cases() =>
            (from depth in Gen.Choose(1, 3)
             from sizes in Gen.ArrayOf(Gen.Choose(1, 9), depth + 1)
             from outputs in Gen.Choose(2, 6)
             from init in Gen.Elements(Initialization.Uniform, Initialization.He, Initialization.Glorot)
             from batch in Gen.Choose(1, 8)
             from seed in Gen.Choose(0, 1_000_000)
             select new DenseCase([.. sizes[..^1], outputs], init, batch, seed)).ToArbitrary();
    }
}
