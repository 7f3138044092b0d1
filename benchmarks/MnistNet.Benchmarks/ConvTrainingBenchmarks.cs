using BenchmarkDotNet.Attributes;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Benchmarks;

/// <summary>
/// One mini-batch step of <c>--preset cnn</c>'s network (conv32k5, pool, conv64k5, pool, dense256, dropout0.5; batch
/// 128, float32, Adam) through the trainer's door, <see cref="Network{T}.ComputeGradients(Dataset, ReadOnlySpan{int}, NetworkWorkspace{T})"/>
/// then <see cref="Optimizer{T}.Step"/>: on one thread (the baseline) and two, and on the scalar path.
/// <c>[MemoryDiagnoser]</c> must show no allocation.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class ConvTrainingBenchmarks : TrainingStepBenchmark
{
    [GlobalSetup]
    public void Setup() => Prepare(NetworkSpec.Build<float>("conv32k5,pool,conv64k5,pool,dense256,dropout0.5", 1, 28, 28, 10, seed: 0), 0.002);

    [Benchmark(Baseline = true, Description = "cnn step, 1 thread")]
    public double One() => Step(InputMode.Auto, 1, SimdPath.Auto);

    [Benchmark(Description = "cnn step, 2 threads")]
    public double Two() => Step(InputMode.Auto, 2, SimdPath.Auto);

    [Benchmark(Description = "cnn step, scalar, 1 thread")]
    public double Scalar() => Step(InputMode.Auto, 1, SimdPath.Scalar);
}
