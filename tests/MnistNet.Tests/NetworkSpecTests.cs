using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Serialization;

namespace MnistNet.Tests;

/// <summary>
/// <see cref="NetworkSpec"/>: the short form builds the layers it says with the shapes they need, bad descriptions are
/// refused naming the layer, and model files of such networks load back through <see cref="ModelFile.LoadNetwork{T}"/>
/// with every tensor checked against the architecture the file states.
/// </summary>
public sealed class NetworkSpecTests
{
    [Fact]
    public void ShortForm_BuildsTheLayersWithReLUsAndTheOutputLayer()
    {
        Network<float> net = NetworkSpec.Build<float>("conv8k5, pool,conv16k3valid,pool,dense32,dropout0.25", 1, 28, 28, 10, seed: 1);
        Assert.Equal("1x28x28:conv8k5,relu,pool,conv16k3valid,relu,pool,dense32,relu,dropout0.25,dense10", net.Architecture);
        Type[] kinds = [typeof(Conv2D<float>), typeof(ReLU<float>), typeof(MaxPool2D<float>), typeof(Conv2D<float>), typeof(ReLU<float>), typeof(MaxPool2D<float>), typeof(Dense<float>), typeof(ReLU<float>), typeof(Dropout<float>), typeof(Dense<float>), typeof(SoftmaxCrossEntropy<float>)];
        Assert.Equal(kinds, net.Layers.Select(l => l.GetType()));
        Assert.Equal([784, 8 * 784, 8 * 784, 8 * 196, 16 * 144, 16 * 144, 16 * 36, 32, 32, 32, 10], net.Layers.Select(l => l.InputSize));
        var second = (Conv2D<float>)net.Layers[3];
        Assert.Equal((8, 14, 14, 16, 3, ConvolutionPadding.Valid), (second.InChannels, second.Height, second.Width, second.OutChannels, second.KernelSize, second.Padding));
        Assert.Equal(0.25, ((Dropout<float>)net.Layers[8]).Rate);
        Assert.Equal(10, net.Outputs);

        // Seeded: the same seed gives the same weights, another seed others; every weight tensor drawn (none left 0).
        Network<float> again = NetworkSpec.Build<float>("conv8k5,pool,conv16k3valid,pool,dense32,dropout0.25", 1, 28, 28, 10, seed: 1);
        Network<float> other = NetworkSpec.Build<float>("conv8k5,pool,conv16k3valid,pool,dense32,dropout0.25", 1, 28, 28, 10, seed: 2);
        for (int p = 0; p < net.Parameters.Count; p += 2)
        {
            Assert.True(TestData.SameBits(net.Parameters[p].Value, again.Parameters[p].Value));
            Assert.False(TestData.SameBits(net.Parameters[p].Value, other.Parameters[p].Value));
            Assert.Contains(net.Parameters[p].Value.AsSpan().ToArray(), v => v != 0);
        }

        // An empty stack is a linear model; a flat input takes dense layers only.
        Assert.Equal("784:dense10", NetworkSpec.Build<double>("", 1, 28, 28, 10).Architecture);
        Assert.Equal("5:dense4,relu,dense3", NetworkSpec.Build<double>("dense4", 1, 1, 5, 3).Architecture);
    }

    [Theory]
    [InlineData("conv8k4", "'conv8k4': 'same' padding needs an odd kernel size.")]
    [InlineData("conv8k9valid", "'conv8k9valid': a 9 × 9 kernel does not fit a 8 × 8 image.")]
    [InlineData("dense10,pool", "'pool' needs an image of at least 2 × 2, but the layer before it gives 10 values.")]
    [InlineData("dense10,conv4k3", "'conv4k3' needs an image (channels x height x width), but the layer before it gives 10 values.")]
    [InlineData("pool,pool,pool,pool", "'pool' needs an image of at least 2 × 2, but the layer before it gives 1 × 1.")]
    [InlineData("dropout1", "'dropout1': expected dropout<p> with p in [0, 1), such as dropout0.5.")]
    [InlineData("conv0k3", "'conv0k3': expected conv<channels>k<size>[valid], such as conv32k5 (1 to 65536 channels, kernels 1 to 64).")]
    [InlineData("dense", "'dense': expected dense<units>, 1 to 65536 units, such as dense128.")]
    [InlineData("dense8,,dense4", "'dense8,,dense4' has an empty layer between commas.")]
    [InlineData("maxpool", "unknown layer 'maxpool': expected conv<channels>k<size>[valid], pool, dense<units>, dropout<p> or relu.")]
    public void BadDescriptions_AreRefused_NamingTheLayer(string stack, string message)
    {
        FormatException error = Assert.Throws<FormatException>(() => NetworkSpec.Build<float>(stack, 1, 8, 8, 10));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ModelFile_ConvolutionalNetwork_RoundTrips_AndOnlyLoadNetworkLoadsIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-spec-{Guid.NewGuid():N}.safetensors");
        try
        {
            Network<float> net = NetworkSpec.Build<float>("conv4k3,pool,dense16,dropout0.5", 1, 12, 10, 7, seed: 3);
            net.Save(path);
            Assert.Equal(net.Architecture, ModelFile.ReadMetadata(path)["architecture"]);
            Network<float> loaded = ModelFile.LoadNetwork<float>(path);
            Assert.Equal(net.Architecture, loaded.Architecture);
            for (int p = 0; p < net.Parameters.Count; p++)
            {
                Assert.Equal(net.Parameters[p].Name, loaded.Parameters[p].Name);
                Assert.True(TestData.SameBits(net.Parameters[p].Value, loaded.Parameters[p].Value), net.Parameters[p].Name);
            }

            Matrix<float> x = TestData.Random<float>(120, 9, 4, 0, 1);
            Assert.Equal(net.Predict(x), loaded.Predict(x));
            Assert.Equal([4, 1, 3, 3], loaded.Parameters[0].Shape);

            InvalidDataException dense = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
            Assert.Contains("load it with ModelFile.LoadNetwork", dense.Message, StringComparison.Ordinal);

            // A dense stack's file still loads as a DenseNetwork through LoadNetwork.
            new DenseNetwork<float>([6, 5, 3], seed: 1).Save(path);
            Assert.IsType<DenseNetwork<float>>(ModelFile.LoadNetwork<float>(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("1x12x10:conv4k5,relu,pool,dense7", "layers.0.weight must have shape [4, 1, 5, 5] for 1x12x10:conv4k5,relu,pool,dense7, found [4, 1, 3, 3].")]
    [InlineData("1x12x10:conv4k3,relu,pool,dense16", "the file has a tensor layers.2.weight, but its architecture 1x12x10:conv4k3,relu,pool,dense16 has only 2 layers with weights.")]
    [InlineData("1x12x10:conv4k3,relu,pool,dense16,relu,dense7,relu,dense7", "the architecture 1x12x10:conv4k3,relu,pool,dense16,relu,dense7,relu,dense7 needs a tensor layers.3.weight [7, 7], which the file does not have.")]
    [InlineData("1x12x10:conv4k4,dense7", "the architecture \"1x12x10:conv4k4,dense7\" is not valid: 'conv4k4': 'same' padding needs an odd kernel size.")]
    [InlineData("1x12x10:conv4k3,pool,dense60000,dense7", "the network 1x12x10:conv4k3,pool,dense60000,dense7 would need")]
    public void ModelFile_ArchitectureThatDisagreesWithTheTensors_IsRefused(string claimed, string message)
    {
        // The file is written with a valid checksum over what it says: only the architecture disagrees with the tensors.
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-spec-{Guid.NewGuid():N}.safetensors");
        try
        {
            Network<float> real = NetworkSpec.Build<float>("conv4k3,pool,dense16", 1, 12, 10, 7, seed: 3);
            new Claiming(real, claimed).Save(path);
            InvalidDataException error = Assert.Throws<InvalidDataException>(() => ModelFile.LoadNetwork<float>(path));
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A network whose files state another architecture than its layers have.</summary>
    private sealed class Claiming(Network<float> real, string claimed) : Network<float>(real.Layers)
    {
        public override string Architecture => claimed;
    }
}
