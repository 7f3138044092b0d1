using MnistNet.Diagnostics;
using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>The README's code, kept compiling and running (on a slice of the data, for fewer iterations).</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void ReadmeConvolutionExample_RunsAsWritten()
    {
        var mnist = MnistDataset.Load(TestData.DataFolder);
        Network<float> cnn = NetworkSpec.Build<float>("conv16k5,pool,conv32k5,pool,dense128,dropout0.25",
                                                      channels: 1, height: 28, width: 28, classes: 10, seed: 0);
        Assert.Equal("1x28x28:conv16k5,pool,relu,conv32k5,pool,relu,dense128,relu,dropout0.25,dense10", cnn.Architecture);
        new Trainer<float>(cnn, new Adam<float>(0.002), new TrainingOptions { Epochs = 1, BatchSize = 128 }).Fit(mnist.Train.Slice(0, 512), cancellationToken: TestContext.Current.CancellationToken);
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-readme-cnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            cnn.Save(path);
            Network<float> again = MnistNet.Serialization.ModelFile.LoadNetwork<float>(path);
            Assert.Equal(cnn.Architecture, again.Architecture);
            Assert.Equal([16, 1, 5, 5], again.Parameters[0].Shape);
            Assert.Equal(cnn.Predict(mnist.Test!.Slice(0, 100)), again.Predict(mnist.Test!.Slice(0, 100)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadmeExample_RunsAsWritten()
    {
        var mnist = MnistDataset.Load(TestData.DataFolder);
        var (train, dev) = mnist.Train.Slice(0, 3000).Split(devCount: 1000, seed: 0);
        var net = new TwoLayerNetwork<float>(inputs: 784, hidden: 10, outputs: 10, seed: 0);
        var reports = new List<string>();
        net.GradientDescent(train.Pixels<float>(), train.Labels, alpha: 0.10f, iterations: 20,
            progress: p => reports.Add($"{p.Iteration}: {p.Accuracy:P1} (loss {p.Loss:F3})"),
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(3, reports.Count);
        // 20 full-batch steps on 2 000 images already beat chance (10 %) by far on the held-out 1 000.
        double devAccuracy = net.GetAccuracy(dev.Pixels<float>(), dev.Labels);
        Assert.True(devAccuracy > 0.3, $"dev accuracy {devAccuracy:F3}");
        Assert.Equal(ClassificationMetrics.FractionCorrect(net.Predict(dev.Pixels<float>()), dev.Labels), devAccuracy);

        Matrix<float> x = train.Pixels<float>();
        ForwardPass<float> f = net.ForwardProp(x);
        Gradients<float> g = net.BackwardProp(x, train.Labels, f);
        net.UpdateParams(g, 0.10f);
        int[] predicted = TwoLayerNetwork<float>.GetPredictions(f.A2);
        Assert.Equal(x.Columns, predicted.Length);

        var workspace = new TrainingWorkspace<float>(net, x.Columns);
        double loss = net.TrainStep(x, train.Labels, 0.10f, workspace);
        Assert.True(double.IsFinite(loss) && loss > 0);
    }

    [Fact]
    public void ReadmeBeyondTheSeed_RunsAsWritten()
    {
        var mnist = MnistDataset.Load(TestData.DataFolder);
        var (train, dev) = mnist.Train.Slice(0, 2000).Split(devCount: 500, seed: 0);
        string checkpoint = Path.Combine(Path.GetTempPath(), $"mnistnet-readme-{Guid.NewGuid():N}.safetensors");
        string model = Path.ChangeExtension(checkpoint, ".model.safetensors");
        try
        {
            var net = new DenseNetwork<float>([784, 512, 256, 10], Initialization.He, seed: 0);
            var workspace = new NetworkWorkspace<float>(net, columns: 128);
            var batch = new Matrix<float>(784, 128);
            ushort[] labels = new ushort[128];
            train.CopyBatchTo(Enumerable.Range(0, 128).ToArray(), batch, labels);
            double loss = net.ComputeGradients(batch, labels, workspace);
            Assert.True(double.IsFinite(loss));
            var names = new List<string>();
            foreach (var (name, parameter, gradient) in workspace.NamedGradients())
            {
                names.Add($"{name}: {parameter.Value.Rows} × {parameter.Value.Columns}");
                Assert.Equal(parameter.Value.Rows, gradient.Rows);
            }

            Assert.Equal("layers.0.weight: 512 × 784", names[0]);
            Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias"], names.Select(n => n.Split(':')[0]));

            // The door with a dataset: the batch gathered by the network, on the non-zero pixels.
            double sparseLoss = net.ComputeGradients(train, Enumerable.Range(0, 128).ToArray(), workspace);
            Assert.Equal(loss, sparseLoss, 5);
            Assert.Equal(InputMode.Auto, workspace.InputMode);

            var reports = new List<EpochReport>();
            var trainer = new Trainer<float>(net, new Adam<float>(learningRate: 0.002), new TrainingOptions
            {
                Epochs = 2, BatchSize = 128, Seed = 0,
                Schedule = LearningRateSchedule.Cosine(),
                EarlyStoppingPatience = 3,
                CheckpointPath = checkpoint,
                Progress = new ListProgress(reports),
            });
            TrainingResult result = trainer.Fit(train, dev, TestContext.Current.CancellationToken);
            Assert.Equal(2, result.Epochs);
            Assert.Equal(2, reports.Count);
            Assert.True(reports[^1].Dev!.Accuracy > 0.8, $"dev accuracy {reports[^1].Dev!.Accuracy}");

            net.Save(model);
            Assert.Equal(net.Predict(dev), DenseNetwork<float>.Load(model).Predict(dev));
            Assert.Equal(net.Predict(dev), DenseNetwork<float>.Load(checkpoint).Predict(dev));
        }
        finally
        {
            File.Delete(checkpoint);
            File.Delete(model);
        }
    }

    private sealed class ListProgress(List<EpochReport> reports) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => reports.Add(value);
    }

    [Fact]
    public void QuickStartAndPackageReadme_RunAsWritten_OnASlice()
    {
        string folder = Directory.CreateTempSubdirectory("mnistnet-readme-").FullName;
        try
        {
            var mnist = MnistDataset.Load(TestData.DataFolder);
            var (train, dev) = mnist.Train.Slice(0, 6000).Split(devCount: 1000, seed: 0);
            var net = new DenseNetwork<float>([784, 256, 10], seed: 0);
            var printed = new List<int>();
            new Trainer<float>(net, new Adam<float>(0.002), new TrainingOptions { Epochs = 2, BatchSize = 128, Progress = new PrintEpochs(printed) })
                .Fit(train, dev, TestContext.Current.CancellationToken);

            // The synchronous IProgress of the README: every epoch reported, in order, before Fit returned.
            Assert.Equal([1, 2], printed);
            double accuracy = net.Evaluate(mnist.Test!).Accuracy;
            Assert.True(accuracy > 0.9, $"test accuracy {accuracy:F3} after 2 epochs on 5 000 images");
            string path = Path.Combine(folder, "model.safetensors");
            net.Save(path);
            int digit = DenseNetwork<float>.Load(path).Predict(mnist.Test!)[0];
            Assert.Equal(net.Predict(mnist.Test!)[0], digit);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class PrintEpochs(List<int> printed) : IProgress<EpochReport>
    {
        public void Report(EpochReport r) => printed.Add(r.Epoch);
    }
}
