using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// <see cref="Augmentation"/>: the geometry (identity, whole-pixel shifts exactly, a quarter turn, a zoom), draws that
/// depend on the seed only, and training runs that repeat and resume bit for bit with distortions on.
/// </summary>
[Collection(SerialTestGroup.Name)]
public sealed class AugmentationTests
{
    private static readonly Augmentation None = new() { MaxShift = 0, MaxRotation = 0, MaxScale = 0 };

    [Fact]
    public void Transform_Identity_AndWholePixelShifts_AreExact()
    {
        Matrix<double> images = TestData.Random<double>(6 * 5, 3, 1, 0, 1);
        Matrix<double> original = images.Clone();
        var augmenter = new Augmenter<double>(None, rows: 6, columns: 5);
        augmenter.Apply(images, 3, seed: 9);
        Assert.True(TestData.SameBits(original, images), "no distortion must change nothing");

        // Shifted right by 2 and up by 1: output (y, x) is input (y + 1, x − 2), 0 where that is outside.
        augmenter.Transform(images, 1, shiftX: 2, shiftY: -1, angle: 0, scale: 1);
        for (int y = 0; y < 6; y++)
        {
            for (int x = 0; x < 5; x++)
            {
                int sy = y + 1, sx = x - 2;
                double expected = sy < 6 && sx >= 0 ? original[(sy * 5) + sx, 1] : 0;
                Assert.Equal(expected, images[(y * 5) + x, 1]);
                Assert.Equal(original[(y * 5) + x, 0], images[(y * 5) + x, 0]);   // other columns untouched
            }
        }
    }

    [Fact]
    public void Transform_QuarterTurnAndZoom_MoveThePixelsWhereTheGeometrySays()
    {
        Matrix<double> images = TestData.Random<double>(7 * 7, 2, 2, 0, 1);
        Matrix<double> original = images.Clone();
        var augmenter = new Augmenter<double>(None, rows: 7, columns: 7);

        // +90°: output (y, x) samples input (x', y') = (cx + (y − cy), cy − (x − cx)).
        augmenter.Transform(images, 0, 0, 0, Math.PI / 2, 1);
        for (int y = 0; y < 7; y++)
        {
            for (int x = 0; x < 7; x++)
            {
                int sx = 3 + (y - 3), sy = 3 - (x - 3);
                Assert.Equal(original[(sy * 7) + sx, 0], images[(y * 7) + x, 0], 12);
            }
        }

        // Twice the size: output (y, x) samples input (cx + (x − cx) / 2, cy + (y − cy) / 2); at (1, 5) that is (4, 2).
        augmenter.Transform(images, 1, 0, 0, 0, 2);
        Assert.Equal(original[(2 * 7) + 4, 1], images[(1 * 7) + 5, 1], 12);
        Assert.Equal(original[(3 * 7) + 3, 1], images[(3 * 7) + 3, 1], 12);
        double between = (original[(2 * 7) + 4, 1] + original[(2 * 7) + 5, 1]) / 2;   // output x = 6 → input x = 4.5
        Assert.Equal(between, images[(1 * 7) + 6, 1], 12);
    }

    [Fact]
    public void Apply_DrawsFromTheSeedOnly_AndTouchesOnlyTheCountedColumns()
    {
        Matrix<float> images = MnistDataset.Load(TestData.DataFolder).Train.Slice(0, 8).Pixels<float>();
        foreach (Augmentation settings in new[] { Augmentation.Default, new Augmentation { ElasticAlpha = 34, ElasticSigma = 4 } })
        {
            var augmenter = new Augmenter<float>(settings, 28, 28);
            Matrix<float> a = images.Clone(), b = images.Clone(), c = images.Clone();
            augmenter.Apply(a, 6, seed: 1);
            augmenter.Apply(b, 6, seed: 1);
            new Augmenter<float>(settings, 28, 28).Apply(c, 6, seed: 2);
            Assert.True(TestData.SameBits(a, b), $"{settings}: same seed, other images");
            Assert.False(TestData.SameBits(a, c), $"{settings}: another seed, the same images");
            for (int j = 0; j < 8; j++)
            {
                double before = 0, after = 0;
                bool changed = false;
                for (int p = 0; p < 784; p++)
                {
                    before += images[p, j];
                    after += a[p, j];
                    changed |= images[p, j] != a[p, j];
                }

                // Columns 6 and 7 are past the count; the others changed, their ink kept within what ±10 % scaling does.
                Assert.Equal(j < 6, changed);
                Assert.InRange(after, 0.7 * before, 1.3 * before);
            }
        }
    }

    [Fact]
    public void Training_WithAugmentation_RepeatsOnOneAndTwoThreads_AndResumesToTheSameBits()
    {
        Dataset data = MnistDataset.Load(TestData.DataFolder).Train.Slice(0, 400);
        TrainingOptions Options(string? checkpoint) => new() { Epochs = 2, BatchSize = 50, Seed = 5, Augmentation = Augmentation.Default, CheckpointPath = checkpoint };
        Network<float> Fresh() => NetworkSpec.Build<float>("dense128", 1, 28, 28, 10, seed: 1);

        Network<float> one = Fresh(), two = Fresh(), plain = Fresh();
        Threads.Run(1, () => new Trainer<float>(one, new Adam<float>(0.01), Options(null)).Fit(data));
        Threads.Run(2, () => new Trainer<float>(two, new Adam<float>(0.01), Options(null)).Fit(data));
        new Trainer<float>(plain, new Adam<float>(0.01), new TrainingOptions { Epochs = 2, BatchSize = 50, Seed = 5 }).Fit(data, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(TestData.SameBits(one.Parameters[0].Value, two.Parameters[0].Value), "1 vs 2 threads");
        Assert.False(TestData.SameBits(one.Parameters[0].Value, plain.Parameters[0].Value), "augmentation changed nothing");

        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-augment-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cancel = new CancellationTokenSource();
            var options = new TrainingOptions { Epochs = 2, BatchSize = 50, Seed = 5, Augmentation = Augmentation.Default, CheckpointPath = path, Progress = new Stop(cancel) };
            var first = new Trainer<float>(Fresh(), new Adam<float>(0.01), options);
            Assert.Throws<OperationCanceledException>(() => first.Fit(data, cancellationToken: cancel.Token));
            Trainer<float> resumed = Trainer<float>.Resume(path, Options(path));
            Assert.Equal(8, resumed.Steps);
            resumed.Fit(data, cancellationToken: TestContext.Current.CancellationToken);
            for (int p = 0; p < one.Parameters.Count; p++)
            {
                Assert.True(TestData.SameBits(one.Parameters[p].Value, resumed.Network.Parameters[p].Value), one.Parameters[p].Name);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Training_DrawsNewDistortionsEveryStep()
    {
        // Full batches of the same ten images: each step's first layer must see another distortion of them.
        Dataset data = MnistDataset.Load(TestData.DataFolder).Train.Slice(0, 10);
        var recorder = new Recorder();
        var net = new Network<float>([recorder, new MnistNet.Layers.Dense<float>(784, 10), new MnistNet.Layers.SoftmaxCrossEntropy<float>(10)]);
        new Trainer<float>(net, new Adam<float>(0.01), new TrainingOptions { Epochs = 3, BatchSize = 0, Shuffle = false, Augmentation = Augmentation.Default })
            .Fit(data, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(3, recorder.Seen.Count);
        float[] original = [.. Enumerable.Range(0, 784).Select(p => data.Pixels<float>()[p, 0])];
        Assert.NotEqual(original, recorder.Seen[0]);
        Assert.NotEqual(recorder.Seen[0], recorder.Seen[1]);
        Assert.NotEqual(recorder.Seen[1], recorder.Seen[2]);
    }

    /// <summary>An identity layer that keeps the first column of every training pass's input.</summary>
    private sealed class Recorder : MnistNet.Layers.Layer<float>
    {
        public List<float[]> Seen { get; } = [];

        public override int InputSize => 784;

        public override int OutputSize => 784;

        public override MnistNet.Layers.Layer<float> Clone() => new Recorder();

        public override string ToString() => "recorder";

        protected internal override void Forward(MnistNet.Layers.LayerContext context, Matrix<float> input, Matrix<float> output)
        {
            if (context.Training)
            {
                Seen.Add([.. Enumerable.Range(0, 784).Select(p => input[p, 0])]);
            }

            input.CopyTo(output);
        }

        protected internal override void Backward(MnistNet.Layers.LayerContext context, Matrix<float> input, Matrix<float> output, Matrix<float>? outputGradient, Matrix<float>? inputGradient, ReadOnlySpan<Matrix<float>> parameterGradients)
        {
            if (inputGradient is not null)
            {
                outputGradient!.CopyTo(inputGradient);
            }
        }
    }

    [Theory]
    [InlineData(34, 4, 11, 9)]
    [InlineData(8, 1.5, 6, 13)]
    [InlineData(1, 0.3, 5, 4)]
    public void ElasticFields_AreTheDefinitionsFields_AndMoveEachPixelByThem(double alpha, double sigma, int rows, int columns)
    {
        // The definition (Simard et al., 2003): uniform ±1 per pixel, convolved with a normalised Gaussian of σ cut at
        // ⌈3σ⌉ (here as one 2-D sum, 0 beyond the border), times α.
        var augmenter = new Augmenter<double>(None with { ElasticAlpha = alpha, ElasticSigma = sigma }, rows, columns);
        (double[] fx, double[] fy) = augmenter.DrawFields(seed: 21);
        var random = new Prng(21);
        int n = rows * columns, radius = (int)Math.Ceiling(3 * sigma);
        double[] noiseX = [.. Enumerable.Range(0, n).Select(_ => (2 * random.NextDouble()) - 1)];
        double[] noiseY = [.. Enumerable.Range(0, n).Select(_ => (2 * random.NextDouble()) - 1)];
        double norm = Enumerable.Range(-radius, (2 * radius) + 1).Sum(d => Math.Exp(-d * d / (2 * sigma * sigma)));
        double Smoothed(double[] noise, int y, int x)
        {
            double sum = 0;
            for (int dy = -radius; dy <= radius; dy++)
            {
                for (int dx = -radius; dx <= radius; dx++)
                {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < rows && xx >= 0 && xx < columns)
                    {
                        sum += Math.Exp(-((dy * dy) + (dx * dx)) / (2 * sigma * sigma)) / (norm * norm) * noise[(yy * columns) + xx];
                    }
                }
            }

            return alpha * sum;
        }

        for (int y = 0; y < rows; y++)
        {
            for (int x = 0; x < columns; x++)
            {
                Assert.Equal(Smoothed(noiseX, y, x), fx[(y * columns) + x], 1e-12);
                Assert.Equal(Smoothed(noiseY, y, x), fy[(y * columns) + x], 1e-12);
            }
        }

        Assert.Contains(fx, v => Math.Abs(v) > 1e-3 * alpha);

        // With no geometric change, output (y, x) is the input sampled (bilinearly, 0 outside) at (x + fx, y + fy).
        Matrix<double> images = TestData.Random<double>(n, 1, 4, 0, 1);
        Matrix<double> original = images.Clone();
        augmenter.Transform(images, 0, 0, 0, 0, 1);
        double Pixel(int x, int y) => x < 0 || y < 0 || x >= columns || y >= rows ? 0 : original[(y * columns) + x, 0];
        for (int y = 0; y < rows; y++)
        {
            for (int x = 0; x < columns; x++)
            {
                double sx = x + fx[(y * columns) + x], sy = y + fy[(y * columns) + x];
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                double ax = sx - x0, ay = sy - y0;
                double expected = ((1 - ax) * (1 - ay) * Pixel(x0, y0)) + (ax * (1 - ay) * Pixel(x0 + 1, y0)) + ((1 - ax) * ay * Pixel(x0, y0 + 1)) + (ax * ay * Pixel(x0 + 1, y0 + 1));
                Assert.Equal(expected, images[(y * columns) + x, 0], 1e-12);
            }
        }
    }

    [Fact]
    public void Settings_AtTheirLimits_AreAccepted_AndOutsideThemRefusedWithTheRange()
    {
        new Augmentation { MaxShift = 100, MaxRotation = 180, MaxScale = 0.9, ElasticAlpha = 1000, ElasticSigma = 100 }.Validate();
        new Augmentation { MaxShift = 0, MaxRotation = 0, MaxScale = 0, ElasticAlpha = 0, ElasticSigma = 1e-9 }.Validate();
        ArgumentOutOfRangeException shift = Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation { MaxShift = 100.5 }.Validate());
        Assert.StartsWith("MaxShift must be in [0, 100].", shift.Message, StringComparison.Ordinal);
        ArgumentOutOfRangeException sigma = Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation { ElasticSigma = 100.5 }.Validate());
        Assert.Equal(nameof(Augmentation.ElasticSigma), sigma.ParamName);
        Assert.StartsWith("ElasticSigma must be in (0, 100].", sigma.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(Augmentation.MaxScale))]
    [InlineData(nameof(Augmentation.MaxShift))]
    [InlineData(nameof(Augmentation.ElasticSigma))]
    public void BadSettings_AreRefusedWhenTheTrainerIsMade(string name)
    {
        Augmentation bad = name switch
        {
            nameof(Augmentation.MaxScale) => new() { MaxScale = 1 },
            nameof(Augmentation.MaxShift) => new() { MaxShift = double.NaN },
            _ => new() { ElasticSigma = 0 },
        };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer<float>(new DenseNetwork<float>([784, 10]), new Adam<float>(0.01), new TrainingOptions { Augmentation = bad }));
        Assert.Equal(name, error.ParamName);
    }

    /// <summary>Cancels after the first epoch's report.</summary>
    private sealed class Stop(CancellationTokenSource cancel) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => cancel.Cancel();
    }
}
