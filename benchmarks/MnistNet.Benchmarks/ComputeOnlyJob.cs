using System.Runtime.Intrinsics;
using MnistNet.Threading;

namespace MnistNet.Benchmarks;

/// <summary>
/// The ceiling a second thread can reach on this machine: eight chunks of eight dependent chains of register-only fused
/// multiply-adds (no memory traffic, no shared data; about 300 µs in all on one Zen 5 core), on the worker pool. On a quiet two-core machine two threads run it about 1.8–2× faster than
/// one; a shared virtual machine that gives the second vCPU less shows it here first.
/// </summary>
internal sealed class ComputeOnlyJob : IChunkJob
{
    public const int Chunks = 8;
    private const int Iterations = 12_000;
    private readonly float[] _results = new float[Chunks];

    public float Result => _results.Sum();

    /// <summary>Runs the eight chunks on <paramref name="threads"/> threads and returns their sum (so nothing is optimised away).</summary>
    public float Run(int threads)
    {
        WorkerPool.Shared.Run(this, Chunks, threads);
        return Result;
    }

    public void Execute(int chunk)
    {
        Vector256<float> a0 = Vector256.Create(chunk + 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<float> m = Vector256.Create(0.9999f);
        Vector256<float> c = Vector256.Create(0.0001f);
        for (int i = 0; i < Iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c);
            a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c);
            a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c);
            a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c);
            a7 = Vector256.FusedMultiplyAdd(a7, m, c);
        }

        _results[chunk] = Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    }
}
