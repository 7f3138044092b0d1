using BenchmarkDotNet.Attributes;
using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Benchmarks;

/// <summary>
/// One mini-batch step (784-10-10, batch of 128, float32): gather 128 images into a reused matrix with
/// <see cref="Dataset.CopyBatchTo{T}"/>, then <c>TrainStep</c>. <c>[MemoryDiagnoser]</c> must show no allocation.
/// The baseline is the same step on the naive reference kernels.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class MiniBatchBenchmarks
{
    private const int BatchSize = 128;
    private Dataset _data = null!;
    private int[] _order = null!;
    private Matrix<float> _batch = null!;
    private ushort[] _labels = null!;
    private TwoLayerNetwork<float> _network = null!;
    private TrainingWorkspace<float> _workspace = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _data = MnistDataset.Load(SeedData.FindDataFolder()).Train;
        _order = Enumerable.Range(0, _data.Count).ToArray();
        new Prng(0).Shuffle(_order.AsSpan());
        _batch = new Matrix<float>(784, BatchSize);
        _labels = new ushort[BatchSize];
        _network = new TwoLayerNetwork<float>(seed: 0);
        _workspace = new TrainingWorkspace<float>(_network, BatchSize);
    }

    [Benchmark(Baseline = true, Description = "gather + reference kernels")]
    public void Reference()
    {
        Gather();
        ReferenceNetwork.TrainStep(_network, _batch, _labels, 0.05f);
    }

    [Benchmark(Description = "gather + TrainStep")]
    public double TrainStep()
    {
        Gather();
        return _network.TrainStep(_batch, _labels, 0.05f, _workspace);
    }

    private void Gather()
    {
        _data.CopyBatchTo<float>(_order.AsSpan(_next, BatchSize), _batch, _labels);
        _next = (_next + BatchSize) % (_order.Length - BatchSize);
    }
}
