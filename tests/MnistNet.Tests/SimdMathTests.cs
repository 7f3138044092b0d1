using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// <see cref="SimdMath"/>, the element-wise helpers every layer and reduction uses, against one-element-at-a-time
/// formulas, for every length 0 to 257 (each vector tail), on the scalar path and the automatic one.
/// </summary>
[Collection(SerialTestGroup.Name)]
public sealed class SimdMathTests
{
    [Theory]
    [InlineData(SimdPath.Scalar)]
    [InlineData(SimdPath.Auto)]
    public void ElementWise_EveryLength_SameBitsAsTheFormula(SimdPath path) => TestData.OnPath(path, () =>
    {
        var rng = new Random(5);
        for (int n = 0; n <= 257; n++)
        {
            float[] x = Values(rng, n, -4, 4), y = Values(rng, n, 0.5f, 3), d = new float[n];
            float c = (float)rng.NextDouble();

            SimdMath.Add<float>(x, y, d);
            Check(n, i => x[i] + y[i], d, "x + y");
            SimdMath.Add<float>(x, c, d);
            Check(n, i => x[i] + c, d, "x + c");
            SimdMath.Subtract<float>(x, y, d);
            Check(n, i => x[i] - y[i], d, "x − y");
            SimdMath.Divide<float>(x, y, d);
            Check(n, i => x[i] / y[i], d, "x / y");
            SimdMath.Max<float>(x, y, d);
            Check(n, i => Math.Max(x[i], y[i]), d, "max(x, y)");
            SimdMath.Max<float>(x, 0.5f, d);
            Check(n, i => Math.Max(x[i], 0.5f), d, "max(x, 0.5)");
            float[] scaled = (float[])x.Clone();
            SimdMath.Scale<float>(scaled, c);
            Check(n, i => x[i] * c, scaled, "c·x");
        }
    });

    [Fact]
    public void ScalarPath_SumIsInOrder_LogIsTheScalarFunction() => TestData.OnPath(SimdPath.Scalar, () =>
    {
        var rng = new Random(6);
        for (int n = 0; n <= 257; n++)
        {
            float[] x = Values(rng, n, -3, 3), d = new float[n];
            float sum = 0;
            foreach (float v in x)
            {
                sum += v;
            }

            Assert.Equal(sum, SimdMath.Sum<float>(x));
            float[] positive = Values(rng, n, 0.01f, 50);
            SimdMath.Log<float>(positive, d);
            Check(n, i => MathF.Log(positive[i]), d, "log");
        }
    });

    [Fact]
    public void AutoPath_SumExpAndLog_WithinRoundingOfTheExactValues() => TestData.OnPath(SimdPath.Auto, () =>
    {
        var rng = new Random(7);
        for (int n = 0; n <= 257; n++)
        {
            float[] x = Values(rng, n, -3, 3), d = new float[n];
            double exact = 0, magnitude = 0;
            foreach (float v in x)
            {
                exact += v;
                magnitude += Math.Abs(v);
            }

            Assert.InRange(SimdMath.Sum<float>(x), exact - (n * 6e-8 * magnitude) - 1e-30, exact + (n * 6e-8 * magnitude) + 1e-30);
            SimdMath.Exp<float>(x, d);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(Math.Exp(x[i]), d[i], Math.Exp(x[i]) * 1e-6);
            }

            float[] positive = Values(rng, n, 0.01f, 50);
            SimdMath.Log<float>(positive, d);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(Math.Log(positive[i]), d[i], 1e-6 * Math.Max(1, Math.Abs(Math.Log(positive[i]))));
            }
        }
    });

    [Fact]
    public void Exp_Float_OnEveryPathAndAtEveryPosition_SameBits_WithinOneUlpOfTheRoundedExactValue()
    {
        // Uniform over the whole range where eˣ is neither 0 nor ∞ and beyond, plus the edges: overflow, the last normal
        // and subnormal results, the rounding to 0, infinities, NaN and signed zeros.
        var rng = new Random(8);
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 88.72283f, 88.72284f, 89f, 1000f,
            -87.33654f, -90f, -100f, -103.279f, -103.972f, -104f, -1000f, 1e-30f, -1e-30f, float.Epsilon, 0.34657359f, -0.34657359f, 1f, -1f, 10f];
        float[] x = [.. special, .. Enumerable.Range(0, 200_000).Select(_ => (float)(-110 + (205 * rng.NextDouble())))];
        float[] reference = ExpOnEveryPath(x);
        for (int i = 0; i < x.Length; i++)
        {
            float exact = (float)Math.Exp(x[i]);
            if (float.IsNaN(exact))
            {
                Assert.True(float.IsNaN(reference[i]), $"exp({x[i]:R}) = {reference[i]:R}, expected NaN");
                continue;
            }

            // Adjacent floats of one sign have adjacent bit patterns, so the difference of the bits counts ulps (∞ included).
            int ulps = Math.Abs(BitConverter.SingleToInt32Bits(exact) - BitConverter.SingleToInt32Bits(reference[i]));
            Assert.True(ulps <= 1, $"exp({x[i]:R}) = {reference[i]:R}, exact {exact:R}: {ulps} ulps");
        }
    }

    [Fact]
    public void Exp_Double_OnEveryPathAndAtEveryPosition_SameBits_WithinTwoUlpsOfMathExp()
    {
        var rng = new Random(9);
        double[] special = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, 709.782712893384, 709.7827128933841, 710, -708.3964185322641, -740, -745.1332191019411, -745.2, -746, 1e-300, 1.0];
        double[] x = [.. special, .. Enumerable.Range(0, 200_000).Select(_ => -760 + (1480 * rng.NextDouble()))];
        double[] reference = ExpOnEveryPath(x);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Exp(x[i]);
            if (double.IsNaN(expected))
            {
                Assert.True(double.IsNaN(reference[i]), $"exp({x[i]:R}) = {reference[i]:R}, expected NaN");
                continue;
            }

            // Math.Exp is itself within an ulp of the exact value, hence two here.
            long ulps = Math.Abs(BitConverter.DoubleToInt64Bits(expected) - BitConverter.DoubleToInt64Bits(reference[i]));
            Assert.True(ulps <= 2, $"exp({x[i]:R}) = {reference[i]:R}, Math.Exp {expected:R}: {ulps} ulps");
        }
    }

    [Fact]
    public void Exp_DestinationShorterThanTheInput_Throws() =>
        Assert.Throws<ArgumentException>("destination", () => SimdMath.Exp<float>(new float[5], new float[4]));

    /// <summary>
    /// e^x on every path this processor runs, each value also computed at every position of a vector (spans of length 1
    /// to 17 starting anywhere, so that it falls in vector bodies and scalar tails alike): all must have the same bits.
    /// Returns the scalar path's values.
    /// </summary>
    private static T[] ExpOnEveryPath<T>(T[] x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[]? reference = null;
        foreach (SimdPath path in TestData.AcceleratedPaths().Select(row => row.Data))
        {
            T[] result = new T[x.Length];
            TestData.OnPath(path, () =>
            {
                SimdMath.Exp<T>(x, result);
                T[] piece = new T[17];
                for (int start = 0, length = 1; start + length <= Math.Min(x.Length, 2000); start += length, length = (length % 17) + 1)
                {
                    SimdMath.Exp<T>(x.AsSpan(start, length), piece);
                    for (int k = 0; k < length; k++)
                    {
                        Assert.True(TestData.SameBits(result[start + k], piece[k]), $"{path}: exp({x[start + k]}) is {result[start + k]} in the whole span, {piece[k]} at position {k} of {length}");
                    }
                }
            });

            reference ??= result;
            for (int i = 0; i < x.Length; i++)
            {
                Assert.True(TestData.SameBits(reference[i], result[i]), $"{path}: exp({x[i]}) = {result[i]}, the scalar path gives {reference[i]}");
            }
        }

        return reference!;
    }

    private static float[] Values(Random rng, int n, float low, float high)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = low + ((high - low) * (float)rng.NextDouble());
        }

        return values;
    }

    private static void Check(int n, Func<int, float> expected, float[] actual, string what)
    {
        for (int i = 0; i < n; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected(i)) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what} at {i} of {n}: expected {expected(i):R}, got {actual[i]:R}");
            }
        }
    }
}
