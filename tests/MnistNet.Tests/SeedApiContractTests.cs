using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>
/// The seed's API (<see cref="TwoLayerNetwork{T}"/> and its buffers) and the layers it runs on, check by check: each
/// argument check with its exception type, parameter name and message; how layers initialise their parameters; which
/// step <c>GradientDescent</c> picks. Written against the mutation run's survivors in src/MnistNet/Networks and Layers
/// (tests/MnistNet.MutationTests, <c>run.sh Networks:TwoLayerNetwork.cs,…</c>).
/// </summary>
public sealed class SeedApiContractTests
{
    private static readonly TwoLayerNetwork<double> Net = new(6, 4, 3, seed: 1);

    private static Matrix<double> X(int columns, int rows = 6) => TestData.Random<double>(rows, columns, seed: columns + rows);

    private static void Expect<TException>(string paramName, string? message, Action action)
        where TException : ArgumentException
    {
        var error = Assert.Throws<TException>(action);
        Assert.Equal(paramName, error.ParamName);
        if (message is not null)
        {
            Assert.Equal($"{message} (Parameter '{paramName}')", error.Message);
        }
    }

    [Fact]
    public void Constructor_ChecksItsSizes()
    {
        Expect<ArgumentOutOfRangeException>("inputs", null, () => _ = new TwoLayerNetwork<double>(0, 4, 3));
        Expect<ArgumentOutOfRangeException>("hidden", null, () => _ = new TwoLayerNetwork<double>(6, 0, 3));
        Expect<ArgumentOutOfRangeException>("outputs", null, () => _ = new TwoLayerNetwork<double>(6, 4, 0));
        Expect<ArgumentOutOfRangeException>("outputs", null, () => _ = new TwoLayerNetwork<double>(1, 1, SoftmaxCrossEntropy<double>.MaxClasses + 1));
        Assert.Equal(SoftmaxCrossEntropy<double>.MaxClasses, new TwoLayerNetwork<double>(1, 1, SoftmaxCrossEntropy<double>.MaxClasses).Outputs);
    }

    [Fact]
    public void ForwardAndBackward_CheckEveryBuffer()
    {
        Matrix<double> x = X(5);
        ushort[] labels = [0, 1, 2, 1, 0];
        Expect<ArgumentNullException>("x", null, () => Net.ForwardProp(null!));
        Expect<ArgumentNullException>("destination", null, () => Net.ForwardProp(x, null!));
        Expect<ArgumentException>("x", "Expected inputs with 6 rows (one example per column), got a 5 × 5 matrix.", () => Net.ForwardProp(X(5, rows: 5), new ForwardPass<double>(Net, 5)));

        // A forward pass of another batch size, of another hidden size only, of another output size only.
        Expect<ArgumentException>("destination", "The forward buffers are 4 × 4 and 3 × 4; this network and batch need 4 × 5 and 3 × 5.", () => Net.ForwardProp(x, new ForwardPass<double>(Net, 4)));
        Expect<ArgumentException>("destination", "The forward buffers are 5 × 5 and 3 × 5; this network and batch need 4 × 5 and 3 × 5.", () => Net.ForwardProp(x, new ForwardPass<double>(new TwoLayerNetwork<double>(6, 5, 3), 5)));
        Expect<ArgumentException>("destination", "The forward buffers are 4 × 5 and 2 × 5; this network and batch need 4 × 5 and 3 × 5.", () => Net.ForwardProp(x, new ForwardPass<double>(new TwoLayerNetwork<double>(6, 4, 2), 5)));

        ForwardPass<double> forward = Net.ForwardProp(x);
        Expect<ArgumentNullException>("x", null, () => Net.BackwardProp(null!, labels, forward));
        Expect<ArgumentNullException>("forward", null, () => Net.BackwardProp(x, labels, null!, new Gradients<double>(Net, 5)));
        Expect<ArgumentNullException>("destination", null, () => Net.BackwardProp(x, labels, forward, null!));
        Expect<ArgumentException>("labels", null, () => Net.BackwardProp(x, [0, 1], forward));
        Expect<ArgumentException>("destination", "The gradient buffers are sized for 4 columns, but the batch has 5.", () => Net.BackwardProp(x, labels, forward, new Gradients<double>(Net, 4)));
        Expect<ArgumentException>("destination", "The buffers were made for a network of another shape: expected a 4 × 6 gradient, got 4 × 7.", () => Net.BackwardProp(x, labels, forward, new Gradients<double>(new TwoLayerNetwork<double>(7, 4, 3), 5)));
        Expect<ArgumentException>("destination", "The buffers were made for a network of another shape: expected a 3 × 4 gradient, got 2 × 4.", () => Net.BackwardProp(x, labels, forward, new Gradients<double>(new TwoLayerNetwork<double>(6, 4, 2), 5)));
        Expect<ArgumentException>("x", "The batch is empty: training needs at least one column.", () => Net.BackwardProp(X(0), [], new ForwardPass<double>(Net, 0), new Gradients<double>(Net, 0)));

        // The buffers' own constructors.
        Expect<ArgumentNullException>("network", null, () => _ = new ForwardPass<double>(null!, 1));
        Expect<ArgumentOutOfRangeException>("columns", null, () => _ = new ForwardPass<double>(Net, -1));
        Expect<ArgumentNullException>("network", null, () => _ = new Gradients<double>(null!, 1));
        Expect<ArgumentOutOfRangeException>("columns", null, () => _ = new Gradients<double>(Net, -1));
        Expect<ArgumentNullException>("network", null, () => _ = new TrainingWorkspace<double>(null!, 1));
    }

    [Fact]
    public void UpdateAndTrainStep_CheckTheRateAndTheBuffers()
    {
        Matrix<double> x = X(5);
        ushort[] labels = [0, 1, 2, 1, 0];
        Gradients<double> gradients = Net.BackwardProp(x, labels, Net.ForwardProp(x));
        Expect<ArgumentNullException>("gradients", null, () => Net.UpdateParams(null!, 0.1));
        foreach (double alpha in new[] { 0.0, -0.1, double.NaN, double.PositiveInfinity })
        {
            Expect<ArgumentOutOfRangeException>("alpha", null, () => Net.UpdateParams(gradients, alpha));
            Assert.StartsWith("The learning rate must be finite and greater than 0.", Assert.Throws<ArgumentOutOfRangeException>(() => Net.UpdateParams(gradients, alpha)).Message, StringComparison.Ordinal);
        }

        Expect<ArgumentException>("gradients", "The buffers were made for a network of another shape: expected a 4 × 6 gradient, got 4 × 7.", () => Net.UpdateParams(new Gradients<double>(new TwoLayerNetwork<double>(7, 4, 3), 5), 0.1));
        Expect<ArgumentException>("gradients", "The buffers were made for a network of another shape: expected a 3 × 4 gradient, got 2 × 4.", () => Net.UpdateParams(new Gradients<double>(new TwoLayerNetwork<double>(6, 4, 2), 5), 0.1));

        var ws = new TrainingWorkspace<double>(Net, 5);
        Expect<ArgumentNullException>("workspace", null, () => Net.TrainStep(x, labels, 0.1, null!));
        Expect<ArgumentNullException>("x", null, () => Net.TrainStep((Matrix<double>)null!, labels, 0.1, ws));
        Expect<ArgumentException>("workspace", null, () => Net.TrainStep(X(4), labels.AsSpan(0, 4), 0.1, ws));
        Expect<ArgumentException>("x", "The batch is empty: training needs at least one column.", () => Net.TrainStep(X(0), [], 0.1, new TrainingWorkspace<double>(Net, 0)));
        Expect<ArgumentOutOfRangeException>("alpha", null, () => Net.TrainStep(x, labels, 0, ws));
        Expect<ArgumentException>("workspace", null, () => Net.TrainStep(x, labels, 0.1, new TrainingWorkspace<double>(new TwoLayerNetwork<double>(6, 4, 2), 5)));

        SparseColumns<double> sparse = SparseColumns<double>.FromDense(x);
        Expect<ArgumentNullException>("x", null, () => Net.TrainStep((SparseColumns<double>)null!, labels, 0.1, ws));
        Expect<ArgumentNullException>("workspace", null, () => Net.TrainStep(sparse, labels, 0.1, null!));
        Expect<ArgumentException>("x", "Expected inputs with 6 rows (one example per column), got 5 × 5.", () => Net.TrainStep(SparseColumns<double>.FromDense(X(5, rows: 5)), labels, 0.1, ws));
        Expect<ArgumentException>("workspace", "The workspace is sized for 5 columns, but the batch has 4.", () => Net.TrainStep(SparseColumns<double>.FromDense(X(4)), labels.AsSpan(0, 4), 0.1, ws));
        Expect<ArgumentException>("x", "The batch is empty: training needs at least one column.", () => Net.TrainStep(SparseColumns<double>.FromDense(X(0)), [], 0.1, new TrainingWorkspace<double>(Net, 0)));
        Expect<ArgumentOutOfRangeException>("alpha", null, () => Net.TrainStep(sparse, labels, double.NaN, ws));
    }

    [Fact]
    public void Queries_CheckTheirArguments()
    {
        Matrix<double> x = X(3);
        Expect<ArgumentNullException>("x", null, () => Net.GradientDescent(null!, [0], 0.1, 1));
        Expect<ArgumentOutOfRangeException>("iterations", null, () => Net.GradientDescent(x, [0, 1, 2], 0.1, -1));
        Expect<ArgumentOutOfRangeException>("progressInterval", null, () => Net.GradientDescent(x, [0, 1, 2], 0.1, 1, progressInterval: 0));
        Expect<ArgumentNullException>("probabilities", null, () => TwoLayerNetwork<double>.GetPredictions(null!));
        Expect<ArgumentNullException>("x", null, () => Net.GetAccuracy(null!, [0]));
        Expect<ArgumentNullException>("x", null, () => Net.Loss(null!, [0]));
        Expect<ArgumentException>("labels", null, () => Net.Loss(x, [0, 1]));
        Assert.True(Net.Loss(x, [0, 1, 2]) > 0);
    }

    [Fact]
    public void GradientDescent_IsTrainStepRepeated_OnSparseAndDenseInputs()
    {
        // Below 30 % non-zero it trains on the non-zero entries, above on the dense matrix; both steps skip only exact
        // zeros, so either way the result has the bits of the same number of TrainStep calls.
        foreach (double density in new[] { 0.15, 0.6 })
        {
            Matrix<double> x = Inputs(10, 600, density, seed: 3);
            ushort[] labels = TestData.Labels(600, 3, seed: 3);
            var viaDescent = new TwoLayerNetwork<double>(10, 5, 3, seed: 2);
            var viaSteps = new TwoLayerNetwork<double>(10, 5, 3, seed: 2);
            viaDescent.GradientDescent(x, labels, 0.5, 3, cancellationToken: TestContext.Current.CancellationToken);
            var ws = new TrainingWorkspace<double>(viaSteps, 600);
            for (int i = 0; i < 3; i++)
            {
                viaSteps.TrainStep(x, labels, 0.5, ws);
            }

            Assert.True(TestData.SameBits(viaSteps.W1, viaDescent.W1), $"density {density}");
            Assert.True(TestData.SameBits(viaSteps.B2, viaDescent.B2), $"density {density}");
            Assert.False(TestData.SameBits(viaSteps.W1, new TwoLayerNetwork<double>(10, 5, 3, seed: 2).W1));
        }
    }

    private static Matrix<double> Inputs(int rows, int columns, double density, long seed)
    {
        var random = new Prng(seed);
        var x = new Matrix<double>(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                x[r, c] = random.NextDouble() < density ? 0.1 + random.NextDouble() : 0;
            }
        }

        return x;
    }

    [Fact]
    public void Layers_CheckTheirSizes_NameThemselves_AndRefuseMissingBuffers()
    {
        Expect<ArgumentOutOfRangeException>("size", null, () => _ = new ReLU<float>(0));
        Expect<ArgumentOutOfRangeException>("classes", null, () => _ = new SoftmaxCrossEntropy<float>(0));
        Expect<ArgumentOutOfRangeException>("classes", null, () => _ = new SoftmaxCrossEntropy<float>(SoftmaxCrossEntropy<float>.MaxClasses + 1));
        Assert.Equal(SoftmaxCrossEntropy<float>.MaxClasses, new SoftmaxCrossEntropy<float>(SoftmaxCrossEntropy<float>.MaxClasses).Classes);
        Assert.Equal("dense 4→3", new Dense<float>(4, 3).ToString());
        Assert.Equal("relu", new ReLU<float>(3).ToString());
        Assert.Equal("softmax", new SoftmaxCrossEntropy<float>(3).ToString());

        var context = new LayerContext(2);
        context.Begin(2, [0, 1], training: true);
        var m = new Matrix<float>(3, 2);
        Expect<ArgumentNullException>("outputGradient", null, () => new Dense<float>(3, 3).Backward(context, m, m, null, m, [new Matrix<float>(3, 3), new Matrix<float>(3, 1)]));
        Expect<ArgumentNullException>("outputGradient", null, () => new ReLU<float>(3).Backward(context, m, m, null, m, []));
        Expect<ArgumentNullException>("inputGradient", null, () => new SoftmaxCrossEntropy<float>(3).Backward(context, m, m, null, null, []));
    }

    [Fact]
    public void Dense_Initialize_EachScheme_SetsWeightsAndBiasesAsDocumented_AndCloneCopiesBoth()
    {
        var layer = new Dense<double>(50, 40);

        // Uniform (the seed's): W then b from one generator, each in [−0.5, 0.5).
        layer.Initialize(Initialization.Uniform, new Prng(5));
        var expected = new Prng(5);
        for (int r = 0; r < 40; r++)
        {
            for (int c = 0; c < 50; c++)
            {
                Assert.Equal(-0.5 + expected.NextDouble(), layer.Weight.Value[r, c], 15);
            }
        }

        for (int r = 0; r < 40; r++)
        {
            Assert.Equal(-0.5 + expected.NextDouble(), layer.Bias.Value[r, 0], 15);
        }

        Dense<double> copy = (Dense<double>)layer.Clone();
        Assert.True(TestData.SameBits(layer.Weight.Value, copy.Weight.Value));
        Assert.True(TestData.SameBits(layer.Bias.Value, copy.Bias.Value));

        // Glorot and He start from zero biases, whatever was there.
        layer.Initialize(Initialization.Glorot, new Prng(6));
        Assert.All(layer.Bias.Value.AsSpan().ToArray(), v => Assert.Equal(0.0, v));
        Assert.All(layer.Weight.Value.AsSpan().ToArray()[..50], v => Assert.InRange(v, -Math.Sqrt(6.0 / 90), Math.Sqrt(6.0 / 90)));
        layer.Bias.Value.AsSpan().Fill(3);

        // He: σ·√(−2 ln u1)·cos(2π u2), one draw pair per weight, σ = √(2 / fan-in).
        layer.Initialize(Initialization.He, new Prng(7));
        Assert.All(layer.Bias.Value.AsSpan().ToArray(), v => Assert.Equal(0.0, v));
        var draws = new Prng(7);
        double sigma = Math.Sqrt(2.0 / 50);
        for (int c = 0; c < 50; c++)
        {
            double u1 = 1.0 - draws.NextDouble();
            double u2 = draws.NextDouble();
            Assert.Equal(sigma * (Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2)), layer.Weight.Value[0, c]);
        }

        // Fan-in uniform (PyTorch's default): W, then b, uniform in ±1/√fan-in from one generator.
        layer.Initialize(Initialization.FanInUniform, new Prng(8));
        var uniform = new Prng(8);
        double bound = 1 / Math.Sqrt(50);
        for (int r = 0; r < 40; r++)
        {
            for (int c = 0; c < 50; c++)
            {
                Assert.Equal(-bound + (2 * bound * uniform.NextDouble()), layer.Weight.Value[r, c], 15);
            }
        }

        for (int r = 0; r < 40; r++)
        {
            Assert.Equal(-bound + (2 * bound * uniform.NextDouble()), layer.Bias.Value[r, 0], 15);
        }
    }

    [Fact]
    public void SparseForward_AddsTheBias()
    {
        // The first layer on the non-zero pixels adds b1 like the dense one (the tests elsewhere start from zero biases).
        var net = new DenseNetwork<float>([36, 8, 10], seed: 1);
        net.Parameters[1].Value.AsSpan().Fill(0.25f);
        var data = SparseInputTests.Images(20, side: 6, density: 0.2, seed: 2);
        int[] indices = [.. Enumerable.Range(0, 10)];
        var dense = new NetworkWorkspace<float>(net, 10) { InputMode = InputMode.Dense };
        var sparse = new NetworkWorkspace<float>(net, 10) { InputMode = InputMode.Sparse };
        Assert.Equal(net.ComputeGradients(data, indices, dense), net.ComputeGradients(data, indices, sparse));
        Assert.True(TestData.SameBits(dense.Outputs[0], sparse.Outputs[0]));
    }
}
