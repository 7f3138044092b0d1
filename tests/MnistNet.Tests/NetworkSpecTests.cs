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
    public void ShortForm_PoolAfterConvolution_TakesTheReLUAfterThePool_SameValuesAndGradientsAsReLUFirst()
    {
        // The short form writes conv, pool, relu where a pool follows a convolution (the ReLU then touches a quarter of
        // the values); elsewhere the ReLU follows the convolution or dense layer.
        Assert.Equal("1x12x12:conv4k3,pool,relu,conv6k3,relu,dense5,relu,dense10", NetworkSpec.Expand("conv4k3,pool,conv6k3,dense5", 1, 12, 12, 10));

        // Both orders compute the same function: max(relu(a), relu(b)) = relu(max(a, b)), and the gradient reaches the
        // same input either way (a window whose maximum is ≤ 0 passes none). Integer weights and inputs make exact ties
        // in the pooling windows, positive and negative, so the routing of ties is tested too.
        Network<double> pooledFirst = NetworkSpec.Create<double>(NetworkSpec.Parse("2x8x8:conv5k3,pool,relu,conv4k3,pool,relu,dense10"));
        Network<double> reluFirst = NetworkSpec.Create<double>(NetworkSpec.Parse("2x8x8:conv5k3,relu,pool,conv4k3,relu,pool,dense10"));
        var random = new Prng(5);
        for (int p = 0; p < pooledFirst.Parameters.Count; p++)
        {
            Span<double> values = pooledFirst.Parameters[p].Value.AsSpan();
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = random.NextInt32(3) - 1;
            }

            pooledFirst.Parameters[p].Value.CopyTo(reluFirst.Parameters[p].Value);
        }

        const int m = 37;
        var x = new Matrix<double>(128, m);
        Span<double> pixels = x.AsSpan();
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.NextInt32(3);
        }

        ushort[] labels = [.. Enumerable.Range(0, m).Select(e => (ushort)(e % 10))];
        var first = new NetworkWorkspace<double>(pooledFirst, m);
        var second = new NetworkWorkspace<double>(reluFirst, m);
        double loss = pooledFirst.ComputeGradients(x, labels, first);
        Assert.Equal(loss, reluFirst.ComputeGradients(x, labels, second));
        for (int p = 0; p < first.Gradients.Count; p++)
        {
            Assert.True(TestData.SameBits(first.Gradients[p], second.Gradients[p]), $"gradient {p}");
        }

        // Not vacuous: some windows tie at a positive maximum, some have a maximum ≤ 0, and the gradients are not all zero.
        Matrix<double> z = first.Outputs[0];
        int positiveTies = 0, nonPositive = 0;
        for (int c = 0; c < 5; c++)
        {
            for (int y = 0; y < 4; y++)
            {
                for (int w = 0; w < 4; w++)
                {
                    for (int e = 0; e < m; e++)
                    {
                        int top = (((c * 8) + (2 * y)) * 8) + (2 * w);
                        double[] window = [z[top, e], z[top + 1, e], z[top + 8, e], z[top + 9, e]];
                        double max = window.Max();
                        positiveTies += max > 0 && window.Count(v => v == max) > 1 ? 1 : 0;
                        nonPositive += max <= 0 ? 1 : 0;
                    }
                }
            }
        }

        Assert.True(positiveTies > 20 && nonPositive > 20, $"{positiveTies} positive ties, {nonPositive} windows ≤ 0");
        Assert.Contains(first.Gradients[0].AsSpan().ToArray(), v => v != 0);
    }

    [Fact]
    public void ShortForm_BuildsTheLayersWithReLUsAndTheOutputLayer()
    {
        Network<float> net = NetworkSpec.Build<float>("conv8k5, pool,conv16k3valid,pool,dense32,dropout0.25", 1, 28, 28, 10, seed: 1);
        Assert.Equal("1x28x28:conv8k5,pool,relu,conv16k3valid,pool,relu,dense32,relu,dropout0.25,dense10", net.Architecture);
        Type[] kinds = [typeof(Conv2D<float>), typeof(MaxPool2D<float>), typeof(ReLU<float>), typeof(Conv2D<float>), typeof(MaxPool2D<float>), typeof(ReLU<float>), typeof(Dense<float>), typeof(ReLU<float>), typeof(Dropout<float>), typeof(Dense<float>), typeof(SoftmaxCrossEntropy<float>)];
        Assert.Equal(kinds, net.Layers.Select(l => l.GetType()));
        Assert.Equal([784, 8 * 784, 8 * 196, 8 * 196, 16 * 144, 16 * 36, 16 * 36, 32, 32, 32, 10], net.Layers.Select(l => l.InputSize));
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

    [Theory]
    [InlineData("conv32k5,relu,dense10", "'conv32k5,relu,dense10' has no input shape: expected e.g. 1x28x28:conv32k5,pool,relu,dense10.")]
    [InlineData("1x28:dense10", "the input shape '1x28' is neither channels x height x width (1x28x28) nor a size (784).")]
    [InlineData("0:dense10", "the input shape '0' is neither channels x height x width (1x28x28) nor a size (784).")]
    [InlineData("1x0x28:dense10", "the input shape '1x0x28' is neither channels x height x width (1x28x28) nor a size (784).")]
    [InlineData("1024x65536x64:dense10", "the input shape '1024x65536x64' is too large.")]
    [InlineData(":dense10", "the input shape '' is neither channels x height x width (1x28x28) nor a size (784).")]
    [InlineData("784:dropout1.5,dense10", "'dropout1.5': expected dropout<p> with p in [0, 1), such as dropout0.5.")]
    [InlineData("784:dense65537", "'dense65537': expected dense<units>, 1 to 65536 units, such as dense128.")]
    [InlineData("1x70x70:conv4k65valid,dense3", "'conv4k65valid': expected conv<channels>k<size>[valid], such as conv32k5 (1 to 65536 channels, kernels 1 to 64).")]
    [InlineData("784:dense10,relu", "'784:dense10,relu' must end with a dense layer to the classes (softmax follows it).")]
    [InlineData("784:", "'784:' must end with a dense layer to the classes (softmax follows it).")]
    [InlineData("1x1000x1000:conv65536k1,relu,dense10", "'conv65536k1' makes 65536000000 values per example, too many.")]
    [InlineData("1x4x9:conv2k5valid,relu,dense3", "'conv2k5valid': a 5 × 5 kernel does not fit a 4 × 9 image.")]
    [InlineData("1x9x4:conv2k5valid,relu,dense3", "'conv2k5valid': a 5 × 5 kernel does not fit a 9 × 4 image.")]
    public void FullForm_BadInputShapesAndEnds_AreRefused(string full, string message)
    {
        // The full form is what model files carry: its input shape and its last layer are checked as strictly as the layers.
        FormatException error = Assert.Throws<FormatException>(() => NetworkSpec.Parse(full));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void FullForm_FlatInputsAndKernelsThatJustFit_Parse()
    {
        // A flat input (a dense stack's architecture) and a 'valid' kernel as tall or as wide as its image are valid.
        NetworkSpec.Parsed flat = NetworkSpec.Parse("784:dense16,relu,dense10");
        Assert.Equal([("dense16", 784), ("relu", 16), ("dense10", 16)], flat.Layers.Select(l => (l.Token, l.Inputs)));
        Assert.Equal(10, flat.Outputs);
        Assert.Equal(2 * 1 * 5, NetworkSpec.Parse("1x5x9:conv2k5valid,relu,dense3").Layers[1].Inputs);
        Assert.Equal(2 * 5 * 1, NetworkSpec.Parse("1x9x5:conv2k5valid,relu,dense3").Layers[1].Inputs);

        // The largest sizes each layer allows, and a dropout rate of 0.
        Assert.Equal(65536, NetworkSpec.Parse("784:dense65536").Outputs);
        Assert.Equal(4, NetworkSpec.Parse("1x64x64:conv4k64valid,relu,dense3").Layers[1].Inputs);
        Assert.Equal(("dropout0", 784), (NetworkSpec.Parse("784:dropout0,dense10").Layers[0].Token, NetworkSpec.Parse("784:dropout0,dense10").Layers[0].Inputs));
    }

    [Fact]
    public void Expand_BadArguments_AreRefusedNamingTheParameter()
    {
        Assert.Equal("stack", Assert.Throws<ArgumentNullException>(() => NetworkSpec.Expand(null!, 1, 28, 28, 10)).ParamName);
        Assert.Equal("channels", Assert.Throws<ArgumentOutOfRangeException>(() => NetworkSpec.Expand("", 0, 28, 28, 10)).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => NetworkSpec.Expand("", 1, 0, 28, 10)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => NetworkSpec.Expand("", 1, 28, 0, 10)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => NetworkSpec.Expand("", 1, 28, 28, 0)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => NetworkSpec.Expand("", 1, 28, 28, 65537)).ParamName);
        Assert.Equal("1x28x28:dense65536", NetworkSpec.Expand("", 1, 28, 28, 65536));
    }

    [Fact]
    public void ParameterShapes_AreTheShapesTheBuiltNetworkAllocates()
    {
        // Model files size their memory check by these shapes before building anything: they must be the real ones.
        NetworkSpec.Parsed parsed = NetworkSpec.Parse("2x12x10:conv4k3,relu,pool,conv6k5valid,relu,dense16,relu,dropout0.5,dense7");
        Network<float> net = NetworkSpec.Create<float>(parsed);
        (long, long)[] expected = [.. net.Parameters.Select(p => ((long)p.Value.Rows, (long)p.Value.Columns))];
        Assert.Equal([(4L, 18L), (4L, 1L), (6L, 100L), (6L, 1L), (16L, 6L * 2 * 1), (16L, 1L), (7L, 16L), (7L, 1L)], expected);
        Assert.Equal(expected, NetworkSpec.ParameterShapes(parsed));
    }

    [Fact]
    public void Build_UnknownInitialization_IsRefused()
    {
        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(() => NetworkSpec.Build<float>("dense4", 1, 2, 2, 3, (Initialization)99));
        Assert.Equal("initialization", error.ParamName);
        Assert.StartsWith("Unknown initialization.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Architecture_WithAUsersOwnLayer_ListsEveryLayer()
    {
        // No full form exists for a layer NetworkSpec does not know: the architecture lists the layers as they print.
        var net = new Network<float>([new Conv2D<float>(1, 6, 6, 2, 3, ConvolutionPadding.Valid), new ReLU<float>(32), new MaxPool2D<float>(2, 4, 4), new Identity(8), new Conv2D<float>(2, 2, 2, 1, 1), new Dense<float>(4, 3), new SoftmaxCrossEntropy<float>(3)]);
        Assert.Equal("conv 1×6×6→2×4×4 k3 valid, relu, maxpool 2×4×4→2×2×2, identity, conv 2×2×2→1×2×2 k1, dense 4→3, softmax", net.Architecture);
    }

    [Fact]
    public void PoolingFirst_GetsNoInputGradient_AndTheLayersAboveTheirs()
    {
        // A network that starts with pooling: the pooling layer is asked for no input gradient; the dense layer's
        // gradients are those of the same dense layer fed the pooled images directly.
        Network<double> pooled = NetworkSpec.Build<double>("pool", 2, 4, 6, 3, seed: 5);
        var direct = new Network<double>([new Dense<double>(12, 3), new SoftmaxCrossEntropy<double>(3)]);
        pooled.Parameters[0].Value.CopyTo(direct.Parameters[0].Value);
        pooled.Parameters[1].Value.CopyTo(direct.Parameters[1].Value);
        Matrix<double> x = TestData.Random<double>(48, 5, 6);
        ushort[] labels = TestData.Labels(5, 3, 7);
        var workspace = new NetworkWorkspace<double>(pooled, 5);
        double loss = pooled.ComputeGradients(x, labels, workspace);
        // The pooled images from the test-support oracle (its dX is not needed here).
        double[,] pooledByOracle = MnistNet.TestSupport.ReferenceLayers.MaxPool(2, 4, 6, x, new Matrix<double>(12, 5)).Y;
        var pooledInput = new Matrix<double>(12, 5);
        for (int r = 0; r < 12; r++)
        {
            for (int j = 0; j < 5; j++)
            {
                pooledInput[r, j] = pooledByOracle[r, j];
            }
        }

        var directWorkspace = new NetworkWorkspace<double>(direct, 5);
        Assert.Equal(direct.ComputeGradients(pooledInput, labels, directWorkspace), loss, 12);
        for (int p = 0; p < 2; p++)
        {
            Assert.True(TestData.SameBits(directWorkspace.Gradients[p], workspace.Gradients[p]), pooled.Parameters[p].Name);
        }
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

    /// <summary>A user's own layer (the identity), which no full form describes.</summary>
    private sealed class Identity(int size) : Layer<float>
    {
        public override int InputSize => size;

        public override int OutputSize => size;

        public override Layer<float> Clone() => new Identity(size);

        public override string ToString() => "identity";

        protected internal override void Forward(LayerContext context, Matrix<float> input, Matrix<float> output) => input.CopyTo(output);

        protected internal override void Backward(LayerContext context, Matrix<float> input, Matrix<float> output, Matrix<float>? outputGradient, Matrix<float>? inputGradient, ReadOnlySpan<Matrix<float>> parameterGradients) =>
            outputGradient!.CopyTo(inputGradient!);
    }

    /// <summary>A network whose files state another architecture than its layers have.</summary>
    private sealed class Claiming(Network<float> real, string claimed) : Network<float>(real.Layers)
    {
        public override string Architecture => claimed;
    }
}
