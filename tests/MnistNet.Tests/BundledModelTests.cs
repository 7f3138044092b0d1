using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Serialization;
using MnistNet.TestSupport;

namespace MnistNet.Tests;

/// <summary>
/// data/models/cnn.safetensors, the model the draw-a-digit page serves, is what its README says: <c>--preset cnn</c>'s
/// network, scoring the recorded test accuracy on the bundled MNIST test set.
/// </summary>
public sealed class BundledModelTests
{
    /// <summary>The test accuracy data/models/README.md records for the file (on the Zen 5 host's 512-bit path).</summary>
    private const double RecordedTestAccuracy = 0.9952;

    [Fact]
    public void CnnModel_IsThePresetsNetworkAndScoresItsRecordedTestAccuracy()
    {
        Network<float> network = ModelFile.LoadNetwork<float>(BundledData.CnnModel);
        Assert.Equal("1x28x28:conv32k5,relu,pool,conv64k5,relu,pool,dense256,relu,dropout0.5,dense10", network.Architecture);
        Dataset test = MnistDataset.Load(BundledData.MnistFolder).Test!;
        // Other SIMD widths round sums differently and may flip a borderline image or two: five of 10 000 are allowed.
        Assert.InRange(network.Evaluate(test).Accuracy, RecordedTestAccuracy - 0.0005, RecordedTestAccuracy + 0.0005);
    }
}
