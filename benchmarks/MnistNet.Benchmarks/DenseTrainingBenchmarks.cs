using BenchmarkDotNet.Attributes;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Benchmarks;

/// <summary>
/// One mini-batch step of the fast preset's network (784-256-10, batch 128, float32, Adam): gather the batch with
/// <see cref="Dataset.CopyBatchTo{T}"/>, <see cref="DenseNetwork{T}.ComputeGradients"/>, <see cref="Optimizer{T}.Step"/>.
/// <c>[MemoryDiagnoser]</c> must show no allocation. The baseline is the same step on the scalar path and one thread.
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
    }

    [Benchmark(Baseline = true, Description = "784-256-10 Adam step, scalar, 1 thread")]
    public double Scalar()
    {
        SimdPath path = MnistNetRuntime.SimdPath;
        int threads = MnistNetRuntime.MaxDegreeOfParallelism;
        MnistNetRuntime.SimdPath = SimdPath.Scalar;
        MnistNetRuntime.MaxDegreeOfParallelism = 1;
        try
        {
            return Step();
        }
        finally
        {
            MnistNetRuntime.SimdPath = path;
            MnistNetRuntime.MaxDegreeOfParallelism = threads;
        }
    }

    [Benchmark(Description = "784-256-10 Adam step, SIMD, 2 threads")]
    public double Simd() => Step();

    private double Step()
    {
        _data.CopyBatchTo<float>(_order.AsSpan(_next, BatchSize), _workspace.Input, _workspace.Labels);
        _next = (_next + BatchSize) % (_order.Length - BatchSize);
        double loss = _network.ComputeGradients(_workspace.Input, _workspace.Labels, _workspace);
        _adam.Step(_network, _workspace, 0.001);
        return loss;
    }
}
