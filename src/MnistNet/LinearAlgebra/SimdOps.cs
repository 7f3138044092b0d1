using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// The handful of vector operations the kernels need, abstracted over the vector width so one kernel body
/// serves the <see cref="Vector512{T}"/>, <see cref="Vector256{T}"/> and scalar paths. The JIT specialises
/// each struct instantiation, so the abstraction costs nothing at run time.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
/// <typeparam name="TVec">The register type: a vector of <typeparamref name="T"/>, or <typeparamref name="T"/> itself.</typeparam>
internal interface ISimdOps<T, TVec>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
{
    /// <summary>Number of <typeparamref name="T"/> lanes in <typeparamref name="TVec"/>.</summary>
    static abstract int Count { get; }

    static abstract TVec Zero { get; }

    static abstract TVec Load(ref readonly T source);

    static abstract void Store(TVec value, ref T destination);

    /// <summary>
    /// Stores past the caches (a non-temporal store) at an address aligned to the vector's size: for outputs written
    /// once, in whole cache lines, that the caches would otherwise first read from memory. The scalar path stores plainly.
    /// </summary>
    static abstract void StoreStreaming(TVec value, ref T destination);

    static abstract TVec Broadcast(T value);

    /// <summary>a·b + c with a single rounding (the same bits as the scalar <c>T.FusedMultiplyAdd</c> per lane).</summary>
    static abstract TVec FusedMultiplyAdd(TVec a, TVec b, TVec c);

    static abstract TVec Add(TVec a, TVec b);

    /// <summary>Sum of the lanes, in a fixed order.</summary>
    static abstract T Sum(TVec value);

    /// <summary>Lane-wise <c>mask &gt; 0 ? value : 0</c>.</summary>
    static abstract TVec SelectWherePositive(TVec mask, TVec value);

    static abstract TVec Subtract(TVec a, TVec b);

    static abstract TVec Multiply(TVec a, TVec b);

    static abstract TVec Divide(TVec a, TVec b);

    static abstract TVec Sqrt(TVec value);

    /// <summary>Lane-wise maximum with <c>TensorPrimitives.Max</c>'s semantics (NaN propagates, +0 above −0).</summary>
    static abstract TVec Max(TVec a, TVec b);

    /// <summary>Lane-wise minimum with <c>TensorPrimitives.Min</c>'s semantics (NaN propagates, −0 below +0).</summary>
    static abstract TVec Min(TVec a, TVec b);

    /// <summary>Lane-wise rounding to the nearest integer, ties to even.</summary>
    static abstract TVec Round(TVec value);

    /// <summary>
    /// Lane-wise 2ⁿ, exactly, for integer-valued n in the normal exponent range (−126 to 127 for float, −1022 to 1023 for
    /// double); other n give unspecified values. Built from the bits of the exponent, so every path gives the same bits.
    /// </summary>
    static abstract TVec PowerOfTwo(TVec n);

    /// <summary>Lane-wise <c>value == target ? 1 : 0</c>.</summary>
    static abstract TVec OneWhereEqual(TVec value, T target);

    /// <summary>Lane-wise <c>a == b ? ifEqual : otherwise</c> (values are moved, never computed: NaN and ∞ pass unchanged).</summary>
    static abstract TVec SelectWhereEqual(TVec a, TVec b, TVec ifEqual, TVec otherwise);

    /// <summary>
    /// Loads the first min(8, <see cref="Count"/>) elements from <paramref name="source"/> into the low lanes (any lanes
    /// above are unspecified); reads no element beyond those. With <see cref="BroadcastLane"/>, eight scalars reach the
    /// vector unit in one load instead of eight broadcast loads.
    /// </summary>
    static abstract TVec LoadUpToEight(ref readonly T source);

    /// <summary>The selector <see cref="BroadcastLane"/> takes to copy lane <paramref name="lane"/> (0 ≤ lane &lt; min(8, <see cref="Count"/>)).</summary>
    static abstract TVec LanePattern(int lane);

    /// <summary>Every lane = the lane of <paramref name="value"/> that <paramref name="pattern"/> (from <see cref="LanePattern"/>) selects; the value moves, nothing is computed.</summary>
    static abstract TVec BroadcastLane(TVec value, TVec pattern);

    /// <summary>
    /// <see cref="Count"/> bytes from <paramref name="source"/>, each converted exactly to <typeparamref name="T"/> (0–255).
    /// May read up to 16 bytes (the caller pads its arrays); the bytes beyond <see cref="Count"/> are ignored.
    /// </summary>
    static abstract TVec LoadBytes(ref readonly byte source);
}

internal readonly struct Simd512<T> : ISimdOps<T, Vector512<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;

    public static Vector512<T> Zero => Vector512<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(ref readonly T source) => Vector512.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<T> value, ref T destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreStreaming(Vector512<T> value, ref T destination) => value.StoreAlignedNonTemporal((T*)Unsafe.AsPointer(ref destination));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Broadcast(T value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> FusedMultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector512<T> value) => Simd256<T>.Sum(value.GetLower() + value.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SelectWherePositive(Vector512<T> mask, Vector512<T> value) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(mask, Vector512<T>.Zero), value, Vector512<T>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Subtract(Vector512<T> a, Vector512<T> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Sqrt(Vector512<T> value) => Vector512.Sqrt(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Min(Vector512<T> a, Vector512<T> b) => Vector512.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Round(Vector512<T> value) =>
        typeof(T) == typeof(float)
            ? Vector512.Round(value.As<T, float>()).As<float, T>()
            : Vector512.Round(value.As<T, double>()).As<double, T>();

    // Adding 1.5·2^23 (2^52) puts the integer n in the low bits of the sum; shifted into the exponent field and biased, it is 2^n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> PowerOfTwo(Vector512<T> n) =>
        typeof(T) == typeof(float)
            ? (Vector512.ShiftLeft((n.As<T, float>() + Vector512.Create(SimdPowerOfTwo.SingleShifter)).AsInt32(), 23) + Vector512.Create(SimdPowerOfTwo.SingleOne)).As<int, T>()
            : (Vector512.ShiftLeft((n.As<T, double>() + Vector512.Create(SimdPowerOfTwo.DoubleShifter)).AsInt64(), 52) + Vector512.Create(SimdPowerOfTwo.DoubleOne)).As<long, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> OneWhereEqual(Vector512<T> value, T target) =>
        Vector512.ConditionalSelect(Vector512.Equals(value, Vector512.Create(target)), Vector512<T>.One, Vector512<T>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SelectWhereEqual(Vector512<T> a, Vector512<T> b, Vector512<T> ifEqual, Vector512<T> otherwise) =>
        Vector512.ConditionalSelect(Vector512.Equals(a, b), ifEqual, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> LoadUpToEight(ref readonly T source)
    {
        if (typeof(T) == typeof(float))
        {
            // Sixteen lanes: load eight floats (256 bits), leave the upper half unspecified.
            return Vector256.LoadUnsafe(in source).ToVector512Unsafe();
        }

        return Vector512.LoadUnsafe(in source);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> LanePattern(int lane) =>
        typeof(T) == typeof(float) ? Vector512.Create(lane).As<int, T>() : Vector512.Create((long)lane).As<long, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> BroadcastLane(Vector512<T> value, Vector512<T> pattern) =>
        typeof(T) == typeof(float)
            ? Vector512.ShuffleNative(value.AsSingle(), pattern.AsInt32()).As<float, T>()
            : Vector512.ShuffleNative(value.AsDouble(), pattern.AsInt64()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> LoadBytes(ref readonly byte source)
    {
        Vector128<byte> bytes = Vector128.LoadUnsafe(in source);
        if (Avx512F.IsSupported)
        {
            // One widening (vpmovzxbd) and one conversion per vector.
            return typeof(T) == typeof(float)
                ? Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(bytes)).As<float, T>()
                : Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(bytes)).As<double, T>();
        }

        return SimdBytes.Convert<T, Vector512<T>>(in source);
    }
}

internal readonly struct Simd256<T> : ISimdOps<T, Vector256<T>>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;

    public static Vector256<T> Zero => Vector256<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Load(ref readonly T source) => Vector256.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<T> value, ref T destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreStreaming(Vector256<T> value, ref T destination) => value.StoreAlignedNonTemporal((T*)Unsafe.AsPointer(ref destination));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Broadcast(T value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> FusedMultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector256<T> value)
    {
        // Pairwise halving: a fixed order, so the same lanes always give the same sum.
        Vector128<T> v = value.GetLower() + value.GetUpper();
        T sum = T.Zero;
        for (int i = 0; i < Vector128<T>.Count; i++)
        {
            sum += v.GetElement(i);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SelectWherePositive(Vector256<T> mask, Vector256<T> value) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(mask, Vector256<T>.Zero), value, Vector256<T>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Subtract(Vector256<T> a, Vector256<T> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Multiply(Vector256<T> a, Vector256<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Divide(Vector256<T> a, Vector256<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Sqrt(Vector256<T> value) => Vector256.Sqrt(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Min(Vector256<T> a, Vector256<T> b) => Vector256.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Round(Vector256<T> value) =>
        typeof(T) == typeof(float)
            ? Vector256.Round(value.As<T, float>()).As<float, T>()
            : Vector256.Round(value.As<T, double>()).As<double, T>();

    // Adding 1.5·2^23 (2^52) puts the integer n in the low bits of the sum; shifted into the exponent field and biased, it is 2^n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> PowerOfTwo(Vector256<T> n) =>
        typeof(T) == typeof(float)
            ? (Vector256.ShiftLeft((n.As<T, float>() + Vector256.Create(SimdPowerOfTwo.SingleShifter)).AsInt32(), 23) + Vector256.Create(SimdPowerOfTwo.SingleOne)).As<int, T>()
            : (Vector256.ShiftLeft((n.As<T, double>() + Vector256.Create(SimdPowerOfTwo.DoubleShifter)).AsInt64(), 52) + Vector256.Create(SimdPowerOfTwo.DoubleOne)).As<long, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> OneWhereEqual(Vector256<T> value, T target) =>
        Vector256.ConditionalSelect(Vector256.Equals(value, Vector256.Create(target)), Vector256<T>.One, Vector256<T>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SelectWhereEqual(Vector256<T> a, Vector256<T> b, Vector256<T> ifEqual, Vector256<T> otherwise) =>
        Vector256.ConditionalSelect(Vector256.Equals(a, b), ifEqual, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> LoadUpToEight(ref readonly T source) => Vector256.LoadUnsafe(in source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> LanePattern(int lane) =>
        typeof(T) == typeof(float) ? Vector256.Create(lane).As<int, T>() : Vector256.Create((long)lane).As<long, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> BroadcastLane(Vector256<T> value, Vector256<T> pattern) =>
        typeof(T) == typeof(float)
            ? Vector256.ShuffleNative(value.AsSingle(), pattern.AsInt32()).As<float, T>()
            : Vector256.ShuffleNative(value.AsDouble(), pattern.AsInt64()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> LoadBytes(ref readonly byte source)
    {
        Vector128<byte> bytes = Vector128.LoadUnsafe(in source);
        if (Avx2.IsSupported)
        {
            return typeof(T) == typeof(float)
                ? Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(bytes)).As<float, T>()
                : Avx.ConvertToVector256Double(Sse41.ConvertToVector128Int32(bytes)).As<double, T>();
        }

        return SimdBytes.Convert<T, Vector256<T>>(in source);
    }
}

/// <summary>The scalar path: a "vector" of one lane.</summary>
internal readonly struct SimdScalar<T> : ISimdOps<T, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => 1;

    public static T Zero => T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Load(ref readonly T source) => source;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T value, ref T destination) => destination = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreStreaming(T value, ref T destination) => destination = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Broadcast(T value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FusedMultiplyAdd(T a, T b, T c) => T.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Add(T a, T b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(T value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SelectWherePositive(T mask, T value) => mask > T.Zero ? value : T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Subtract(T a, T b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Multiply(T a, T b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Divide(T a, T b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sqrt(T value) => T.Sqrt(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Max(T a, T b) => T.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Min(T a, T b) => T.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Round(T value) => T.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T PowerOfTwo(T n) =>
        typeof(T) == typeof(float)
            ? T.CreateTruncating(BitConverter.Int32BitsToSingle((int.CreateTruncating(n) << 23) + SimdPowerOfTwo.SingleOne))
            : T.CreateTruncating(BitConverter.Int64BitsToDouble((long.CreateTruncating(n) << 52) + SimdPowerOfTwo.DoubleOne));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T OneWhereEqual(T value, T target) => value == target ? T.One : T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SelectWhereEqual(T a, T b, T ifEqual, T otherwise) => a == b ? ifEqual : otherwise;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T LoadUpToEight(ref readonly T source) => source;

    // One lane: lane 0 is the only one there is to select.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T LanePattern(int lane) => T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T BroadcastLane(T value, T pattern) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T LoadBytes(ref readonly byte source) => T.CreateTruncating(source);
}

/// <summary>The constants of <c>PowerOfTwo</c>.</summary>
internal static class SimdPowerOfTwo
{
    /// <summary>1.5·2^23: a float integer n added to it leaves n in the sum's low mantissa bits (|n| &lt; 2^22).</summary>
    public const float SingleShifter = 12582912f;

    /// <summary>1.5·2^52, the same for double.</summary>
    public const double DoubleShifter = 6755399441055744.0;

    /// <summary>The bits of 1f: the exponent bias in place.</summary>
    public const int SingleOne = 127 << 23;

    /// <summary>The bits of 1.0.</summary>
    public const long DoubleOne = 1023L << 52;
}

/// <summary>The portable form of <c>LoadBytes</c>, for vector hardware without the x86 widening instructions.</summary>
internal static class SimdBytes
{
    public static TVec Convert<T, TVec>(ref readonly byte source)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
    {
        Span<T> lanes = stackalloc T[Unsafe.SizeOf<TVec>() / Unsafe.SizeOf<T>()];
        for (int i = 0; i < lanes.Length; i++)
        {
            lanes[i] = T.CreateTruncating(Unsafe.Add(ref Unsafe.AsRef(in source), i));
        }

        return Unsafe.ReadUnaligned<TVec>(ref Unsafe.As<T, byte>(ref lanes[0]));
    }
}
