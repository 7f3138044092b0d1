using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>Every optimiser's update against its textbook formula, written out naively in double.</summary>
public class OptimizerTests
{
    public static readonly TheoryData<string> Names = new() { "sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw" };

    [Property(Arbitrary = [typeof(OptimizerGenerators)], MaxTest = 60)]
    public void Update_EveryLength0To257_MatchesTextbookFormula(OptimizerCase c)
    {
        // Lengths 0–257 cross every vector tail (16 / 8 / 1 lanes); a few steps exercise the state and Adam's t.
        Optimizer<double> optimizer = Create<double>(c.Name, c.Rate);
        var random = new Prng(c.Seed);
        double[] theta = Draw(random, c.Length);
        double[] expected = (double[])theta.Clone();
        double[] s0 = new double[c.Length], s1 = new double[c.Length];
        double[] r0 = new double[c.Length], r1 = new double[c.Length];
        for (int step = 1; step <= 4; step++)
        {
            double[] g = Draw(random, c.Length);
            optimizer.RestoreSteps(step);
            ApplyToArrays(optimizer, theta, g, s0, s1, c.Rate, c.IsWeight);
            Textbook(c.Name, c.Rate, step, c.IsWeight, expected, g, r0, r1);
        }

        for (int i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(theta[i] - expected[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])), $"{c}: [{i}] {theta[i]} vs {expected[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void FloatUpdate_VectorAndScalarPathsGiveTheSameBits(string name)
    {
        // 257 elements: 16 full vectors and a scalar tail; the tail's elements repeat the body's inputs, so their
        // results must repeat the body's bits.
        var random = new Prng(3);
        float[] g = new float[257], theta = new float[257];
        for (int i = 0; i < 256; i++)
        {
            g[i] = (float)(random.NextDouble() - 0.5);
            theta[i] = (float)(random.NextDouble() - 0.5);
        }

        g[256] = g[5];
        theta[256] = theta[5];
        Optimizer<float> optimizer = Create<float>(name, 0.01);
        float[] s0 = new float[257], s1 = new float[257];
        for (int step = 1; step <= 3; step++)
        {
            optimizer.RestoreSteps(step);
            ApplyToArrays(optimizer, theta, g, s0, s1, 0.01f, isWeight: true);
        }

        Assert.Equal(BitConverter.SingleToInt32Bits(theta[5]), BitConverter.SingleToInt32Bits(theta[256]));
    }

    [Fact]
    public void AdamW_DecaysWeightsNotBiases()
    {
        var net = new DenseNetwork<double>([3, 2], seed: 1);
        net.Biases[0][0, 0] = 1;
        var workspace = new NetworkWorkspace<double>(net, 1);
        double w = net.Weights[0][0, 0];
        new Adam<double>(0.1, weightDecay: 0.5).Step(net, workspace, 0.1);
        Assert.Equal(w * (1 - 0.05), net.Weights[0][0, 0], 15);
        Assert.Equal(1.0, net.Biases[0][0, 0]);
    }

    [Fact]
    public void Arguments_OutOfRange_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Momentum<float>(0.1, momentum: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp<float>(0.1, rho: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(0.1, beta2: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(0.1, weightDecay: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(0.1, epsilon: 0));
        var net = new DenseNetwork<float>([3, 2]);
        var adam = new Adam<float>();
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.Step(net, new NetworkWorkspace<float>(net, 1), -1));
        adam.Step(net, new NetworkWorkspace<float>(net, 1), 0.1);
        var other = new DenseNetwork<float>([3, 4, 2]);
        Assert.Throws<ArgumentException>(() => adam.Step(other, new NetworkWorkspace<float>(other, 1), 0.1));
    }

    [Fact]
    public void Schedules_FollowTheirFormulas()
    {
        Assert.Equal(1.0, LearningRateSchedule.Constant.Factor(7, 1000, 2000));
        LearningRateSchedule step = LearningRateSchedule.StepDecay(3, 0.5);
        Assert.Equal(1.0, step.Factor(2, 0, 10));
        Assert.Equal(0.5, step.Factor(3, 0, 10));
        Assert.Equal(0.25, step.Factor(6, 0, 10));
        LearningRateSchedule cosine = LearningRateSchedule.Cosine(0.1);
        Assert.Equal(1.0, cosine.Factor(0, 0, 100), 15);
        Assert.Equal(0.55, cosine.Factor(0, 50, 100), 12);
        double previous = 2;
        for (long s = 0; s < 100; s++)
        {
            double f = cosine.Factor(0, s, 100);
            Assert.True(f < previous && f > 0.1);
            previous = f;
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.StepDecay(0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.StepDecay(1, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine(-0.1));
    }

    /// <summary>Runs one update of <paramref name="optimizer"/> on arrays, through a 1 × n parameter and state matrices.</summary>
    private static void ApplyToArrays<T>(Optimizer<T> optimizer, T[] theta, T[] g, T[] s0, T[] s1, T rate, bool isWeight)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = theta.Length;
        var parameter = new MnistNet.Layers.Parameter<T>(isWeight ? "weight" : "bias", 1, n, [n], isWeight);
        theta.CopyTo(parameter.Value.Row(0));
        var state = new[] { Matrix<T>.FromRowMajor(1, n, s0), Matrix<T>.FromRowMajor(1, n, s1) };
        var gradient = Matrix<T>.FromRowMajor(1, n, g);
        optimizer.Apply(parameter, gradient.AsSpan(), state.AsSpan(0, optimizer.StateCount), rate);
        parameter.Value.Row(0).CopyTo(theta);
        state[0].Row(0).CopyTo(s0);
        state[1].Row(0).CopyTo(s1);
    }

    internal static Optimizer<T> Create<T>(string name, double rate)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => name switch
        {
            "sgd" => new Sgd<T>(rate),
            "momentum" => new Momentum<T>(rate, 0.9),
            "nesterov" => new Momentum<T>(rate, 0.8, nesterov: true),
            "rmsprop" => new RmsProp<T>(rate, 0.9, 1e-8),
            "adam" => new Adam<T>(rate),
            _ => new Adam<T>(rate, 0.85, 0.99, 1e-7, weightDecay: 0.1),
        };

    /// <summary>The published update rules, one element at a time, in the order the papers write them.</summary>
    private static void Textbook(string name, double lr, int t, bool isWeight, double[] theta, double[] g, double[] s0, double[] s1)
    {
        for (int i = 0; i < theta.Length; i++)
        {
            switch (name)
            {
                case "sgd":
                    theta[i] -= lr * g[i];
                    break;
                case "momentum":
                    s0[i] = (0.9 * s0[i]) + g[i];
                    theta[i] -= lr * s0[i];
                    break;
                case "nesterov":
                    s0[i] = (0.8 * s0[i]) + g[i];
                    theta[i] -= lr * (g[i] + (0.8 * s0[i]));
                    break;
                case "rmsprop":
                    s0[i] = (0.9 * s0[i]) + (0.1 * g[i] * g[i]);
                    theta[i] -= lr * g[i] / (Math.Sqrt(s0[i]) + 1e-8);
                    break;
                default:
                    bool w = name == "adamw";
                    double b1 = w ? 0.85 : 0.9, b2 = w ? 0.99 : 0.999, eps = w ? 1e-7 : 1e-8, decay = w ? 0.1 : 0;
                    if (isWeight)
                    {
                        theta[i] -= lr * decay * theta[i];
                    }

                    s0[i] = (b1 * s0[i]) + ((1 - b1) * g[i]);
                    s1[i] = (b2 * s1[i]) + ((1 - b2) * g[i] * g[i]);
                    double mHat = s0[i] / (1 - Math.Pow(b1, t));
                    double vHat = s1[i] / (1 - Math.Pow(b2, t));
                    theta[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
                    break;
            }
        }
    }

    private static double[] Draw(Prng random, int length)
    {
        double[] values = new double[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (random.NextDouble() - 0.5) * 2;
        }

        return values;
    }

    public sealed record OptimizerCase(string Name, int Length, double Rate, bool IsWeight, long Seed);

    public static class OptimizerGenerators
    {
        public static Arbitrary<OptimizerCase> Cases() =>
            (from name in Gen.Elements("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
             from length in Gen.Choose(0, 257)
             from rate in Gen.Elements(1e-3, 0.01, 0.3)
             from isWeight in Gen.Elements(true, false)
             from seed in Gen.Choose(0, 1_000_000)
             select new OptimizerCase(name, length, rate, isWeight, seed)).ToArbitrary();
    }
}
