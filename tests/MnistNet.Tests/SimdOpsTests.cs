using System.Numerics;
using System.Runtime.Intrinsics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// The lane operations of <see cref="ISimdOps{T, TVec}"/> that let the sparse kernels load eight values at once and
/// broadcast each from a register: every lane of the result must be exactly the selected value, on every width that
/// has eight lanes (the JIT emulates <see cref="Vector512{T}"/> where the hardware lacks it, so this runs on any host).
/// </summary>
public sealed class SimdOpsTests
{
    [Fact]
    public void BroadcastLane_OfEightLoadedValues_IsEachValueInEveryLane()
    {
        Check<float, Vector512<float>, Simd512<float>>(v => [.. Enumerable.Range(0, Vector512<float>.Count).Select(i => v.GetElement(i))]);
        Check<double, Vector512<double>, Simd512<double>>(v => [.. Enumerable.Range(0, Vector512<double>.Count).Select(i => v.GetElement(i))]);
        Check<float, Vector256<float>, Simd256<float>>(v => [.. Enumerable.Range(0, Vector256<float>.Count).Select(i => v.GetElement(i))]);
    }

    [Fact]
    public void BroadcastLane_WithFewerThanEightLanes_SelectsFromTheLoadedLanes()
    {
        // Vector256<double> holds four values, the scalar path one: LoadUpToEight loads that many.
        double[] source = [1.5, -2.25, 3.125, -4.0625, 9, 9, 9, 9];
        for (int lane = 0; lane < 4; lane++)
        {
            Vector256<double> loaded = Simd256<double>.LoadUpToEight(in source[0]);
            Assert.Equal(Vector256.Create(source[lane]), Simd256<double>.BroadcastLane(loaded, Simd256<double>.LanePattern(lane)));
        }

        Assert.Equal(-7.5f, SimdScalar<float>.BroadcastLane(SimdScalar<float>.LoadUpToEight(in new[] { -7.5f }[0]), SimdScalar<float>.LanePattern(0)));
    }

    [Fact]
    public void LoadBytes_EveryByte_OnEveryWidthAndThePortableForm_IsItsValue()
    {
        // 256 bytes 0–255 in a scrambled order, then 16 bytes of padding the loads may read.
        byte[] bytes = [.. Enumerable.Range(0, 256).Select(i => (byte)((i * 37) + 11)), .. new byte[16]];
        for (int i = 0; i < 256; i += 4)
        {
            BytesCheck<float, Vector512<float>, Simd512<float>>(bytes, i, v => [.. Enumerable.Range(0, Vector512<float>.Count).Select(k => v.GetElement(k))]);
            BytesCheck<double, Vector512<double>, Simd512<double>>(bytes, i, v => [.. Enumerable.Range(0, Vector512<double>.Count).Select(k => v.GetElement(k))]);
            BytesCheck<float, Vector256<float>, Simd256<float>>(bytes, i, v => [.. Enumerable.Range(0, Vector256<float>.Count).Select(k => v.GetElement(k))]);
            BytesCheck<double, Vector256<double>, Simd256<double>>(bytes, i, v => [.. Enumerable.Range(0, Vector256<double>.Count).Select(k => v.GetElement(k))]);
            BytesCheck<float, float, SimdScalar<float>>(bytes, i, v => [v]);
            Vector256<float> portable = SimdBytes.Convert<float, Vector256<float>>(in bytes[i]);
            Assert.Equal(Vector256.Create<float>([.. bytes[i..(i + 8)].Select(b => (float)b)]), portable);
            Vector512<double> portableDouble = SimdBytes.Convert<double, Vector512<double>>(in bytes[i]);
            Assert.Equal(Vector512.Create<double>([.. bytes[i..(i + 8)].Select(b => (double)b)]), portableDouble);
        }
    }

    [Fact]
    public void PowerOfTwo_RoundAndMin_OnEveryWidth_AreExact()
    {
        ExactCheck<float, Vector512<float>, Simd512<float>>(-126, 127);
        ExactCheck<double, Vector512<double>, Simd512<double>>(-1022, 1023);
        ExactCheck<float, Vector256<float>, Simd256<float>>(-126, 127);
        ExactCheck<double, Vector256<double>, Simd256<double>>(-1022, 1023);
        ExactCheck<float, float, SimdScalar<float>>(-126, 127);
        ExactCheck<double, double, SimdScalar<double>>(-1022, 1023);
    }

    private static void ExactCheck<T, TVec, TOps>(int lowest, int highest)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        string name = typeof(TVec).Name + "<" + typeof(T).Name + ">";
        T[] buffer = new T[TOps.Count];
        for (int n = lowest; n <= highest; n++)
        {
            TOps.Store(TOps.PowerOfTwo(TOps.Broadcast(T.CreateTruncating(n))), ref buffer[0]);
            T expected = T.CreateTruncating(Math.ScaleB(1.0, n));
            Assert.All(buffer, v => Assert.True(v == expected, $"{name}: 2^{n} = {v}, expected {expected}"));
        }

        // Round: to the nearest integer, ties to even, signs and NaN kept; Min: NaN propagates, −0 below +0.
        (double Value, double Rounded)[] rounding = [(2.5, 2), (3.5, 4), (-2.5, -2), (-0.4, -0.0), (0.5, 0), (1.4999999, 1), (-7.51, -8), (1e30, 1e30), (double.NaN, double.NaN)];
        foreach ((double value, double rounded) in rounding)
        {
            TOps.Store(TOps.Round(TOps.Broadcast(T.CreateTruncating(value))), ref buffer[0]);
            Assert.All(buffer, v => Assert.True(BitsEqual(v, T.CreateTruncating(rounded)), $"{name}: round({value}) = {v}, expected {rounded}"));
        }

        (double A, double B, double Min)[] minima = [(1, 2, 1), (-3, 2, -3), (0.0, -0.0, -0.0), (-0.0, 0.0, -0.0), (double.NaN, 1, double.NaN), (1, double.NaN, double.NaN), (double.NegativeInfinity, 5, double.NegativeInfinity)];
        foreach ((double a, double b, double min) in minima)
        {
            TOps.Store(TOps.Min(TOps.Broadcast(T.CreateTruncating(a)), TOps.Broadcast(T.CreateTruncating(b))), ref buffer[0]);
            Assert.All(buffer, v => Assert.True(BitsEqual(v, T.CreateTruncating(min)), $"{name}: min({a}, {b}) = {v}, expected {min}"));
        }
    }

    private static void BytesCheck<T, TVec, TOps>(byte[] bytes, int start, Func<TVec, T[]> lanes)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        T[] result = lanes(TOps.LoadBytes(in bytes[start]));
        Assert.Equal(TOps.Count, result.Length);
        for (int i = 0; i < result.Length; i++)
        {
            Assert.True(result[i] == T.CreateTruncating(bytes[start + i]), $"{typeof(TVec).Name} at {start + i}: {result[i]}, expected {bytes[start + i]}");
        }
    }

    private static void Check<T, TVec, TOps>(Func<TVec, T[]> lanes)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        // Distinct values, including a negative zero and a NaN, which a move must carry unchanged.
        T[] source = [T.CreateTruncating(0.1), T.NegativeZero, T.CreateTruncating(-3.5), T.NaN, T.CreateTruncating(7e-30), T.CreateTruncating(1e30), T.One, T.CreateTruncating(-0.25)];
        TVec loaded = TOps.LoadUpToEight(in source[0]);
        for (int lane = 0; lane < 8; lane++)
        {
            T[] result = lanes(TOps.BroadcastLane(loaded, TOps.LanePattern(lane)));
            Assert.Equal(TOps.Count, result.Length);
            foreach (T value in result)
            {
                // Bitwise: -0 and NaN must come through as they are.
                Assert.True(BitsEqual(source[lane], value), $"{typeof(TVec).Name} lane {lane}: expected {source[lane]}, got {value}");
            }
        }
    }

    private static bool BitsEqual<T>(T a, T b)
        where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in a)).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in b)));
}
