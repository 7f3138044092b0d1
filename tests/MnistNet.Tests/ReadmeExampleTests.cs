using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>The README's code, kept compiling and running (on a slice of the data, for fewer iterations).</summary>
public class ReadmeExampleTests
{
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
        Assert.InRange(net.GetAccuracy(dev.Pixels<float>(), dev.Labels), 0.0, 1.0);

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
}
