using BenchmarkDotNet.Attributes;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Benchmarks;

/// <summary>
/// One iteration of the seed's training (784-10-10, full batch m = 41 000, float32): forward, backward, update.
/// The baseline is the same math on the naive reference kernels. The sparse step uses a <see cref="SparseColumns{T}"/>
/// built once in setup (as <c>GradientDescent</c> does), so its build time is not part of an iteration; it keeps MNIST's
/// dense central rows as bytes, and a second copy without dense rows (every non-zero in the sparse layouts, as in 0.2)
/// measures what that gains in the same run.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class SeedIterationBenchmarks
{
    private Matrix<float> _x = null!;
    private ushort[] _labels = null!;
    private TwoLayerNetwork<float> _network = null!;
    private TrainingWorkspace<float> _workspace = null!;
    private SparseColumns<float> _sparse = null!;
    private SparseColumns<float> _allSparse = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_x, _labels) = SeedData.Load();
        _network = new TwoLayerNetwork<float>(seed: 0);
        _workspace = new TrainingWorkspace<float>(_network, _x.Columns);
        _sparse = SparseColumns<float>.FromDense(_x);
        _allSparse = SparseColumns<float>.Build(_x, denseRowMinDensity: 2);
    }

    [Benchmark(Baseline = true, Description = "reference kernels")]
    public void Reference() => ReferenceNetwork.TrainStep(_network, _x, _labels, 0.10f);

    [Benchmark(Description = "TrainStep dense (fused, SIMD, 2 threads)")]
    public double TrainStep() => _network.TrainStep(_x, _labels, 0.10f, _workspace);

    [Benchmark(Description = "TrainStep sparse (fused, SIMD, 2 threads)")]
    public double TrainStepSparse() => _network.TrainStep(_sparse, _labels, 0.10f, _workspace);

    [Benchmark(Description = "TrainStep sparse, no dense rows (0.2's layout; 2 threads)")]
    public double TrainStepAllSparse() => _network.TrainStep(_allSparse, _labels, 0.10f, _workspace);
}
