using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MnistNet;
using MnistNet.LinearAlgebra;

namespace MnistNet.Benchmarks;

/// <summary>
/// The three matrix products of the seed iteration at m = 41 000, each against its naive reference kernel:
/// forward <c>W1·X</c> (10×784 · 784×41000), backward <c>dZ1·Xᵀ</c> (10×41000 · (784×41000)ᵀ) and
/// <c>W2ᵀ·dZ2</c> ((10×10)ᵀ · 10×41000). The sparse variants run single-threaded over the whole batch
/// (inside a training step they run per cache block on every core).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class ProductBenchmarks
{
    private Matrix<float> _x = null!;
    private Matrix<float> _w1 = null!;
    private Matrix<float> _z1 = null!;
    private Matrix<float> _dz1 = null!;
    private Matrix<float> _dw1 = null!;
    private Matrix<float> _w2 = null!;
    private Matrix<float> _dz2 = null!;
    private SparseColumns<float> _sparse = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_x, _) = SeedData.Load();
        _w1 = Matrix<float>.RandomUniform(10, 784, -0.5f, 0.5f, seed: 1);
        _z1 = new Matrix<float>(10, SeedData.Columns);
        _dz1 = Matrix<float>.RandomUniform(10, SeedData.Columns, -0.1f, 0.1f, seed: 2);
        _dw1 = new Matrix<float>(10, 784);
        _w2 = Matrix<float>.RandomUniform(10, 10, -0.5f, 0.5f, seed: 3);
        _dz2 = Matrix<float>.RandomUniform(10, SeedData.Columns, -0.1f, 0.1f, seed: 4);
        _sparse = SparseColumns<float>.FromDense(_x);
    }

    [BenchmarkCategory("W1·X"), Benchmark(Baseline = true, Description = "reference")]
    public void ForwardReference() => ReferenceKernels.Multiply(_w1, _x, _z1);

    [BenchmarkCategory("W1·X"), Benchmark(Description = "Matrix.Multiply")]
    public void Forward() => Matrix<float>.Multiply(_w1, _x, _z1);

    [BenchmarkCategory("W1·X"), Benchmark(Description = "sparse X (incl. transposes)")]
    public void ForwardSparse() => SparseProducts.Multiply(_w1, _sparse, _z1, MnistNetRuntime.EffectiveSimdPath);

    [BenchmarkCategory("dZ1·Xᵀ"), Benchmark(Baseline = true, Description = "reference")]
    public void WeightGradientReference() => ReferenceKernels.MultiplyByTranspose(_dz1, _x, _dw1);

    [BenchmarkCategory("dZ1·Xᵀ"), Benchmark(Description = "Matrix.MultiplyByTranspose")]
    public void WeightGradient() => Matrix<float>.MultiplyByTranspose(_dz1, _x, _dw1);

    [BenchmarkCategory("dZ1·Xᵀ"), Benchmark(Description = "sparse X (incl. transposes)")]
    public void WeightGradientSparse() => SparseProducts.MultiplyByTranspose(_dz1, _sparse, _dw1, MnistNetRuntime.EffectiveSimdPath);

    [BenchmarkCategory("W2ᵀ·dZ2"), Benchmark(Baseline = true, Description = "reference")]
    public void BackReference() => ReferenceKernels.TransposeAndMultiply(_w2, _dz2, _z1);

    [BenchmarkCategory("W2ᵀ·dZ2"), Benchmark(Description = "Matrix.TransposeAndMultiply")]
    public void Back() => Matrix<float>.TransposeAndMultiply(_w2, _dz2, _z1);
}
