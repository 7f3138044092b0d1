using System.Runtime.Intrinsics;

namespace MnistNet;

/// <summary>
/// Process-wide settings for MnistNet's compute kernels: how many threads they may use and which SIMD
/// width they run.
/// </summary>
/// <remarks>
/// <para>
/// Results never depend on <see cref="MaxDegreeOfParallelism"/>: work is split into chunks whose boundaries
/// depend only on the data's shape, and partial results are combined in chunk order, so one thread and
/// many threads produce the same bits.
/// </para>
/// <para>
/// The initial values come from the environment variables <c>MNISTNET_THREADS</c> (a positive integer) and
/// <c>MNISTNET_SIMD</c> (<c>auto</c>, <c>scalar</c>, <c>vector256</c> or <c>vector512</c>) when they are set
/// and valid; otherwise from <see cref="Environment.ProcessorCount"/> and <see cref="SimdPath.Auto"/>.
/// </para>
/// </remarks>
public static class MnistNetRuntime
{
    private static int s_maxDegreeOfParallelism = ReadThreadsFromEnvironment();
    private static SimdPath s_simdPath = ReadSimdFromEnvironment();

    /// <summary>
    /// Gets or sets the largest number of threads a single kernel call may use (the calling thread included).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxDegreeOfParallelism
    {
        get => Volatile.Read(ref s_maxDegreeOfParallelism);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref s_maxDegreeOfParallelism, value);
        }
    }

    /// <summary>Gets or sets the requested SIMD path; <see cref="SimdPath.Auto"/> picks the widest accelerated one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="SimdPath"/>.</exception>
    public static SimdPath SimdPath
    {
        get => s_simdPath;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Expected one of Auto, Scalar, Vector256, Vector512.");
            }

            s_simdPath = value;
        }
    }

    /// <summary>Gets the SIMD path the kernels actually run: <see cref="SimdPath"/> with <see cref="SimdPath.Auto"/> resolved for this processor.</summary>
    public static SimdPath EffectiveSimdPath => Resolve(s_simdPath);

    internal static SimdPath Resolve(SimdPath path) => path switch
    {
        SimdPath.Auto when Vector512.IsHardwareAccelerated => SimdPath.Vector512,
        SimdPath.Auto when Vector256.IsHardwareAccelerated => SimdPath.Vector256,
        SimdPath.Auto => SimdPath.Scalar,
        _ => path,
    };

    private static int ReadThreadsFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("MNISTNET_THREADS");
        return int.TryParse(text, out int threads) && threads >= 1 ? threads : Environment.ProcessorCount;
    }

    private static SimdPath ReadSimdFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("MNISTNET_SIMD");
        return Enum.TryParse(text, ignoreCase: true, out SimdPath path) && Enum.IsDefined(path) ? path : SimdPath.Auto;
    }
}
