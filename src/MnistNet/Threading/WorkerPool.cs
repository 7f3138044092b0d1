using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MnistNet.Threading;

/// <summary>
/// A tiny fixed pool of background threads that runs the chunks of one <see cref="IChunkJob"/> at a time,
/// with the calling thread taking part. Unlike <c>Parallel.For</c> it allocates nothing per call, which keeps
/// a training step allocation-free.
/// </summary>
/// <remarks>
/// Chunks are claimed dynamically, so which thread runs a chunk varies; callers make results independent of
/// that by giving each chunk its own outputs (the chunk boundaries depend only on the data's shape).
/// If the pool is busy (another thread is running a job, or a chunk itself calls <see cref="Run(IChunkJob, int, int)"/>), the
/// call simply runs all its chunks inline on the calling thread.
/// </remarks>
internal sealed class WorkerPool
{
    public static WorkerPool Shared { get; } = new(Math.Max(0, Environment.ProcessorCount - 1));

    /// <summary>How long an idle worker spins for the next job before it blocks: 200 µs.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;

    private readonly object _gate = new();
    private readonly int _workerCount;
    private int _busy;                 // 0 = free, 1 = a Run is in progress
    private long _generation;          // bumped for each job handed to the workers
    private IChunkJob? _job;
    private int _chunkCount;
    private int _nextChunk;
    private int _helpersWanted;        // workers with index < this take part in the current job
    private int _helpersActive;        // taking part and not yet finished
    private int[]? _owners;            // null: chunks are claimed dynamically; else chunk c runs on participant _owners[c] % _participants
    private int _participants;
    private ExceptionDispatchInfo? _failure;
    private long _workerAllocatedBytes;
    private long _workerChunks;

    private WorkerPool(int workerCount)
    {
        _workerCount = workerCount;
        for (int i = 0; i < workerCount; i++)
        {
            var thread = new Thread(WorkerLoop)
            {
                IsBackground = true,
                Name = $"MnistNet worker {i + 1}",
            };
            thread.Start(i);
        }
    }

    /// <summary>
    /// Gets the bytes allocated so far by the pool's worker threads, as of the end of each job they took part in
    /// (tests use it to prove that a training step allocates nothing on any thread).
    /// </summary>
    public long WorkerAllocatedBytes => Interlocked.Read(ref _workerAllocatedBytes);

    /// <summary>Gets the number of chunks the pool's worker threads (not the callers) have run so far: proof that a job really ran on two threads.</summary>
    public long WorkerChunks => Interlocked.Read(ref _workerChunks);

    /// <summary>Gets the most threads a job can run on: the pool's workers and the caller.</summary>
    public int MaxParticipants => _workerCount + 1;

    /// <summary>
    /// For tests that compare one thread with two: while set, the caller of a dynamically chunked job waits until a
    /// helper has claimed its first chunk before claiming any itself, so the helper always takes part (on a loaded
    /// machine it can otherwise be kept off the CPU for a whole short job, and the caller would run every chunk). The
    /// result does not depend on who runs a chunk; only who runs it does.
    /// </summary>
    internal bool HelpersClaimFirst { get; set; }

    /// <summary>Runs chunks 0..<paramref name="chunkCount"/>-1 of <paramref name="job"/> on up to <paramref name="maxThreads"/> threads and returns when all are done.</summary>
    public void Run(IChunkJob job, int chunkCount, int maxThreads) => RunCore(job, chunkCount, maxThreads, owners: null);

    /// <summary>
    /// As <see cref="Run(IChunkJob, int, int)"/>, but chunk c always runs on the same participant —
    /// <c>owners[c] % participants</c>, the caller being participant 0 — so that data a chunk writes in one job (a block
    /// of weights, their optimiser state) is still in that core's cache when the same owner's chunk of the next job reads
    /// it. Two vCPUs here pass a cache line in about 0.5 µs, so moving a 200 KB block between them costs more than the
    /// work on it.
    /// </summary>
    public void RunOwned(IChunkJob job, int chunkCount, int maxThreads, int[] owners) => RunCore(job, chunkCount, maxThreads, owners);

    private void RunCore(IChunkJob job, int chunkCount, int maxThreads, int[]? owners)
    {
        if (chunkCount <= 0)
        {
            return;
        }

        int helpers = Math.Min(Math.Min(maxThreads, chunkCount) - 1, _workerCount);
        if (helpers <= 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int c = 0; c < chunkCount; c++)
            {
                job.Execute(c);
            }

            return;
        }

        try
        {
            lock (_gate)
            {
                _job = job;
                _chunkCount = chunkCount;
                _nextChunk = 0;
                _failure = null;
                _helpersWanted = helpers;
                _helpersActive = helpers;
                _owners = owners;
                _participants = helpers + 1;
                _generation++;
                Monitor.PulseAll(_gate);
            }

            if (HelpersClaimFirst && owners is null)
            {
                while (Volatile.Read(ref _nextChunk) == 0)
                {
                    Thread.Yield();
                }
            }

            RunChunks(job, chunkCount, participant: 0);

            // The helpers are finishing their last chunks: spin for them rather than sleep (a futex wake-up costs tens of
            // microseconds, as much as a small job).
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _helpersActive) > 0 && Stopwatch.GetTimestamp() < spinUntil)
            {
                Thread.SpinWait(16);
            }

            lock (_gate)
            {
                while (_helpersActive > 0)
                {
                    Monitor.Wait(_gate);
                }

                _job = null;
                _owners = null;
            }

            _failure?.Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private int RunChunks(IChunkJob job, int chunkCount, int participant)
    {
        int[]? owners = _owners;
        if (owners is not null)
        {
            int participants = _participants;
            int ranOwned = 0;
            for (int c = 0; c < chunkCount && Volatile.Read(ref _nextChunk) < chunkCount; c++)
            {
                if (owners[c] % participants == participant)
                {
                    if (!TryExecute(job, c, chunkCount))
                    {
                        break;
                    }

                    ranOwned++;
                }
            }

            return ranOwned;
        }

        int ran = 0;
        int chunk;
        while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < chunkCount)
        {
            try
            {
                job.Execute(chunk);
                ran++;
            }
            catch (Exception ex)
            {
                lock (_gate)
                {
                    _failure ??= ExceptionDispatchInfo.Capture(ex);
                }

                // Stop handing out further chunks; the failure is rethrown by Run.
                Volatile.Write(ref _nextChunk, chunkCount);
            }
        }

        return ran;
    }

    /// <summary>Runs one chunk; on failure records it, stops further chunks and returns false.</summary>
    private bool TryExecute(IChunkJob job, int chunk, int chunkCount)
    {
        try
        {
            job.Execute(chunk);
            return true;
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                _failure ??= ExceptionDispatchInfo.Capture(ex);
            }

            Volatile.Write(ref _nextChunk, chunkCount);
            return false;
        }
    }

    private void WorkerLoop(object? state)
    {
        int index = (int)state!;
        long seen = 0;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        while (true)
        {
            IChunkJob? job;
            int chunkCount;

            // Training hands out jobs back to back: spin briefly for the next one before blocking, so a job of a few
            // hundred microseconds does not finish on the caller alone while this thread is still waking up.
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _generation) == seen && Stopwatch.GetTimestamp() < spinUntil)
            {
                Thread.SpinWait(32);
            }

            lock (_gate)
            {
                while (_generation == seen)
                {
                    Monitor.Wait(_gate);
                }

                seen = _generation;
                if (index >= _helpersWanted)
                {
                    continue;
                }

                job = _job;
                chunkCount = _chunkCount;
            }

            if (job is not null)
            {
                Interlocked.Add(ref _workerChunks, RunChunks(job, chunkCount, participant: index + 1));
            }

            long allocatedNow = GC.GetAllocatedBytesForCurrentThread();
            Interlocked.Add(ref _workerAllocatedBytes, allocatedNow - allocatedBefore);
            allocatedBefore = allocatedNow;

            lock (_gate)
            {
                if (--_helpersActive == 0)
                {
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }
}
