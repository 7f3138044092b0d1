namespace MnistNet.Tests;

/// <summary>Tests that measure process-wide state (allocations on every thread) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTestGroup
{
    public const string Name = "Serial";
}

/// <summary>Runs code on a set number of threads and proves that two threads really were two.</summary>
internal static class Threads
{
    /// <summary>
    /// Runs an action with <see cref="MnistNetRuntime.MaxDegreeOfParallelism"/> set to
    /// <paramref name="threads"/>, then restores it. For two threads, asserts that the pool's worker ran at least one chunk:
    /// a busy pool runs everything on the caller, and "1 vs 2 threads" would then compare one thread with itself.
    /// Callers must be in the serial collection, so that no other test holds the pool.
    /// </summary>
    public static void Run(int threads, Action action) => Run(threads, () =>
    {
        action();
        return 0;
    });

    /// <summary>As <see cref="Run(int, Action)"/>, returning the action's result.</summary>
    public static TResult Run<TResult>(int threads, Func<TResult> action)
    {
        if (threads > 1 && Environment.ProcessorCount < 2)
        {
            Assert.Skip("Needs at least two cores to compare one thread with two.");
        }

        int saved = MnistNetRuntime.MaxDegreeOfParallelism;
        if (threads > 1)
        {
            // Wake the pool's worker first (after a long idle it sleeps, and a small job can finish before it is up);
            // then it spins for the next job, which is the action's.
            MnistNet.Threading.WorkerPool.Shared.Run(new Nap(), 8, threads);
        }

        long before = MnistNet.Threading.WorkerPool.Shared.WorkerChunks;
        try
        {
            MnistNetRuntime.MaxDegreeOfParallelism = threads;

            // On a loaded machine (CI runs the test projects side by side on two cores) the worker can be kept off the CPU
            // for a whole short run and the caller would claim every chunk; make the worker claim the first one of each job.
            MnistNet.Threading.WorkerPool.Shared.HelpersClaimFirst = threads > 1;
            TResult result = action();
            long ran = MnistNet.Threading.WorkerPool.Shared.WorkerChunks - before;
            if (threads > 1)
            {
                Assert.True(ran > 0, "The second thread never ran a chunk: the comparison would be one thread against one.");
            }
            else
            {
                Assert.Equal(0, ran);
            }

            return result;
        }
        finally
        {
            MnistNet.Threading.WorkerPool.Shared.HelpersClaimFirst = false;
            MnistNetRuntime.MaxDegreeOfParallelism = saved;
        }
    }

    /// <summary>A job of short chunks that only wakes the worker.</summary>
    private sealed class Nap : MnistNet.Threading.IChunkJob
    {
        public void Execute(int chunk) => Thread.SpinWait(2000);
    }
}
