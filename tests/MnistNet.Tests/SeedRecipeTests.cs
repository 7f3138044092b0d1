using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>The seed's recipe on the bundled MNIST files, end to end.</summary>
[Collection(SerialTestGroup.Name)]
public class SeedRecipeTests
{
    private static readonly Lazy<MnistDataset> Mnist = new(() => MnistDataset.Load(TestData.DataFolder));

    [Fact]
    public void SeedRecipe_500Iterations_ReachesAtLeast83PercentOnTheTestSet()
    {
        // Shuffle (seed 0), hold out 1 000 as dev, 784-10-10, α = 0.10, 500 full-batch iterations.
        (Dataset train, Dataset dev) = Mnist.Value.Train.Split(devCount: 1000, seed: 0);
        var net = new TwoLayerNetwork<float>(inputs: 784, hidden: 10, outputs: 10, seed: 0);
        net.GradientDescent(train.Pixels<float>(), train.Labels, 0.10f, 500, cancellationToken: TestContext.Current.CancellationToken);

        double test = net.GetAccuracy(Mnist.Value.Test!.Pixels<float>(), Mnist.Value.Test!.Labels);
        double devAccuracy = net.GetAccuracy(dev.Pixels<float>(), dev.Labels);
        TestContext.Current.SendDiagnosticMessage($"seed recipe: dev {devAccuracy:F4}, test {test:F4}");
        Assert.True(test >= 0.83, $"test accuracy {test:F4} < 0.83");
        Assert.True(devAccuracy >= 0.80, $"dev accuracy {devAccuracy:F4}");
    }

    [Fact]
    public void FixedSeedTraining_SameBitsRunToRun_AndOnOneOrTwoThreads()
    {
        Dataset subset = Mnist.Value.Train.Slice(0, 4000);
        Matrix<float> x = subset.Pixels<float>();
        ushort[] labels = subset.Labels.ToArray();
        TwoLayerNetwork<float> first = Threads.Run(2, () => Train(x, labels));
        TwoLayerNetwork<float> second = Threads.Run(2, () => Train(x, labels));
        TwoLayerNetwork<float> single = Threads.Run(1, () => Train(x, labels));
        foreach (TwoLayerNetwork<float> other in new[] { second, single })
        {
            Assert.True(TestData.SameBits(first.W1, other.W1));
            Assert.True(TestData.SameBits(first.B1, other.B1));
            Assert.True(TestData.SameBits(first.W2, other.W2));
            Assert.True(TestData.SameBits(first.B2, other.B2));
        }
    }

    private static TwoLayerNetwork<float> Train(Matrix<float> x, ushort[] labels)
    {
        var net = new TwoLayerNetwork<float>(seed: 11);
        net.GradientDescent(x, labels, 0.10f, 30);
        return net;
    }
}
