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
    public void ScalarPath_SumIsInOrder_ExpAndLogAreTheScalarFunctions() => TestData.OnPath(SimdPath.Scalar, () =>
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
            SimdMath.Exp<float>(x, d);
            Check(n, i => MathF.Exp(x[i]), d, "exp");
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
