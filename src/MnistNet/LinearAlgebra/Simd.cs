using System.Numerics;
using System.Runtime.Intrinsics;

namespace MnistNet.LinearAlgebra;

/// <summary>A kernel written once for every vector type: <see cref="Simd.Dispatch"/> runs it at the resolved width.</summary>
/// <typeparam name="T">float or double.</typeparam>
internal interface IVectorKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Runs the kernel with vectors of <typeparamref name="TVec"/> (T itself on the scalar path).</summary>
    void Run<TVec, TOps>()
        where TVec : struct
        where TOps : ISimdOps<T, TVec>;
}

/// <summary>A loop over [i, end) written once for every vector type: <see cref="Simd.Cascade"/> runs whole vectors of the widest width, then narrower ones, then scalars.</summary>
/// <typeparam name="T">float or double.</typeparam>
internal interface IVectorLoop<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Processes elements from <paramref name="i"/> on in whole steps of <c>TOps.Count</c> below <paramref name="end"/>; returns where it stopped.</summary>
    int Run<TVec, TOps>(int i, int end)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>;
}

/// <summary>
/// The one place a SIMD path becomes code: every kernel (products, sparse kernels, the fused head, optimisers, ReLU) goes
/// through <see cref="Dispatch"/> or <see cref="Cascade"/>, which resolve the path with
/// <see cref="MnistNetRuntime.Resolve"/> (<see cref="SimdPath.Auto"/> → the widest accelerated width).
/// </summary>
internal static class Simd
{
    /// <summary>Runs <paramref name="kernel"/> at the width of <paramref name="path"/>.</summary>
    public static void Dispatch<T, TKernel>(SimdPath path, ref TKernel kernel)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TKernel : IVectorKernel<T>, allows ref struct
    {
        switch (MnistNetRuntime.Resolve(path))
        {
            case SimdPath.Vector512:
                kernel.Run<Vector512<T>, Simd512<T>>();
                break;
            case SimdPath.Vector256:
                kernel.Run<Vector256<T>, Simd256<T>>();
                break;
            default:
                kernel.Run<T, SimdScalar<T>>();
                break;
        }
    }

    /// <summary>Runs <paramref name="loop"/> over [start, end): 512-bit vectors (on that path), then 256-bit ones (on either vector path), then scalars for the tail.</summary>
    public static void Cascade<T, TLoop>(SimdPath path, ref TLoop loop, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLoop : IVectorLoop<T>, allows ref struct
    {
        SimdPath resolved = MnistNetRuntime.Resolve(path);
        int i = start;
        if (resolved == SimdPath.Vector512)
        {
            i = loop.Run<Vector512<T>, Simd512<T>>(i, end);
        }

        if (resolved is SimdPath.Vector512 or SimdPath.Vector256)
        {
            i = loop.Run<Vector256<T>, Simd256<T>>(i, end);
        }

        loop.Run<T, SimdScalar<T>>(i, end);
    }
}
