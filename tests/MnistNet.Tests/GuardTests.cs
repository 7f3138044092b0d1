using MnistNet.Activations;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// Tests written against bugs the rest of the suite could not see (each was checked by planting the bug once):
/// ReLU's derivative at exactly 0, the schedule's horizon as the trainer passes it, a new shuffle every epoch, a
/// gradient checker that can report a wrong gradient, and the fused step's bias sums.
/// </summary>
public class GuardTests
{
    [Theory]
    [InlineData(SimdPath.Scalar)]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Vector512)]
    public void ReLUBackward_AtExactlyZero_PassesNothing(SimdPath path)
    {
        // z = 0 and z = −0 block the gradient (the seed's ReLU_deriv is Z > 0); lengths cross every vector tail.
        for (int n = 1; n <= 40; n++)
        {
            var z = new Matrix<float>(2, n);
            var g = new Matrix<float>(2, n);
            for (int j = 0; j < n; j++)
            {
                z[0, j] = j % 3 == 0 ? 0f : j % 3 == 1 ? -0f : 1f;
                z[1, j] = j % 2 == 0 ? 0f : 2f;
                g[0, j] = 5f;
                g[1, j] = -7f;
            }

            var fast = new Matrix<float>(2, n);
            MatrixKernels.ReLUBackward(g, z, fast, 0, n, path);
            var through = new Matrix<float>(2, n);
            Activation.ReLUBackward(g, z, through);
            for (int j = 0; j < n; j++)
            {
                Assert.Equal(j % 3 == 2 ? 5f : 0f, fast[0, j]);
                Assert.Equal(j % 2 == 1 ? -7f : 0f, fast[1, j]);
            }

            Assert.True(TestData.SameBits(fast, through) || path != MnistNetRuntime.EffectiveSimdPath, $"n = {n}");
        }

        // The layer, on the network's readable path: a hidden unit whose pre-activation is exactly 0 gets no gradient.
        var net = new DenseNetwork<double>([1, 2, 2], Initialization.Uniform, seed: 3);
        net.Weights[0][0, 0] = 0;
        net.Biases[0][0, 0] = 0;
        Matrix<double> x = Matrix<double>.FromRowMajor(1, 1, [0.7]);
        var workspace = new NetworkWorkspace<double>(net, 1);
        net.ComputeGradientsByLayer(x, [1], workspace);
        Assert.Equal(0.0, workspace.Outputs[0][0, 0]);
        Assert.Equal(0.0, workspace.Gradients[1][0, 0]);
        Assert.Equal(0.0, workspace.Gradients[0][0, 0]);
    }

    [Fact]
    public void Trainer_PassesTheScheduleEveryStepOfTheRunAndItsTrueLength()
    {
        // 1 200 examples in batches of 500: 3 steps per epoch (the last one 200), 4 epochs = 12 steps, numbered 0–11.
        Dataset data = DenseNetworkTests.SyntheticDigits(1200, seed: 1);
        var calls = new List<(int Epoch, long Step, long Total)>();
        var schedule = new TrainerTests.RecordingSchedule((e, s, t) => calls.Add((e, s, t)));
        var trainer = new Trainer<float>(new DenseNetwork<float>([784, 8, 10], seed: 1), new Sgd<float>(0.1), new TrainingOptions { Epochs = 4, BatchSize = 500, Schedule = schedule });
        trainer.Fit(data, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(12, calls.Count);
        for (int i = 0; i < calls.Count; i++)
        {
            Assert.Equal((i / 3, (long)i, 12L), calls[i]);
        }

        // The cosine schedule then ends exactly at its final factor after the last step.
        LearningRateSchedule cosine = LearningRateSchedule.Cosine(0.1);
        Assert.Equal(0.1, cosine.Factor(3, 12, 12), 12);
        Assert.True(cosine.Factor(3, 11, 12) > 0.1);
    }

    [Fact]
    public void Trainer_ShufflesAnewEveryEpoch_AndTrainsOnExactlyThoseBatches()
    {
        int n = 50;
        Span<int> first = stackalloc int[n];
        Span<int> second = stackalloc int[n];
        Trainer<float>.EpochOrder(seed: 4, shuffle: true, epoch: 0, first);
        Trainer<float>.EpochOrder(seed: 4, shuffle: true, epoch: 1, second);
        Assert.False(first.SequenceEqual(second), "epochs 0 and 1 have the same order");
        int[] sorted = first.ToArray();
        Array.Sort(sorted);
        Assert.Equal(Enumerable.Range(0, n), sorted);

        // Replay the training by hand with those orders: Fit must give the same bits.
        Dataset data = DenseNetworkTests.SyntheticDigits(n, seed: 2);
        var options = new TrainingOptions { Epochs = 3, BatchSize = 7, Seed = 4 };
        var fitted = new DenseNetwork<double>([784, 5, 10], seed: 1);
        new Trainer<double>(fitted, new Sgd<double>(0.3), options).Fit(data, cancellationToken: TestContext.Current.CancellationToken);

        var replayed = new DenseNetwork<double>([784, 5, 10], seed: 1);
        var sgd = new Sgd<double>(0.3);
        int[] order = new int[n];
        for (int epoch = 0; epoch < 3; epoch++)
        {
            Trainer<double>.EpochOrder(4, true, epoch, order);
            for (int start = 0; start < n; start += 7)
            {
                int count = Math.Min(7, n - start);
                var workspace = new NetworkWorkspace<double>(replayed, count);
                data.CopyBatchTo(order.AsSpan(start, count), workspace.Input, workspace.Labels);
                replayed.ComputeGradients(workspace.Input, workspace.Labels, workspace);
                sgd.Step(replayed, workspace, 0.3);
            }
        }

        TrainerTests.AssertSameParameters(replayed, fitted);
    }

    [Fact]
    public void GradientCheck_RejectsAWrongGradient_AndNamesWhere()
    {
        var net = new DenseNetwork<double>([4, 3, 3], Initialization.Uniform, seed: 5);
        Matrix<double> x = TestData.Random<double>(4, 6, 1, 0, 1);
        ushort[] labels = TestData.Labels(6, 3, 2);
        var workspace = new NetworkWorkspace<double>(net, 6);
        net.ComputeGradients(x, labels, workspace);
        Matrix<double>[] gradients = [.. workspace.Gradients.Select(g => g.Clone())];
        GradientCheckResult good = GradientCheck.Compare(net, x, labels, gradients, floor: 1e-4);
        Assert.True(good.MaxRelativeError < 1e-6, $"correct gradients: {good.MaxRelativeError:E2}");
        Assert.True(good.Checked > 20);

        // One wrong element: the seed's bias bug (one sum over the whole matrix instead of one per unit) in b2.
        double whole = gradients[3][0, 0] + gradients[3][1, 0] + gradients[3][2, 0];
        gradients[3][1, 0] = whole;
        GradientCheckResult bad = GradientCheck.Compare(net, x, labels, gradients, floor: 1e-4);
        Assert.True(bad.MaxRelativeError > 1e-2, $"a wrong b2 went unnoticed: {bad.MaxRelativeError:E2}");
        Assert.Equal("layers.1.bias[1, 0]", bad.WorstParameter);
        Assert.True(bad.MaxRelativeErrorByTensor["layers.0.weight"] < 1e-6);

        // The seed network's named check reports the same tensors under the seed's names.
        var seedNet = new TwoLayerNetwork<double>(inputs: 4, hidden: 3, outputs: 3, seed: 5);
        GradientCheckResult named = GradientCheck.Run(seedNet, x, labels, floor: 1e-4);
        Assert.Equal(["W1", "W2", "b1", "b2"], named.MaxRelativeErrorByTensor.Keys.Order(StringComparer.Ordinal));
        Assert.Throws<ArgumentException>(() => GradientCheck.Compare(net, x, labels, gradients[..3]));
    }
}
