using System.Diagnostics;
using MnistNet.Networks;

namespace MnistNet.Benchmarks;

/// <summary>
/// What a second thread gains on the fast preset's step (784-256-10, batch 128, Adam, first layer on the non-zero
/// pixels), measured so that a shared machine's slow drift cancels: blocks of 100 steps on one thread and on two
/// threads alternate, and the median of the per-pair ratios is reported with the medians of each side; between the
/// pairs, the register-only job of <see cref="ComputeOnlyJob"/> on one and two threads says what the machine allowed,
/// and the pairs it brackets at 1.7× or more (a second vCPU that was all there) are also reported on their own.
/// BenchmarkDotNet's <see cref="DenseTrainingBenchmarks"/> runs each side as one long stretch, minutes apart; this
/// complements it. Run: <c>dotnet run -c Release --project benchmarks/MnistNet.Benchmarks -- --thread-scaling [pairs]</c>.
/// </summary>
internal sealed class ThreadScaling : TrainingStepBenchmark
{
    private const int StepsPerBlock = 100;

    public static void Run(int pairs)
    {
        var bench = new ThreadScaling();
        bench.Prepare(new DenseNetwork<float>([784, 256, 10], seed: 0), 0.001);
        for (int i = 0; i < 5 * StepsPerBlock; i++)
        {
            bench.Step(InputMode.Sparse, 1, SimdPath.Auto);
            bench.Step(InputMode.Sparse, 2, SimdPath.Auto);
        }

        var one = new double[pairs];
        var two = new double[pairs];
        var ratio = new double[pairs];
        var ceiling = new double[pairs];
        var quiet = new List<double>();
        double before = bench.Ceiling();
        for (int p = 0; p < pairs; p++)
        {
            one[p] = bench.Block(1);
            two[p] = bench.Block(2);
            ratio[p] = one[p] / two[p];
            double after = bench.Ceiling();
            ceiling[p] = Math.Min(before, after);
            if (ceiling[p] >= QuietCeiling)
            {
                quiet.Add(ratio[p]);
            }

            before = after;
        }

        Console.WriteLine($"{pairs} pairs of {StepsPerBlock}-step blocks: one thread {Median(one):F1} µs, two threads {Median(two):F1} µs per step; " +
            $"median ratio {Median(ratio):F2} (pairs from {ratio.Min():F2} to {ratio.Max():F2}); " +
            $"the register-only ceiling around each pair (the lower of before and after): median {Median(ceiling):F2} (from {ceiling.Min():F2} to {ceiling.Max():F2}); " +
            (quiet.Count > 0
                ? $"the {quiet.Count} pairs with a ceiling of {QuietCeiling:F1} or more: median ratio {Median([.. quiet]):F2} (from {quiet.Min():F2} to {quiet.Max():F2})"
                : $"no pair had a ceiling of {QuietCeiling:F1} or more"));
    }

    /// <summary>A pair counts as measured on a quiet machine when the register-only job ran this much faster on two threads just before and just after it.</summary>
    private const double QuietCeiling = 1.7;

    /// <summary>The register-only job's one-thread time over its two-thread time (<see cref="ComputeOnlyJob"/>).</summary>
    private double Ceiling() => CeilingBlock(1) / CeilingBlock(2);

    /// <summary>The mean time of the register-only job (<see cref="ComputeOnlyJob"/>) over a block on <paramref name="threads"/> threads, in µs.</summary>
    private double CeilingBlock(int threads)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < CeilingRuns; i++)
        {
            _ceiling.Run(threads);
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / CeilingRuns;
    }

    private const int CeilingRuns = 40;

    private readonly ComputeOnlyJob _ceiling = new();

    /// <summary>The mean time of one step over a block of steps on <paramref name="threads"/> threads, in µs.</summary>
    private double Block(int threads)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < StepsPerBlock; i++)
        {
            Step(InputMode.Sparse, threads, SimdPath.Auto);
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / StepsPerBlock;
    }

    private static double Median(double[] values)
    {
        double[] sorted = [.. values];
        Array.Sort(sorted);
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
