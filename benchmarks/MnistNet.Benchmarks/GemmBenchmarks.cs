using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MnistNet.LinearAlgebra;

namespace MnistNet.Benchmarks;

/// <summary>
/// Square single-precision products C = A·B at 256³, 512³ and 1024³ (2·n³ flops), against the naive reference
/// kernel. GFLOP/s = 2·n³ / mean. Compare with numpy's OpenBLAS through <c>benchmarks/compare/gemm_numpy.py</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class GemmBenchmarks
{
    private Matrix<float> _a = null!;
    private Matrix<float> _b = null!;
    private Matrix<float> _c = null!;

    [Params(256, 512, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _a = Matrix<float>.RandomUniform(N, N, -1f, 1f, seed: 1);
        _b = Matrix<float>.RandomUniform(N, N, -1f, 1f, seed: 2);
        _c = new Matrix<float>(N, N);
    }

    [Benchmark(Baseline = true, Description = "reference")]
    public void Reference() => ReferenceKernels.Multiply(_a, _b, _c);

    [Benchmark(Description = "Matrix.Multiply")]
    public void Multiply() => Matrix<float>.Multiply(_a, _b, _c);
}
