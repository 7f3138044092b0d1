using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Diagnostics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Tests;

/// <summary>Back-propagation against centered finite differences, in double, over random shapes, batches and seeds.</summary>
public class GradientTests
{
    [Property(Arbitrary = [typeof(CaseGenerators)], MaxTest = 100)]
    public void BackwardProp_RandomNetworks_MatchFiniteDifferences(NetworkCase c)
    {
        (TwoLayerNetwork<double> net, Matrix<double> x, ushort[] labels) = c.Build();

        // h = 1e-5 in double: truncation error ~h², but the numerical derivative also carries an absolute
        // rounding error of about ε·|L|/h ≈ 2.2e-16 · 2 / 1e-5 ≈ 5e-11. A relative error of 1e-6 cannot be
        // resolved for gradients below ~1e-4, so the denominator's floor is 1e-4: those coordinates are held to
        // an absolute error of 1e-10 instead. (Measured over 3 000 random cases: worst 3.3e-7.)
        GradientCheckResult result = GradientCheck.Run(net, x, labels, step: 1e-5, floor: 1e-4);
        Assert.True(result.MaxRelativeError < 1e-6, $"{c}: max relative error {result.MaxRelativeError:E2} at {result.WorstParameter}");
        Assert.True(result.Checked > 0, $"{c}: nothing was checked ({result.Skipped} skipped)");
    }

    [Property(Arbitrary = [typeof(CaseGenerators)], MaxTest = 100)]
    public void BiasGradients_EqualRowSumsOfDeltasOverM(NetworkCase c)
    {
        (TwoLayerNetwork<double> net, Matrix<double> x, ushort[] labels) = c.Build();
        Gradients<double> g = net.BackwardProp(x, labels, net.ForwardProp(x));
        for (int r = 0; r < net.Hidden; r++)
        {
            double sum = 0;
            for (int j = 0; j < x.Columns; j++)
            {
                sum += g.DZ1[r, j];
            }

            Assert.Equal(sum / x.Columns, g.DB1[r, 0], 1e-12);
        }

        for (int r = 0; r < net.Outputs; r++)
        {
            double sum = 0;
            for (int j = 0; j < x.Columns; j++)
            {
                sum += g.DZ2[r, j];
            }

            Assert.Equal(sum / x.Columns, g.DB2[r, 0], 1e-12);
        }
    }

    [Property(Arbitrary = [typeof(CaseGenerators)], MaxTest = 100)]
    public void ForwardAndBackward_MatchNaiveReferenceMath(NetworkCase c)
    {
        (TwoLayerNetwork<double> net, Matrix<double> x, ushort[] labels) = c.Build();
        ForwardPass<double> f = net.ForwardProp(x);
        Gradients<double> g = net.BackwardProp(x, labels, f);

        // The same equations written with the naive reference kernels.
        (ForwardPass<double> rf, Gradients<double> rg) = ReferenceNetwork.ForwardBackward(net, x, labels);

        AssertClose(rf.A2, f.A2, 1e-12);
        AssertClose(rg.DW2, g.DW2, 1e-12);
        AssertClose(rg.DW1, g.DW1, 1e-12);
        AssertClose(rg.DB1, g.DB1, 1e-12);
        AssertClose(rg.DB2, g.DB2, 1e-12);
    }

    [Fact]
    public void GradientCheck_DetectsAWrongGradient()
    {
        // The check itself must be able to fail: hand it the seed's bias bug (one sum over the whole dZ2 instead of one
        // per output unit) and expect a large error in b2, and none elsewhere.
        var net = new TwoLayerNetwork<double>(inputs: 4, hidden: 3, outputs: 3, seed: 5);
        Matrix<double> x = TestData.Random<double>(4, 6, 1, 0, 1);
        ushort[] labels = TestData.Labels(6, 3, 2);
        GradientCheckResult good = GradientCheck.Run(net, x, labels);
        Assert.True(good.MaxRelativeError < 1e-6);

        Gradients<double> g = net.BackwardProp(x, labels, net.ForwardProp(x));
        Matrix<double>[] seedStyle = [g.DW1.Clone(), g.DB1.Clone(), g.DW2.Clone(), g.DB2.Clone()];
        double whole = 0;
        for (int r = 0; r < 3; r++)
        {
            for (int j = 0; j < 6; j++)
            {
                whole += g.DZ2[r, j] / 6;
            }
        }

        for (int r = 0; r < 3; r++)
        {
            seedStyle[3][r, 0] = whole;
        }

        GradientCheckResult bad = GradientCheck.Compare(net.Network, x, labels, seedStyle);
        Assert.True(bad.MaxRelativeError > 0.1, $"the seed's bias bug went unnoticed: {bad.MaxRelativeError:E2}");
        Assert.StartsWith("layers.1.bias", bad.WorstParameter);
        Assert.True(bad.MaxRelativeErrorByTensor["layers.0.weight"] < 1e-6);
    }

    [Fact]
    public void GradientCheck_RestoresParametersExactly()
    {
        var net = new TwoLayerNetwork<double>(inputs: 5, hidden: 4, outputs: 3, seed: 9);
        Matrix<double> before = net.W1.Clone();
        GradientCheck.Run(net, TestData.Random<double>(5, 7, 1, 0, 1), TestData.Labels(7, 3, 1));
        Assert.True(TestData.SameBits(before, net.W1));
    }

    private static void AssertClose(Matrix<double> expected, Matrix<double> actual, double relative)
    {
        for (int r = 0; r < expected.Rows; r++)
        {
            for (int c = 0; c < expected.Columns; c++)
            {
                double e = expected[r, c];
                double a = actual[r, c];
                Assert.True(Math.Abs(e - a) <= relative * Math.Max(1, Math.Abs(e)), $"[{r},{c}]: {a} vs {e}");
            }
        }
    }

    public sealed record NetworkCase(int Inputs, int Hidden, int Outputs, int Batch, long Seed)
    {
        public (TwoLayerNetwork<double> Net, Matrix<double> X, ushort[] Labels) Build()
        {
            var net = new TwoLayerNetwork<double>(Inputs, Hidden, Outputs, Seed);
            Matrix<double> x = TestData.Random<double>(Inputs, Batch, Seed + 1, 0, 1);
            return (net, x, TestData.Labels(Batch, Outputs, Seed + 2));
        }
    }

    public static class CaseGenerators
    {
        public static Arbitrary<NetworkCase> Cases() =>
            (from inputs in Gen.Choose(1, 12)
             from hidden in Gen.Choose(1, 8)
             from outputs in Gen.Choose(2, 6)
             from batch in Gen.Choose(1, 9)
             from seed in Gen.Choose(0, 1_000_000)
             select new NetworkCase(inputs, hidden, outputs, batch, seed)).ToArbitrary();
    }
}
