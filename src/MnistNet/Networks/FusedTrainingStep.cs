using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.Activations;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Threading;

namespace MnistNet.Networks;

/// <summary>
/// One full-batch training step that streams X through memory once: each block of <see cref="BlockColumns"/>
/// columns goes through forward, softmax, backward and the weight-gradient accumulation while it is still in
/// cache, instead of one pass of X for <c>W1·X</c> and a second for <c>dZ1·Xᵀ</c>.
/// </summary>
/// <remarks>
/// <para>Determinism: the columns are split into chunks of <see cref="ChunkColumns"/> (fixed, whatever the thread
/// count); each chunk accumulates its own partial gradients block by block, and the partials are summed in chunk
/// order (the first layer's while the pool still runs, as chunks finish: <see cref="Fold"/>). The result is therefore
/// bit-identical on any number of threads. With a dense input it differs from the unfused
/// <see cref="TwoLayerNetwork{T}.BackwardProp(Matrix{T}, ReadOnlySpan{ushort}, ForwardPass{T}, Gradients{T})"/> only in
/// the order of the additions inside dW1, dW2, db1 and db2. With a <see cref="SparseColumns{T}"/> input, Z1 is also
/// summed another way (the sparse rows' non-zeros, then the dense rows' bytes times W1 / 255), so every value may differ
/// in its last bits.</para>
/// <para>Allocation: everything lives in the owning <see cref="TrainingWorkspace{T}"/>; a step allocates nothing.</para>
/// </remarks>
internal sealed class FusedTrainingStep<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Columns per cache block: X's block (784 × 256 floats, 800 KB) is re-read from cache by the backward pass.</summary>
    public const int BlockColumns = ColumnBlocks.Width;

    /// <summary>Columns per chunk of work (and per set of partial gradients).</summary>
    public const int ChunkColumns = 8 * BlockColumns;

    private readonly NetworkWorkspace<T> _workspace;
    private readonly ForwardPass<T> _forward;
    private readonly Gradients<T> _gradients;
    private readonly Matrix<T>[] _dW1;
    private readonly Matrix<T>[] _dW2;
    private readonly T[][] _dB1;
    private readonly T[][] _dB2;
    private readonly double[] _loss;

    // The first layer's partials are folded into chunk 0's in chunk order while the pool runs (see Fold): which chunks
    // have finished, the next to fold, and whether a thread is folding (0 or 1).
    private readonly int[] _finished;
    private int _nextToFold;
    private int _folding;
    private Dense<T> _first = null!;
    private Dense<T> _second = null!;
    private Matrix<T>? _x;
    private SparseColumns<T>? _sparse;
    private SimdPath _path;

    // Sparse mode only, allocated on first use: W1ᵀ padded to _hp lanes, and per-chunk dW1ᵀ partials.
    // Flat buffers are one-row matrices: 64-byte aligned, so every padded row of 16 floats is one cache line.
    private Matrix<T>? _w1t;
    private Matrix<T>[]? _dW1T;
    private Matrix<T>[]? _blockScratch;
    private int _hp;

    // Sparse mode with dense rows (SparseColumns.DenseRows) only, grown on first use: their weights divided by 255, and
    // per chunk the lane sums of their weight gradient and those lanes added up (one value per dense row and hidden unit).
    private T[]? _denseWeights;
    private T[][]? _denseLanes;
    private T[][]? _denseSums;

    // Scratch that a chunk needs only while it runs (the head's, the sparse block's Z1ᵀ and dZ1ᵀ, the dense rows' lanes)
    // belongs to a slot, one per thread that can run chunks at once: a running chunk holds a slot (_slotBusy), so a
    // thread that runs several chunks in a step reuses buffers still in its cache instead of a fresh set per chunk.
    // (Not thread-static buffers: those would be allocated whenever a thread first ran a chunk.)
    private readonly T[][] _headScratch;
    private readonly int[] _slotBusy;

    public FusedTrainingStep(Network<T> network, NetworkWorkspace<T> workspace)
    {
        _workspace = workspace;
        _forward = new ForwardPass<T>(workspace);
        _gradients = new Gradients<T>(workspace);
        int columns = workspace.Columns;
        int inputs = network.Inputs;
        int hidden = network.Layers[0].OutputSize;
        int outputs = network.Outputs;
        int chunks = ChunkCount(columns);
        _dW1 = new Matrix<T>[chunks];
        _dW2 = new Matrix<T>[chunks];
        _dB1 = new T[chunks][];
        _dB2 = new T[chunks][];
        _loss = new double[chunks];
        int slots = Math.Max(1, Math.Min(chunks, WorkerPool.Shared.MaxParticipants));
        _slotBusy = new int[slots];
        _headScratch = new T[slots][];
        _finished = new int[chunks];
        for (int c = 0; c < slots; c++)
        {
            _headScratch[c] = new T[2 * BlockColumns];
        }

        for (int c = 0; c < chunks; c++)
        {
            _dW1[c] = new Matrix<T>(hidden, inputs);
            _dW2[c] = new Matrix<T>(outputs, hidden);
            _dB1[c] = new T[hidden];
            _dB2[c] = new T[outputs];
        }
    }

    // Stryker disable once Arithmetic : more chunks than columns need are empty and add nothing
    private static int ChunkCount(int columns) => (columns + ChunkColumns - 1) / ChunkColumns;

    /// <summary>Computes the forward pass and the gradients of a dense batch into the workspace (labels from its context); returns the summed loss.</summary>
    public double Run(Network<T> network, Matrix<T> x)
    {
        _x = x;
        _sparse = null;
        _path = MnistNetRuntime.EffectiveSimdPath;
        return RunCore(network);
    }

    /// <summary>Computes the forward pass and the gradients of a sparse batch into the workspace (labels from its context); returns the summed loss.</summary>
    public double Run(Network<T> network, SparseColumns<T> x)
    {
        _x = null;
        _sparse = x;
        var first = (Dense<T>)network.Layers[0];
        int hidden = first.OutputSize;
        int maxHp = Math.Max(hidden, SparseKernels.PaddedWidth<T>(hidden, SimdPath.Vector512));
        if (_w1t is null || _dW1T is null)
        {
            _w1t = new Matrix<T>(1, network.Inputs * maxHp);
            _dW1T = new Matrix<T>[_loss.Length];
            _blockScratch = new Matrix<T>[_slotBusy.Length];
            for (int c = 0; c < _dW1T.Length; c++)
            {
                _dW1T[c] = new Matrix<T>(1, network.Inputs * maxHp);
            }

            for (int c = 0; c < _blockScratch.Length; c++)
            {
                // Two blocks of padded rows (Z1ᵀ and dZ1ᵀ) at the widest padding any path uses. Padding lanes may hold
                // stale values from another path's width; they only ever feed padding lanes, which the reductions never read.
                _blockScratch[c] = new Matrix<T>(1, 2 * BlockColumns * maxHp);
            }
        }

        _path = MnistNetRuntime.EffectiveSimdPath;
        _hp = SparseKernels.PaddedWidth<T>(hidden, _path);
        _w1t.Clear();
        SparseKernels.TransposeInto(first.Weight.Value, _w1t.Row(0), _hp);
        PrepareDenseRows(first.Weight.Value, x.DenseRows);
        return RunCore(network);
    }

    /// <summary>The dense rows' weights, w[q·hidden + h] = W1[h, DenseRows[q]] / 255, and room for their lane sums (allocated when a batch first needs more).</summary>
    private void PrepareDenseRows(Matrix<T> w1, int[] denseRows)
    {
        int hidden = w1.Rows;
        int size = denseRows.Length * hidden;
        if (size == 0)
        {
            return;
        }

        if (_denseWeights is null || _denseWeights.Length < size)
        {
            _denseWeights = new T[size];
            _denseLanes = new T[_slotBusy.Length][];
            _denseSums = new T[_loss.Length][];
            for (int c = 0; c < _denseLanes.Length; c++)
            {
                _denseLanes[c] = new T[size * SparseKernels.DenseRowLanes];
            }

            for (int c = 0; c < _denseSums.Length; c++)
            {
                _denseSums[c] = new T[size];
            }
        }

        SparseKernels.ScaleDenseRowWeights(w1, denseRows, _denseWeights);
    }

    private double RunCore(Network<T> network)
    {
        _first = (Dense<T>)network.Layers[0];
        _second = (Dense<T>)network.Layers[2];
        int chunks = _loss.Length;
        Array.Clear(_finished);
        _nextToFold = 0;
        _folding = 0;
        try
        {
            WorkerPool.Shared.Run(this, chunks, MnistNetRuntime.MaxDegreeOfParallelism);
        }
        // Stryker disable once Block : releases references for the collector; no value depends on it
        finally
        {
            _first = null!;
            _second = null!;
            _x = null;
        }

        // Every chunk has run and folded its first-layer partials into chunk 0's (Fold), unless the protocol left some:
        // fold those here, in order, so the sums never depend on it. Then reduce the rest in chunk order and divide by m.
        // Stryker disable once Equality,Statement : a fallback: Fold leaves no chunk, and folding here gives the same bits
        for (int c = _nextToFold; c < chunks; c++)
        {
            FoldInto0(c);
        }

        Gradients<T> g = _gradients;
        int columns = _workspace.Columns;
        T inverseM = T.One / T.CreateTruncating(columns);
        if (_sparse is null)
        {
            _dW1[0].CopyTo(g.DW1);
        }
        else
        {
            ReduceTransposed(g.DW1);
            ReduceDenseRows(g.DW1, _sparse.DenseRows);
        }

        _dW2[0].CopyTo(g.DW2);
        double loss = _loss[0];
        for (int c = 1; c < chunks; c++)
        {
            SimdMath.Add(g.DW2.AsSpan(), _dW2[c].AsSpan(), g.DW2.AsSpan());
            loss += _loss[c];
        }

        ReduceBias(_dB1, g.DB1);
        ReduceBias(_dB2, g.DB2);
        SimdMath.Scale(g.DW1.AsSpan(), inverseM);
        SimdMath.Scale(g.DW2.AsSpan(), inverseM);
        SimdMath.Scale(g.DB1.AsSpan(), inverseM);
        SimdMath.Scale(g.DB2.AsSpan(), inverseM);
        _sparse = null;
        return loss;
    }

    /// <summary>destination[r, 0] = Σ over chunks, in chunk order, of partials[chunk][r].</summary>
    private static void ReduceBias(T[][] partials, Matrix<T> destination)
    {
        for (int r = 0; r < destination.Rows; r++)
        {
            T sum = partials[0][r];
            for (int c = 1; c < partials.Length; c++)
            {
                sum += partials[c][r];
            }

            destination[r, 0] = sum;
        }
    }

    /// <summary>
    /// Marks <paramref name="chunk"/> finished and folds the first layer's partials of every finished chunk not yet folded,
    /// in chunk order, into chunk 0's: dW1 (dense input), or dW1ᵀ and the dense rows' sums (sparse input). So the largest
    /// reduction runs while the other threads still compute, each partial mostly folded by the thread that wrote it (still
    /// in its cache), and the sum has the same bits as adding the partials in chunk order after the pool.
    /// </summary>
    /// <remarks>
    /// One thread folds at a time (<see cref="_folding"/>). A thread that finds another folding leaves its chunk to it: the
    /// folder, after releasing, looks again at the next chunk and folds on if it has finished meanwhile. Both the release
    /// and the claim are full fences, so a finished chunk is never left unfolded.
    /// </remarks>
    private void Fold(int chunk)
    {
        Volatile.Write(ref _finished[chunk], 1);
        while (true)
        {
            if (Interlocked.CompareExchange(ref _folding, 1, 0) != 0)
            {
                return;
            }

            int next = _nextToFold;
            while (next < _finished.Length && Volatile.Read(ref _finished[next]) != 0)
            {
                FoldInto0(next);
                next++;
            }

            _nextToFold = next;
            Interlocked.Exchange(ref _folding, 0);
            if (next == _finished.Length || Volatile.Read(ref _finished[next]) == 0)
            {
                return;
            }
        }
    }

    /// <summary>Chunk 0's first-layer partials += chunk <paramref name="c"/>'s (nothing for chunk 0 itself).</summary>
    private void FoldInto0(int c)
    {
        if (c == 0)
        {
            return;
        }

        if (_sparse is null)
        {
            SimdMath.Add(_dW1[0].AsSpan(), _dW1[c].AsSpan(), _dW1[0].AsSpan());
            return;
        }

        int length = _dW1[0].Columns * _hp;
        Span<T> sum = _dW1T![0].Row(0)[..length];
        SimdMath.Add(sum, _dW1T[c].Row(0)[..length], sum);
        int dense = _sparse.DenseRows.Length * _dW1[0].Rows;
        if (dense > 0)
        {
            Span<T> denseSum = _denseSums![0].AsSpan(0, dense);
            SimdMath.Add(denseSum, _denseSums[c].AsSpan(0, dense), denseSum);
        }
    }

    /// <summary>dW1[h, k] = dW1ᵀ_0[k·hp + h], the chunks' partials already folded into chunk 0's (<see cref="Fold"/>).</summary>
    private void ReduceTransposed(Matrix<T> dW1)
    {
        Span<T> sum = _dW1T![0].Row(0);
        int hp = _hp;
        for (int h = 0; h < dW1.Rows; h++)
        {
            Span<T> row = dW1.Row(h);
            for (int k = 0; k < row.Length; k++)
            {
                row[k] = sum[(k * hp) + h];
            }
        }
    }

    /// <summary>dW1's dense-row columns: the chunks' added-up lanes (folded into chunk 0's in chunk order), divided by 255 (<see cref="SparseKernels.StoreDenseRowGradient"/>).</summary>
    private void ReduceDenseRows(Matrix<T> dW1, int[] denseRows)
    {
        int length = denseRows.Length * dW1.Rows;
        if (length == 0)
        {
            return;
        }

        SparseKernels.StoreDenseRowGradient<T>(_denseSums![0].AsSpan(0, length), denseRows, dW1);
    }

    public void Execute(int chunk)
    {
        int slot = AcquireSlot();
        try
        {
            ExecuteChunk(chunk, slot);
        }
        finally
        {
            Volatile.Write(ref _slotBusy[slot], 0);
        }
    }

    /// <summary>A free scratch slot, now held; there are as many as threads that can run chunks at once.</summary>
    private int AcquireSlot()
    {
        for (int s = 0; s < _slotBusy.Length; s++)
        {
            if (Interlocked.CompareExchange(ref _slotBusy[s], 1, 0) == 0)
            {
                return s;
            }
        }

        throw new InvalidOperationException("A training workspace is being used by more threads at once than the worker pool has; use one workspace per thread.");
    }

    private void ExecuteChunk(int chunk, int slot)
    {
        Dense<T> first = _first;
        Dense<T> second = _second;
        Matrix<T> w1 = first.Weight.Value;
        int inputs = first.InputSize;
        int hidden = first.OutputSize;
        Matrix<T>? x = _x;
        SparseColumns<T>? sparse = _sparse;
        int hp = _hp;
        Span<T> zt = default;
        Span<T> dzt = default;
        Span<T> dW1T = default;
        if (sparse is not null)
        {
            int size = BlockColumns * hp;
            Span<T> scratch = _blockScratch![slot].Row(0);
            zt = scratch.Slice(0, size);
            dzt = scratch.Slice(size, size);
            dW1T = _dW1T![chunk].Row(0);
            dW1T.Clear();
        }

        Span<T> denseLanes = default;
        if (sparse is not null && sparse.DenseRows.Length > 0)
        {
            // Not cleared: the chunk's first block writes its lanes instead of adding to them.
            denseLanes = _denseLanes![slot].AsSpan(0, sparse.DenseRows.Length * hidden * SparseKernels.DenseRowLanes);
        }

        T[] headScratch = _headScratch[slot];
        ForwardPass<T> f = _forward;
        Gradients<T> g = _gradients;
        Matrix<T> dW1 = _dW1[chunk];
        Matrix<T> dW2 = _dW2[chunk];
        Span<T> dB1 = _dB1[chunk];
        Span<T> dB2 = _dB2[chunk];
        dB1.Clear();
        dB2.Clear();
        double loss = 0;
        int start = chunk * ChunkColumns;
        int end = Math.Min(start + ChunkColumns, _workspace.Columns);
        for (int c0 = start; c0 < end; c0 += BlockColumns)
        {
            int c1 = Math.Min(c0 + BlockColumns, end);
            bool accumulate = c0 != start;

            // The block's columns of Z1…A2, dZ1 and dZ2 are written for the first time in this step below (the matrices span
            // the whole batch, far beyond the caches): ask for their lines now, while the forward kernels compute, instead
            // of stalling on memory at the head's stores (Zen 4: ≈ 2–4 % of a seed step).
            CacheHints.PrefetchColumnsL2(f.Z1, c0, c1);
            CacheHints.PrefetchColumnsL2(f.A1, c0, c1);
            CacheHints.PrefetchColumnsL2(f.Z2, c0, c1);
            CacheHints.PrefetchColumnsL2(f.A2, c0, c1);
            CacheHints.PrefetchColumnsL2(g.DZ1, c0, c1);
            CacheHints.PrefetchColumnsL2(g.DZ2, c0, c1);

            // Z1 = W1·X                                              (hidden × block)
            if (sparse is null)
            {
                MatrixKernels.MultiplyColumns(w1, w1.Stride, 1, inputs, x!, f.Z1, c0, c1, _path);
            }
            else
            {
                // Z1ᵀ[j] = Σ over X's non-zeros in column j of x_kj · W1ᵀ[k], then back to hidden × block rows.
                // Then the dense rows' part: + Σ over them of (W1/255)[h, q]·byte[q, j], element by element.
                SparseKernels.Forward(sparse, c0 / BlockColumns, _w1t!.Row(0), hp, zt, _path);
                SparseKernels.FromTransposedBlock<T>(zt, hp, f.Z1, c0, c1);
                SparseKernels.DenseRowsForward(sparse, c0 / BlockColumns, _denseWeights, f.Z1, c0, c1, _path);
            }

            // Bias, ReLU, W2·A1, softmax, loss, dZ2 and dZ1 in two passes over the block (FusedHead);
            // dW2 += dZ2·A1ᵀ;  db2 += Σ dZ2
            loss += FusedHead.Run(first, second, f, g, _workspace.Context.LabelBuffer, c0, c1, headScratch, _path);
            MatrixKernels.DotRange(g.DZ2, f.A1, dW2, 0, hidden, c0, c1, accumulate, _path);
            AddRowSums(g.DZ2, dB2, c0, c1);

            // dW1 += dZ1·Xᵀ (X's block is still in cache);  db1 += Σ dZ1
            if (sparse is null)
            {
                MatrixKernels.DotRange(g.DZ1, x!, dW1, 0, inputs, c0, c1, accumulate, _path);
            }
            else
            {
                // dW1ᵀ[k] += Σ over the block's non-zeros in row k of x_kj · dZ1ᵀ[j].
                SparseKernels.ToTransposedBlock(g.DZ1, c0, c1, dzt, hp);
                SparseKernels.AccumulateWeightGradient(sparse, c0 / BlockColumns, dzt, hp, dW1T, _path);
                SparseKernels.DenseRowsGradient(sparse, c0 / BlockColumns, g.DZ1, c0, c1, denseLanes, _path, accumulate);
            }

            AddRowSums(g.DZ1, dB1, c0, c1);
        }

        if (!denseLanes.IsEmpty)
        {
            // Each (dense row, hidden unit) pair's 16 lanes added up here, in parallel, rather than after the pool.
            SparseKernels.SumDenseRowLanes<T>(denseLanes, _denseSums![chunk].AsSpan(0, denseLanes.Length / SparseKernels.DenseRowLanes));
        }

        _loss[chunk] = loss;
        Fold(chunk);
    }

    private static void AddRowSums(Matrix<T> m, Span<T> sums, int c0, int c1)
    {
        for (int r = 0; r < m.Rows; r++)
        {
            sums[r] += SimdMath.Sum<T>(m.Row(r)[c0..c1]);
        }
    }
}
