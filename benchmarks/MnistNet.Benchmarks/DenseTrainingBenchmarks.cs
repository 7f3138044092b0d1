using BenchmarkDotNet.Attributes;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Benchmarks;

/// <summary>
/// One mini-batch step of the fast preset's network (784-256-10, batch 128, float32, Adam), through the door every
/// trainer uses — <see cref="Network{T}.ComputeGradients(Dataset, ReadOnlySpan{int}, NetworkWorkspace{T})"/> (gather the
/// batch, forward, backward) then <see cref="Optimizer{T}.Step"/> — with the first layer on the dense batch or on its
/// non-zero pixels, on one thread or two. The baseline is the dense batch on one thread; the scalar path on one thread
/// shows what the SIMD kernels buy. <c>[MemoryDiagnoser]</c> must show no allocation.
/// <para>
/// The two "ceiling" rows run a job of about the step's length that touches no memory (eight independent chains of
/// 256-bit fused multiply-adds per chunk, split into chunks through the same pool): how much a second thread can give on
/// this host in this sitting. On shared virtual machines two vCPUs can land on one physical core, and then no code scales;
/// read the step's 2-thread gain against this ceiling, measured in the same run.
/// </para>
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class DenseTrainingBenchmarks : TrainingStepBenchmark
{
    [GlobalSetup]
    public void Setup() => Prepare(new DenseNetwork<float>([784, 256, 10], seed: 0), 0.001);

    [Benchmark(Baseline = true, Description = "dense input, 1 thread")]
    public double Dense1() => Step(InputMode.Dense, 1, SimdPath.Auto);

    [Benchmark(Description = "dense input, 2 threads")]
    public double Dense2() => Step(InputMode.Dense, 2, SimdPath.Auto);

    [Benchmark(Description = "sparse input, 1 thread")]
    public double Sparse1() => Step(InputMode.Sparse, 1, SimdPath.Auto);

    [Benchmark(Description = "sparse input, 2 threads")]
    public double Sparse2() => Step(InputMode.Sparse, 2, SimdPath.Auto);

    [Benchmark(Description = "sparse input, scalar, 1 thread")]
    public double Scalar() => Step(InputMode.Sparse, 1, SimdPath.Scalar);

    [Benchmark(Description = "ceiling: FMA only, 1 thread")]
    public float Ceiling1() => ComputeOnly(1);

    [Benchmark(Description = "ceiling: FMA only, 2 threads")]
    public float Ceiling2() => ComputeOnly(2);

    private readonly ComputeOnlyJob _computeOnly = new();

    private float ComputeOnly(int threads) => _computeOnly.Run(threads);
}
