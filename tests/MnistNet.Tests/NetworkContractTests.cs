using MnistNet.Data;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>
/// The network's and workspace's argument contracts case by case: each check with its exception type, parameter name
/// and message. Written against the mutation run's survivors in src/MnistNet/Networks and Layers
/// (tests/MnistNet.MutationTests, <c>run.sh Networks:Network.cs,…</c>).
/// </summary>
public sealed class NetworkContractTests
{
    private static readonly DenseNetwork<float> Net = new([4, 3, 2], seed: 1);

    [Fact]
    public void Network_FromLayers_ChecksTheChain()
    {
        Assert.Equal("layers", Assert.Throws<ArgumentNullException>(() => new Network<float>(null!)).ParamName);
        Expect("A network needs at least one layer before its SoftmaxCrossEntropy output; got 1 layer(s).", () => new Network<float>([new SoftmaxCrossEntropy<float>(2)]));
        Expect("Layer 1 is null.", () => new Network<float>([new Dense<float>(4, 2), null!, new SoftmaxCrossEntropy<float>(2)]));
        Expect("Layer 2 (", () => new Network<float>([new Dense<float>(4, 3), new ReLU<float>(3), new SoftmaxCrossEntropy<float>(2)]));
        var chain = Assert.Throws<ArgumentException>(() => new Network<float>([new Dense<float>(4, 3), new ReLU<float>(3), new SoftmaxCrossEntropy<float>(2)]));
        Assert.Contains("takes 2 inputs, but layer 1 (", chain.Message, StringComparison.Ordinal);
        Assert.Contains(") gives 3.", chain.Message, StringComparison.Ordinal);
        Expect("The last layer, and only the last, must be a SoftmaxCrossEntropy.", () => new Network<float>([new Dense<float>(4, 2), new ReLU<float>(2)]));
        Expect("The last layer, and only the last, must be a SoftmaxCrossEntropy.", () => new Network<float>([new Dense<float>(4, 2), new SoftmaxCrossEntropy<float>(2), new SoftmaxCrossEntropy<float>(2)]));

        var net = new Network<float>([new Dense<float>(4, 3), new ReLU<float>(3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]);
        Assert.Equal((4 * 3) + 3 + (3 * 2) + 2, net.ParameterCount);
        Assert.StartsWith("Network<Single> ", net.ToString(), StringComparison.Ordinal);
        Assert.EndsWith($"({net.ParameterCount} parameters)", net.ToString(), StringComparison.Ordinal);
        Assert.Equal("4:dense3,relu,dense2", net.Architecture);
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"], net.Parameters.Select(p => p.Name));
        Assert.Equal("layers.0.weight [3, 4]", net.Parameters[0].ToString());
    }

    [Fact]
    public void DenseNetwork_ChecksItsSizes()
    {
        Assert.Equal("layerSizes", Assert.Throws<ArgumentNullException>(() => new DenseNetwork<float>(null!)).ParamName);
        Expect("A network needs at least two layer sizes (inputs and outputs), got 1.", () => new DenseNetwork<float>([784]), "layerSizes");
        Expect("Layer size 1 is 0; every size must be at least 1.", () => new DenseNetwork<float>([784, 0, 10]), "layerSizes");
        Expect("At most 65 536 outputs are supported (labels are 16-bit class indices), got 65537.", () => new DenseNetwork<float>([2, 65_537]), "layerSizes");
        Assert.Equal(65_536, new DenseNetwork<float>([1, 65_536]).Outputs);
        var init = Assert.Throws<ArgumentOutOfRangeException>(() => new DenseNetwork<float>([4, 2], (Initialization)99));
        Assert.StartsWith("Unknown initialization.", init.Message, StringComparison.Ordinal);
        Assert.Equal("initialization", init.ParamName);
    }

    [Fact]
    public void Workspace_ChecksItsArguments()
    {
        Assert.Equal("network", Assert.Throws<ArgumentNullException>(() => new NetworkWorkspace<float>(null!, 4)).ParamName);
        Assert.Equal("columns", Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkWorkspace<float>(Net, 0)).ParamName);
        Assert.Equal("columns", Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkWorkspace<float>(Net, -1, training: false)).ParamName);
        Assert.Equal(0, new NetworkWorkspace<float>(Net, 0, training: false).Columns);
    }

    [Fact]
    public void ForwardAndGradients_CheckShapesAndWorkspaces()
    {
        var x = new Matrix<float>(4, 5);
        ushort[] labels = [0, 1, 0, 1, 1];
        var ws = new NetworkWorkspace<float>(Net, 5);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Net.ForwardProp(null!, ws)).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentNullException>(() => Net.ForwardProp(x, null!)).ParamName);
        Expect("Expected inputs with 4 rows (one example per column), got 3 × 5.", () => Net.ForwardProp(new Matrix<float>(3, 5), ws), "x");
        Expect("The workspace is sized for 5 columns, but the batch has 6.", () => Net.ForwardProp(new Matrix<float>(4, 6), ws), "workspace");
        Expect("The workspace was made for a network of another shape, not ", () => Net.ForwardProp(x, new NetworkWorkspace<float>(new DenseNetwork<float>([4, 5, 2]), 5)), "workspace");
        Expect("The workspace holds only forward buffers; training needs one made with new NetworkWorkspace<T>(network, columns).", () => Net.ComputeGradients(x, labels, new NetworkWorkspace<float>(Net, 5, training: false)), "workspace");

        // Forward only needs forward buffers; it fills the output with probabilities that sum to 1.
        Matrix<float> output = Net.ForwardProp(x, new NetworkWorkspace<float>(Net, 5, training: false));
        Assert.Equal(1f, output[0, 0] + output[1, 0], 5);

        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Net.ComputeGradients((Matrix<float>)null!, labels, ws)).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentNullException>(() => Net.ComputeGradients(x, labels, null!)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => Net.ComputeGradients(x, [0, 1], ws)).ParamName);
        Assert.Equal("labels", Assert.ThrowsAny<ArgumentException>(() => Net.ComputeGradients(x, [0, 1, 0, 1, 2], ws)).ParamName);
    }

    [Fact]
    public void SparseGradients_CheckShapesAndTheNetwork()
    {
        var dense = new Matrix<float>(4, 3);
        dense[1, 0] = 0.5f;
        SparseColumns<float> x = SparseColumns<float>.FromDense(dense);
        var ws = new NetworkWorkspace<float>(Net, 3);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Net.ComputeGradients((SparseColumns<float>)null!, [0, 1, 0], ws)).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentNullException>(() => Net.ComputeGradients(x, [0, 1, 0], null!)).ParamName);
        var other = new DenseNetwork<float>([5, 3, 2], seed: 1);
        Expect("Expected inputs with 5 rows (one example per column), got 4 × 3.", () => other.ComputeGradients(x, [0, 1, 0], new NetworkWorkspace<float>(other, 3)), "x");
        Expect("The workspace holds only forward buffers", () => Net.ComputeGradients(x, [0, 1, 0], new NetworkWorkspace<float>(Net, 3, training: false)), "workspace");

        // Only dense → ReLU → dense → softmax takes sparse input.
        var deep = new DenseNetwork<float>([4, 3, 3, 2], seed: 1);
        var notSupported = Assert.Throws<NotSupportedException>(() => deep.ComputeGradients(x, [0, 1, 0], new NetworkWorkspace<float>(deep, 3)));
        Assert.StartsWith("Sparse input is supported for dense → ReLU → dense → softmax networks; this one is ", notSupported.Message, StringComparison.Ordinal);
        Assert.True(Net.ComputeGradients(x, [0, 1, 0], ws) > 0);
    }

    [Fact]
    public void PredictEvaluateLoss_CheckTheirArguments()
    {
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Net.Predict((Matrix<float>)null!)).ParamName);
        Expect("Expected inputs with 4 rows", () => Net.Predict(new Matrix<float>(3, 2)), "x");
        Assert.Equal("data", Assert.Throws<ArgumentNullException>(() => Net.Predict((Dataset)null!)).ParamName);
        Dataset images = DenseNetworkTests.SyntheticDigits(3, seed: 1);
        Expect("The network has 4 inputs, but the images have 784 pixels (28 × 28).", () => Net.Predict(images), "data");
        Assert.Equal("data", Assert.Throws<ArgumentNullException>(() => Net.Evaluate(null!)).ParamName);
        Expect("The network has 4 inputs, but the images have 784 pixels (28 × 28).", () => Net.Evaluate(images), "data");
        var twoClasses = new DenseNetwork<float>([784, 2], seed: 1);
        Assert.Equal("data", Assert.ThrowsAny<ArgumentException>(() => twoClasses.Evaluate(DenseNetworkTests.SyntheticDigits(40, seed: 1))).ParamName);

        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Net.GetAccuracy(null!, [])).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => Net.GetAccuracy(new Matrix<float>(4, 2), [0])).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Net.Loss(null!, [])).ParamName);
        Expect("Expected inputs with 4 rows", () => Net.Loss(new Matrix<float>(3, 1), [0]), "x");
        Expect("The batch is empty.", () => Net.Loss(new Matrix<float>(4, 0), []), "x");
        Assert.Equal("labels", Assert.ThrowsAny<ArgumentException>(() => Net.Loss(new Matrix<float>(4, 1), [2])).ParamName);

        // The loss of an all-zero input is the cross-entropy of the softmax of the output biases (He: zero) = ln 2.
        Assert.Equal(Math.Log(2), Net.Loss(new Matrix<float>(4, 3), [0, 1, 1]), 5);
    }

    private static void Expect(string messageStart, Func<object?> action, string? parameter = null)
    {
        var error = Assert.Throws<ArgumentException>(action);
        Assert.StartsWith(messageStart, error.Message, StringComparison.Ordinal);
        if (parameter is not null)
        {
            Assert.Equal(parameter, error.ParamName);
        }
    }
}
