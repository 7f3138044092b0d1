using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>
/// What each of the network's doors tells its layers (<see cref="LayerContext"/>: training or not, labels, batch size),
/// how a network picks its input form, and the workspace's buffers — seen from a layer that records its context, as a
/// user's own layer (dropout, say) would. Written against the mutation run's survivors in src/MnistNet/Networks and
/// Layers (tests/MnistNet.MutationTests).
/// </summary>
public sealed class NetworkPassTests
{
    /// <summary>An identity layer that records the context of its last forward and backward pass.</summary>
    private sealed class Recorder(int size) : Layer<float>
    {
        public (bool Training, bool HasLabels, int Labels, int Columns, double InverseBatch) LastForward { get; private set; }

        public (bool Training, bool HasLabels, int Labels, int Columns, double InverseBatch) LastBackward { get; private set; }

        public int Forwards { get; private set; }

        public override int InputSize => size;

        public override int OutputSize => size;

        public override Layer<float> Clone() => new Recorder(size);

        public override string ToString() => "recorder";

        protected internal override void Forward(LayerContext context, Matrix<float> input, Matrix<float> output)
        {
            LastForward = (context.Training, context.HasLabels, context.Labels.Length, context.Columns, context.InverseBatch);
            Forwards++;
            input.CopyTo(output);
        }

        protected internal override void Backward(LayerContext context, Matrix<float> input, Matrix<float> output, Matrix<float>? outputGradient, Matrix<float>? inputGradient, ReadOnlySpan<Matrix<float>> parameterGradients)
        {
            LastBackward = (context.Training, context.HasLabels, context.Labels.Length, context.Columns, context.InverseBatch);
            outputGradient!.CopyTo(inputGradient!);
        }
    }

    private static (Network<float> Net, Recorder Recorder) Recording(int inputs = 6, int classes = 3)
    {
        var recorder = new Recorder(4);
        var net = new Network<float>([new Dense<float>(inputs, 4), recorder, new Dense<float>(4, classes), new SoftmaxCrossEntropy<float>(classes)]);
        var random = new Prng(2);
        foreach (Layer<float> layer in net.Layers)
        {
            layer.Initialize(Initialization.Glorot, random);
        }

        return (net, recorder);
    }

    [Fact]
    public void Training_TellsLayersItTrains_WithTheLabels_AndEveryOtherDoorThatItDoesNot()
    {
        (Network<float> net, Recorder recorder) = Recording();
        Matrix<float> x = TestData.Random<float>(6, 5, seed: 3);
        ushort[] labels = TestData.Labels(5, 3, seed: 3);

        var ws = new NetworkWorkspace<float>(net, 5);
        net.ComputeGradients(x, labels, ws);
        Assert.Equal((true, true, 5, 5, 0.2), recorder.LastForward);
        Assert.Equal((true, true, 5, 5, 0.2), recorder.LastBackward);

        // A forward pass on a smaller workspace afterwards: nothing of the training pass remains.
        var small = new NetworkWorkspace<float>(net, 2);
        net.ForwardProp(TestData.Random<float>(6, 2, seed: 4), small);
        Assert.Equal((false, false, 0, 2, 0.5), recorder.LastForward);

        net.ComputeGradients(x, labels, ws);
        net.Predict(x);
        Assert.Equal((false, false, 0, 5, 0.2), recorder.LastForward);

        net.ComputeGradients(x, labels, ws);
        net.GetAccuracy(x, labels);
        Assert.Equal((false, false, 0, 5, 0.2), recorder.LastForward);

        net.ComputeGradients(x, labels, ws);
        Assert.True(net.Loss(x, labels) > 0);
        Assert.Equal((false, true, 5, 5, 0.2), recorder.LastForward);
    }

    [Fact]
    public void DatasetDoors_TrainWithLabels_PredictWithout_EvaluateWithLabelsButNotTraining()
    {
        (Network<float> net, Recorder recorder) = Recording(inputs: 4, classes: 10);
        Dataset data = SparseInputTests.Images(7, side: 2, density: 0.5, seed: 5);
        var ws = new NetworkWorkspace<float>(net, 3) { InputMode = InputMode.Dense };
        net.ComputeGradients(data, [0, 4, 6], ws);
        Assert.Equal((true, true, 3, 3, 1.0 / 3), recorder.LastForward);

        net.Predict(data);
        Assert.Equal((false, false, 0, 7, 1.0 / 7), recorder.LastForward);

        net.ComputeGradients(data, [0, 4, 6], ws);
        ClassificationMetrics metrics = net.Evaluate(data);
        Assert.Equal((false, true, 7, 7, 1.0 / 7), recorder.LastForward);
        Assert.True(metrics.Loss > 0);
    }

    [Fact]
    public void FusedDoors_MarkTheirPassAsTraining()
    {
        // dense → ReLU → dense → softmax with ≤ 64 hidden units runs fused; its context still says "training".
        var net = new DenseNetwork<float>([6, 5, 3], seed: 1);
        Matrix<float> x = TestData.Random<float>(6, 4, seed: 6);
        ushort[] labels = TestData.Labels(4, 3, seed: 6);
        var ws = new NetworkWorkspace<float>(net, 4);
        net.ForwardProp(x, ws);
        Assert.False(ws.Context.Training);
        net.ComputeGradients(x, labels, ws);
        Assert.True(ws.Context.Training);
        Assert.Equal(labels, ws.Context.Labels.ToArray());

        net.ForwardProp(x, ws);
        net.ComputeGradients(SparseColumns<float>.FromDense(x), labels, ws);
        Assert.True(ws.Context.Training);
        Assert.Equal(4, ws.Context.Columns);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void ComputeGradients_RunsFused_UpToSixtyFourHiddenUnits(int hidden, bool fused)
    {
        // The fused step sums dW1 over blocks of columns, the readable path over the whole batch: with three blocks
        // their bits differ, which shows which one the door took.
        var net = new DenseNetwork<float>([20, hidden, 10], seed: 3);
        Matrix<float> x = TestData.Random<float>(20, 600, seed: 4);
        ushort[] labels = TestData.Labels(600, 10, seed: 4);
        var door = new NetworkWorkspace<float>(net, 600);
        var direct = new NetworkWorkspace<float>(net, 600);
        var readable = new NetworkWorkspace<float>(net, 600);
        net.ComputeGradients(x, labels, door);
        direct.Context.Begin(600, labels, training: true);
        direct.Fused.Run(net, x);
        net.ComputeGradientsByLayer(x, labels, readable);
        Assert.False(TestData.SameBits(direct.Gradients[0], readable.Gradients[0]), "the two paths must differ for this check to mean anything");
        Assert.True(TestData.SameBits(fused ? direct.Gradients[0] : readable.Gradients[0], door.Gradients[0]));
    }

    [Fact]
    public void Predict_LargeUnlabelledAndEmptyData_InChunks_MatchesOneImageAtATime()
    {
        (Network<float> net, Recorder recorder) = Recording(inputs: 4, classes: 10);
        Dataset labelled = SparseInputTests.Images(2 * Network<float>.PredictChunk + 3, side: 2, density: 0.6, seed: 8);
        byte[] pixels = new byte[labelled.Count * 4];
        for (int i = 0; i < labelled.Count; i++)
        {
            labelled.Image(i).CopyTo(pixels.AsSpan(i * 4));
        }

        Dataset unlabelled = Dataset.Unlabeled(pixels, 2, 2);
        int[] predictions = net.Predict(unlabelled);
        Assert.Equal(net.Predict(labelled), predictions);
        Assert.Equal(3, recorder.LastForward.Columns);    // the tail chunk
        for (int i = 0; i < labelled.Count; i += 97)
        {
            var one = new Matrix<float>(4, 1);
            for (int k = 0; k < 4; k++)
            {
                one[k, 0] = unlabelled.Image(i)[k] / 255f;
            }

            Assert.Equal(net.Predict(one)[0], predictions[i]);
        }

        // Exactly two full chunks: no tail.
        int forwards = recorder.Forwards;
        Assert.Equal(2 * Network<float>.PredictChunk, net.Predict(unlabelled.Slice(0, 2 * Network<float>.PredictChunk)).Length);
        Assert.Equal(forwards + 2, recorder.Forwards);
        Assert.Equal(Network<float>.PredictChunk, recorder.LastForward.Columns);

        forwards = recorder.Forwards;
        Assert.Empty(net.Predict(unlabelled.Slice(0, 0)));
        Assert.Equal(forwards, recorder.Forwards);
        Assert.True(double.IsNaN(net.Evaluate(labelled.Slice(0, 0)).Loss));
    }

    [Fact]
    public void GetAccuracy_WrongNumberOfLabels_NamesTheLabels()
    {
        (Network<float> net, _) = Recording();
        var error = Assert.Throws<ArgumentException>(() => net.GetAccuracy(TestData.Random<float>(6, 3, seed: 1), [0, 1]));
        Assert.Equal("labels", error.ParamName);
    }

    [Fact]
    public void InputForm_SparseNeedsADenseFirstLayerAndAtMost65536Inputs_AutoNeedsDensityBelow30Percent()
    {
        // A first layer that is not dense: sparse input is refused by name, auto stays dense.
        var reluFirst = new Network<float>([new ReLU<float>(4), new Dense<float>(4, 2), new SoftmaxCrossEntropy<float>(2)]);
        Dataset sparse = SparseInputTests.Images(20, side: 2, density: 0.1, seed: 1);
        var refused = Assert.Throws<NotSupportedException>(() => reluFirst.UsesSparseInput(sparse, InputMode.Sparse));
        Assert.Equal($"Sparse input needs a dense first layer of at most 65536 inputs; this network is {reluFirst.Architecture}.", refused.Message);
        Assert.False(reluFirst.UsesSparseInput(sparse, InputMode.Auto));

        // 65 536 inputs (a 256 × 256 image) is the most a sparse batch can index.
        var widest = new DenseNetwork<float>([SparseColumns<float>.MaxRows, 1, 2], seed: 1);
        Dataset big = Dataset.Unlabeled(new byte[SparseColumns<float>.MaxRows], 256, 256);
        Assert.True(widest.UsesSparseInput(big, InputMode.Sparse));
        Assert.True(widest.UsesSparseInput(big, InputMode.Auto));
        var tooWide = new DenseNetwork<float>([SparseColumns<float>.MaxRows + 256, 1, 2], seed: 1);
        Dataset wider = Dataset.Unlabeled(new byte[SparseColumns<float>.MaxRows + 256], 257, 256);
        Assert.Throws<NotSupportedException>(() => tooWide.UsesSparseInput(wider, InputMode.Sparse));
        Assert.False(tooWide.UsesSparseInput(wider, InputMode.Auto));

        // Exactly 30 % non-zero (3 of 10 pixels in every image) is not below the threshold: auto stays dense.
        byte[] pixels = new byte[4 * 10];
        for (int i = 0; i < 4; i++)
        {
            pixels[(i * 10) + 1] = pixels[(i * 10) + 4] = pixels[(i * 10) + 8] = 200;
        }

        var ten = new DenseNetwork<float>([10, 3, 2], seed: 1);
        Dataset atThreshold = Dataset.Unlabeled(pixels, 2, 5);
        Assert.Equal(SparseColumns<float>.RecommendedMaxDensity, atThreshold.Density, 12);
        Assert.False(ten.UsesSparseInput(atThreshold, InputMode.Auto));
        pixels[8] = 0;
        Assert.True(ten.UsesSparseInput(Dataset.Unlabeled(pixels, 2, 5), InputMode.Auto));
    }

    [Fact]
    public void Workspace_ForAnotherShape_IsRefused_WhateverLayerDiffers()
    {
        var a = new Network<float>([new Dense<float>(4, 3), new ReLU<float>(3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]);
        var ws = new NetworkWorkspace<float>(a, 2);
        Matrix<float> x4 = TestData.Random<float>(4, 2, seed: 1);
        ushort[] labels = [0, 1];
        Assert.True(a.ComputeGradients(x4, labels, ws) > 0);
        Assert.True(new Network<float>([new Dense<float>(4, 3), new ReLU<float>(3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]).ComputeGradients(x4, labels, ws) > 0);

        Network<float>[] others =
        [
            new([new Dense<float>(4, 3), new Recorder(3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]),   // a layer of another kind
            new([new Dense<float>(4, 3), new ReLU<float>(3), new Dense<float>(3, 3), new SoftmaxCrossEntropy<float>(3)]), // only the last sizes differ
            new([new Dense<float>(4, 3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]),                    // fewer layers
            new([new Dense<float>(5, 3), new ReLU<float>(3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]), // only the input size differs
        ];
        foreach (Network<float> other in others)
        {
            Matrix<float> x = TestData.Random<float>(other.Inputs, 2, seed: 2);
            var error = Assert.Throws<ArgumentException>(() => other.ComputeGradients(x, labels, ws));
            Assert.Equal($"The workspace was made for a network of another shape, not {other.Architecture}. (Parameter 'workspace')", error.Message);
        }
    }

    [Fact]
    public void Workspace_Buffers_NoInputGradientForTheFirstLayer_InPlaceLayersShareTheOneAbove_NamedGradientsInOrder()
    {
        var net = new Network<float>([new Dense<float>(4, 3), new ReLU<float>(3), new Dense<float>(3, 2), new SoftmaxCrossEntropy<float>(2)]);
        var ws = new NetworkWorkspace<float>(net, 5);
        Assert.Equal("columns", Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkWorkspace<float>(net, 0)).ParamName);
        Assert.Equal("columns", Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkWorkspace<float>(net, -1, training: false)).ParamName);

        Assert.Equal(4, ws.InputGradients.Count);
        Assert.Equal((0, 0), (ws.InputGradients[0].Rows, ws.InputGradients[0].Columns));
        Assert.Same(ws.InputGradients[2], ws.InputGradients[1]);                 // ReLU's backward runs in place
        Assert.Equal((3, 5), (ws.InputGradients[2].Rows, ws.InputGradients[2].Columns));
        Assert.Equal((2, 5), (ws.InputGradients[3].Rows, ws.InputGradients[3].Columns));

        net.ComputeGradients(TestData.Random<float>(4, 5, seed: 1), [0, 1, 1, 0, 1], ws);
        var named = ws.NamedGradients().ToList();
        Assert.Equal(net.Parameters.Select(p => p.Name), named.Select(n => n.Name));
        for (int p = 0; p < named.Count; p++)
        {
            Assert.Same(net.Parameters[p], named[p].Parameter);
            Assert.Same(ws.Gradients[p], named[p].Gradient);
            Assert.Equal((net.Parameters[p].Value.Rows, net.Parameters[p].Value.Columns), (named[p].Gradient.Rows, named[p].Gradient.Columns));
        }

        Assert.Contains(named, n => n.Gradient.AsSpan().ToArray().Any(v => v != 0));
    }

    [Fact]
    public void DenseNetwork_Clone_HasTheSameBits_AndIsIndependent()
    {
        var net = new DenseNetwork<float>([5, 4, 3], seed: 7);
        DenseNetwork<float> copy = net.Clone();
        Assert.Equal(net.Architecture, copy.Architecture);
        for (int p = 0; p < net.Parameters.Count; p++)
        {
            Assert.True(TestData.SameBits(net.Parameters[p].Value, copy.Parameters[p].Value), net.Parameters[p].Name);
            Assert.NotSame(net.Parameters[p].Value, copy.Parameters[p].Value);
        }

        copy.Parameters[0].Value[0, 0] += 1;
        Assert.NotEqual(net.Parameters[0].Value[0, 0], copy.Parameters[0].Value[0, 0]);
    }

    [Fact]
    public void Parameter_ChecksItsArguments()
    {
        Assert.Equal("localName", Assert.Throws<ArgumentNullException>(() => new Parameter<float>(null!, 2, 3, [2, 3], decays: true)).ParamName);
        Assert.Equal("localName", Assert.Throws<ArgumentException>(() => new Parameter<float>("", 2, 3, [2, 3], decays: true)).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentNullException>(() => new Parameter<float>("w", 2, 3, null!, decays: true)).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentOutOfRangeException>(() => new Parameter<float>("w", 2, 3, [-2, -3], decays: true)).ParamName);
        var mismatch = Assert.Throws<ArgumentException>(() => new Parameter<float>("w", 2, 3, [3, 3], decays: true));
        Assert.Equal("The shape [3, 3] does not hold 2 × 3 elements. (Parameter 'shape')", mismatch.Message);

        var ok = new Parameter<float>("w", 2, 3, [6], decays: false);
        Assert.Equal((2, 3), (ok.Value.Rows, ok.Value.Columns));
        Assert.False(ok.Decays);
    }
}
