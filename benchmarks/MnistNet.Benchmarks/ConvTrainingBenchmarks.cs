using BenchmarkDotNet.Attributes;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Benchmarks;

/// <summary>
/// One mini-batch step of <c>--preset cnn</c>'s network (conv16k5, pool, conv32k5, pool, dense128, dropout0.25; batch
/// 128, float32, Adam) through the trainer's door, <see cref="Network{T}.ComputeGradients(Dataset, ReadOnlySpan{int}, NetworkWorkspace{T})"/>
/// then <see cref="Optimizer{T}.Step"/>: on one thread (the baseline) and two, and on the scalar path.
/// <c>[MemoryDiagnoser]</c> must show no allocation.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class ConvTrainingBenchmarks
{
    private const int BatchSize = 128;
    private Dataset _data = null!;
    private int[] _order = null!;
    private Network<float> _network = null!;
    private NetworkWorkspace<float> _workspace = null!;
    private Adam<float> _adam = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _data = MnistDataset.Load(SeedData.FindDataFolder()).Train;
        _order = Enumerable.Range(0, _data.Count).ToArray();
        new Prng(0).Shuffle(_order.AsSpan());
        _network = NetworkSpec.Build<float>("conv16k5,pool,conv32k5,pool,dense128,dropout0.25", 1, 28, 28, 10, seed: 0);
        _workspace = new NetworkWorkspace<float>(_network, BatchSize);
        _adam = new Adam<float>(0.002);
    }

    [Benchmark(Baseline = true, Description = "cnn step, 1 thread")]
    public double One() => Step(1, SimdPath.Auto);

    [Benchmark(Description = "cnn step, 2 threads")]
    public double Two() => Step(2, SimdPath.Auto);

    [Benchmark(Description = "cnn step, scalar, 1 thread")]
    public double Scalar() => Step(1, SimdPath.Scalar);

    private double Step(int threads, SimdPath path)
    {
        SimdPath savedPath = MnistNetRuntime.SimdPath;
        int savedThreads = MnistNetRuntime.MaxDegreeOfParallelism;
        MnistNetRuntime.SimdPath = path;
        MnistNetRuntime.MaxDegreeOfParallelism = threads;
        try
        {
            double loss = _network.ComputeGradients(_data, _order.AsSpan(_next, BatchSize), _workspace);
            _next = (_next + BatchSize) % (_order.Length - BatchSize);
            _adam.Step(_network, _workspace, 0.002);
            return loss;
        }
        finally
        {
            MnistNetRuntime.SimdPath = savedPath;
            MnistNetRuntime.MaxDegreeOfParallelism = savedThreads;
        }
    }
}
