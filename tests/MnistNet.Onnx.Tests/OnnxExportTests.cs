using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MnistNet.Data;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Onnx;
using MnistNet.Training;

namespace MnistNet.Onnx.Tests;

/// <summary>A small network trained once on the bundled MNIST data, shared by the tests.</summary>
public sealed class TrainedModel
{
    public TrainedModel()
    {
        Mnist = MnistDataset.Load(BundledData.MnistFolder);
        Network = new DenseNetwork<float>([784, 64, 32, 10], seed: 3);
        new Trainer<float>(Network, new Adam<float>(0.002), new TrainingOptions { Epochs = 1, BatchSize = 128, Seed = 3 })
            .Fit(Mnist.Train.Slice(0, 20000));
        Test = Mnist.Test!.Slice(0, 1000);
    }

    public MnistDataset Mnist { get; }

    public DenseNetwork<float> Network { get; }

    public Dataset Test { get; }
}

public sealed class OnnxExportTests(TrainedModel model) : IClassFixture<TrainedModel>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-onnx-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ExportedModel_InOnnxRuntime_GivesMnistNetsProbabilities_On1000TestImages()
    {
        string path = Path.Combine(_folder, "model.onnx");
        model.Network.ExportOnnx(path);

        Matrix<float> x = model.Test.Pixels<float>();                 // 784 × 1000, one image per column
        Matrix<float> expected = Probabilities(model.Network, x);   // 10 × 1000
        float[,] actual = RunOnnx(path, x, 0, x.Columns);              // 1000 × 10, one image per row

        double worst = 0;
        for (int j = 0; j < x.Columns; j++)
        {
            for (int c = 0; c < 10; c++)
            {
                worst = Math.Max(worst, Math.Abs(actual[j, c] - expected[c, j]));
            }
        }

        Assert.True(worst <= 1e-5, $"largest difference {worst:E2}");
        Assert.True(model.Network.Evaluate(model.Test).Accuracy > 0.85, "the trained model should be good enough for the comparison to mean something");
    }

    [Fact]
    public void ExportedModel_HasADynamicBatch_OneImageAndSevenImagesRun()
    {
        string path = Path.Combine(_folder, "model.onnx");
        model.Network.ExportOnnx(path);
        Matrix<float> x = model.Test.Pixels<float>();
        Matrix<float> expected = Probabilities(model.Network, x);
        foreach ((int start, int count) in new[] { (0, 1), (10, 7) })
        {
            float[,] actual = RunOnnx(path, x, start, count);
            Assert.Equal(count, actual.GetLength(0));
            for (int j = 0; j < count; j++)
            {
                for (int c = 0; c < 10; c++)
                {
                    Assert.True(Math.Abs(actual[j, c] - expected[c, start + j]) <= 1e-5);
                }
            }
        }
    }

    [Fact]
    public void ExportedModel_DeclaresOpset17_GemmReluSoftmax_AndMetadata()
    {
        string path = Path.Combine(_folder, "model.onnx");
        model.Network.ExportOnnx(path);
        using var session = new InferenceSession(path);
        Assert.Equal([-1, 784], session.InputMetadata[OnnxExport.InputName].Dimensions);
        Assert.Equal([-1, 10], session.OutputMetadata[OnnxExport.OutputName].Dimensions);
        ModelMetadata metadata = session.ModelMetadata;
        Assert.Equal("MnistNet", metadata.ProducerName);
        Assert.Equal(model.Network.Architecture, metadata.CustomMetadataMap["architecture"]);
        Assert.Equal("0.3.0", metadata.CustomMetadataMap["mnistnet_version"]);

        byte[] bytes = File.ReadAllBytes(path);
        string text = System.Text.Encoding.ASCII.GetString(bytes);
        Assert.Equal(3, CountOf(text, "Gemm"));
        Assert.Equal(2, CountOf(text, "Relu"));
        Assert.Equal(1, CountOf(text, "Softmax"));
    }

    [Fact]
    public void DoubleNetwork_ExportsAsDouble_AndMatches()
    {
        var net = new DenseNetwork<double>([784, 16, 10], seed: 5);
        string path = Path.Combine(_folder, "double.onnx");
        net.ExportOnnx(path);
        Matrix<double> x = model.Test.Slice(0, 50).Pixels<double>();
        Matrix<double> expected = Probabilities(net, x);
        using var session = new InferenceSession(path);
        var input = new DenseTensor<double>([x.Columns, 784]);
        for (int j = 0; j < x.Columns; j++)
        {
            for (int k = 0; k < 784; k++)
            {
                input[j, k] = x[k, j];
            }
        }

        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, input)]);
        Tensor<double> output = results[0].AsTensor<double>();
        for (int j = 0; j < x.Columns; j++)
        {
            for (int c = 0; c < 10; c++)
            {
                Assert.True(Math.Abs(output[j, c] - expected[c, j]) <= 1e-12);
            }
        }
    }

    [Theory]
    [InlineData("conv4k3,pool,conv8k3valid,pool,dense32,dropout0.25", 28, 28)]
    [InlineData("pool,conv3k5,dense12", 28, 28)]
    [InlineData("conv2k1,pool", 28, 28)]
    [InlineData("conv4k3,pool,conv4k5valid,dense16", 14, 56)]
    public void ConvolutionalNetwork_InOnnxRuntime_GivesMnistNetsProbabilities(string stack, int height, int width)
    {
        // Convolutions (same and valid), pooling, dropout (left out), and the reshapes between rows of pixels and images;
        // 14 × 56 reads MNIST's 784 pixels as wide images, so that rows and columns cannot be swapped unnoticed.
        Network<float> network = NetworkSpec.Build<float>(stack, 1, height, width, 10, seed: 4);
        new Trainer<float>(network, new Adam<float>(0.002), new TrainingOptions { Epochs = 1, BatchSize = 128, Seed = 3 })
            .Fit(model.Mnist.Train.Slice(0, 6000), cancellationToken: TestContext.Current.CancellationToken);
        string path = Path.Combine(_folder, "cnn.onnx");
        network.ExportOnnx(path);

        Matrix<float> x = model.Test.Slice(0, 200).Pixels<float>();
        Matrix<float> expected = Probabilities(network, x);
        float[,] actual = RunOnnx(path, x, 0, x.Columns);
        double worst = 0;
        for (int j = 0; j < x.Columns; j++)
        {
            for (int c = 0; c < 10; c++)
            {
                worst = Math.Max(worst, Math.Abs(actual[j, c] - expected[c, j]));
            }
        }

        Assert.True(worst <= 1e-5, $"{stack}: largest difference {worst:E2}");
        double accuracy = network.Evaluate(model.Test).Accuracy;
        Assert.True(accuracy > 0.7, $"{stack}: accuracy {accuracy:F3}; the trained model should be good enough for the comparison to mean something");
    }

    [Fact]
    public void NetworkWithAnUnknownLayer_IsRefused_NamingIt_AndWritesNothing()
    {
        var network = new Network<float>([new Dense<float>(784, 10), new Halve(10), new SoftmaxCrossEntropy<float>(10)]);
        var error = Assert.Throws<NotSupportedException>(() => network.ExportOnnx(Path.Combine(_folder, "x.onnx")));
        Assert.Contains("layer 1 (halve)", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void FailedExport_LeavesThePreviousFileIntact_AndNamesThePath()
    {
        string missing = Path.Combine(_folder, "no-such-folder", "model.onnx");
        var error = Assert.Throws<DirectoryNotFoundException>(() => model.Network.ExportOnnx(missing));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    private static Matrix<T> Probabilities<T>(Network<T> network, Matrix<T> x)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var workspace = new NetworkWorkspace<T>(network, x.Columns);
        return network.ForwardProp(x, workspace);
    }

    private static float[,] RunOnnx(string path, Matrix<float> x, int start, int count)
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor<float>([count, 784]);
        for (int j = 0; j < count; j++)
        {
            for (int k = 0; k < 784; k++)
            {
                input[j, k] = x[k, start + j];
            }
        }

        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, input)]);
        Tensor<float> output = results[0].AsTensor<float>();
        var probabilities = new float[count, 10];
        for (int j = 0; j < count; j++)
        {
            for (int c = 0; c < 10; c++)
            {
                probabilities[j, c] = output[j, c];
            }
        }

        return probabilities;
    }

    private static int CountOf(string text, string word)
    {
        int count = 0;
        for (int i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

/// <summary>A layer ONNX export does not know: y = x / 2.</summary>
internal sealed class Halve(int size) : Layer<float>
{
    public override int InputSize => size;

    public override int OutputSize => size;

    public override Layer<float> Clone() => new Halve(size);

    public override string ToString() => "halve";

    protected override void Forward(LayerContext context, Matrix<float> input, Matrix<float> output)
    {
        for (int r = 0; r < input.Rows; r++)
        {
            for (int c = 0; c < input.Columns; c++)
            {
                output[r, c] = input[r, c] / 2;
            }
        }
    }

    protected override void Backward(LayerContext context, Matrix<float> input, Matrix<float> output, Matrix<float>? outputGradient, Matrix<float>? inputGradient, ReadOnlySpan<Matrix<float>> parameterGradients)
    {
        for (int r = 0; inputGradient is not null && r < input.Rows; r++)
        {
            for (int c = 0; c < input.Columns; c++)
            {
                inputGradient[r, c] = outputGradient![r, c] / 2;
            }
        }
    }
}
