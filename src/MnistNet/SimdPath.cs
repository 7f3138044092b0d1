namespace MnistNet;

/// <summary>
/// Selects which family of SIMD kernels MnistNet's matrix products and elementwise kernels use.
/// </summary>
/// <remarks>
/// Every path computes the same mathematics; they differ in vector width and therefore in the order of
/// floating-point additions inside dot products, so results agree to rounding but not always bit for bit.
/// Forcing <see cref="Vector512"/> on a processor without AVX-512 is allowed and correct, but slow: the JIT
/// emulates the wide vectors in software. This is how tests cover every path on any host.
/// </remarks>
public enum SimdPath
{
    /// <summary>The widest hardware-accelerated width: <see cref="Vector512"/>, else <see cref="Vector256"/>, else <see cref="Scalar"/>.</summary>
    Auto = 0,

    /// <summary>One element at a time (no vectors).</summary>
    Scalar = 1,

    /// <summary>256-bit vectors (<see cref="System.Runtime.Intrinsics.Vector256{T}"/>).</summary>
    Vector256 = 2,

    /// <summary>512-bit vectors (<see cref="System.Runtime.Intrinsics.Vector512{T}"/>).</summary>
    Vector512 = 3,
}
