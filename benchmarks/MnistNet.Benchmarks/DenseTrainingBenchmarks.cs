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
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class DenseTrainingBenchmarks
{
    private const int BatchSize = 128;
    private Dataset _data = null!;
    private int[] _order = null!;
    private DenseNetwork<float> _network = null!;
    private NetworkWorkspace<float> _workspace = null!;
    private Adam<float> _adam = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _data = MnistDataset.Load(SeedData.FindDataFolder()).Train;
        _order = Enumerable.Range(0, _data.Count).ToArray();
        new Prng(0).Shuffle(_order.AsSpan());
        _network = new DenseNetwork<float>([784, 256, 10], seed: 0);
        _workspace = new NetworkWorkspace<float>(_network, BatchSize);
        _adam = new Adam<float>(0.001);
        _ = _data.Density;
    }

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

    private double Step(InputMode mode, int threads, SimdPath path)
    {
        SimdPath savedPath = MnistNetRuntime.SimdPath;
        int savedThreads = MnistNetRuntime.MaxDegreeOfParallelism;
        MnistNetRuntime.SimdPath = path;
        MnistNetRuntime.MaxDegreeOfParallelism = threads;
        try
        {
            _workspace.InputMode = mode;
            double loss = _network.ComputeGradients(_data, _order.AsSpan(_next, BatchSize), _workspace);
            _next = (_next + BatchSize) % (_order.Length - BatchSize);
            _adam.Step(_network, _workspace, 0.001);
            return loss;
        }
        finally
        {
            MnistNetRuntime.SimdPath = savedPath;
            MnistNetRuntime.MaxDegreeOfParallelism = savedThreads;
        }
    }
}
