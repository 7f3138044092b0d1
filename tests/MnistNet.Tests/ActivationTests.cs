using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Activations;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

public class ActivationTests
{
    [Property(Arbitrary = [typeof(LogitGenerators)], MaxTest = 300)]
    public void Softmax_LogitsUpTo1e4_ColumnsFiniteAndSumToOne(Logits logits)
    {
        Matrix<float> z = Matrix<float>.FromRowMajor(logits.Rows, logits.Columns, logits.Values);
        Matrix<float> a = Activation.Softmax(z);
        Matrix<double> zd = Matrix<double>.FromRowMajor(logits.Rows, logits.Columns, Array.ConvertAll(logits.Values, v => (double)v));
        Matrix<double> ad = Activation.Softmax(zd);
        for (int c = 0; c < logits.Columns; c++)
        {
            double sum = 0, sumD = 0;
            for (int r = 0; r < logits.Rows; r++)
            {
                Assert.True(float.IsFinite(a[r, c]) && a[r, c] >= 0 && a[r, c] <= 1, $"A[{r},{c}] = {a[r, c]}");
                Assert.True(double.IsFinite(ad[r, c]));
                sum += a[r, c];
                sumD += ad[r, c];
            }

            // Each of the `Rows` quotients is rounded once, and the sum itself is rounded once per term.
            Assert.InRange(sum, 1 - (4e-7 * logits.Rows), 1 + (4e-7 * logits.Rows));
            Assert.InRange(sumD, 1 - (1e-15 * logits.Rows), 1 + (1e-15 * logits.Rows));
        }
    }

    [Property(Arbitrary = [typeof(LogitGenerators)], MaxTest = 200)]
    public void Softmax_MatchesDoublePrecisionReference(Logits logits)
    {
        Matrix<float> z = Matrix<float>.FromRowMajor(logits.Rows, logits.Columns, logits.Values);
        Matrix<float> actual = Activation.Softmax(z);
        var expected = new Matrix<float>(logits.Rows, logits.Columns);
        ReferenceKernels.Softmax(z, expected);
        for (int r = 0; r < logits.Rows; r++)
        {
            for (int c = 0; c < logits.Columns; c++)
            {
                // Probabilities are compared with an absolute tolerance of a few float ulps of 1.
                Assert.True(Math.Abs(actual[r, c] - expected[r, c]) <= 1e-6, $"[{r},{c}]: {actual[r, c]} vs {expected[r, c]}");
            }
        }
    }

    [Fact]
    public void Softmax_EveryColumnCount0To1100_EqualsPerColumnReference()
    {
        // Crosses the fixed internal block size (512) at several points.
        foreach (int n in Enumerable.Range(0, 258).Concat([511, 512, 513, 1023, 1100]))
        {
            Matrix<double> z = TestData.Random<double>(10, n, n, -30, 30);
            Matrix<double> actual = Activation.Softmax(z);
            var expected = new Matrix<double>(10, n);
            ReferenceKernels.Softmax(z, expected);
            for (int r = 0; r < 10; r++)
            {
                for (int c = 0; c < n; c++)
                {
                    Assert.True(Math.Abs(actual[r, c] - expected[r, c]) <= 1e-14, $"n={n} [{r},{c}]");
                }
            }
        }
    }

    [Fact]
    public void Softmax_HugeLogits_NoOverflow()
    {
        Matrix<float> z = Matrix<float>.FromArray(new float[,] { { 1e30f, -1e30f }, { 1e30f, 3e38f }, { -3e38f, 3e38f } });
        Matrix<float> a = Activation.Softmax(z);
        Assert.Equal(0.5f, a[0, 0]);
        Assert.Equal(0.5f, a[1, 0]);
        Assert.Equal(0f, a[2, 0]);
        Assert.Equal(0f, a[0, 1]);
        Assert.Equal(0.5f, a[1, 1]);
        Assert.Equal(0.5f, a[2, 1]);
    }

    [Fact]
    public void Softmax_InPlace_SameAsOutOfPlace()
    {
        Matrix<float> z = TestData.Random<float>(10, 700, 3, -5, 5);
        Matrix<float> expected = Activation.Softmax(z);
        Activation.Softmax(z, z);
        Assert.True(TestData.SameBits(expected, z));
    }

    [Fact]
    public void ReLU_AndDerivative_MatchDefinition()
    {
        for (int n = 0; n <= 257; n++)
        {
            Matrix<double> z = TestData.Random<double>(2, n, n);
            if (n > 0)
            {
                z[0, 0] = 0;
            }

            Matrix<double> a = Activation.ReLU(z);
            var mask = new Matrix<double>(2, n);
            Activation.ReLUDerivative(z, mask);
            var expected = new Matrix<double>(2, n);
            ReferenceKernels.ReLU(z, expected);
            Assert.True(TestData.SameBits(expected, a));
            for (int r = 0; r < 2; r++)
            {
                for (int c = 0; c < n; c++)
                {
                    Assert.Equal(z[r, c] > 0 ? 1.0 : 0.0, mask[r, c]);
                }
            }
        }
    }

    [Fact]
    public void OneHot_PlacesOnePerColumn_AndRejectsOutOfRange()
    {
        Matrix<float> y = CrossEntropy.OneHot<float>([3, 0, 9], classes: 10);
        Assert.Equal(10, y.Rows);
        Assert.Equal(3, y.Columns);
        Assert.Equal(1f, y[3, 0]);
        Assert.Equal(1f, y[0, 1]);
        Assert.Equal(1f, y[9, 2]);
        Assert.Equal(3f, System.Numerics.Tensors.TensorPrimitives.Sum<float>(y.AsSpan()));

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.OneHot<float>([1, 10], classes: 10));
        Assert.Contains("Label 10 at index 1", ex.Message);
    }

    [Fact]
    public void CrossEntropyLoss_MatchesDefinition()
    {
        Matrix<double> p = Matrix<double>.FromArray(new[,] { { 0.8, 0.1 }, { 0.2, 0.9 } });
        double loss = CrossEntropy.Loss(p, [0, 0]);
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.1)) / 2, loss, 15);
        Assert.Throws<ArgumentException>(() => CrossEntropy.Loss(p, [0]));
    }

    public sealed record Logits(int Rows, int Columns, float[] Values)
    {
        public override string ToString() => $"{Rows}×{Columns} [{string.Join(", ", Values.Take(20))}]";
    }

    public static class LogitGenerators
    {
        public static Arbitrary<Logits> Logits() =>
            (from rows in Gen.Choose(1, 12)
             from columns in Gen.Choose(1, 40)
             from scale in Gen.Elements(1f, 10f, 100f, 1e3f, 1e4f)
             from values in Gen.ArrayOf(Gen.Choose(-1_000_000, 1_000_000).Select(v => v / 1e6f * scale), rows * columns)
             select new Logits(rows, columns, values)).ToArbitrary();
    }
}
