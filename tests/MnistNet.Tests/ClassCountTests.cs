using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>More classes than digits: an EMNIST-letters-like data set (labels 1–26, so 27 outputs) end to end.</summary>
public sealed class ClassCountTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-emnist-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void LettersLikeData_LoadsFromIdxFiles_TrainsEvaluatesSavesAndLoads()
    {
        (byte[] trainPixels, byte[] trainLabels) = Letters(3000, seed: 1);
        (byte[] testPixels, byte[] testLabels) = Letters(600, seed: 2);
        IdxWriter.Write(Path.Combine(_folder, "train-images-idx3-ubyte.gz"), IdxFile.Create<byte>([3000, 28, 28], trainPixels));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte.gz"), IdxFile.Create<byte>([3000], trainLabels));
        IdxWriter.Write(Path.Combine(_folder, "t10k-images-idx3-ubyte.gz"), IdxFile.Create<byte>([600, 28, 28], testPixels));
        IdxWriter.Write(Path.Combine(_folder, "t10k-labels-idx1-ubyte.gz"), IdxFile.Create<byte>([600], testLabels));

        MnistDataset letters = MnistDataset.Load(_folder);
        Assert.Equal(27, letters.Train.ClassCount);
        var net = new DenseNetwork<float>([784, 64, letters.Train.ClassCount], seed: 1);
        Assert.True(net.UsesSparseInput(letters.Train, InputMode.Auto));
        new Trainer<float>(net, Optimizers.Create<float>("adam", 0.005), new TrainingOptions { Epochs = 4, BatchSize = 100, Seed = 2 })
            .Fit(letters.Train, cancellationToken: TestContext.Current.CancellationToken);

        var metrics = net.Evaluate(letters.Test!);
        Assert.True(metrics.Accuracy > 0.9, $"test accuracy {metrics.Accuracy:F3} on 26 letters");
        Assert.Equal(27, metrics.Classes);
        Assert.Contains(net.Predict(letters.Test!), p => p >= 10);

        string model = Path.Combine(_folder, "letters.safetensors");
        net.Save(model);
        DenseNetwork<float> loaded = DenseNetwork<float>.Load(model);
        Assert.Equal("784-64-27", loaded.Architecture);
        Assert.Equal(net.Predict(letters.Test!), loaded.Predict(letters.Test!));
    }

    [Fact]
    public void ThousandsOfClasses_LabelsAbove255_TrainAndPredict()
    {
        // 1 000 classes (labels up to 999, beyond a byte): each class is one pixel of a 40 × 25 image.
        const int classes = 1000;
        var random = new Prng(3);
        int count = 4000;
        byte[] pixels = new byte[count * classes];
        ushort[] labels = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (ushort)(i < classes ? i : random.NextInt32(classes));
            pixels[(i * classes) + labels[i]] = 255;
        }

        var data = new Dataset(pixels, labels, 40, 25);
        Assert.Equal(classes, data.ClassCount);
        var net = new DenseNetwork<float>([classes, classes], seed: 1);
        new Trainer<float>(net, new Adam<float>(0.05), new TrainingOptions { Epochs = 8, BatchSize = 100, Seed = 1 })
            .Fit(data, cancellationToken: TestContext.Current.CancellationToken);
        var metrics = net.Evaluate(data);
        Assert.True(metrics.Accuracy > 0.99, $"accuracy {metrics.Accuracy:F3} over {classes} classes");
        Assert.Contains(net.Predict(data), p => p > 255);

        string model = Path.Combine(_folder, "thousand.safetensors");
        net.Save(model);
        Assert.Equal(net.Predict(data), DenseNetwork<float>.Load(model).Predict(data));
    }

    /// <summary>Class c in 1–26 inks cell (c mod 7, c / 7) of a 7 × 4 grid of 4 × 7-pixel cells, plus noise.</summary>
    private static (byte[] Pixels, byte[] Labels) Letters(int count, long seed)
    {
        var random = new Prng(seed);
        byte[] pixels = new byte[count * 784];
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int label = 1 + random.NextInt32(26);
            labels[i] = (byte)label;
            for (int p = 0; p < 784; p++)
            {
                int row = p / 28;
                int column = p % 28;
                bool cell = row / 4 == label % 7 && column / 7 == label / 7;
                bool ink = cell ? random.NextDouble() < 0.7 : random.NextDouble() < 0.05;
                pixels[(i * 784) + p] = ink ? (byte)(100 + random.NextInt32(156)) : (byte)0;
            }
        }

        return (pixels, labels);
    }
}
