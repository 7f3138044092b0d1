using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// <see cref="Dropout{T}"/>: the inverted-dropout equations while training, the identity at inference, masks that
/// depend on the seed, the pass and the layer's place only (so the backward pass, two threads and a second run draw the
/// same ones), finite differences through a network with dropout, and whole training runs that repeat bit for bit.
/// </summary>
[Collection(SerialTestGroup.Name)]
public sealed class DropoutTests
{
    [Theory]
    [InlineData(0.5, 1, 1)]
    [InlineData(0.5, 300, 257)]
    [InlineData(0.2, 17, 63)]
    [InlineData(0.9, 40, 129)]
    public void Training_KeepsAboutOneMinusP_ScalesKeptValues_AndTheBackwardPassUsesTheSameMask(double rate, int size, int m)
    {
        var layer = new Dropout<float>(size, rate);
        Matrix<float> x = TestData.Random<float>(size, m, 1, 0.5, 1);    // no zeros: a 0 in the output means dropped
        Matrix<float> dy = TestData.Random<float>(size, m, 2, -1, 1);
        var y = new Matrix<float>(size, m);
        var dx = new Matrix<float>(size, m);
        var context = new LayerContext(m) { NextSeed = 77 };
        context.Begin(m, default, training: true);
        layer.Forward(context, x, y);
        layer.Backward(context, x, y, dy, dx, []);
        float scale = 1f / (1f - (float)rate);
        int kept = 0;
        for (int r = 0; r < size; r++)
        {
            for (int j = 0; j < m; j++)
            {
                bool keep = y[r, j] != 0;
                kept += keep ? 1 : 0;
                Assert.Equal(keep ? x[r, j] * scale : 0f, y[r, j]);
                Assert.Equal(keep ? dy[r, j] * scale : 0f, dx[r, j]);
            }
        }

        // The kept fraction within five standard deviations of 1 − p (n Bernoulli draws).
        int n = size * m;
        double sigma = Math.Sqrt(rate * (1 - rate) / n);
        Assert.InRange((double)kept / n, 1 - rate - (5 * sigma) - (1.0 / n), 1 - rate + (5 * sigma) + (1.0 / n));
    }

    [Fact]
    public void Mix_IsSplitMix64sFinaliser()
    {
        // SplitMix64 from seed 0 returns mix(k·γ) for k = 1, 2, …; its published first outputs:
        ulong[] published = [0xE220A8397B1DCDAFUL, 0x6E789E6AA1B965F4UL, 0x06C45D188009454FUL, 0xF88BB8A8724C81ECUL];
        for (int k = 1; k <= published.Length; k++)
        {
            Assert.Equal(published[k - 1], Dropout<float>.Mix(unchecked((ulong)k * 0x9E3779B97F4A7C15UL)));
        }
    }

    [Theory]
    [InlineData(12345L, 3, 0.3)]
    [InlineData(-7L, 0, 0.5)]
    [InlineData(long.MaxValue, 11, 0.9)]
    public void TrainingMask_IsTheDefinitionsMask(long seed, int layerIndex, double rate)
    {
        // The mask is a function of (seed, layer, row, column) only, as written in ReferenceLayers.DropoutKeeps.
        const int Size = 37, M = 70;
        var layer = new Dropout<float>(Size, rate);
        Matrix<float> x = TestData.Random<float>(Size, M, 3, 0.5, 1);
        var y = new Matrix<float>(Size, M);
        var context = new LayerContext(M) { NextSeed = seed };
        context.Begin(M, default, training: true);
        context.LayerIndex = layerIndex;
        layer.Forward(context, x, y);
        for (int r = 0; r < Size; r++)
        {
            for (int j = 0; j < M; j++)
            {
                Assert.True(MnistNet.TestSupport.ReferenceLayers.DropoutKeeps(seed, layerIndex, r, j, rate) == (y[r, j] != 0), $"row {r}, column {j}");
            }
        }
    }

    [Fact]
    public void Backward_WithoutAnOutputGradient_IsRefused()
    {
        var context = new LayerContext(4);
        context.Begin(4, default, training: true);
        var x = new Matrix<float>(8, 4);
        var dx = new Matrix<float>(8, 4);
        Assert.Equal("outputGradient", Assert.Throws<ArgumentNullException>(() => new Dropout<float>(8, 0.5).Backward(context, x, x, null, dx, [])).ParamName);
        Assert.Equal("outputGradient", Assert.Throws<ArgumentNullException>(() => new MaxPool2D<float>(2, 2, 2).Backward(context, x, new Matrix<float>(2, 4), null, dx, [])).ParamName);
    }

    [Fact]
    public void Inference_AndRateZero_PassEverythingThrough()
    {
        Matrix<float> x = TestData.Random<float>(30, 20, 3);
        var context = new LayerContext(20);
        foreach ((double rate, bool training) in new[] { (0.5, false), (0.0, true) })
        {
            context.Begin(20, default, training);
            var y = new Matrix<float>(30, 20);
            var dx = new Matrix<float>(30, 20);
            y.AsSpan().Fill(9);
            new Dropout<float>(30, rate).Forward(context, x, y);
            new Dropout<float>(30, rate).Backward(context, x, y, x, dx, []);
            Assert.True(TestData.SameBits(x, y), $"forward, rate {rate}, training {training}");
            Assert.True(TestData.SameBits(x, dx), $"backward, rate {rate}, training {training}");
        }
    }

    [Fact]
    public void Masks_DependOnTheSeedThePassAndTheLayer()
    {
        // Two dropout layers of one size in one network: each pass, each layer, each seed its own mask.
        var net = new Network<float>([new Dense<float>(6, 64), new Dropout<float>(64, 0.5), new Dense<float>(64, 64), new Dropout<float>(64, 0.5), new Dense<float>(64, 3), new SoftmaxCrossEntropy<float>(3)]);
        var random = new Prng(1);
        foreach (Layer<float> layer in net.Layers)
        {
            layer.Initialize(Initialization.Glorot, random);
        }

        Matrix<float> x = TestData.Random<float>(6, 50, 4);
        ushort[] labels = TestData.Labels(50, 3, 5);
        var workspace = new NetworkWorkspace<float>(net, 50);
        Assert.Equal(0, workspace.RandomSeed);
        workspace.RandomSeed = 10;
        net.ComputeGradients(x, labels, workspace);
        Assert.Equal(11, workspace.RandomSeed);
        bool[] first = Mask(workspace.Outputs[1]);
        bool[] second = Mask(workspace.Outputs[3]);
        net.ComputeGradients(x, labels, workspace);
        bool[] nextPass = Mask(workspace.Outputs[1]);
        workspace.RandomSeed = 10;
        net.ComputeGradients(x, labels, workspace);
        bool[] again = Mask(workspace.Outputs[1]);

        Assert.Equal(first, again);
        Assert.NotEqual(first, second);
        Assert.NotEqual(first, nextPass);

        // Prediction never drops anything (and never takes a seed).
        Matrix<float> probabilities = net.ForwardProp(x, workspace);
        Assert.Equal(11, workspace.RandomSeed);
        Assert.True(TestData.SameBits(workspace.Outputs[0], workspace.Outputs[1]), "inference changed values");
        Assert.Equal(50, probabilities.Columns);
    }

    [Fact]
    public void NetworkWithDropout_GradientsMatchFiniteDifferences_WithTheSameMask()
    {
        var net = new Network<double>([new Dense<double>(5, 12), new ReLU<double>(12), new Dropout<double>(12, 0.4), new Dense<double>(12, 3), new SoftmaxCrossEntropy<double>(3)]);
        var random = new Prng(6);
        foreach (Layer<double> layer in net.Layers)
        {
            layer.Initialize(Initialization.Glorot, random);
        }

        Matrix<double> x = TestData.Random<double>(5, 9, 7);
        ushort[] labels = TestData.Labels(9, 3, 8);
        GradientCheckResult result = GradientCheck.Run(net, x, labels);
        Assert.True(result.Checked > 50, $"only {result.Checked} checked");
        Assert.True(result.MaxRelativeError < 1e-6, $"max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
    }

    [Fact]
    public void TrainingRuns_WithDropout_RepeatBitForBit_OnOneAndTwoThreads_AndTheSeedMatters()
    {
        Dataset data = MnistDataset.Load(TestData.DataFolder).Train.Slice(0, 600);
        Network<float> Run(int threads, long seed) => Threads.Run(threads, () =>
        {
            var net = new Network<float>([new Dense<float>(784, 128), new ReLU<float>(128), new Dropout<float>(128, 0.5), new Dense<float>(128, 10), new SoftmaxCrossEntropy<float>(10)]);
            var random = new Prng(1);
            foreach (Layer<float> layer in net.Layers)
            {
                layer.Initialize(Initialization.He, random);
            }

            new Trainer<float>(net, new Adam<float>(0.01), new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = seed, Shuffle = false }).Fit(data);
            return net;
        });

        Network<float> a = Run(1, 3), b = Run(2, 3), c = Run(1, 4);
        Assert.True(TestData.SameBits(a.Parameters[0].Value, b.Parameters[0].Value), "1 vs 2 threads");
        Assert.True(TestData.SameBits(a.Parameters[2].Value, b.Parameters[2].Value), "1 vs 2 threads");
        Assert.False(TestData.SameBits(a.Parameters[2].Value, c.Parameters[2].Value), "another seed (no shuffling: only the masks differ) gave the same weights");
        Assert.NotEqual(Trainer<float>.StepSeed(3, 0), Trainer<float>.StepSeed(3, 1));
        Assert.NotEqual(Trainer<float>.StepSeed(3, 0), Trainer<float>.StepSeed(4, 0));
    }

    [Fact]
    public void SparseAndDenseInput_DrawTheSameMasks()
    {
        // MNIST through the sparse first layer and through the dense one: the layers above see the same pass, so the
        // same masks, the same outputs and the same gradients above the first layer.
        Dataset data = MnistDataset.Load(TestData.DataFolder).Train.Slice(0, 64);
        var net = new Network<float>([new Dense<float>(784, 40), new ReLU<float>(40), new Dropout<float>(40, 0.5), new Dense<float>(40, 10), new SoftmaxCrossEntropy<float>(10)]);
        var random = new Prng(2);
        foreach (Layer<float> layer in net.Layers)
        {
            layer.Initialize(Initialization.He, random);
        }

        int[] indices = [.. Enumerable.Range(0, 64)];
        var sparse = new NetworkWorkspace<float>(net, 64) { InputMode = InputMode.Sparse, RandomSeed = 5 };
        var dense = new NetworkWorkspace<float>(net, 64) { InputMode = InputMode.Dense, RandomSeed = 5 };
        net.ComputeGradients(data, indices, sparse);
        net.ComputeGradients(data, indices, dense);
        Assert.True(TestData.SameBits(dense.Outputs[2], sparse.Outputs[2]), "dropout's output");
        Assert.True(TestData.SameBits(dense.Gradients[2], sparse.Gradients[2]), "dW of the layer above dropout");
        Assert.True(TestData.SameBits(dense.InputGradients[1], sparse.InputGradients[1]), "dZ of the first layer");
    }

    [Fact]
    public void Constructor_RejectsBadArguments()
    {
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(4, 1.0)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(4, -0.1)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(4, double.NaN)).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(0, 0.5)).ParamName);
        var layer = new Dropout<double>(7, 0.25);
        Assert.Equal((7, 7, 0.25, "dropout 0.25"), (layer.InputSize, layer.OutputSize, layer.Rate, layer.ToString()));
        var copy = (Dropout<double>)layer.Clone();
        Assert.Equal((layer.Size, layer.Rate), (copy.Size, copy.Rate));
        Assert.Empty(layer.Parameters);
    }

    private static bool[] Mask(Matrix<float> m)
    {
        var mask = new bool[m.Rows * m.Columns];
        for (int r = 0; r < m.Rows; r++)
        {
            for (int j = 0; j < m.Columns; j++)
            {
                mask[(r * m.Columns) + j] = m[r, j] != 0;
            }
        }

        return mask;
    }
}
