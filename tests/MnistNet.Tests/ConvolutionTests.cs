using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using static MnistNet.TestSupport.ReferenceLayers;

namespace MnistNet.Tests;

/// <summary>
/// <see cref="Conv2D{T}"/> and <see cref="MaxPool2D{T}"/> against the plain loops of <see cref="ReferenceLayers"/> on
/// every SIMD path, over odd shapes (1 × 1 images, kernels as large as the image, batches that leave a short last group),
/// finite differences through a small convolutional network, the same bits on one and two threads, and no allocation
/// per training step.
/// </summary>
[Collection(SerialTestGroup.Name)]
public sealed class ConvolutionTests
{
    public sealed record ConvCase(int C, int H, int W, int O, int K, bool Same, int M, long Seed);

    public static class Generators
    {
        public static Arbitrary<ConvCase> Cases() =>
            (from c in Gen.Choose(1, 3)
             from h in Gen.Choose(1, 9)
             from w in Gen.Choose(1, 9)
             from o in Gen.Choose(1, 5)
             from same in Gen.Elements(true, false)
             from k in Gen.Elements(1, 2, 3, 5)
             from m in Gen.Choose(1, 9)
             from seed in Gen.Choose(0, 1_000_000)
             where same ? k % 2 == 1 : k <= h && k <= w
             select new ConvCase(c, h, w, o, k, same, m, seed)).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Generators)], MaxTest = 40)]
    public void Conv2D_RandomShapes_MatchReferenceOnEveryPath(ConvCase s)
    {
        foreach (SimdPath path in Paths())
        {
            TestData.OnPath(path, () =>
            {
                CheckConv<float>(s);
                CheckConv<double>(s);
            });
        }
    }

    [Fact]
    public void Conv2D_ManyColumnChunks_ShortLastChunk_MatchesReferenceOnEveryPath()
    {
        // 16 × 5 × 5 = 400 unrolled rows (two k blocks of the packed tile, the second short), 7 output channels (a short
        // last row tile), and 300 examples: column chunks of 128, 128 and 44, whose last sliver is short on every path and
        // whose last 12 (or 4) examples are a tail for the weight gradient's vectors.
        var s = new ConvCase(16, 7, 6, 7, 5, Same: true, 300, Seed: 5);
        foreach (SimdPath path in Paths())
        {
            TestData.OnPath(path, () =>
            {
                CheckConv<float>(s);
                CheckConv<double>(s);
            });
        }
    }

    [Theory]
    [InlineData(3, 9, 11, 5, 5, true)]
    [InlineData(2, 10, 7, 3, 3, false)]
    [InlineData(1, 5, 5, 6, 5, true)]
    public void Conv2D_BatchesOfWholeVectors_RunAlongRows_MatchReferenceOnEveryPath(int c, int h, int w, int o, int k, bool same)
    {
        // 32 and 64 examples: rows without padding columns, so the weight gradient walks stretches of positions along each
        // output row in one run, broken wherever a kernel row enters or leaves the padding.
        foreach (int m in new[] { 32, 64 })
        {
            var s = new ConvCase(c, h, w, o, k, same, m, Seed: m + h);
            foreach (SimdPath path in Paths())
            {
                TestData.OnPath(path, () =>
                {
                    CheckConv<float>(s);
                    CheckConv<double>(s);
                });
            }
        }
    }

    [Theory]
    [InlineData(8, 7, 9, 9, 3, true, 37)]
    [InlineData(9, 5, 6, 8, 5, false, 17)]
    [InlineData(8, 6, 5, 13, 5, true, 33)]
    [InlineData(10, 4, 4, 8, 3, false, 1)]
    [InlineData(8, 14, 14, 8, 5, true, 64)]
    [InlineData(12, 3, 8, 8, 5, true, 20)]
    [InlineData(70, 5, 6, 8, 3, true, 9)]
    [InlineData(8, 4, 5, 66, 5, true, 5)]
    public void Conv2D_Winograd_MatchesReferenceOnEveryPath(int c, int h, int w, int o, int k, bool same, int m)
    {
        // Shapes that take Winograd's transforms in the forward pass and the input gradient (k = 3 or 5, at least 8
        // channels on both sides): grids that leave partial tiles (4 × 4 or 2 × 2 outputs per tile), 'valid' padding,
        // batches that leave a short lane block (or are one), more output channels than a whole number of slivers, and
        // more than one block of channels (WinogradKernels.SandwichBlock) for the weights' and weight gradient's transforms.
        var layer = new Conv2D<float>(c, h, w, o, k, same ? ConvolutionPadding.Same : ConvolutionPadding.Valid);
        var transposed = layer.Geometry.Transposed(o);
        Assert.True(WinogradKernels<float>.Supports(layer.Geometry, o), "forward");
        Assert.True(WinogradKernels<float>.Supports(transposed, c), "input gradient");
        var s = new ConvCase(c, h, w, o, k, same, m, Seed: c + h + m);
        foreach (SimdPath path in Paths())
        {
            TestData.OnPath(path, () =>
            {
                CheckConv<float>(s, winograd: true);
                CheckConv<double>(s, winograd: true);
            });
        }
    }

    [Fact]
    public void Conv2D_Winograd_SameBitsOnEverySimdPath()
    {
        // The transforms are the same lane-wise operations at every width and the products one chain of multiply-adds per
        // element (the weight gradient's: tile by tile, example by example, in parts of whole tiles): the forward pass,
        // the input gradient and the weight gradient agree to the bit between the scalar and vector paths.
        foreach ((int c, int h, int w, int o, int k, bool same, int m) in new[] { (8, 7, 9, 9, 3, true, 37), (9, 6, 5, 8, 5, false, 21), (8, 14, 14, 8, 5, true, 40) })
        {
            var layer = new Conv2D<float>(c, h, w, o, k, same ? ConvolutionPadding.Same : ConvolutionPadding.Valid);
            TestData.Random<float>(o, c * k * k, 7).CopyTo(layer.Weight.Value);
            TestData.Random<float>(o, 1, 8).CopyTo(layer.Bias.Value);
            Matrix<float> x = TestData.Random<float>(layer.InputSize, m, 9);
            Matrix<float> dy = TestData.Random<float>(layer.OutputSize, m, 10);
            var results = new List<(SimdPath Path, Matrix<float> Y, Matrix<float> Dx, Matrix<float> Dw)>();
            foreach (SimdPath path in new[] { SimdPath.Scalar }.Concat(Paths()).Distinct())
            {
                TestData.OnPath(path, () =>
                {
                    var context = new LayerContext(m);
                    context.Begin(m, default, training: true);
                    var y = new Matrix<float>(layer.OutputSize, m);
                    var dx = new Matrix<float>(layer.InputSize, m);
                    var dw = new Matrix<float>(o, c * k * k);
                    layer.Forward(context, x, y);
                    layer.Backward(context, x, y, dy, dx, [dw, new Matrix<float>(o, 1)]);
                    results.Add((path, y, dx, dw));
                });
            }

            Assert.True(results.Count >= 2, "at least the scalar path and one vector path");
            foreach (var r in results.Skip(1))
            {
                Assert.True(TestData.SameBits(results[0].Y, r.Y), $"Y: {results[0].Path} vs {r.Path}");
                Assert.True(TestData.SameBits(results[0].Dx, r.Dx), $"dX: {results[0].Path} vs {r.Path}");
                Assert.True(TestData.SameBits(results[0].Dw, r.Dw), $"dW: {results[0].Path} vs {r.Path}");
            }
        }
    }

    [Fact]
    public void Conv2D_Winograd_OneContextAcrossSimdPathsSwitchedAtRunTime_SameBits()
    {
        // One context keeps the layer's kernel buffers from pass to pass; switching MnistNetRuntime.SimdPath between passes
        // (scalar first: the shortest lane blocks) must grow them, and give the scalar pass's bits, forward and backward.
        var layer = new Conv2D<float>(8, 6, 7, 9, 5);
        TestData.Random<float>(9, 8 * 25, 31).CopyTo(layer.Weight.Value);
        TestData.Random<float>(9, 1, 32).CopyTo(layer.Bias.Value);
        Matrix<float> x = TestData.Random<float>(layer.InputSize, 40, 33);
        Matrix<float> dy = TestData.Random<float>(layer.OutputSize, 40, 34);
        var context = new LayerContext(40);
        context.Begin(40, default, training: true);
        var results = new List<(SimdPath Path, Matrix<float> Y, Matrix<float> Dx, Matrix<float> Dw)>();
        foreach (SimdPath path in new[] { SimdPath.Scalar }.Concat(Paths()).Distinct())
        {
            TestData.OnPath(path, () =>
            {
                var y = new Matrix<float>(layer.OutputSize, 40);
                var dx = new Matrix<float>(layer.InputSize, 40);
                var dw = new Matrix<float>(9, 8 * 25);
                layer.Forward(context, x, y);
                layer.Backward(context, x, y, dy, dx, [dw, new Matrix<float>(9, 1)]);
                results.Add((path, y, dx, dw));
            });
        }

        Assert.True(results.Count >= 2, "at least the scalar path and one vector path");
        foreach (var r in results.Skip(1))
        {
            Assert.True(TestData.SameBits(results[0].Y, r.Y), $"Y: {results[0].Path} vs {r.Path}");
            Assert.True(TestData.SameBits(results[0].Dx, r.Dx), $"dX: {results[0].Path} vs {r.Path}");
            Assert.True(TestData.SameBits(results[0].Dw, r.Dw), $"dW: {results[0].Path} vs {r.Path}");
        }
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(5, true)]
    [InlineData(3, false)]
    public void WinogradConvNetwork_GradientsMatchFiniteDifferences(int k, bool same)
    {
        // conv 8×5×6 → 8 channels through Winograd's transforms (forward and input gradient) between a first convolution
        // and a dense head, in double: the first convolution's gradients pass through the second's input gradient.
        var first = new Conv2D<double>(2, 5, 6, 8, 3);
        var second = new Conv2D<double>(8, 5, 6, 8, k, same ? ConvolutionPadding.Same : ConvolutionPadding.Valid);
        Assert.True(WinogradKernels<double>.Supports(second.Geometry, 8));
        var net = new Network<double>([first, new ReLU<double>(first.OutputSize), second, new Dense<double>(second.OutputSize, 3), new SoftmaxCrossEntropy<double>(3)]);
        var random = new Prng(21 + k);
        foreach (Layer<double> layer in net.Layers)
        {
            layer.Initialize(Initialization.Glorot, random);
        }

        second.Bias.Value.FillUniform(-0.1, 0.1, random);
        Matrix<double> x = TestData.Random<double>(first.InputSize, 5, 22, -1, 1);
        GradientCheckResult result = GradientCheck.Run(net, x, TestData.Labels(5, 3, 23));

        // 1e-5 as for the other convolution networks' random shapes: Winograd's rounding in double, the finite
        // differences' noise here, is a few times the direct sum's (1.5e-6 seen against < 1e-6 with the direct kernels).
        Assert.True(result.MaxRelativeError < 1e-5, $"max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
        Assert.True(result.Checked >= 9 * (result.Checked + result.Skipped) / 10, $"only {result.Checked} of {result.Checked + result.Skipped} coordinates checked");
        Assert.True(result.MaxRelativeErrorByTensor.ContainsKey("layers.2.weight") && result.MaxRelativeErrorByTensor.ContainsKey("layers.0.weight"));
    }

    [Fact]
    public void Conv2D_ImageCornersAndBorders_EachInputReachesTheRightOutputs()
    {
        // One input pixel set at a time (a corner, an edge, the centre): with 'same' padding each output near it must be
        // exactly the matching kernel weight — a shifted or mirrored unrolling fails here even where sums would agree.
        var layer = new Conv2D<double>(1, 4, 5, 1, 3);
        for (int i = 0; i < 9; i++)
        {
            layer.Weight.Value[0, i] = i + 1;
        }

        foreach ((int py, int px) in new[] { (0, 0), (0, 4), (3, 0), (3, 4), (1, 2), (2, 0) })
        {
            var x = new Matrix<double>(20, 1);
            x[(py * 5) + px, 0] = 1;
            Matrix<double> y = Forward(layer, x);
            for (int oy = 0; oy < 4; oy++)
            {
                for (int ox = 0; ox < 5; ox++)
                {
                    // Y[oy, ox] = Σ W[i, j] X[oy + i − 1, ox + j − 1]: the pixel sits at i = py − oy + 1, j = px − ox + 1.
                    int i = py - oy + 1, j = px - ox + 1;
                    double expected = i is >= 0 and < 3 && j is >= 0 and < 3 ? (i * 3) + j + 1 : 0;
                    Assert.Equal(expected, y[(oy * 5) + ox, 0]);
                }
            }
        }
    }

    [Fact]
    public void ConvNetwork_GradientsMatchFiniteDifferences()
    {
        // conv 2×6×5 → 3×6×5 (same) → ReLU → max pool → 3×3×2 → dense → 4 classes, in double.
        var random = new Prng(11);
        Network<double> net = SmallConvNet(random);
        Matrix<double> x = TestData.Random<double>(60, 7, 12, -1, 1);
        ushort[] labels = TestData.Labels(7, 4, 13);
        GradientCheckResult result = GradientCheck.Run(net, x, labels);
        Assert.True(result.Checked > 100, $"only {result.Checked} coordinates checked");
        Assert.True(result.MaxRelativeError < 1e-6, $"max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
        Assert.True(result.MaxRelativeErrorByTensor.ContainsKey("layers.0.weight") && result.MaxRelativeErrorByTensor.ContainsKey("layers.0.bias"));
    }

    public sealed record GradientCase(int C, int H, int W, int O, int K, bool Same, int M, long Seed);

    public static class GradientGenerators
    {
        public static Arbitrary<GradientCase> Cases() =>
            (from c in Gen.Choose(1, 2)
             from h in Gen.Choose(2, 6)
             from w in Gen.Choose(2, 6)
             from o in Gen.Choose(1, 3)
             from same in Gen.Elements(true, false)
             from k in Gen.Elements(1, 2, 3)
             from m in Gen.Choose(1, 4)
             from seed in Gen.Choose(0, 1_000_000)
             where same ? k % 2 == 1 : k <= h - 1 && k <= w - 1
             select new GradientCase(c, h, w, o, k, same, m, seed)).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(GradientGenerators)], MaxTest = 25)]
    public void ConvPoolNetwork_RandomShapes_GradientsMatchFiniteDifferences(GradientCase s)
    {
        GradientCheckResult result = CheckConvPool(s);
        Assert.True(result.MaxRelativeError < 1e-5, $"{s}: max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");

        // Skipped corners (ReLU kinks, pool ties) are rare: most coordinates must really be checked.
        Assert.True(result.Checked >= 9 * (result.Checked + result.Skipped) / 10, $"{s}: only {result.Checked} of {result.Checked + result.Skipped} coordinates checked");
    }

    private static GradientCheckResult CheckConvPool(GradientCase s)
    {
        // conv → ReLU → conv (3 × 3, same) → max pool → dense → softmax in double, every parameter against centered
        // differences; the second convolution's input gradient reaches the first one's parameters.
        var conv = new Conv2D<double>(s.C, s.H, s.W, s.O, s.K, s.Same ? ConvolutionPadding.Same : ConvolutionPadding.Valid);
        var second = new Conv2D<double>(s.O, conv.OutputHeight, conv.OutputWidth, 2, 3);
        var pool = new MaxPool2D<double>(2, conv.OutputHeight, conv.OutputWidth);
        var net = new Network<double>([conv, new ReLU<double>(conv.OutputSize), second, pool, new Dense<double>(pool.OutputSize, 3), new SoftmaxCrossEntropy<double>(3)]);
        var random = new Prng(s.Seed);
        foreach (Layer<double> layer in net.Layers)
        {
            layer.Initialize(Initialization.Glorot, random);
        }

        conv.Bias.Value.FillUniform(-0.1, 0.1, random);
        Matrix<double> x = TestData.Random<double>(conv.InputSize, s.M, s.Seed + 1);
        return GradientCheck.Run(net, x, TestData.Labels(s.M, 3, s.Seed + 2), floor: DifferenceNoiseFloor);
    }

    // A centered difference of a loss L ≈ 1 in double with h = 1e-5 carries a rounding error of up to ≈ ε·L/h ≈ 2e-11,
    // so a relative error of 1e-5 can only be asked of gradients well above 2e-6. Behind a max pool and ReLUs many
    // first-layer weights reach the loss through one thin path: a draw (2×5×5, two 3 × 3 'valid' kernels, m = 2, seed
    // 878252) had a weight whose gradient was −7.077e-8 — centered differences with h = 1e-3 … 1e-6 gave −7.098e-8,
    // −7.0776e-8, −7.0766e-8, −7.072e-8, converging on it — and the default floor (1e-8) reported that rounding as a
    // relative error of 6e-5. With this floor, gradients below 1e-5 are held to an absolute error of 1e-10 (five times
    // the rounding) and every larger one to the relative 1e-5.
    private const double DifferenceNoiseFloor = 1e-5;

    [Fact]
    public void ConvPoolNetwork_AGradientNearZero_IsHeldToTheDifferencesNoise()
    {
        // The draw the property failed on with the default floor (see DifferenceNoiseFloor): a correct gradient of
        // −7.08e-8 whose centered difference is off by ≈ 8e-12 of rounding.
        GradientCheckResult result = CheckConvPool(new GradientCase(2, 5, 5, 2, 3, Same: false, 2, Seed: 878252));
        Assert.True(result.MaxRelativeError < 1e-5, $"max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
        Assert.Equal(85, result.Checked);
    }

    [Fact]
    public void ConvPoolNetwork_TiesInPoolWindows_AreSkippedNotFailed()
    {
        // A draw the property once failed on: one 1 × 1 kernel before ReLU zeroes whole neighbourhoods, so the second
        // convolution's outputs tie in pool windows (each equals its bias), and perturbing a first-layer parameter picks a
        // different winner on each side: the loss has a corner there, which the check must skip, not hold against the
        // analytic gradient.
        GradientCheckResult result = CheckConvPool(new GradientCase(1, 6, 4, 1, 1, Same: true, 3, Seed: 489032));
        Assert.True(result.MaxRelativeError < 1e-5, $"max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
        Assert.InRange(result.Skipped, 1, 4);
        Assert.Equal(61, result.Checked + result.Skipped);
    }

    [Fact]
    public void ConvNetwork_GradientCheck_NoticesAWrongConvolutionGradient()
    {
        var random = new Prng(11);
        Network<double> net = SmallConvNet(random);
        Matrix<double> x = TestData.Random<double>(60, 7, 12, -1, 1);
        ushort[] labels = TestData.Labels(7, 4, 13);
        var workspace = new NetworkWorkspace<double>(net, 7);
        net.ComputeGradients(x, labels, workspace);
        var gradients = workspace.Gradients.Select(g => g.Clone()).ToList();
        gradients[0][1, 4] *= 1.01;
        GradientCheckResult bad = GradientCheck.Compare(net, x, labels, gradients);
        Assert.Equal("layers.0.weight[1, 4]", bad.WorstParameter);
    }

    [Fact]
    public void ConvNetwork_OneAndTwoThreads_SameBits_AndAStepAllocatesNothing()
    {
        var net = new Network<float>([new Conv2D<float>(1, 28, 28, 8, 5), new ReLU<float>(8 * 784), new MaxPool2D<float>(8, 28, 28), new Dense<float>(8 * 196, 10), new SoftmaxCrossEntropy<float>(10)]);
        var random = new Prng(3);
        foreach (Layer<float> layer in net.Layers)
        {
            layer.Initialize(Initialization.He, random);
        }

        Matrix<float> x = TestData.Random<float>(784, 40, 4, 0, 1);
        ushort[] labels = TestData.Labels(40, 10, 5);
        var one = new NetworkWorkspace<float>(net, 40);
        var two = new NetworkWorkspace<float>(net, 40);
        double lossOne = Threads.Run(1, () => net.ComputeGradients(x, labels, one));
        double lossTwo = Threads.Run(2, () => net.ComputeGradients(x, labels, two));
        Assert.Equal(lossOne, lossTwo);
        for (int p = 0; p < net.Parameters.Count; p++)
        {
            Assert.True(TestData.SameBits(one.Gradients[p], two.Gradients[p]), net.Parameters[p].Name);
        }

        Assert.True(TestData.SameBits(one.InputGradients[1], two.InputGradients[1]), "the convolution's output gradient");
        var adam = new MnistNet.Training.Adam<float>(0.001);
        TestData.AssertNoAllocation(steps =>
        {
            for (int i = 0; i < steps; i++)
            {
                net.ComputeGradients(x, labels, one);
                adam.Step(net, one, 0.001);
            }
        });

        // The trainer's door (the batch gathered from a Dataset) through the cnn preset's layers, dropout included, on
        // one thread and on two.
        MnistNet.Data.Dataset data = MnistNet.Data.MnistDataset.Load(TestData.DataFolder).Train.Slice(0, 256);
        Network<float> cnn = NetworkSpec.Build<float>("conv8k5,pool,conv8k5,pool,dense32,dropout0.25", 1, 28, 28, 10, seed: 1);
        var workspace = new NetworkWorkspace<float>(cnn, 64);
        var cnnAdam = new MnistNet.Training.Adam<float>(0.001);
        int[] batch = [.. Enumerable.Range(0, 64)];

        // Its second convolution (8 → 8, 5 × 5) runs Winograd's transforms: the same bits on one thread and on two.
        Assert.True(WinogradKernels<float>.Supports(((Conv2D<float>)cnn.Layers[3]).Geometry, 8));
        var cnnTwo = new NetworkWorkspace<float>(cnn, 64);
        double cnnLossOne = Threads.Run(1, () => cnn.ComputeGradients(data, batch, workspace));
        double cnnLossTwo = Threads.Run(2, () => cnn.ComputeGradients(data, batch, cnnTwo));
        Assert.Equal(cnnLossOne, cnnLossTwo);
        for (int p = 0; p < cnn.Parameters.Count; p++)
        {
            Assert.True(TestData.SameBits(workspace.Gradients[p], cnnTwo.Gradients[p]), "cnn " + cnn.Parameters[p].Name);
        }

        foreach (int threads in new[] { 1, 2 })
        {
            Threads.Run(threads, () => TestData.AssertNoAllocation(steps =>
            {
                for (int i = 0; i < steps; i++)
                {
                    cnn.ComputeGradients(data, batch, workspace);
                    cnnAdam.Step(cnn, workspace, 0.001);
                }
            }));
        }
    }

    [Theory]
    [InlineData(1, 2, 2, 1)]
    [InlineData(2, 5, 4, 3)]
    [InlineData(3, 7, 7, 9)]
    [InlineData(1, 2, 9, 17)]
    public void MaxPool_TiesOddSizesAndEveryPath_MatchReference(int c, int h, int w, int m)
    {
        foreach (SimdPath path in Paths())
        {
            TestData.OnPath(path, () =>
            {
                // Values from a set of five, so windows often hold ties: the gradient goes to the first maximum only.
                var random = new Prng((c * 100) + (h * 10) + w);
                var x = new Matrix<float>(c * h * w, m);
                for (int r = 0; r < x.Rows; r++)
                {
                    for (int j = 0; j < m; j++)
                    {
                        x[r, j] = (int)(random.NextDouble() * 5) - 2;
                    }
                }

                var layer = new MaxPool2D<float>(c, h, w);
                Matrix<float> dy = TestData.Random<float>(layer.OutputSize, m, 7, -1, 1);
                (double[,] y, double[,] dx) = MaxPool(c, h, w, x, dy);
                var context = new LayerContext(m);
                context.Begin(m, default, training: true);
                var output = new Matrix<float>(layer.OutputSize, m);
                var inputGradient = new Matrix<float>(layer.InputSize, m);
                inputGradient.AsSpan().Fill(99);
                layer.Forward(context, x, output);
                layer.Backward(context, x, output, dy, inputGradient, []);
                AssertEqual(y, output, $"{path} Y");
                AssertEqual(dx, inputGradient, $"{path} dX");
            });
        }
    }

    [Fact]
    public void MaxPool_InfiniteGradientsOnTiedWindows_GoToTheFirstMaximumOnlyOnEveryPath()
    {
        // Every window ties at 1 (x0 and x2 hold it in even examples, x1 and x3 in odd ones); the gradients are ±∞: the first
        // maximum gets them unchanged and the other inputs exactly 0 — moving the gradient by arithmetic (g − g) would
        // leave NaN behind.
        foreach (SimdPath path in Paths())
        {
            TestData.OnPath(path, () =>
            {
                const int m = 37;
                var layer = new MaxPool2D<double>(1, 2, 2);
                var x = new Matrix<double>(4, m);
                var dy = new Matrix<double>(1, m);
                for (int e = 0; e < m; e++)
                {
                    (x[0, e], x[1, e], x[2, e], x[3, e]) = e % 2 == 0 ? (1, -1, 1, 0) : (0, 1, -1, 1);
                    dy[0, e] = e % 2 == 0 ? double.PositiveInfinity : double.NegativeInfinity;
                }

                var context = new LayerContext(m);
                context.Begin(m, default, training: true);
                var output = new Matrix<double>(1, m);
                var dx = new Matrix<double>(4, m);
                layer.Forward(context, x, output);
                layer.Backward(context, x, output, dy, dx, []);
                for (int e = 0; e < m; e++)
                {
                    int first = e % 2;
                    for (int i = 0; i < 4; i++)
                    {
                        Assert.Equal(i == first ? dy[0, e] : 0, dx[i, e]);
                    }
                }
            });
        }
    }

    [Fact]
    public void MaxPool_NaNWindow_GivesNaNAndNoGradient()
    {
        var layer = new MaxPool2D<double>(1, 2, 2);
        var x = new Matrix<double>(4, 2);
        x[0, 0] = 1;
        x[1, 0] = double.NaN;
        x[2, 1] = 3;
        var output = new Matrix<double>(1, 2);
        var dx = new Matrix<double>(4, 2);
        var dy = new Matrix<double>(1, 2);
        dy[0, 0] = 5;
        dy[0, 1] = 7;
        var context = new LayerContext(2);
        context.Begin(2, default, training: true);
        layer.Forward(context, x, output);
        layer.Backward(context, x, output, dy, dx, []);
        Assert.True(double.IsNaN(output[0, 0]));
        Assert.Equal(3, output[0, 1]);
        Assert.All(new[] { dx[0, 0], dx[1, 0], dx[2, 0], dx[3, 0] }, v => Assert.Equal(0, v));
        Assert.Equal(7, dx[2, 1]);
    }

    [Fact]
    public void Constructors_RejectBadShapes_WithTheParameterNamed()
    {
        Assert.Equal("kernelSize", Assert.Throws<ArgumentException>(() => new Conv2D<float>(1, 28, 28, 8, 4)).ParamName);
        Assert.Contains("odd", Assert.Throws<ArgumentException>(() => new Conv2D<float>(1, 28, 28, 8, 4)).Message, StringComparison.Ordinal);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentException>(() => new Conv2D<float>(1, 4, 9, 8, 5, ConvolutionPadding.Valid)).ParamName);
        Assert.Equal("inChannels", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(0, 28, 28, 8, 3)).ParamName);
        Assert.Equal("outChannels", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(1, 28, 28, 0, 3)).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(1, 28, 28, 2, 3, (ConvolutionPadding)7)).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2D<float>(1, 1, 4)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2D<float>(1, 4, 1)).ParamName);

        // Sizes, names and shapes as PyTorch writes them.
        var conv = new Conv2D<float>(3, 10, 8, 6, 5, ConvolutionPadding.Valid);
        Assert.Equal((3 * 10 * 8, 6 * 6 * 4), (conv.InputSize, conv.OutputSize));
        Assert.Equal([6, 3, 5, 5], conv.Weight.Shape);
        Assert.Equal([6], conv.Bias.Shape);
        Assert.Equal((6, 75), (conv.Weight.Value.Rows, conv.Weight.Value.Columns));
        Assert.Equal(6 * 5 * 4, new MaxPool2D<float>(6, 11, 8).OutputSize);
        Assert.Equal("conv 3×10×8→6×6×4 k5 valid", conv.ToString());
        Assert.Equal("conv 3×10×8→6×10×8 k5", new Conv2D<float>(3, 10, 8, 6, 5).ToString());
        Assert.Equal("maxpool 6×11×8→6×5×4", new MaxPool2D<float>(6, 11, 8).ToString());

        // A clone has the same shape and the same values, in its own storage.
        conv.Initialize(Initialization.Glorot, new Prng(4));
        for (int o = 0; o < 6; o++)
        {
            conv.Bias.Value[o, 0] = 0.5f + o;
        }

        Conv2D<float> copy = (Conv2D<float>)conv.Clone();
        Assert.Equal((conv.InChannels, conv.Height, conv.Width, conv.OutChannels, conv.KernelSize, conv.Padding), (copy.InChannels, copy.Height, copy.Width, copy.OutChannels, copy.KernelSize, copy.Padding));
        Assert.True(TestData.SameBits(conv.Weight.Value, copy.Weight.Value));
        Assert.True(TestData.SameBits(conv.Bias.Value, copy.Bias.Value));
        copy.Weight.Value[0, 0] += 1;
        Assert.False(TestData.SameBits(conv.Weight.Value, copy.Weight.Value));
    }

    [Fact]
    public void Constructors_SayWhatIsWrong()
    {
        Assert.StartsWith("Padding must be Valid or Same.", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(1, 28, 28, 2, 3, (ConvolutionPadding)7)).Message, StringComparison.Ordinal);
        Assert.StartsWith("A 5 × 5 kernel does not fit a 4 × 9 image without padding.", Assert.Throws<ArgumentException>(() => new Conv2D<float>(1, 4, 9, 8, 5, ConvolutionPadding.Valid)).Message, StringComparison.Ordinal);
        ArgumentException large = Assert.Throws<ArgumentException>(() => new Conv2D<float>(65536, 65536, 1, 1, 1));
        Assert.Equal("inChannels", large.ParamName);
        Assert.StartsWith("A convolution of 65536 × 65536 × 1 inputs into 1 channels is too large.", large.Message, StringComparison.Ordinal);
        Assert.Equal("inChannels", Assert.Throws<ArgumentException>(() => new Conv2D<float>(65536, 1, 1, 1, 257)).ParamName);
        Assert.Equal("inChannels", Assert.Throws<ArgumentException>(() => new Conv2D<float>(4096, 1024, 1024, 1, 1)).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(1, 0, 28, 2, 3)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(1, 28, 0, 2, 3)).ParamName);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2D<float>(1, 28, 28, 2, 0)).ParamName);

        // Weight decay applies to the kernels, not to the biases (as for dense layers).
        var decaying = new Conv2D<float>(1, 6, 6, 2, 3);
        Assert.True(decaying.Weight.Decays);
        Assert.False(decaying.Bias.Decays);
        Assert.Equal("inChannels", Assert.Throws<ArgumentException>(() => new Conv2D<float>(1, 1024, 1024, 4096, 1)).ParamName);
        ArgumentException pool = Assert.Throws<ArgumentException>(() => new MaxPool2D<float>(1024, 65536, 64));
        Assert.Equal("channels", pool.ParamName);
        Assert.StartsWith("1024 × 65536 × 64 inputs are too many.", pool.Message, StringComparison.Ordinal);
        Assert.Equal("channels", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2D<float>(0, 4, 4)).ParamName);
        ArgumentOutOfRangeException rate = Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout<float>(4, 1.0));
        Assert.Equal("rate", rate.ParamName);
        Assert.StartsWith("The dropout rate must be in [0, 1).", rate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Initialize_DrawsFromTheKernelsFanInAndFanOut()
    {
        // Fan-in C·k·k = 3·5·5 = 75, fan-out O·k·k = 4·25 = 100 (as PyTorch counts them): every weight within the
        // scheme's limit and the largest of the 300 near it (each draw is below 0.9 × the limit with probability 0.9).
        foreach ((Initialization scheme, double limit) in new[] { (Initialization.FanInUniform, 1 / Math.Sqrt(75)), (Initialization.Glorot, Math.Sqrt(6.0 / (75 + 100))) })
        {
            var conv = new Conv2D<double>(3, 8, 8, 4, 5);
            conv.Initialize(scheme, new Prng(9));
            double largest = conv.Weight.Value.AsSpan().ToArray().Max(Math.Abs);
            Assert.InRange(largest, 0.9 * limit, limit);
        }
    }

    private static Network<double> SmallConvNet(Prng random)
    {
        var net = new Network<double>([new Conv2D<double>(2, 6, 5, 3, 3), new ReLU<double>(90), new MaxPool2D<double>(3, 6, 5), new Dense<double>(18, 4), new SoftmaxCrossEntropy<double>(4)]);
        foreach (Layer<double> layer in net.Layers)
        {
            layer.Initialize(Initialization.Glorot, random);
        }

        // Non-zero biases, so that a bias dropped from the forward pass shows.
        for (int o = 0; o < 3; o++)
        {
            ((Conv2D<double>)net.Layers[0]).Bias.Value[o, 0] = 0.1 * (o + 1);
        }

        return net;
    }

    private static IEnumerable<SimdPath> Paths() => TestData.AcceleratedPaths().Select(row => row.Data);

    private static Matrix<double> Forward(Conv2D<double> layer, Matrix<double> x)
    {
        var context = new LayerContext(x.Columns);
        context.Begin(x.Columns, default, training: false);
        var y = new Matrix<double>(layer.OutputSize, x.Columns);
        layer.Forward(context, x, y);
        return y;
    }

    private static void CheckConv<T>(ConvCase s, bool winograd = false)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var layer = new Conv2D<T>(s.C, s.H, s.W, s.O, s.K, s.Same ? ConvolutionPadding.Same : ConvolutionPadding.Valid);
        var shape = new ConvShape(s.C, s.H, s.W, s.O, s.K, layer.Pad);
        Matrix<T> x = TestData.Random<T>(layer.InputSize, s.M, s.Seed);
        TestData.Random<T>(s.O, s.C * s.K * s.K, s.Seed + 1).CopyTo(layer.Weight.Value);
        TestData.Random<T>(s.O, 1, s.Seed + 2).CopyTo(layer.Bias.Value);
        Matrix<T> dy = TestData.Random<T>(layer.OutputSize, s.M, s.Seed + 3);
        var context = new LayerContext(s.M);
        context.Begin(s.M, default, training: true);
        var y = new Matrix<T>(layer.OutputSize, s.M);
        var dw = new Matrix<T>(s.O, s.C * s.K * s.K);
        var db = new Matrix<T>(s.O, 1);
        var dx = new Matrix<T>(layer.InputSize, s.M);

        // Gradients start as garbage: the layer must overwrite them, not add to them.
        dw.AsSpan().Fill(T.CreateTruncating(123));
        db.AsSpan().Fill(T.CreateTruncating(123));
        dx.AsSpan().Fill(T.CreateTruncating(123));
        layer.Forward(context, x, y);
        layer.Backward(context, x, y, dy, dx, [dw, db]);

        double eps = TestData.Epsilon<T>();
        string what = $"{typeof(T).Name} {MnistNetRuntime.EffectiveSimdPath} {s}";
        (double[,] value, double[,] magnitude) = ConvForward(shape, x, layer.Weight.Value, layer.Bias.Value);
        var r = ConvBackward(shape, x, layer.Weight.Value, dy);
        if (winograd)
        {
            // Winograd's rounding is bounded by the magnitudes of its transformed terms (ReferenceLayers.WinogradMagnitude):
            // (C + 16)·ε·that, and the input gradient the same with the output gradient as the image and the kernels flipped.
            AssertWithin(value, WinogradMagnitude(shape, x, layer.Weight.Value, layer.Bias.Value), y, s.C + 16, eps, "Y " + what);
            var flipped = new Matrix<T>(s.C, s.O * s.K * s.K);
            for (int c = 0; c < s.C; c++)
            {
                for (int o = 0; o < s.O; o++)
                {
                    for (int i = 0; i < s.K * s.K; i++)
                    {
                        flipped[c, (o * s.K * s.K) + i] = layer.Weight.Value[o, (c * s.K * s.K) + (s.K * s.K) - 1 - i];
                    }
                }
            }

            var back = new ConvShape(s.O, shape.OutH, shape.OutW, s.C, s.K, s.K - 1 - layer.Pad);
            AssertWithin(r.DX, WinogradMagnitude(back, dy, flipped, null), dx, s.O + 16, eps, "dX " + what);
        }
        else
        {
            AssertWithin(value, magnitude, y, (s.C * s.K * s.K) + 3, eps, "Y " + what);
        }

        int positions = shape.OutH * shape.OutW;
        int sumLength = (s.M * positions) + 4;
        if (winograd)
        {
            // Each dW element is a chain of multiply-adds over every tile and example (padded to whole lane blocks), then
            // the transforms' few roundings: (tiles · padded examples + 16)·ε·the transformed terms' magnitude, of the
            // unscaled sums (the layer scales by 1/m afterwards, exactly for a power of two and within ε otherwise).
            int size = 7 - s.K;
            int tiles = ((shape.OutH + size - 1) / size) * ((shape.OutW + size - 1) / size);
            int padded = (s.M + 31) / 32 * 32;
            double[,] bound = WinogradWeightMagnitude(shape, x, dy);
            for (int i = 0; i < bound.GetLength(0); i++)
            {
                for (int j = 0; j < bound.GetLength(1); j++)
                {
                    bound[i, j] /= s.M;
                }
            }

            AssertWithin(r.DW, bound, dw, (tiles * padded) + 16, eps, "dW " + what);
        }
        else
        {
            AssertWithin(r.DW, r.DWMagnitude, dw, sumLength, eps, "dW " + what);
        }

        AssertWithin(To2D(r.DB), To2D(r.DBMagnitude), db, sumLength, eps, "db " + what);
        if (!winograd)
        {
            AssertWithin(r.DX, r.DXMagnitude, dx, (s.O * s.K * s.K) + 3, eps, "dX " + what);
        }
    }

    private static double[,] To2D(double[] v)
    {
        var result = new double[v.Length, 1];
        for (int i = 0; i < v.Length; i++)
        {
            result[i, 0] = v[i];
        }

        return result;
    }

    /// <summary>|expected − actual| ≤ (n + 2)·ε·Σ|terms| + a denormal's worth, element by element.</summary>
    private static void AssertWithin<T>(double[,] expected, double[,] magnitude, Matrix<T> actual, int n, double eps, string what)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.GetLength(0), actual.Rows);
        Assert.Equal(expected.GetLength(1), actual.Columns);
        for (int i = 0; i < actual.Rows; i++)
        {
            for (int j = 0; j < actual.Columns; j++)
            {
                double a = double.CreateTruncating(actual[i, j]);
                double tolerance = ((n + 2) * eps * magnitude[i, j]) + 1e-300;
                Assert.True(Math.Abs(expected[i, j] - a) <= tolerance, $"{what}: [{i},{j}] = {a}, reference {expected[i, j]}, tolerance {tolerance}");
            }
        }
    }

    private static void AssertEqual(double[,] expected, Matrix<float> actual, string what)
    {
        for (int i = 0; i < actual.Rows; i++)
        {
            for (int j = 0; j < actual.Columns; j++)
            {
                Assert.True(expected[i, j].Equals(actual[i, j]), $"{what}: [{i},{j}] = {actual[i, j]}, reference {expected[i, j]}");
            }
        }
    }
}
