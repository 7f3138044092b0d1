using System.Numerics;
using System.Numerics.Tensors;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// The element-wise operations MnistNet does not write itself. On the scalar path (<c>MNISTNET_SIMD=scalar</c>) they run
/// as plain loops, one element at a time, like every other kernel; on the vector paths they call
/// <see cref="TensorPrimitives"/>, which picks its own width (the widest the processor accelerates, whatever
/// <see cref="MnistNetRuntime.SimdPath"/> says). These are the library's only <see cref="TensorPrimitives"/> calls.
/// </summary>
internal static class SimdMath
{
    private static bool Scalar => MnistNetRuntime.EffectiveSimdPath == SimdPath.Scalar;

    /// <summary>x[i] ·= factor.</summary>
    public static void Scale<T>(Span<T> x, T factor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Multiply(x, factor, x);
            return;
        }

        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= factor;
        }
    }

    /// <summary>destination[i] = x[i] + y[i].</summary>
    public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Add(x, y, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = x[i] + y[i];
        }
    }

    /// <summary>destination[i] = x[i] + y.</summary>
    public static void Add<T>(ReadOnlySpan<T> x, T y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Add(x, y, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = x[i] + y;
        }
    }

    /// <summary>destination[i] = x[i] − y[i].</summary>
    public static void Subtract<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Subtract(x, y, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = x[i] - y[i];
        }
    }

    /// <summary>destination[i] = x[i] / y[i].</summary>
    public static void Divide<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Divide(x, y, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = x[i] / y[i];
        }
    }

    /// <summary>destination[i] = max(x[i], y[i]) (NaN if either is NaN).</summary>
    public static void Max<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Max(x, y, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = T.Max(x[i], y[i]);
        }
    }

    /// <summary>destination[i] = max(x[i], y) (NaN for a NaN x[i]): ReLU for y = 0.</summary>
    public static void Max<T>(ReadOnlySpan<T> x, T y, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once all : TensorPrimitives and the loop give the same bits for this exactly rounded operation (SimdMathTests); this picks the loop under MNISTNET_SIMD=scalar
        if (!Scalar)
        {
            TensorPrimitives.Max(x, y, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = T.Max(x[i], y);
        }
    }

    /// <summary>Σ x[i] (in order on the scalar path).</summary>
    public static T Sum<T>(ReadOnlySpan<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Scalar)
        {
            return TensorPrimitives.Sum(x);
        }

        T sum = T.Zero;
        foreach (T value in x)
        {
            sum += value;
        }

        return sum;
    }

    /// <summary>
    /// destination[i] = e^x[i], by MnistNet's own kernel (<see cref="VectorExp"/>) at the width of
    /// <see cref="MnistNetRuntime.EffectiveSimdPath"/>: the same bits on every path and wherever the value sits in the span.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="x"/>.</exception>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (destination.Length < x.Length)
        {
            throw new ArgumentException($"The destination has {destination.Length} elements; expected at least {x.Length}.", nameof(destination));
        }

        var loop = new VectorExp.Loop<T>(x, destination);
        Simd.Cascade<T, VectorExp.Loop<T>>(MnistNetRuntime.EffectiveSimdPath, ref loop, 0, x.Length);
    }

    /// <summary>destination[i] = ln x[i].</summary>
    public static void Log<T>(ReadOnlySpan<T> x, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Scalar)
        {
            TensorPrimitives.Log(x, destination);
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = T.Log(x[i]);
        }
    }
}
